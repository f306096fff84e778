//! Every error code the tests assert is a code of the one enum (`core::code::Code`), or a
//! validation diagnostic's code as docs/CLI.md lists them: no face invents a code of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mcp_orch::core::code::Code;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The upper-case code literal right after `marker` in `text`, for each occurrence.
fn codes_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = text[at + marker.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            let code = &rest[..rest.find('"')?];
            (code.len() > 2
                && code.contains('_')
                && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .then_some(code)
        })
        .collect()
}

#[test]
fn every_code_the_tests_assert_is_in_the_enum_or_a_validation_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let known: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let doc = std::fs::read_to_string(root.join("docs/CLI.md")).unwrap();
    let section = &doc[doc.find("## Validation codes").unwrap()..];
    let section = &section[..section[3..].find("\n## ").unwrap()];
    let validation: BTreeSet<&str> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .collect();
    let mut files = Vec::new();
    rust_files(&root.join("tests/it"), &mut files);
    let mut asserted = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // `(404, "CODE"`, `["code"], "CODE"`, `.code(), "CODE"`.
        for marker in (400..600)
            .map(|status| format!("({status}, "))
            .chain(["[\"code\"], ".to_owned(), ".code(), ".to_owned()])
        {
            asserted.extend(codes_after(&text, &marker).into_iter().map(str::to_owned));
        }
        // `user_error(&[...], "CODE")`, `fails(&[...], [1, ]"CODE")`: the literal after the args.
        for call in ["user_error(", "fails("] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at..];
                if let Some(close) = rest.find("],") {
                    let after = rest[close + 2..].trim_start();
                    let after = after.split_once(", ").map_or(after, |(n, tail)| {
                        if n.bytes().all(|b| b.is_ascii_digit()) {
                            tail
                        } else {
                            after
                        }
                    });
                    // Only a literal right there: the code argument.
                    if after.starts_with('"')
                        && let Some(code) = codes_after(&format!(" {after}"), " ").first()
                    {
                        asserted.insert((*code).to_owned());
                    }
                }
            }
        }
    }
    let strays: Vec<&String> = asserted
        .iter()
        .filter(|c| !known.contains(c.as_str()) && !validation.contains(c.as_str()))
        .collect();
    assert!(asserted.len() > 60, "found only {asserted:?}");
    assert!(strays.is_empty(), "codes outside the enum: {strays:?}");
}
