//! Keys, publishing signed artifacts, history and verification (façade part).

#[allow(unused_imports)]
use super::Orchestrator;
