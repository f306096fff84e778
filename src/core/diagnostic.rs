//! One problem found in a draft: its stable code, severity, JSON path and hint. Its own module
//! (it depends on nothing) so that errors can carry diagnostics without the error type
//! depending on validation.

use serde::{Deserialize, Serialize};

/// How bad a problem is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks publishing.
    Error,
    /// Worth knowing; does not block.
    Warning,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Diagnostic {
    /// Stable code, e.g. `UNRESOLVED_PLACEHOLDER`.
    pub code: String,
    /// Severity.
    pub severity: Severity,
    /// JSON path into the draft, e.g. `servers.github.env.GITHUB_TOKEN`.
    pub path: String,
    /// The server concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

impl Diagnostic {
    /// Whether this blocks publishing.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
