//! Whether a JSON text gives any object key twice. RFC 8259 leaves the meaning of such a text
//! open, and parsers disagree (first or last wins, or an untagged enum falls back to another
//! variant): a message whose meaning depends on the parser is refused instead of guessed at.
//! Found by the `jsonrpc` fuzz target.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// `Some(key)` for the first key given twice in one object of `text`; `None` when every
/// object's keys are unique or `text` is not JSON (parsing reports that).
pub fn duplicate_key(text: &[u8]) -> Option<String> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(text);
    let _ = Walk { found: &mut found }.deserialize(&mut de);
    found
}

struct Walk<'a> {
    found: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Walk {
                found: &mut *self.found,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.found = Some(key);
                return Err(de::Error::custom("duplicate key"));
            }
            map.next_value_seed(Walk {
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::duplicate_key;

    #[test]
    fn a_key_given_twice_in_one_object_is_found_at_any_depth() {
        assert_eq!(duplicate_key(br#"{"a":1,"b":{"c":[1,{"d":2}]}}"#), None);
        assert_eq!(duplicate_key(br#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        // The input the `jsonrpc` fuzz target found: an elicitation answer that parses as
        // another result type when `content` and `message` come twice.
        let found = br#"{"jsonrpc":"2.0","id":5,"result":{"action":"accept","content":32601,"message":"nocept","content":32601,"message":"no"}}"#;
        assert_eq!(duplicate_key(found).as_deref(), Some("content"));
        assert_eq!(duplicate_key(br#"[{"x":1},{"x":1}]"#), None);
        assert_eq!(duplicate_key(br#"{"k":"a\u0062","k\u0000":1}"#), None);
        assert_eq!(
            duplicate_key(br#"{"\u0061":1,"a":2}"#).as_deref(),
            Some("a")
        );
        assert_eq!(duplicate_key(b"not json"), None);
    }
}
