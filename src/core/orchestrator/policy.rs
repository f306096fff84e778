//! The organisation's policy (façade part): set once (`<home>/policy.toml`), compiled into
//! each client's managed policy file, and judged against the servers deployed now, as each
//! client will judge them.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use super::rewrite::Edit;
use super::{ClientDef, Code, Error, Orchestrator, Result, fsutil};
use crate::core::audit::AuditEvent;
use crate::core::env::Os;
use crate::core::policy::{Identity, Policy};

/// `policy plan --json` and `policy --json`: each client's managed file and what it blocks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PolicyReport {
    /// Whether the managed files were written, or this is the plan.
    pub applied: bool,
    /// Each client with a managed policy file or a file of servers.
    pub clients: Vec<ClientPolicy>,
    /// How many deployed servers the clients will block.
    pub blocked: usize,
}

/// One client under the policy.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClientPolicy {
    /// The client.
    pub client_id: String,
    /// Its managed policy file (absent: it has none mcp-orch can write on this system).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_file: Option<PathBuf>,
    /// The managed file's change as a unified diff.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
    /// What the client's policy syntax cannot say, and its effect.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Servers in the client's files it will refuse to start under the policy.
    pub blocked: Vec<PolicyServer>,
    /// Servers the policy forbids that this client will still start (it has no managed
    /// file, or its syntax cannot express the rule).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_enforced: Vec<PolicyServer>,
    /// The backup of the managed file as it was (after writing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// Why the managed file could not be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A server a policy stops (or would, with a client that enforced it).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PolicyServer {
    /// The server's name.
    pub server: String,
    /// The client file it is in.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// Where managed files go: the system's own places, or the same places under `root` (an
/// image being prepared, a test).
#[derive(Debug, Clone, Copy)]
pub struct ManagedRoot<'a>(pub Option<&'a Path>);

impl Orchestrator {
    fn policy_file(&self) -> PathBuf {
        self.state.join("policy.toml")
    }

    /// The policy set with [`Self::set_policy`], if any.
    ///
    /// # Errors
    /// `POLICY_INVALID` when the stored file was edited into something invalid.
    pub fn policy(&self) -> Result<Option<Policy>> {
        let path = self.policy_file();
        match fsutil::read_optional(&path)? {
            None => Ok(None),
            Some(bytes) => Policy::parse(&String::from_utf8_lossy(&bytes), &path).map(Some),
        }
    }

    /// The stored policy, or `NO_POLICY`.
    ///
    /// # Errors
    /// `NO_POLICY`, `POLICY_INVALID`.
    pub fn current_policy(&self) -> Result<Policy> {
        self.policy()?.ok_or_else(|| {
            Error::invalid(
                Code::NoPolicy,
                "file",
                "no policy is set",
                "give the policy file: `mcp-orch policy plan FILE`, then `mcp-orch policy FILE`",
            )
        })
    }

    /// Checks the policy in `text` and makes it the one `validate` and later `policy`
    /// commands use (`<home>/policy.toml`).
    ///
    /// # Errors
    /// `POLICY_INVALID`, naming the rule.
    pub fn set_policy(&self, text: &str, origin: &Path, actor: &str) -> Result<Policy> {
        let policy = Policy::parse(text, origin)?;
        let stored = toml::to_string_pretty(&policy)
            .map_err(|e| Error::Internal(format!("writing the policy: {e}")))?;
        if self.policy()?.as_ref() != Some(&policy) {
            fsutil::atomic_write(&self.policy_file(), stored.as_bytes(), 0o644)?;
            self.record(AuditEvent::ok("policy.set", actor).details(json!({
                "allow": policy.allow.as_ref().map(Vec::len),
                "deny": policy.deny.len(),
            })))?;
        }
        Ok(policy)
    }

    /// The managed file of `def` on this system, under `root` when given; `None` when the
    /// client has none mcp-orch can write here.
    pub fn managed_file(&self, def: &ClientDef, root: ManagedRoot<'_>) -> Option<PathBuf> {
        let managed = def.policy.as_ref()?;
        if !managed.env_override.is_empty()
            && let Some(path) = self
                .env
                .var(&managed.env_override)
                .filter(|p| !p.is_empty())
        {
            return Some(PathBuf::from(path));
        }
        let path = match Os::current() {
            Os::Macos => &managed.macos,
            Os::Linux => &managed.linux,
            Os::Windows => &managed.windows,
        };
        if path.is_empty() {
            return None;
        }
        let root = root.0.map(Path::to_path_buf).or_else(|| {
            self.env
                .var("MCP_ORCH_MANAGED_ROOT")
                .filter(|r| !r.is_empty())
                .map(PathBuf::from)
        });
        Some(match root {
            // `C:/Program Files/...` and `/etc/...` alike become relative to the root.
            Some(root) => root.join(
                path.split_once(":/")
                    .map_or(path.as_str(), |(_, p)| p)
                    .trim_start_matches('/'),
            ),
            None => PathBuf::from(path),
        })
    }

    /// What `policy` does to every client (or one): its managed file's diff and what the
    /// client will block among the servers in its files now. With `apply`, each managed file
    /// is written (created with its directory when missing) with a deploy's guarantees.
    ///
    /// # Errors
    /// `UNKNOWN_CLIENT`; `NO_MANAGED_FILE` for a client named that has none.
    pub fn policy_report(
        &self,
        policy: &Policy,
        client: Option<&str>,
        root: ManagedRoot<'_>,
        apply: bool,
        actor: &str,
    ) -> Result<PolicyReport> {
        if let Some(id) = client
            && self.managed_file(self.client(id)?, root).is_none()
        {
            return Err(Error::invalid(
                Code::NoManagedFile,
                "client",
                format!(
                    "{} has no managed policy file mcp-orch can write on this system",
                    self.client(id)?.name
                ),
                "see `mcp-orch policy plan` for the clients that have one (docs/POLICY.md)",
            ));
        }
        let files = self.client_files(client)?;
        let clients: Vec<&ClientDef> = match client {
            Some(id) => vec![self.client(id)?],
            None => self.all_clients(),
        };
        let mut out = Vec::new();
        for def in clients {
            let managed_file = self.managed_file(def, root);
            let mut report = ClientPolicy {
                client_id: def.id.clone(),
                managed_file: managed_file.clone(),
                diff: String::new(),
                notes: Vec::new(),
                blocked: Vec::new(),
                not_enforced: Vec::new(),
                backup_id: None,
                error: None,
            };
            for (_, _, path) in files.iter().filter(|(d, _, _)| d.id == def.id) {
                let entries = match self.read_entries(def, path) {
                    Ok((_, entries)) => entries,
                    Err(e) => {
                        report.error = Some(e.to_string());
                        continue;
                    }
                };
                for (name, entry) in entries {
                    let Some(id) = entry_identity(def, &name, &entry) else {
                        continue;
                    };
                    let dialect = def
                        .policy
                        .as_ref()
                        .map(|p| p.dialect)
                        .filter(|_| managed_file.is_some());
                    let server = |reason: String| PolicyServer {
                        server: name.clone(),
                        path: path.clone(),
                        reason,
                    };
                    match dialect.and_then(|d| d.blocks(policy, &id)) {
                        Some(reason) => report.blocked.push(server(reason)),
                        None => {
                            if let Some(reason) = policy.forbids(&id) {
                                report.not_enforced.push(server(reason));
                            }
                        }
                    }
                }
            }
            if let (Some(path), Some(managed)) = (&managed_file, &def.policy) {
                let outcome = self.write_managed(
                    def,
                    path,
                    managed.dialect,
                    policy,
                    apply,
                    actor,
                    &mut report,
                );
                if let Err(e) = outcome {
                    report.error = Some(e.to_string());
                }
            }
            if report.managed_file.is_some()
                || !report.blocked.is_empty()
                || !report.not_enforced.is_empty()
                || report.error.is_some()
            {
                out.push(report);
            }
        }
        let blocked = out.iter().map(|c| c.blocked.len()).sum();
        Ok(PolicyReport {
            applied: apply,
            clients: out,
            blocked,
        })
    }

    /// Compiles the policy into one managed file: the plan's diff and notes, and with
    /// `apply` the write.
    #[allow(clippy::too_many_arguments)]
    fn write_managed(
        &self,
        def: &ClientDef,
        path: &Path,
        dialect: crate::core::clients::PolicyDialect,
        policy: &Policy,
        apply: bool,
        actor: &str,
        report: &mut ClientPolicy,
    ) -> Result<()> {
        let label = path.display().to_string();
        let mut compile = |old: Option<&str>| -> Result<String> {
            let compiled = dialect.compile(policy, old, path)?;
            report.diff =
                crate::core::diff::unified(old.unwrap_or_default(), &compiled.text, &label);
            report.notes = compiled.notes;
            Ok(compiled.text)
        };
        if !apply {
            let old = crate::core::writer::read_text(path)?;
            compile(old.as_deref())?;
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let done = self.rewrite_file(&def.id, path, |old| {
            let text = compile(old)?;
            let mut event = AuditEvent::ok("policy.apply", actor).details(json!({
                "path": path,
                "sha256": fsutil::sha256_hex(text.as_bytes()),
            }));
            event.client_id = Some(def.id.clone());
            Ok(Some(Edit {
                text,
                events: vec![event],
                private: false,
            }))
        })?;
        report.backup_id = done.backup_id;
        Ok(())
    }
}

/// An entry of `client`'s file as the client sees it (a launcher entry is the launcher's
/// command line); `None` for an entry that is not a server.
fn entry_identity(client: &ClientDef, name: &str, entry: &serde_json::Value) -> Option<Identity> {
    let raw = crate::core::import::raw_entry(client, entry).ok()?;
    Some(Identity {
        name: name.to_owned(),
        argv: raw.command.into_iter().chain(raw.args).collect(),
        url: raw.url,
    })
}
