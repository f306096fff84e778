//! The jsonc editor (vscode's file): parse, set our entry, render, re-parse, remove it;
//! everything outside our entry kept.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn read(t: &str) -> Option<Value> {
    jsonc_parser::parse_to_serde_value::<Option<Value>>(t, &jsonc_parser::ParseOptions::default())
        .ok()
        .flatten()
}

fuzz_target!(|data: &[u8]| common::edit("vscode", data, read));
