//! The write recipe for client files (RELIABILITY.md 1.9): follow symlinks to the real file,
//! take mcp-orch's per-file lock (one writer per file across processes), remove temp files of
//! killed runs, read, compute the new text from what is there *now* (so concurrent deploys
//! merge instead of overwriting each other), back up the old bytes, write a temp file and
//! fsync it, re-check that nobody else changed the file, rename, fsync the directory, and read
//! the result back.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::backup::BackupStore;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard, Replace};

/// How often the optimistic re-check may fail before giving up.
const MAX_ATTEMPTS: u32 = 5;

/// What a write did.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// The file actually written (after following symlinks).
    pub real_path: PathBuf,
    /// Whether `path` was a symlink that was followed.
    pub followed_symlink: bool,
    /// sha256 of the bytes before.
    pub old_sha256: Option<String>,
    /// sha256 of the bytes now.
    pub new_sha256: String,
    /// Backup of the bytes before, when there were any and they changed.
    pub backup_id: Option<String>,
    /// Whether anything changed.
    pub changed: bool,
    /// The text now in the file.
    #[serde(skip)]
    pub text: String,
}

/// Writes one client file. `compute` receives the file's current text (empty when missing) and
/// returns the text to write; it may run more than once if another program changes the file
/// meanwhile.
pub fn write_client_file(
    path: &Path,
    locks: &Path,
    backups: &BackupStore,
    client: &str,
    now: DateTime<Utc>,
    mut compute: impl FnMut(&str) -> Result<String>,
) -> Result<Written> {
    let followed_symlink = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    let real_path = fsutil::real_path(path);
    if real_path.exists() && !real_path.is_file() {
        return Err(Error::invalid(
            "NOT_A_REGULAR_FILE",
            "path",
            format!("{} is not a regular file", real_path.display()),
            "point the profile at the client's config file with `profiles create --path`",
        ));
    }
    let lock_name = format!(
        "file-{}.lock",
        &fsutil::sha256_hex(real_path.display().to_string().as_bytes())[..16]
    );
    let _lock = LockGuard::acquire(&locks.join(lock_name))?;
    fsutil::remove_temp_files_of(&real_path);
    for _ in 0..MAX_ATTEMPTS {
        let old = fsutil::read_optional(&real_path)?;
        let old_text = match &old {
            Some(bytes) => String::from_utf8(bytes.clone()).map_err(|_| Error::Parse {
                path: real_path.clone(),
                message: "the file is not UTF-8".into(),
                code: "CONFIG_PARSE_ERROR",
            })?,
            None => String::new(),
        };
        let new_text = compute(&old_text)?;
        let old_sha256 = old.as_deref().map(fsutil::sha256_hex);
        if old.is_some() && new_text == old_text {
            return Ok(Written {
                new_sha256: old_sha256.clone().unwrap_or_default(),
                real_path,
                followed_symlink,
                old_sha256,
                backup_id: None,
                changed: false,
                text: new_text,
            });
        }
        let backup_id = match &old {
            Some(bytes) => Some(backups.save(client, &real_path, bytes, now)?),
            None => None,
        };
        match fsutil::replace_if_unchanged(&real_path, new_text.as_bytes(), old.as_deref(), 0o644)?
        {
            Replace::Conflict => {}
            Replace::Done => {
                let back = fsutil::read_optional(&real_path)?.unwrap_or_default();
                let new_sha256 = fsutil::sha256_hex(&back);
                if back != new_text.as_bytes() {
                    return Err(Error::invalid(
                        "WRITE_VERIFY_FAILED",
                        "path",
                        format!("{} changed right after it was written", real_path.display()),
                        "another program rewrites this file; close it and deploy again",
                    ));
                }
                return Ok(Written {
                    real_path,
                    followed_symlink,
                    old_sha256,
                    new_sha256,
                    backup_id,
                    changed: true,
                    text: new_text,
                });
            }
        }
    }
    Err(Error::invalid(
        "CONCURRENT_MODIFICATION",
        "path",
        format!(
            "{} kept changing while it was being written",
            real_path.display()
        ),
        "another program is rewriting this file; close it and deploy again",
    ))
}
