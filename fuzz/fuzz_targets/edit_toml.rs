//! The toml editor (codex's file): parse, set our entry, render, re-parse, remove it;
//! everything outside our entry kept.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn read(t: &str) -> Option<Value> {
    toml::from_str::<toml::Value>(t)
        .ok()
        .and_then(|v| serde_json::to_value(v).ok())
}

fuzz_target!(|data: &[u8]| common::edit("codex", data, read));
