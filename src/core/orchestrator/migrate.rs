//! Moving servers between a client's old and new homes (façade part): Gemini CLI to
//! Antigravity CLI, a project's `.vscode/mcp.json` to the portable `.mcp.json`, `OpenCode` 1's
//! `mcp` to `OpenCode` 2's `mcp.servers`. Each entry is read in the old spelling and written in
//! the new one; every other byte of both files stays. A plan first; then the new home is
//! written before the old one gives the entries up, so a crash in between leaves them in both
//! (and the next run finishes the move).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use super::rewrite::Edit;
use super::{ClientDef, Code, Error, Orchestrator, Result, document, import, render};
use crate::core::audit::AuditEvent;
use crate::core::render::{RenderOptions, SecretStyle};

/// A move from one home of a client's servers to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Migration {
    /// Gemini CLI's `settings.json` to Antigravity CLI's `mcp_config.json` (user, or a
    /// project's `.gemini/settings.json` to its `.agents/mcp_config.json`).
    GeminiToAntigravity,
    /// A project's `.vscode/mcp.json` (`servers`) to its `.mcp.json` (`mcpServers`), which
    /// VS Code, Copilot and Claude Code read.
    VscodeToMcpJson,
    /// `OpenCode` 1's servers under `mcp` to `OpenCode` 2's `mcp.servers`, in the same file.
    OpencodeV2,
}

impl Migration {
    /// Every migration, by its name on the command line.
    pub const ALL: [(&'static str, Self); 3] = [
        ("gemini-to-antigravity", Self::GeminiToAntigravity),
        ("vscode-to-mcp-json", Self::VscodeToMcpJson),
        ("opencode-v2", Self::OpencodeV2),
    ];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }
}

/// `migrate --json`: what moves (a plan), or moved (`applied`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MigrationReport {
    /// Which migration.
    pub migration: Migration,
    /// Whether the files were written, or this is the plan.
    pub applied: bool,
    /// The old home.
    pub from: PathBuf,
    /// The new home (the same file for `OpenCode`).
    pub to: PathBuf,
    /// The servers moved, in the old file's order.
    pub moved: Vec<String>,
    /// Servers left where they are, and why.
    pub skipped: Vec<MigrationSkip>,
    /// What to check after the move.
    pub notes: Vec<String>,
    /// Each file's change as a unified diff (secrets masked), with its backup once written.
    pub files: Vec<MigratedFile>,
}

/// A server a migration leaves alone.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MigrationSkip {
    /// The server.
    pub server: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// One file a migration changes.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MigratedFile {
    /// The file.
    pub path: PathBuf,
    /// Its change.
    pub diff: String,
    /// The backup of what it held (after writing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
}

/// The two homes of a migration.
struct Homes {
    from_def: ClientDef,
    from: PathBuf,
    to_def: ClientDef,
    to: PathBuf,
    /// The deploy records whose owned entries are mcp-orch's in the old home.
    owner: (String, String),
}

/// What moving computes from the two files' texts.
struct Moving {
    from_text: String,
    to_text: String,
    moved: Vec<String>,
    skipped: Vec<MigrationSkip>,
    notes: Vec<String>,
}

impl Orchestrator {
    fn homes(&self, migration: Migration, project: Option<&Path>) -> Result<Homes> {
        let user_or_project = |def: &ClientDef| -> Result<PathBuf> {
            let resolved = match project {
                Some(root) => def.resolve_project(root),
                None => def.resolve_user(&self.env),
            };
            resolved.path.ok_or_else(|| {
                Error::invalid(
                    Code::NoProjectScope,
                    "project",
                    format!("{} has no file in that scope", def.name),
                    "run it without --project",
                )
            })
        };
        let (from_def, to_def) = match migration {
            Migration::GeminiToAntigravity => (
                self.client("gemini-cli")?.clone(),
                self.client("antigravity-cli")?.clone(),
            ),
            Migration::VscodeToMcpJson => (
                self.client("vscode")?.clone(),
                self.client("claude-code")?.clone(),
            ),
            Migration::OpencodeV2 => {
                let base = self.clients.get("opencode")?;
                (
                    base.for_version("1.0.0", crate::core::clients::VersionSource::Pinned)?,
                    base.for_version("2.0.0", crate::core::clients::VersionSource::Pinned)?,
                )
            }
        };
        let (from, to) = match migration {
            Migration::VscodeToMcpJson => {
                let root = match project {
                    Some(root) => root.to_path_buf(),
                    None => self.env.cwd.clone(),
                };
                (root.join(".vscode/mcp.json"), root.join(".mcp.json"))
            }
            Migration::OpencodeV2 => {
                let path = user_or_project(&from_def)?;
                (path.clone(), path)
            }
            Migration::GeminiToAntigravity => {
                (user_or_project(&from_def)?, user_or_project(&to_def)?)
            }
        };
        Ok(Homes {
            owner: (
                from_def.id.clone(),
                crate::core::profiles::DEFAULT_PROFILE.to_owned(),
            ),
            from_def,
            from,
            to_def,
            to,
        })
    }

    /// Moves every server of a client's old home into its new one, keeping everything else in
    /// both files. Without `apply` nothing is written. Servers mcp-orch deployed into the old
    /// home stay (their draft moves with `draft copy`); a server whose name the new home
    /// already holds with other content stays too.
    ///
    /// # Errors
    /// `NO_PROJECT_SCOPE`; a parse error of either file (both are left as they are).
    pub fn migrate(
        &self,
        migration: Migration,
        project: Option<&Path>,
        apply: bool,
        actor: &str,
    ) -> Result<MigrationReport> {
        let homes = self.homes(migration, project)?;
        let same_file = homes.from == homes.to;
        let read = |path: &Path| -> Result<String> {
            Ok(crate::core::writer::read_text(path)?.unwrap_or_default())
        };
        let plan = self.moving(migration, &homes, &read(&homes.from)?, &read(&homes.to)?)?;
        let mut report = MigrationReport {
            migration,
            applied: apply,
            from: homes.from.clone(),
            to: homes.to.clone(),
            moved: plan.moved.clone(),
            skipped: plan.skipped.clone(),
            notes: plan.notes.clone(),
            files: Vec::new(),
        };
        let old_to = read(&homes.to)?;
        let old_from = read(&homes.from)?;
        // Every secret either home holds is masked in both diffs.
        let mut redactor = crate::core::diff::Redactor::new(self.secrets.all()?.into_values());
        let entries: Vec<Value> = document::open(&homes.from_def, &old_from, &homes.from)?
            .entries()
            .into_iter()
            .chain(document::open(&homes.to_def, &old_to, &homes.to)?.entries())
            .map(|(_, e)| e)
            .collect();
        redactor.learn_from_entries(&entries);
        let diff = |path: &Path, old: &str, new: &str| MigratedFile {
            path: path.to_path_buf(),
            diff: redactor.text(&crate::core::diff::unified(
                old,
                new,
                &path.display().to_string(),
            )),
            backup_id: None,
        };
        if same_file {
            report.files.push(diff(&homes.to, &old_from, &plan.to_text));
        } else {
            report.files.push(diff(&homes.to, &old_to, &plan.to_text));
            report
                .files
                .push(diff(&homes.from, &old_from, &plan.from_text));
        }
        report.files.retain(|f| !f.diff.is_empty());
        if !apply || plan.moved.is_empty() {
            return Ok(report);
        }
        let event = |path: &Path, moved: &[String]| {
            let mut event = AuditEvent::ok("migrate", actor).details(json!({
                "migration": migration.name(),
                "path": path,
                "servers": moved,
            }));
            event.client_id = Some(homes.to_def.id.clone());
            event
        };
        // The new home first: a crash before the old one is rewritten leaves the servers in
        // both, which the next run sees as moved.
        let written = self.rewrite_file(&homes.to_def.id, &homes.to, |to_text| {
            let from_text = if same_file {
                to_text.unwrap_or_default().to_owned()
            } else {
                read(&homes.from)?
            };
            let now = self.moving(migration, &homes, &from_text, to_text.unwrap_or_default())?;
            let text = if same_file {
                now.from_text
            } else {
                now.to_text
            };
            Ok(Some(Edit {
                text,
                events: vec![event(&homes.to, &now.moved)],
                private: false,
            }))
        })?;
        report
            .files
            .iter_mut()
            .filter(|f| f.path == homes.to)
            .for_each(|f| f.backup_id.clone_from(&written.backup_id));
        if !same_file {
            let written = self.rewrite_file(&homes.from_def.id, &homes.from, |from_text| {
                let now = self.moving(
                    migration,
                    &homes,
                    from_text.unwrap_or_default(),
                    &read(&homes.to)?,
                )?;
                Ok(Some(Edit {
                    text: now.from_text,
                    events: vec![event(&homes.from, &now.moved)],
                    private: false,
                }))
            })?;
            report
                .files
                .iter_mut()
                .filter(|f| f.path == homes.from)
                .for_each(|f| f.backup_id.clone_from(&written.backup_id));
        }
        Ok(report)
    }

    /// Both files' texts after the move, computed from their current texts: each server of
    /// the old home rendered in the new home's spelling and removed from the old home.
    fn moving(
        &self,
        migration: Migration,
        homes: &Homes,
        from_text: &str,
        to_text: &str,
    ) -> Result<Moving> {
        let same_file = homes.from == homes.to;
        let mut from_doc = document::open(&homes.from_def, from_text, &homes.from)?;
        let entries = from_doc.entries();
        let owned = self.deploy_record(&homes.owner.0, &homes.owner.1)?.owned;
        let opts = RenderOptions {
            launcher: &self.launcher,
            secret_style: SecretStyle::AsConfigured,
            secret_values: None,
        };
        let mut converted: BTreeMap<String, Value> = BTreeMap::new();
        let mut moving = Moving {
            from_text: String::new(),
            to_text: String::new(),
            moved: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        };
        let to_entries: BTreeMap<String, Value> = if same_file {
            BTreeMap::new()
        } else {
            document::open(&homes.to_def, to_text, &homes.to)?
                .entries()
                .into_iter()
                .collect()
        };
        for (name, entry) in &entries {
            let skip = |reason: String| MigrationSkip {
                server: name.clone(),
                reason,
            };
            if owned.contains(name) {
                moving.skipped.push(skip(format!(
                    "deployed by mcp-orch: copy its draft (`mcp-orch draft copy --client {} --to {}`), deploy that, then undeploy {}",
                    homes.from_def.id, homes.to_def.id, homes.from_def.id
                )));
                continue;
            }
            let server = match import::parse_entry(&homes.from_def, entry, &self.launcher) {
                Ok(server) => server,
                Err(reason) => {
                    moving
                        .skipped
                        .push(skip(format!("cannot be read: {reason}")));
                    continue;
                }
            };
            let mut rendered = render::render_entry(&homes.to_def, name, &server, &opts)?;
            if migration == Migration::OpencodeV2
                && let Value::Object(map) = &mut rendered
            {
                // OpenCode 2 turns a server off with `disabled`; `enabled` is gone.
                let off = entry.get("enabled") == Some(&Value::Bool(false));
                map.remove("enabled");
                if off {
                    map.insert("disabled".into(), Value::Bool(true));
                }
            }
            match to_entries.get(name) {
                Some(there) if *there != rendered => {
                    moving.skipped.push(skip(format!(
                        "{} already has a different server of that name: rename one of them first",
                        homes.to.display()
                    )));
                    continue;
                }
                _ => {}
            }
            if homes.to_def.env_reference.is_empty() && entry.to_string().contains("${") {
                moving.notes.push(format!(
                    "`{name}` refers to variables (`${{...}}`) that {} does not expand: store the values with `mcp-orch secrets sweep` after the move",
                    homes.to_def.name
                ));
            }
            if entry.to_string().contains("${input:") {
                moving.notes.push(format!(
                    "`{name}` uses a VS Code input (`${{input:...}}`), which only VS Code prompts for: store the value with `mcp-orch secrets set` and refer to it instead"
                ));
            }
            converted.insert(name.clone(), rendered);
            moving.moved.push(name.clone());
        }
        for name in &moving.moved {
            from_doc.remove_entry(name)?;
        }
        moving.from_text = from_doc.text();
        let base = if same_file {
            moving.from_text.clone()
        } else {
            to_text.to_owned()
        };
        let mut to_doc = document::open(&homes.to_def, &base, &homes.to)?;
        // In the old file's order.
        for name in &moving.moved {
            to_doc.set_entry(name, &converted[name])?;
        }
        moving.to_text = to_doc.text();
        if same_file {
            moving.from_text.clone_from(&moving.to_text);
        }
        if !moving.moved.is_empty() {
            moving.notes.push(homes.to_def.restart_hint.clone());
        }
        Ok(moving)
    }
}
