//! Profiles: named drafts per client, each with its deploy target (the client's user file,
//! a project's file, or a pinned path). `default` exists for every client.

use crate::core::code::Code;
use crate::core::next::{Hint, Op};
use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::draft::check_id;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};

/// The profile every client has.
pub const DEFAULT_PROFILE: &str = "default";

/// Which of the client's files a profile deploys to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The user-scope file.
    #[default]
    User,
    /// A project-scope file.
    Project,
    /// One project's servers kept inside the user-scope file (Claude Code's "local" scope:
    /// `projects.<dir>.mcpServers` in `~/.claude.json`).
    Local,
}

impl Scope {
    /// The name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Project => "project",
            Self::Local => "local",
        }
    }
}

/// A profile's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Profile id.
    pub id: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Scope of the target file.
    #[serde(default)]
    pub scope: Scope,
    /// Project root, for project and local scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_dir: Option<PathBuf>,
    /// A pinned file, overriding path resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Creation time (absent for the implicit default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

impl Profile {
    /// The implicit default profile.
    pub fn default_profile() -> Self {
        Self {
            id: DEFAULT_PROFILE.to_owned(),
            description: "Standard configuration (the client's user-scope file)".to_owned(),
            scope: Scope::User,
            project_dir: None,
            path: None,
            created_at: None,
        }
    }
}

type ProfileMap = BTreeMap<String, BTreeMap<String, Profile>>;

/// `<home>/profiles.json`.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    path: PathBuf,
    lock: PathBuf,
}

impl ProfileStore {
    /// A store at `path` with its lock file at `lock`.
    pub fn new(path: PathBuf, lock: PathBuf) -> Self {
        Self { path, lock }
    }

    fn read(&self) -> Result<ProfileMap> {
        Ok(fsutil::read_json(&self.path)?.unwrap_or_default())
    }

    /// The profiles of a client, `default` first, then by id. A stored `default` overrides the
    /// implicit one (to pin its path).
    pub fn list(&self, client: &str) -> Result<Vec<Profile>> {
        let mut stored = self.read()?.remove(client).unwrap_or_default();
        let default = stored
            .remove(DEFAULT_PROFILE)
            .unwrap_or_else(Profile::default_profile);
        Ok(std::iter::once(default)
            .chain(stored.into_values())
            .collect())
    }

    /// A profile, or `UNKNOWN_PROFILE`.
    pub fn get(&self, client: &str, profile: &str) -> Result<Profile> {
        self.list(client)?
            .into_iter()
            .find(|p| p.id == profile)
            .ok_or_else(|| Error::UnknownProfile {
                client: client.to_owned(),
                profile: profile.to_owned(),
            })
    }

    /// Creates a profile; fails when it exists.
    pub fn create(
        &self,
        client: &str,
        mut profile: Profile,
        now: DateTime<Utc>,
    ) -> Result<Profile> {
        check_id("profile", &profile.id)?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut all = self.read()?;
        let entry = all.entry(client.to_owned()).or_default();
        if profile.id == DEFAULT_PROFILE || entry.contains_key(&profile.id) {
            return Err(Error::ProfileExists {
                client: client.to_owned(),
                profile: profile.id,
            });
        }
        profile.created_at = Some(now);
        entry.insert(profile.id.clone(), profile.clone());
        fsutil::write_json(&self.path, &all)?;
        Ok(profile)
    }

    /// Deletes a profile; `default` cannot be deleted.
    pub fn delete(&self, client: &str, profile: &str) -> Result<()> {
        if profile == DEFAULT_PROFILE {
            return Err(Error::invalid(
                Code::ProfileProtected,
                "profile_id",
                "the `default` profile cannot be deleted",
                Hint::step(
                    "clear its draft instead",
                    Op::ClearDraft,
                    &[("client_id", client), ("profile_id", DEFAULT_PROFILE)],
                ),
            ));
        }
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut all = self.read()?;
        let removed = all.get_mut(client).and_then(|m| m.remove(profile));
        if removed.is_none() {
            return Err(Error::UnknownProfile {
                client: client.to_owned(),
                profile: profile.to_owned(),
            });
        }
        fsutil::write_json(&self.path, &all)
    }
}
