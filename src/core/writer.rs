//! The write recipe for client files (RELIABILITY.md 1.9): follow symlinks to the real file,
//! take mcp-orch's per-file lock (one writer per file across processes), remove temp files of
//! killed runs, read, compute the new text from what is there *now* (so concurrent deploys
//! merge instead of overwriting each other), back up the old bytes, write a temp file and
//! fsync it, re-check that nobody else changed the file, rename, fsync the directory, and read
//! the result back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::backup::BackupStore;
use crate::core::batch::Batcher;
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

/// The name of mcp-orch's lock file for a client file (one per real path).
fn lock_name(real_path: &Path) -> String {
    format!(
        "file-{}.lock",
        &fsutil::sha256_hex(real_path.display().to_string().as_bytes())[..16]
    )
}

/// A change to a client file: the text to write, computed from the file's current text
/// (empty when missing). It may run more than once if another program changes the file
/// meanwhile.
pub type Change = Box<dyn FnMut(&str) -> Result<String> + Send>;

/// A change borrowed for one batch.
type ChangeFn<'a> = dyn FnMut(&str) -> Result<String> + 'a;

/// The queue of one file: each change, and whether its text holds secret values.
type FileQueue = Batcher<(Change, bool), Result<Written>>;

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
    let mut results = write_batch(
        path,
        locks,
        backups,
        client,
        now,
        false,
        &mut [&mut compute],
    )?;
    results.pop().unwrap_or_else(|| {
        Err(Error::Internal(
            "a write of one change had no result".into(),
        ))
    })
}

/// Writes several changes into one file with one read, one backup and one fsync'd write: each
/// change sees the text the previous ones produced. A change that fails is left out (the
/// others still land) and gets its error; an error of the file itself fails the whole batch.
/// A `private` write (the text holds secret values) leaves the file readable by its owner only.
fn write_batch(
    path: &Path,
    locks: &Path,
    backups: &BackupStore,
    client: &str,
    now: DateTime<Utc>,
    private: bool,
    changes: &mut [&mut ChangeFn<'_>],
) -> Result<Vec<Result<Written>>> {
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
    let _lock = LockGuard::acquire(&locks.join(lock_name(&real_path)))?;
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
        // Each change applies to the text the ones before it produced.
        let mut text = old_text.clone();
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in changes.iter_mut() {
            outcomes.push(change(&text).map(|new| {
                let differs = new != text;
                text = new;
                differs
            }));
        }
        let old_sha256 = old.as_deref().map(fsutil::sha256_hex);
        let mut written = |new_sha256: &str, backup_id: Option<&String>, wrote: bool| {
            outcomes
                .drain(..)
                .map(|outcome| {
                    outcome.map(|changed| Written {
                        real_path: real_path.clone(),
                        followed_symlink,
                        old_sha256: old_sha256.clone(),
                        new_sha256: new_sha256.to_owned(),
                        backup_id: backup_id.cloned(),
                        changed: changed && wrote,
                        text: text.clone(),
                    })
                })
                .collect::<Vec<_>>()
        };
        if old.is_some() && text == old_text {
            let sha = old_sha256.clone().unwrap_or_default();
            return Ok(written(&sha, None, false));
        }
        let backup_id = match &old {
            Some(bytes) => Some(backups.save(client, &real_path, bytes, now)?),
            None => None,
        };
        match fsutil::replace_if_unchanged(
            &real_path,
            text.as_bytes(),
            old.as_deref(),
            0o644,
            private,
        )? {
            Replace::Conflict => {}
            Replace::Done => {
                let back = fsutil::read_optional(&real_path)?.unwrap_or_default();
                if back != text.as_bytes() {
                    return Err(Error::invalid(
                        "WRITE_VERIFY_FAILED",
                        "path",
                        format!("{} changed right after it was written", real_path.display()),
                        "another program rewrites this file; close it and deploy again",
                    ));
                }
                let new_sha256 = fsutil::sha256_hex(&back);
                return Ok(written(&new_sha256, backup_id.as_ref(), true));
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

/// Coalesces the concurrent writes of this process into one file (RELIABILITY.md 1.5): changes
/// queued while a write runs land together in the next one (one read, one backup, one fsync'd
/// write). The file lock still orders writers of different processes.
#[derive(Default)]
pub struct WriteQueues {
    files: Mutex<HashMap<PathBuf, Arc<FileQueue>>>,
}

impl WriteQueues {
    /// Applies `change` to the client file at `path`, together with the changes other threads
    /// queue for the same file meanwhile. `private`: the change writes secret values, so the
    /// file must end up readable by its owner only (0600).
    ///
    /// # Errors
    /// The change's own error, or the file's (then every change of the batch fails with it).
    #[allow(clippy::too_many_arguments)] // one write's whole context, passed straight through
    pub fn write(
        &self,
        path: &Path,
        locks: &Path,
        backups: &BackupStore,
        client: &str,
        now: DateTime<Utc>,
        change: Change,
        private: bool,
    ) -> Result<Written> {
        let queue = self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(fsutil::real_path(path))
            .or_default()
            .clone();
        queue.submit((change, private), |mut changes| {
            let count = changes.len();
            let private = changes.iter().any(|(_, private)| *private);
            let mut refs: Vec<&mut ChangeFn<'_>> = changes
                .iter_mut()
                .map(|(c, _)| c.as_mut() as &mut ChangeFn<'_>)
                .collect();
            match write_batch(path, locks, backups, client, now, private, &mut refs) {
                Ok(results) => results,
                Err(e) => (0..count).map(|_| Err(e.replicate())).collect(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends `line` to the text.
    fn append(line: String) -> Change {
        Box::new(move |old: &str| Ok(format!("{old}{line}\n")))
    }

    #[test]
    fn changes_queued_while_a_write_runs_land_together_in_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mcp.json");
        std::fs::write(&file, "").unwrap();
        let locks = dir.path().join("locks");
        let backups = BackupStore::new(dir.path().join("backups"), locks.clone());
        let queues = WriteQueues::default();
        let now = Utc::now();
        // Another process holds the file: the first writer waits on the lock while the other
        // changes queue up behind it.
        let held = LockGuard::acquire(&locks.join(lock_name(&fsutil::real_path(&file)))).unwrap();
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (queues, file, locks, backups) = (&queues, &file, &locks, &backups);
                    scope.spawn(move || {
                        queues.write(
                            file,
                            locks,
                            backups,
                            "cursor",
                            now,
                            append(format!("line {i}")),
                            false,
                        )
                    })
                })
                .collect();
            // Polling other threads' progress: there is no event to wait on. Every change is
            // queued and the first writer is waiting on the lock.
            #[allow(clippy::disallowed_methods)]
            loop {
                let queue = queues.files.lock().unwrap().values().next().cloned();
                if queue.is_some_and(|q| q.progress() == (8, true)) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            drop(held);
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect::<Vec<_>>()
        });
        let text = std::fs::read_to_string(&file).unwrap();
        for i in 0..8 {
            assert!(text.contains(&format!("line {i}\n")), "{text}");
        }
        assert!(results.iter().all(|w| w.changed));
        // At most two physical writes: what the first writer had taken when it went for the
        // lock, then everything queued behind it.
        let writes: std::collections::BTreeSet<&str> =
            results.iter().map(|w| w.new_sha256.as_str()).collect();
        assert!(writes.len() <= 2, "{results:#?}");
    }

    #[test]
    fn a_failing_change_is_left_out_and_the_others_land() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mcp.json");
        let locks = dir.path().join("locks");
        let backups = BackupStore::new(dir.path().join("backups"), locks.clone());
        let mut ok = |old: &str| Ok(format!("{old}a\n"));
        let mut bad = |_: &str| -> Result<String> {
            Err(Error::invalid(
                "NAME_CLASH",
                "servers",
                "clash",
                "rename it",
            ))
        };
        let mut also_ok = |old: &str| Ok(format!("{old}b\n"));
        let results = write_batch(
            &file,
            &locks,
            &backups,
            "cursor",
            Utc::now(),
            false,
            &mut [&mut ok, &mut bad, &mut also_ok],
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\nb\n");
        assert!(results[0].as_ref().is_ok_and(|w| w.changed));
        assert_eq!(
            results[1].as_ref().map_err(Error::code).unwrap_err(),
            "NAME_CLASH"
        );
        assert!(results[2].as_ref().is_ok_and(|w| w.changed));
    }
}
