//! Drafts: the set of servers wanted for one (client, profile), persisted in the state
//! directory so every front-end (CLI, TUI, MCP, HTTP) and every process sees the same one.
//! Each update is a locked read-modify-write with an atomic replace, so concurrent editors
//! lose nothing.

use crate::core::code::Code;
use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::catalog::Transport;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};

/// An environment value: plain text, or a reference to the secret store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A reference to a secret held in the secret store; the draft never holds its value.
    Secret {
        /// Name in the secret store.
        secret: String,
    },
    /// A plain (non-secret) value.
    Plain(String),
}

impl EnvValue {
    /// The secret name, when this is a reference.
    pub fn secret_name(&self) -> Option<&str> {
        match self {
            Self::Secret { secret } => Some(secret),
            Self::Plain(_) => None,
        }
    }
}

/// Where a draft server came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Added from the catalog.
    #[default]
    Catalog,
    /// Adopted from the client's own file by `import`.
    Imported,
}

/// What adding a server does when the draft already has one of that name.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// Refuse it (`DUPLICATE_NAME`).
    #[default]
    Error,
    /// Keep the one there when it is the same server, defined the same way (nothing changes;
    /// an automation can run the same add again); a different one is still `DUPLICATE_NAME`.
    Keep,
}

/// One server in a draft, fully resolved (placeholders substituted, defaults applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DraftServer {
    /// Catalog id, when it came from the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// Transport.
    pub transport: Transport,
    /// stdio command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// stdio args.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Remote URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Remote headers; values may reference env entries as `${NAME}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    /// The parameter values given (defaults included), kept for display and re-rendering.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// How its secrets reach it (`None`: as its client's default, the launcher unless the
    /// client overlay says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_delivery: Option<SecretDelivery>,
    /// Where it came from.
    #[serde(default)]
    pub origin: Origin,
    /// Fields of the client's own entry that mcp-orch does not model (`disabled`,
    /// `autoApprove`, `cwd`, `timeout`, ...), kept as they were found by `import`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The servers wanted for one (client, profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Client id.
    pub client: String,
    /// Profile id.
    pub profile: String,
    /// Servers by name, sorted.
    #[serde(default)]
    pub servers: BTreeMap<String, DraftServer>,
    /// Incremented on every change.
    #[serde(default)]
    pub revision: u64,
    /// Time of the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Draft {
    /// An empty draft.
    pub fn empty(client: &str, profile: &str) -> Self {
        Self {
            client: client.to_owned(),
            profile: profile.to_owned(),
            servers: BTreeMap::new(),
            revision: 0,
            updated_at: None,
        }
    }
}

/// Checks that an id is safe to use as a path component.
pub fn check_id(kind: &'static str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            Code::InvalidId,
            format!("{kind}_id"),
            format!(
                "`{}` is not a valid {kind} id",
                crate::core::error::echo(id)
            ),
            "use 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`",
        ))
    }
}

/// Drafts on disk: `<home>/drafts/<client>/<profile>.json`.
#[derive(Debug, Clone)]
pub struct DraftStore {
    dir: PathBuf,
    locks: PathBuf,
}

impl DraftStore {
    /// A store rooted at `dir`, with lock files under `locks`.
    pub fn new(dir: PathBuf, locks: PathBuf) -> Self {
        Self { dir, locks }
    }

    fn path(&self, client: &str, profile: &str) -> Result<PathBuf> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        Ok(self.dir.join(client).join(format!("{profile}.json")))
    }

    /// Whether a draft was ever stored for the (client, profile) (possibly emptied since).
    pub fn exists(&self, client: &str, profile: &str) -> bool {
        self.path(client, profile).is_ok_and(|p| p.is_file())
    }

    /// The draft, or an empty one.
    pub fn load(&self, client: &str, profile: &str) -> Result<Draft> {
        let path = self.path(client, profile)?;
        Ok(fsutil::read_json(&path)?.unwrap_or_else(|| Draft::empty(client, profile)))
    }

    /// Applies `change` under the draft's lock and saves the result atomically. The draft is
    /// saved only when `change` succeeds.
    pub fn update<T>(
        &self,
        client: &str,
        profile: &str,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Draft) -> Result<T>,
    ) -> Result<(T, Draft)> {
        let path = self.path(client, profile)?;
        let _lock = LockGuard::acquire(&self.locks.join(format!("draft-{client}-{profile}.lock")))?;
        let mut draft: Draft =
            fsutil::read_json(&path)?.unwrap_or_else(|| Draft::empty(client, profile));
        let out = change(&mut draft)?;
        draft.revision += 1;
        draft.updated_at = Some(now);
        fsutil::write_json(&path, &draft)?;
        Ok((out, draft))
    }

    /// Every draft stored (one that does not parse is left out).
    pub fn all(&self) -> Vec<Draft> {
        let mut out = Vec::new();
        let Ok(clients) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for dir in clients.flatten() {
            let Ok(files) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                if let Ok(Some(draft)) = fsutil::read_json::<Draft>(&file.path()) {
                    out.push(draft);
                }
            }
        }
        out
    }

    /// Deletes every draft of a profile.
    pub fn delete(&self, client: &str, profile: &str) -> Result<()> {
        let path = self.path(client, profile)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }
}

/// How a server's secret values reach it when its client starts it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SecretDelivery {
    /// mcp-orch's binary starts or bridges the server and reads the values from its secret
    /// store: nothing has to be exported.
    #[default]
    Launcher,
    /// The client's own env reference (`${VAR}`, `${env:VAR}`, ...), filled by the client
    /// from its own environment, where the user must export the variable. Clients without a
    /// reference syntax get the launcher.
    Env,
}

impl SecretDelivery {
    /// The name used in flags and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launcher => "launcher",
            Self::Env => "env",
        }
    }
}

impl std::str::FromStr for SecretDelivery {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "launcher" => Ok(Self::Launcher),
            "env" => Ok(Self::Env),
            other => Err(format!(
                "`{other}` is not a secret delivery: use `launcher` or `env`"
            )),
        }
    }
}

impl std::str::FromStr for IfExists {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "error" => Ok(Self::Error),
            "keep" => Ok(Self::Keep),
            other => Err(format!("`{other}` is not a choice: use `error` or `keep`")),
        }
    }
}
