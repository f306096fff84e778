//! What to do next, as data. An error's hint is prose that names no face's syntax plus the
//! steps that would fix it, each an operation with its arguments; each face spells a step in
//! its own terms (a command line, a tool call, an endpoint: `crate::api::next`). So an agent
//! is not told to type a CLI flag, and a script can act on `next` without parsing text.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// An operation a user can take next, named by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Give the input `field` (a wire name: `params.path`, `env_vars.TOKEN`, `server_name`)
    /// to the operation that failed, e.g. with the value `example`.
    Give,
    /// List the known clients.
    ListClients,
    /// Search the server catalog.
    SearchServers,
    /// List a client's profiles.
    ListProfiles,
    /// Create a profile.
    CreateProfile,
    /// Show a draft.
    ShowDraft,
    /// Add a catalog server to a draft.
    AddServer,
    /// Remove a server from a draft.
    RemoveServer,
    /// Empty a draft.
    ClearDraft,
    /// Validate a draft.
    Validate,
    /// Publish a draft as a signed release.
    Publish,
    /// List the releases of a target.
    History,
    /// Deploy a release.
    Deploy,
    /// Go back to an earlier release.
    Rollback,
    /// List a client's backups.
    ListBackups,
    /// Store a secret.
    SetSecret,
    /// List the stored secrets' names.
    ListSecrets,
    /// Create the signing key.
    InitKeys,
    /// Replace the signing key.
    RotateKeys,
    /// Export the public key.
    ExportKey,
    /// Trust an exported key.
    TrustKey,
    /// Show the keys.
    ShowKeys,
    /// List API tokens.
    ListTokens,
    /// Revoke an API token.
    RevokeToken,
    /// Check the audit log's chain.
    VerifyAudit,
    /// Sync the official MCP Registry.
    SyncRegistry,
    /// Start the client's entries as the client would.
    ProbeAsClient,
}

/// One step: an operation and its arguments, by their wire names (`client_id`, `profile_id`,
/// `server_id`, `server_name`, `artifact_id`, `name`, `id`, `file`, `full`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Step {
    /// The operation.
    pub op: Op,
    /// Its arguments.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
}

impl Step {
    /// A step with arguments.
    pub fn new(op: Op, args: &[(&str, &str)]) -> Self {
        Self {
            op,
            args: args
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// An argument.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).map(String::as_str)
    }
}

/// What to do next: prose in no face's syntax, and the steps it speaks of.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hint {
    /// The prose, e.g. "store the secret".
    pub text: String,
    /// The steps, in the order the prose names them.
    pub steps: Vec<Step>,
}

impl Hint {
    /// Prose and the steps it names.
    pub fn new(text: impl Into<String>, steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            text: text.into(),
            steps: steps.into_iter().collect(),
        }
    }

    /// Give the input `field` (its wire name) to the operation that failed.
    pub fn give(text: impl Into<String>, field: &str, example: &str) -> Self {
        Self::step(text, Op::Give, &[("field", field), ("example", example)])
    }

    /// Give the secret env var `name` (a value the secret store keeps).
    pub fn give_secret(text: impl Into<String>, name: &str) -> Self {
        let field = format!("env_vars.{name}");
        Self::step(
            text,
            Op::Give,
            &[("field", &field), ("example", "VALUE"), ("secret", "true")],
        )
    }

    /// Prose and one step.
    pub fn step(text: impl Into<String>, op: Op, args: &[(&str, &str)]) -> Self {
        Self::new(text, [Step::new(op, args)])
    }
}

impl From<&str> for Hint {
    fn from(text: &str) -> Self {
        Self::new(text, [])
    }
}

impl From<String> for Hint {
    fn from(text: String) -> Self {
        Self::new(text, [])
    }
}
