//! The layout of the state directory, and the per-target deploy record that says which entries
//! of a client's file mcp-orch owns (recorded here, never as markers in the client's file).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::error::Result;
use crate::core::fsutil;

/// Paths inside the state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state directory at `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path under the root.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The lock directory.
    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// The deploy record of a (client, profile).
    pub fn deploy_record(&self, client: &str, profile: &str) -> PathBuf {
        self.root
            .join("deployments")
            .join(client)
            .join(format!("{profile}.json"))
    }
}

/// What mcp-orch last wrote into a client's file for one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRecord {
    /// The file written.
    #[serde(default)]
    pub path: PathBuf,
    /// Entry names mcp-orch owns in that file.
    #[serde(default)]
    pub owned: BTreeSet<String>,
    /// The deployed artifact, when deploys are artifact-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    /// The deployed artifact's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// sha256 of each owned entry as written (RFC 8785 form), for drift detection.
    #[serde(default)]
    pub entry_hashes: std::collections::BTreeMap<String, String>,
    /// The highest artifact version ever deployed here: deploying below it is a downgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_version: Option<u64>,
    /// sha256 of the whole file as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// When it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<DateTime<Utc>>,
}

impl DeployRecord {
    /// Loads the record, or an empty one.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(fsutil::read_json(path)?.unwrap_or_default())
    }
}
