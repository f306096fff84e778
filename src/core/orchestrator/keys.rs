//! The signing key and the trust store (façade part): creating, rotating, exporting and
//! trusting keys, audited.

use super::Orchestrator;
use crate::core::audit::AuditEvent;
use crate::core::error::Result;
use crate::core::keys::{KeyInfo, KeyStatus, KeyStore, PublicKeyFile, TrustedKey};
use serde_json::json;
use std::path::Path;

impl Orchestrator {
    /// The key store of this state directory.
    pub(crate) fn key_store(&self) -> KeyStore {
        KeyStore::for_state(self.state())
    }

    /// Whether a signing key exists.
    pub fn has_signing_key(&self) -> Result<bool> {
        self.key_store().has_key()
    }

    // ---- keys -----------------------------------------------------------------------------

    /// Creates the signing key. With `regenerate`, an existing key is rotated (the old one
    /// stays trusted); without it, an existing key is `KEY_EXISTS`.
    pub fn init_keys(&self, regenerate: bool, actor: &str) -> Result<KeyInfo> {
        let keys = self.key_store();
        if regenerate && keys.has_key()? {
            return self.rotate_keys(actor);
        }
        self.audited(
            |code| AuditEvent::failed("key.init", actor, code),
            || keys.init(self.now()),
            |info| AuditEvent::ok("key.init", actor).details(json!({ "key_id": info.key_id })),
        )
    }

    /// Replaces the signing key; the old key stays trusted and the rotation is recorded,
    /// signed by both keys.
    pub fn rotate_keys(&self, actor: &str) -> Result<KeyInfo> {
        let keys = self.key_store();
        self.audited(
            |code| AuditEvent::failed("key.rotate", actor, code),
            || keys.rotate(self.now()),
            |info| {
                AuditEvent::ok("key.rotate", actor)
                    .details(json!({ "from": info.rotated_from, "to": info.key_id }))
            },
        )
    }

    /// The signing key, the trusted keys and the rotations.
    pub fn key_status(&self) -> Result<KeyStatus> {
        self.key_store().status()
    }

    /// The signing key's public half, for `keys trust` elsewhere.
    pub fn export_key(&self) -> Result<PublicKeyFile> {
        self.key_store().export()
    }

    /// Trusts the public key in an exported key file.
    pub fn trust_key(&self, file: &Path, actor: &str) -> Result<TrustedKey> {
        let keys = self.key_store();
        self.audited(
            |code| {
                AuditEvent::failed("key.trust", actor, code)
                    .details(json!({ "file": file.display().to_string() }))
            },
            || keys.trust(&PublicKeyFile::read(file)?, self.now()),
            |(key, added)| {
                AuditEvent::ok("key.trust", actor).details(json!({
                    "key_id": key.key_id,
                    "added": added,
                    "file": file.display().to_string(),
                }))
            },
        )
        .map(|(key, _)| key)
    }

    /// Removes a key from the trust store (not the signing key).
    pub fn untrust_key(&self, key_id: &str, actor: &str) -> Result<()> {
        let keys = self.key_store();
        self.audited(
            |code| {
                AuditEvent::failed("key.untrust", actor, code).details(json!({ "key_id": key_id }))
            },
            || keys.untrust(key_id),
            |key| AuditEvent::ok("key.untrust", actor).details(json!({ "key_id": key.key_id })),
        )
        .map(|_| ())
    }
}
