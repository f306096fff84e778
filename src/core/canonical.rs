//! RFC 8785 (JCS) canonical JSON, the bytes that artifact ids hash and signatures sign: its own
//! module so that keys and artifacts both use it without depending on each other.

use serde::Serialize;

use crate::core::error::{Error, Result};

/// RFC 8785 (JCS) canonical bytes of a value (`serde_json_canonicalizer`).
pub fn canonicalize<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| Error::Internal(format!("canonicalising: {e}")))
}

/// RFC 8785 (JCS) canonical text of a value.
pub fn canonical_string<T: Serialize>(value: &T) -> Result<String> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| Error::Internal(format!("canonicalising: {e}")))
}
