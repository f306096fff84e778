//! The yaml editor (goose's file): parse, set our entry, render, re-parse, remove it;
//! everything outside our entry kept.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn read(t: &str) -> Option<Value> {
    serde_yaml_ng::from_str(t).ok()
}

fuzz_target!(|data: &[u8]| common::edit("goose", data, read));
