//! Plaintext secrets in client files (façade part): `secrets scan` finds them, `secrets sweep`
//! moves them into the secret store and rewrites each entry to read them from there, keeping
//! every other byte of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;

use super::rewrite::Edit;
use super::{ClientDef, Orchestrator, Result, document, import, render};
use crate::core::audit::AuditEvent;
use crate::core::diff::{self, Redactor};
use crate::core::render::{RenderOptions, SecretDelivery, SecretStyle};
use crate::core::secret_shape::{self, InEntry};

/// One client file's plaintext secrets (`secrets scan`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileScan {
    /// The client.
    pub client_id: String,
    /// The file.
    pub path: PathBuf,
    /// What was found, by server; never a value.
    pub findings: Vec<SecretFinding>,
    /// Why the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One plaintext secret in a client file.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SecretFinding {
    /// The server entry.
    pub server: String,
    /// Where in the entry, and what kind of secret.
    #[serde(flatten)]
    pub at: InEntry,
}

/// `secrets scan --json`: every client file that exists, with the plaintext secrets in it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SecretScan {
    /// The files read, by client.
    pub files: Vec<FileScan>,
    /// How many secrets were found.
    pub count: usize,
}

/// `secrets sweep --json`: what a sweep moves (a plan), or moved (`applied`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweepReport {
    /// Whether the files were rewritten (`--yes`), or this is the plan.
    pub applied: bool,
    /// Each client file with plaintext secrets.
    pub files: Vec<FileSweep>,
    /// How many secret values move into the store.
    pub moved: usize,
    /// How many entries keep a secret the sweep cannot move (see each file's `skipped`).
    pub skipped: usize,
}

/// One file of a sweep.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileSweep {
    /// The client.
    pub client_id: String,
    /// The profile whose secret keys the values get (`CLIENT/PROFILE/NAME`).
    pub profile_id: String,
    /// The file.
    pub path: PathBuf,
    /// The entries rewritten.
    pub servers: Vec<ServerSweep>,
    /// Entries with secrets left as they are, and why.
    pub skipped: Vec<SweepSkip>,
    /// The file's change as a unified diff, every secret masked.
    pub diff: String,
    /// The backup of the file as it was (after `--yes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// Why the file could not be swept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One entry of a sweep: what was found in it and the secret keys that now hold it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServerSweep {
    /// The server entry.
    pub server: String,
    /// Where its secrets were, and what kind.
    pub found: Vec<InEntry>,
    /// The secret store keys its values move to.
    pub keys: Vec<String>,
}

/// An entry whose secrets stay, and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweepSkip {
    /// The server entry.
    pub server: String,
    /// Why it is left alone, and what to do instead.
    pub reason: String,
}

/// Whether an env var or header of this name holds a secret, whatever its value looks like.
fn secret_name(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    crate::core::validate::looks_secret(key)
        || lower == "authorization"
        || lower.contains("api-key")
        || lower.contains("token")
}

/// A file's sweep as computed from its text.
struct Swept {
    text: String,
    servers: Vec<ServerSweep>,
    skipped: Vec<SweepSkip>,
    /// The values to store, by key.
    to_store: BTreeMap<String, String>,
}

impl Orchestrator {
    /// Finds plaintext secrets in the files of every client (or one), for each of its
    /// profiles' files that exists: values of secret-named env vars and headers, and anything
    /// shaped like a credential (`core::secret_shape`). Reads only; values are never returned.
    ///
    /// # Errors
    /// `UNKNOWN_CLIENT`.
    pub fn scan_secrets(&self, client: Option<&str>) -> Result<SecretScan> {
        let mut files = Vec::new();
        for (def, _, path) in &self.client_files(client)? {
            let mut scan = FileScan {
                client_id: def.id.clone(),
                path: path.clone(),
                findings: Vec::new(),
                error: None,
            };
            match self.read_entries(def, path) {
                Ok((_, entries)) => {
                    for (server, entry) in entries {
                        scan.findings.extend(
                            secret_shape::in_entry(&entry, &secret_name)
                                .into_iter()
                                .map(|at| SecretFinding {
                                    server: server.clone(),
                                    at,
                                }),
                        );
                    }
                }
                Err(e) => scan.error = Some(e.to_string()),
            }
            files.push(scan);
        }
        let count = files.iter().map(|f| f.findings.len()).sum();
        Ok(SecretScan { files, count })
    }

    /// Moves the plaintext secrets of every client's files (or one client's) into the secret
    /// store and rewrites each entry holding one so that mcp-orch's launcher (stdio) or bridge
    /// and header helper (remote) fill them in when the client starts the server, which works
    /// whatever environment the client runs in. Only those entries change; every other byte of
    /// each file stays. Entries mcp-orch deployed itself are left to their drafts. Without
    /// `apply` nothing is written: the report is the plan, with masked diffs.
    ///
    /// Each file is rewritten with a deploy's guarantees (its lock, an intent, a backup, an
    /// atomic replace, a `secrets.sweep` audit record naming the keys); its values are stored
    /// before the file is written, so a sweep killed in between leaves the file as it was and
    /// the next sweep stores the same values under the same keys.
    ///
    /// # Errors
    /// `UNKNOWN_CLIENT`; I/O errors of the store.
    pub fn sweep_secrets(
        &self,
        client: Option<&str>,
        apply: bool,
        actor: &str,
    ) -> Result<SweepReport> {
        let mut files = Vec::new();
        for (def, profile, path) in &self.client_files(client)? {
            let owned = self.deploy_record(&def.id, profile)?.owned;
            let mut file = FileSweep {
                client_id: def.id.clone(),
                profile_id: profile.clone(),
                path: path.clone(),
                servers: Vec::new(),
                skipped: Vec::new(),
                diff: String::new(),
                backup_id: None,
                error: None,
            };
            let mut sweep = |text: Option<&str>| -> Result<Option<Swept>> {
                let Some(text) = text else { return Ok(None) };
                let swept = self.sweep_text(def, profile, path, text, &owned)?;
                let mut redactor = Redactor::new(swept.to_store.values().cloned());
                redactor.learn_from_entries(
                    document::open(def, text, path)?
                        .entries()
                        .iter()
                        .map(|(_, e)| e),
                );
                file.diff = redactor.text(&diff::unified(
                    text,
                    &swept.text,
                    &path.display().to_string(),
                ));
                file.servers.clone_from(&swept.servers);
                file.skipped.clone_from(&swept.skipped);
                Ok(Some(swept))
            };
            let outcome = if apply {
                self.rewrite_file(&def.id, path, |text| {
                    let Some(swept) = sweep(text)? else {
                        return Ok(None);
                    };
                    if swept.servers.is_empty() {
                        return Ok(None);
                    }
                    for (key, value) in &swept.to_store {
                        self.secrets.set(key, value)?;
                    }
                    let keys: Vec<&String> = swept.to_store.keys().collect();
                    let servers: Vec<&str> =
                        swept.servers.iter().map(|s| s.server.as_str()).collect();
                    let event = AuditEvent::ok("secrets.sweep", actor)
                        .target(&def.id, profile)
                        .details(json!({"path": path, "servers": servers, "keys": keys}));
                    Ok(Some(Edit {
                        text: swept.text,
                        events: vec![event],
                        private: false,
                    }))
                })
                .map(|done| file.backup_id = done.backup_id)
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| crate::core::Error::io(format!("reading {}", path.display()), e))
                    .and_then(|text| sweep(Some(&text)).map(drop))
            };
            if let Err(e) = outcome {
                file.error = Some(e.to_string());
            }
            if !file.servers.is_empty() || !file.skipped.is_empty() || file.error.is_some() {
                files.push(file);
            }
        }
        let moved = files
            .iter()
            .flat_map(|f| &f.servers)
            .map(|s| s.keys.len())
            .sum();
        let skipped = files.iter().map(|f| f.skipped.len()).sum();
        Ok(SweepReport {
            applied: apply,
            files,
            moved,
            skipped,
        })
    }

    /// One file's sweep, computed from its text: each entry with a plaintext secret (and not
    /// `owned` by a deploy) is read back as a draft server, its secrets moved to keys of
    /// `profile`, and rendered again with launcher delivery; an entry that would still hold
    /// a secret after that is skipped, never half-swept.
    fn sweep_text(
        &self,
        def: &ClientDef,
        profile: &str,
        path: &std::path::Path,
        text: &str,
        owned: &BTreeSet<String>,
    ) -> Result<Swept> {
        let mut doc = document::open(def, text, path)?;
        let stored = self.secrets.all()?;
        let scope = crate::core::secrets::scoped_key(&def.id, profile, "");
        let opts = RenderOptions {
            launcher: &self.launcher,
            secret_style: SecretStyle::AsConfigured,
            secret_values: None,
        };
        let mut swept = Swept {
            text: String::new(),
            servers: Vec::new(),
            skipped: Vec::new(),
            to_store: BTreeMap::new(),
        };
        for (name, entry) in doc.entries() {
            let found = secret_shape::in_entry(&entry, &secret_name);
            if found.is_empty() {
                continue;
            }
            let skip = |reason: String| SweepSkip {
                server: name.clone(),
                reason,
            };
            if owned.contains(&name) {
                swept.skipped.push(skip(format!(
                    "deployed by mcp-orch from the {}/{profile} draft: deploy it again without --inline-secrets",
                    def.id
                )));
                continue;
            }
            let mut server = match import::parse_entry(def, &entry, &self.launcher) {
                Ok(server) => server,
                Err(reason) => {
                    swept
                        .skipped
                        .push(skip(format!("cannot be read: {reason}")));
                    continue;
                }
            };
            let mut to_store = swept.to_store.clone();
            import::move_secrets(
                &name,
                &scope,
                &mut server,
                &mut import::SecretSink {
                    stored: &stored,
                    to_store: &mut to_store,
                },
            );
            server.secret_delivery = Some(SecretDelivery::Launcher);
            let rendered = render::render_entry(def, &name, &server, &opts)?;
            let left = secret_shape::in_entry(&rendered, &secret_name);
            if !left.is_empty() {
                let fields: Vec<&str> = left.iter().map(|f| f.field.as_str()).collect();
                swept.skipped.push(skip(format!(
                    "a secret in {} has no place mcp-orch can fill it from: move it by hand",
                    fields.join(", ")
                )));
                continue;
            }
            let keys = moved_keys(&server, &to_store);
            swept.to_store = to_store;
            doc.set_entry(&name, &rendered)?;
            swept.servers.push(ServerSweep {
                server: name.clone(),
                found,
                keys,
            });
        }
        swept.text = doc.text();
        Ok(swept)
    }
}

/// The keys of `to_store` a swept server reads: its secret env values, and the secrets its
/// headers, arguments and URL name.
fn moved_keys(
    server: &crate::core::draft::DraftServer,
    to_store: &BTreeMap<String, String>,
) -> Vec<String> {
    let texts = (server.headers.values())
        .chain(&server.args)
        .chain(&server.url);
    let mut keys: BTreeSet<String> = texts.flat_map(|t| render::secret_keys(t)).collect();
    keys.extend(
        (server.env.values())
            .filter_map(crate::core::draft::EnvValue::secret_name)
            .map(str::to_owned),
    );
    keys.retain(|k| to_store.contains_key(k));
    keys.into_iter().collect()
}
