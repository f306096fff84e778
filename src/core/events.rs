//! Change detection across processes. Every front-end (the MCP server, the TUI, the HTTP SSE
//! feed) must notice when a draft, an artifact, a deployment or the catalog changed, including
//! when another process (the CLI, a second server) made the change. The state directory is the
//! only thing they share, so a [`StateSnapshot`] records a cheap stamp (inode, size, mtime) of
//! every state file that matters, and [`changes`] turns two snapshots into typed
//! [`DomainEvent`]s. Taking a snapshot only lists a few directories and stats a few dozen
//! files; callers poll it on their own timer (this module does no I/O scheduling and uses no
//! async runtime).
//!
//! Stores write through an atomic rename, so every write gives the file a new inode: two writes
//! within one mtime tick are still told apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::core::orchestrator::Orchestrator;

/// What changed, in domain terms. Serialised with a `type` tag, e.g.
/// `{"type": "draft_changed", "client": "cursor", "profile": "default", "exists": true}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A draft was created, changed or deleted.
    DraftChanged {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// Whether the draft file exists now.
        exists: bool,
    },
    /// A release (signed artifact) of a (client, profile) was published.
    Published {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
    },
    /// The deploy record of a (client, profile) changed: a deploy, rollback or restore ran.
    Deployed {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// Whether a deploy record exists now.
        exists: bool,
    },
    /// A deployed client file changed on disk (by mcp-orch or by hand: possible drift).
    ClientFileChanged {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// The file.
        path: PathBuf,
    },
    /// Profiles were created or deleted.
    ProfilesChanged,
    /// The catalog changed (the user's overlay or a registry sync).
    CatalogChanged,
    /// The user's client registry overlay changed.
    ClientsChanged,
    /// Secrets were added or removed (values are never part of an event).
    SecretsChanged,
    /// Signing keys or trusted keys changed.
    KeysChanged,
    /// Records were appended to the audit log.
    AuditAppended,
}

impl DomainEvent {
    /// The (client, profile) the event concerns, when it concerns one.
    pub fn target(&self) -> Option<(&str, &str)> {
        match self {
            Self::DraftChanged {
                client, profile, ..
            }
            | Self::Published {
                client, profile, ..
            }
            | Self::Deployed {
                client, profile, ..
            }
            | Self::ClientFileChanged {
                client, profile, ..
            } => Some((client, profile)),
            _ => None,
        }
    }

    /// Whether the event means the orchestrator's loaded data (catalog, client registry) is
    /// stale and must be reopened.
    pub fn needs_reload(&self) -> bool {
        matches!(self, Self::CatalogChanged | Self::ClientsChanged)
    }
}

/// The identity of one version of a file: a different stamp means different content (or at
/// least a rewrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stamp {
    len: u64,
    modified_ns: i128,
    inode: u64,
}

impl Stamp {
    /// The stamp of the file at `path`, `None` when it does not exist.
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            meta.ino()
        };
        #[cfg(not(unix))]
        let inode = 0;
        Some(Self {
            len: meta.len(),
            modified_ns,
            inode,
        })
    }
}

type Target = (String, String);

/// The stamps of every state file that front-ends show. Cheap to take; compare two with
/// [`changes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateSnapshot {
    drafts: BTreeMap<Target, Stamp>,
    /// Per target: the stamps of every release file.
    releases: BTreeMap<Target, BTreeMap<PathBuf, Stamp>>,
    deployments: BTreeMap<Target, Stamp>,
    /// Deployed client files, keyed by target, with the stamp of the file (absent = missing).
    client_files: BTreeMap<Target, (PathBuf, Option<Stamp>)>,
    profiles: Option<Stamp>,
    catalog: BTreeMap<PathBuf, Stamp>,
    clients: Option<Stamp>,
    secrets: Option<Stamp>,
    keys: BTreeMap<PathBuf, Stamp>,
    audit: Option<Stamp>,
}

/// Where releases live, laid out as `<dir>/<client>/<profile>/<version>.json`.
const RELEASE_DIR: &str = "artifacts/releases";
/// Files and directories that make up the catalog besides the bundled data.
const CATALOG_FILES: &[&str] = &["catalog.toml", "registry"];
/// Files and directories that hold keys and the trust store.
const KEY_FILES: &[&str] = &["keys", "trust.json"];

impl StateSnapshot {
    /// Stamps the state directory of `orch`, and the client files its deploy records name.
    pub fn take(orch: &Orchestrator) -> Self {
        Self::take_dir(orch.home())
    }

    /// Stamps the state directory at `home`.
    pub fn take_dir(home: &Path) -> Self {
        let mut snap = Self {
            drafts: per_target_files(&home.join("drafts")),
            deployments: per_target_files(&home.join("deployments")),
            profiles: Stamp::of(&home.join("profiles.json")),
            clients: Stamp::of(&home.join("clients.toml")),
            secrets: Stamp::of(&home.join("secrets.json")),
            audit: Stamp::of(&home.join("audit.jsonl")),
            ..Self::default()
        };
        snap.releases = per_target_trees(&home.join(RELEASE_DIR));
        for name in CATALOG_FILES {
            stamp_tree(&home.join(name), 2, &mut snap.catalog);
        }
        for name in KEY_FILES {
            stamp_tree(&home.join(name), 2, &mut snap.keys);
        }
        for target in snap.deployments.keys() {
            let record = crate::core::state::DeployRecord::load(
                &home
                    .join("deployments")
                    .join(&target.0)
                    .join(format!("{}.json", target.1)),
            )
            .unwrap_or_default();
            if !record.path.as_os_str().is_empty() {
                let stamp = Stamp::of(&record.path);
                snap.client_files
                    .insert(target.clone(), (record.path.clone(), stamp));
            }
        }
        snap
    }

    /// Every (client, profile) that has a draft file.
    pub fn drafts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.drafts.keys().map(|(c, p)| (c.as_str(), p.as_str()))
    }

    /// Every (client, profile) that has at least one release.
    pub fn released(&self) -> impl Iterator<Item = (&str, &str)> {
        self.releases
            .iter()
            .filter(|(_, files)| !files.is_empty())
            .map(|((c, p), _)| (c.as_str(), p.as_str()))
    }

    /// Every (client, profile) that has a deploy record.
    pub fn deployed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.deployments
            .keys()
            .map(|(c, p)| (c.as_str(), p.as_str()))
    }
}

/// `<dir>/<client>/<profile>.json` files.
fn per_target_files(dir: &Path) -> BTreeMap<Target, Stamp> {
    let mut out = BTreeMap::new();
    for (client, client_dir) in subdirs(dir) {
        let Ok(entries) = std::fs::read_dir(&client_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(profile) = name.strip_suffix(".json") else {
                continue;
            };
            if profile.starts_with('.') {
                continue;
            }
            if let Some(stamp) = Stamp::of(&path) {
                out.insert((client.clone(), profile.to_owned()), stamp);
            }
        }
    }
    out
}

/// `<dir>/<client>/<profile>/**` trees.
fn per_target_trees(dir: &Path) -> BTreeMap<Target, BTreeMap<PathBuf, Stamp>> {
    let mut out = BTreeMap::new();
    for (client, client_dir) in subdirs(dir) {
        for (profile, profile_dir) in subdirs(&client_dir) {
            let mut files = BTreeMap::new();
            stamp_tree(&profile_dir, 2, &mut files);
            out.insert((client.clone(), profile), files);
        }
    }
    out
}

fn subdirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    out.sort();
    out
}

/// Stamps `path` (a file) or the files under it (a directory) down to `depth` levels,
/// skipping our temp files and lock files.
fn stamp_tree(path: &Path, depth: usize, out: &mut BTreeMap<PathBuf, Stamp>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        if let Some(stamp) = Stamp::of(path) {
            out.insert(path.to_path_buf(), stamp);
        }
        return;
    }
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with(".lock") {
            continue;
        }
        stamp_tree(&entry.path(), depth - 1, out);
    }
}

fn changed_keys<'a, K: Ord, V: PartialEq>(
    old: &'a BTreeMap<K, V>,
    new: &'a BTreeMap<K, V>,
) -> impl Iterator<Item = (&'a K, bool)> {
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| (k, false));
    let added_or_changed = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, _)| (k, true));
    removed.chain(added_or_changed)
}

/// The events that turn `old` into `new`, sorted and without duplicates.
pub fn changes(old: &StateSnapshot, new: &StateSnapshot) -> Vec<DomainEvent> {
    let mut out = Vec::new();
    for ((client, profile), exists) in changed_keys(&old.drafts, &new.drafts) {
        out.push(DomainEvent::DraftChanged {
            client: client.clone(),
            profile: profile.clone(),
            exists,
        });
    }
    for ((client, profile), _) in changed_keys(&old.releases, &new.releases) {
        out.push(DomainEvent::Published {
            client: client.clone(),
            profile: profile.clone(),
        });
    }
    for ((client, profile), exists) in changed_keys(&old.deployments, &new.deployments) {
        out.push(DomainEvent::Deployed {
            client: client.clone(),
            profile: profile.clone(),
            exists,
        });
    }
    for ((client, profile), _) in changed_keys(&old.client_files, &new.client_files) {
        if let Some((path, _)) = new.client_files.get(&(client.clone(), profile.clone())) {
            out.push(DomainEvent::ClientFileChanged {
                client: client.clone(),
                profile: profile.clone(),
                path: path.clone(),
            });
        }
    }
    if old.profiles != new.profiles {
        out.push(DomainEvent::ProfilesChanged);
    }
    if old.catalog != new.catalog {
        out.push(DomainEvent::CatalogChanged);
    }
    if old.clients != new.clients {
        out.push(DomainEvent::ClientsChanged);
    }
    if old.secrets != new.secrets {
        out.push(DomainEvent::SecretsChanged);
    }
    if old.keys != new.keys {
        out.push(DomainEvent::KeysChanged);
    }
    if old.audit != new.audit {
        out.push(DomainEvent::AuditAppended);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        crate::core::fsutil::atomic_write(path, text.as_bytes(), 0o600).unwrap();
    }

    #[test]
    fn identical_snapshots_have_no_changes() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("drafts/cursor/default.json"), "{}");
        let a = StateSnapshot::take_dir(dir.path());
        let b = StateSnapshot::take_dir(dir.path());
        assert_eq!(a, b);
        assert!(changes(&a, &b).is_empty());
    }

    #[test]
    fn draft_created_changed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drafts/cursor/default.json");
        let empty = StateSnapshot::take_dir(dir.path());
        write(&path, "{}");
        let created = StateSnapshot::take_dir(dir.path());
        let event = |exists| DomainEvent::DraftChanged {
            client: "cursor".into(),
            profile: "default".into(),
            exists,
        };
        assert_eq!(changes(&empty, &created), vec![event(true)]);
        // Same size, same second: the atomic rename still gives a new inode.
        write(&path, "[]");
        let changed = StateSnapshot::take_dir(dir.path());
        assert_eq!(changes(&created, &changed), vec![event(true)]);
        std::fs::remove_file(&path).unwrap();
        let removed = StateSnapshot::take_dir(dir.path());
        assert_eq!(changes(&changed, &removed), vec![event(false)]);
        assert_eq!(
            created.drafts().collect::<Vec<_>>(),
            [("cursor", "default")]
        );
        assert_eq!(removed.drafts().count(), 0);
    }

    #[test]
    fn releases_deployments_catalog_and_others() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let before = StateSnapshot::take_dir(home);
        write(&home.join("artifacts/releases/cursor/work/0001.json"), "{}");
        write(&home.join("deployments/vscode/default.json"), "{}");
        write(&home.join("catalog.toml"), "");
        write(&home.join("clients.toml"), "");
        write(&home.join("profiles.json"), "{}");
        write(&home.join("secrets.json"), "{}");
        write(&home.join("keys/signing.pub"), "k");
        write(&home.join("audit.jsonl"), "{}\n");
        let after = StateSnapshot::take_dir(home);
        assert_eq!(
            changes(&before, &after),
            vec![
                DomainEvent::Published {
                    client: "cursor".into(),
                    profile: "work".into(),
                },
                DomainEvent::Deployed {
                    client: "vscode".into(),
                    profile: "default".into(),
                    exists: true
                },
                DomainEvent::ProfilesChanged,
                DomainEvent::CatalogChanged,
                DomainEvent::ClientsChanged,
                DomainEvent::SecretsChanged,
                DomainEvent::KeysChanged,
                DomainEvent::AuditAppended,
            ]
        );
        assert_eq!(after.released().collect::<Vec<_>>(), [("cursor", "work")]);
        assert_eq!(
            after.deployed().collect::<Vec<_>>(),
            [("vscode", "default")]
        );
    }

    #[test]
    fn deployed_client_file_edits_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let client_file = home.join("client.json");
        write(&client_file, "{}");
        let record = serde_json::json!({ "path": client_file, "owned": ["a"] });
        write(
            &home.join("deployments/cursor/default.json"),
            &record.to_string(),
        );
        let before = StateSnapshot::take_dir(home);
        write(&client_file, "{\"mcpServers\": {}}");
        let after = StateSnapshot::take_dir(home);
        assert_eq!(
            changes(&before, &after),
            vec![DomainEvent::ClientFileChanged {
                client: "cursor".into(),
                profile: "default".into(),
                path: client_file,
            }]
        );
    }

    #[test]
    fn events_serialise_with_a_type_tag() {
        let e = DomainEvent::DraftChanged {
            client: "cursor".into(),
            profile: "default".into(),
            exists: true,
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"type": "draft_changed", "client": "cursor", "profile": "default", "exists": true})
        );
        assert_eq!(
            serde_json::to_value(DomainEvent::CatalogChanged).unwrap(),
            serde_json::json!({"type": "catalog_changed"})
        );
    }
}
