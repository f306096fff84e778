//! Deploying artifacts into client files, status and drift, rollback and restore (façade part).

#[allow(unused_imports)]
use super::Orchestrator;
