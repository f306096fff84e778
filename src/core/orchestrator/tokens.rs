//! API tokens (façade part): creating and revoking them, audited.

use super::Orchestrator;
use crate::core::audit::AuditEvent;
use crate::core::error::Result;
use crate::core::tokens::{NewToken, Scope, TokenRecord, TokenStore};
use chrono::Duration;
use serde_json::json;

impl Orchestrator {
    /// Every API token (hashes only: a token is shown once, when created).
    pub fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.token_store().load()?.tokens)
    }

    /// The token store (the state directory's, or the shared store's), for the HTTP server's
    /// verifier too.
    pub fn token_store(&self) -> TokenStore {
        match &self.shared {
            Some(ledger) => TokenStore::with_backend(std::sync::Arc::new(super::PgTokens::new(
                ledger.store().clone(),
            ))),
            None => TokenStore::new(
                self.state().join("tokens.json"),
                self.state().locks().join("tokens.lock"),
            ),
        }
    }

    /// Creates a token (audited as `token.create`; the token is never logged).
    pub fn create_token(
        &self,
        name: &str,
        scope: Scope,
        expires_in: Option<Duration>,
        actor: &str,
    ) -> Result<NewToken> {
        let now = self.now();
        let expires_at = expires_in.and_then(|d| now.checked_add_signed(d));
        self.audited(
            |code| AuditEvent::failed("token.create", actor, code).details(json!({ "name": name })),
            || self.token_store().create(name, scope, expires_at, now),
            |token| {
                AuditEvent::ok("token.create", actor).details(json!({
                    "id": token.record.id,
                    "name": token.record.name,
                    "scope": token.record.scope,
                    "expires_at": token.record.expires_at,
                }))
            },
        )
    }

    /// Revokes a token (audited as `token.revoke`).
    pub fn revoke_token(&self, id: &str, actor: &str) -> Result<TokenRecord> {
        self.audited(
            |code| AuditEvent::failed("token.revoke", actor, code).details(json!({ "id": id })),
            || self.token_store().revoke(id, self.now()),
            |record| {
                AuditEvent::ok("token.revoke", actor)
                    .details(json!({ "id": record.id, "name": record.name }))
            },
        )
    }
}
