//! RFC 8785 JSON Canonicalization Scheme (JCS), the byte form that artifacts are hashed and
//! signed in.
//!
//! `serde_json_canonicalizer` is correct but re-parses every object key to sort it, which
//! made canonicalising a 500-server payload the bulk of a publish. This writer walks a
//! `serde_json::Value` instead: keys are sorted by their UTF-16 code units, strings are
//! escaped as ECMAScript's `JSON.stringify` does (`\b \t \n \f \r`, other controls as
//! lowercase `\u00xx`, `"` and `\\`; everything else raw UTF-8), and numbers, the subtle part
//! (ECMAScript shortest round-trip form), are still formatted by `serde_json_canonicalizer`.
//! A property test checks that both produce identical bytes.

use std::cmp::Ordering;

use serde::Serialize;
use serde_json::Value;

use crate::core::error::{Error, Result};

/// The canonical bytes of a value.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let value = serde_json::to_value(value)
        .map_err(|e| Error::Internal(format!("serialising for canonical JSON: {e}")))?;
    let mut out = Vec::with_capacity(4096);
    write_value(&value, &mut out)?;
    Ok(out)
}

/// The canonical text of a value.
pub fn to_string<T: Serialize>(value: &T) -> Result<String> {
    String::from_utf8(to_vec(value)?)
        .map_err(|e| Error::Internal(format!("canonical JSON is not UTF-8: {e}")))
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let text = serde_json_canonicalizer::to_vec(n)
                .map_err(|e| Error::Internal(format!("canonicalising the number {n}: {e}")))?;
            out.extend_from_slice(&text);
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| utf16_cmp(a.0, b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Orders strings by UTF-16 code units, as RFC 8785 section 3.2.3 requires (this differs from
/// byte or code point order for characters above U+FFFF against U+E000..U+FFFF).
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jcs(input: &str) -> String {
        let value: Value = serde_json::from_str(input).unwrap();
        to_string(&value).unwrap()
    }

    #[test]
    fn golden_vectors() {
        // RFC 8785 section 3.2.2.
        assert_eq!(
            jcs(r#"{
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }"#),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        // RFC 8785 section 3.2.3: keys sorted by UTF-16 code units (the astral emoji, D83D,
        // sorts before U+FB33).
        assert_eq!(
            jcs(
                r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
            ),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        // Numbers in ECMAScript form; -0 is 0; U+2028 and non-ASCII stay raw; an astral key
        // sorts before U+E000 (by UTF-16, not by code point); every short escape.
        assert_eq!(
            jcs(
                r#"{"n":[1e21,1e-7,-0.0,1.0,5e-324,1.7976931348623157e308,100,1e+16,-12.5e-1],"s":"é\u2028x\u001f\b\f\t\u007f","\ue000":2,"\ud83d\ude00":1}"#
            ),
            "{\"n\":[1e+21,1e-7,0,1,5e-324,1.7976931348623157e+308,100,10000000000000000,-1.25],\"s\":\"é\u{2028}x\\u001f\\b\\f\\t\u{7f}\",\"😀\":1,\"\u{e000}\":2}"
        );
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<char>(),
                prop::char::range('\u{0}', '\u{1f}'),
                Just('"'),
                Just('\\'),
                Just('\u{e000}'),
                Just('\u{1f600}'),
                prop::char::range('a', 'e'),
            ],
            0..8,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            arb_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((arb_string(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn identical_to_serde_json_canonicalizer(value in arb_value()) {
            let ours = to_vec(&value).unwrap();
            let reference = serde_json_canonicalizer::to_vec(&value).unwrap();
            prop_assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&reference)
            );
            // And it parses back to the same value.
            let back: Value = serde_json::from_slice(&ours).unwrap();
            prop_assert_eq!(to_vec(&back).unwrap(), ours);
        }
    }
}
