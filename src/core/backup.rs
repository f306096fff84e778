//! Content-addressed backups of client files: before every write the previous bytes are kept
//! at `<home>/backups/<client>/<sha256>`, identical states stored once, and an index lists
//! them newest first so `restore` can bring any of them back.

use crate::core::code::Code;
use crate::core::next::{Hint, Op};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};
use crate::core::state::DeployRecord;

/// How many backups are kept per client.
pub const KEEP: usize = 20;

/// How many bytes of backups are kept per client (256 MiB).
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// One backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Short id (the first 12 hex digits of the sha256).
    pub id: String,
    /// Full sha256 of the bytes.
    pub sha256: String,
    /// The file the bytes came from.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// When it was taken.
    pub created_at: DateTime<Utc>,
    /// What mcp-orch owned in these bytes (the deploy record of the profile written then), so
    /// a restore of them knows its entries again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<Owner>,
}

/// The profile whose entries a backup's bytes held, and its record at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Profile id.
    pub profile: String,
    /// Its deploy record when the bytes were current.
    pub record: DeployRecord,
}

/// `<home>/backups/<client>/`.
#[derive(Debug, Clone)]
pub struct BackupStore {
    root: PathBuf,
    locks: PathBuf,
    max_bytes: u64,
}

impl BackupStore {
    /// A store under `root` with locks in `locks`.
    pub fn new(root: PathBuf, locks: PathBuf) -> Self {
        Self {
            root,
            locks,
            max_bytes: MAX_BYTES,
        }
    }

    /// The same store with another byte budget per client.
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    fn dir(&self, client: &str) -> PathBuf {
        self.root.join(client)
    }

    fn index_path(&self, client: &str) -> PathBuf {
        self.dir(client).join("index.json")
    }

    /// Backups of a client, newest first.
    pub fn list(&self, client: &str) -> Result<Vec<BackupInfo>> {
        Ok(fsutil::read_json(&self.index_path(client))?.unwrap_or_default())
    }

    /// Keeps `bytes` (the content of `path` before a write); returns the backup's id.
    pub fn save(
        &self,
        client: &str,
        path: &Path,
        bytes: &[u8],
        now: DateTime<Utc>,
        owned_by: Option<Owner>,
    ) -> Result<String> {
        let _lock = LockGuard::acquire(&self.locks.join(format!("backups-{client}.lock")))?;
        let sha256 = fsutil::sha256_hex(bytes);
        let dir = self.dir(client);
        fsutil::ensure_private_dir(&dir)?;
        let blob = dir.join(&sha256);
        if !blob.exists() {
            fsutil::atomic_write(&blob, bytes, 0o600)?;
        }
        let mut index = self.list(client)?;
        index.retain(|b| b.sha256 != sha256);
        let info = BackupInfo {
            id: sha256[..12].to_owned(),
            sha256: sha256.clone(),
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            created_at: now,
            owned_by,
        };
        index.insert(0, info);
        // The newest KEEP, and no more than MAX_BYTES together (the newest always stays): a
        // 50 MB file deployed often must not fill the disk with backups.
        let mut total = 0;
        let keep = index
            .iter()
            .take(KEEP)
            .take_while(|b| {
                total += b.size;
                total <= self.max_bytes || total == b.size
            })
            .count();
        for old in index.split_off(keep.max(1)) {
            let _ = std::fs::remove_file(dir.join(&old.sha256));
        }
        fsutil::write_json(&self.index_path(client), &index)?;
        Ok(sha256[..12].to_owned())
    }

    /// A backup's metadata and bytes, by id or a unique prefix of its sha256.
    pub fn load(&self, client: &str, id: &str) -> Result<(BackupInfo, Vec<u8>)> {
        let matches: Vec<BackupInfo> = self
            .list(client)?
            .into_iter()
            .filter(|b| !id.is_empty() && b.sha256.starts_with(&id.to_ascii_lowercase()))
            .collect();
        let info = match matches.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Error::invalid(
                    Code::BackupNotFound,
                    "backup_id",
                    format!("no backup `{id}` for client `{client}`"),
                    Hint::step("list them", Op::ListBackups, &[("client_id", client)]),
                ));
            }
            _ => {
                return Err(Error::invalid(
                    Code::AmbiguousBackupId,
                    "backup_id",
                    format!("`{id}` matches several backups"),
                    "give more digits of the id",
                ));
            }
        };
        let bytes = fsutil::read_optional(&self.dir(client).join(&info.sha256))?
            .ok_or_else(|| Error::Internal(format!("backup blob {} is missing", info.sha256)))?;
        if fsutil::sha256_hex(&bytes) != info.sha256 {
            return Err(Error::invalid(
                Code::BackupCorrupted,
                "backup_id",
                format!("backup `{id}` does not match its hash"),
                "choose another backup",
            ));
        }
        Ok((info, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_stay_within_the_count_and_the_byte_budget_and_the_newest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            BackupStore::new(dir.path().join("b"), dir.path().join("l")).with_max_bytes(100);
        let file = Path::new("/x/mcp.json");
        let now = Utc::now();
        for i in 0..3 {
            store
                .save("cursor", file, format!("{i:060}").as_bytes(), now, None)
                .unwrap();
        }
        let kept = store.list("cursor").unwrap();
        assert_eq!(kept.len(), 1, "60 + 60 bytes are over the 100-byte budget");
        assert_eq!(
            store.load("cursor", &kept[0].id).unwrap().1,
            format!("{:060}", 2).as_bytes()
        );
        let blobs = std::fs::read_dir(dir.path().join("b/cursor"))
            .unwrap()
            .count();
        assert_eq!(blobs, 2, "one blob and the index");
        // Over the budget on its own: still kept.
        store.save("cursor", file, &[b'x'; 500], now, None).unwrap();
        assert_eq!(store.list("cursor").unwrap().len(), 1);
    }
}
