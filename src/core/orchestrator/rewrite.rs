//! Rewriting a whole file outside a deploy (a secret sweep, a managed policy file) with the
//! guarantees a deploy gives a client file: the file's lock, an intent that lets a killed
//! process's successor finish or undo it, a backup of what was there, an atomic replace only
//! when nobody changed the file since it was read, and the audit records appended with it.

use std::path::{Path, PathBuf};

use crate::core::audit::AuditEvent;
use crate::core::code::Code;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard, Replace};
use crate::core::intent::{Evidence, Intent};
use crate::core::writer;

use super::Orchestrator;
use super::deploy::MAX_ATTEMPTS;

/// What a rewrite did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Whether the file changed.
    pub changed: bool,
    /// The backup of the previous bytes, when there were any.
    pub backup_id: Option<String>,
}

/// The new text of a file and the audit records of the change.
pub(super) struct Edit {
    /// What the file becomes.
    pub text: String,
    /// The audit records appended once it is written.
    pub events: Vec<AuditEvent>,
    /// Whether the new text holds secret values (the file loses its group and other bits).
    pub private: bool,
}

/// A file's bytes as text, or `CONFIG_PARSE_ERROR` when they are not UTF-8.
pub(super) fn utf8_text<'a>(path: &Path, bytes: Option<&'a [u8]>) -> Result<Option<&'a str>> {
    bytes
        .map(|bytes| {
            std::str::from_utf8(bytes).map_err(|_| Error::Parse {
                path: path.to_path_buf(),
                message: "the file is not UTF-8".into(),
                code: Code::ConfigParseError,
            })
        })
        .transpose()
}

impl Orchestrator {
    /// Takes the lock of the file at `real` (its real path), finishes or undoes what a killed
    /// writer of it left, and removes that writer's temp files. Held until the guard drops.
    pub(super) fn lock_file(&self, real: &Path) -> Result<(PathBuf, LockGuard)> {
        let lock = self.state.locks().join(writer::lock_name(real));
        let guard = LockGuard::acquire(&lock)?;
        self.recover_held(&lock)?;
        fsutil::remove_temp_files_of(real);
        Ok((lock, guard))
    }

    /// Rewrites `path` with what `edit` makes of its current text (`None`: it does not exist),
    /// under its lock; `edit` returning `None` leaves the file alone. A backup of the old bytes
    /// is kept under `client`'s backups.
    pub(super) fn rewrite_file(
        &self,
        client: &str,
        path: &Path,
        mut edit: impl FnMut(Option<&str>) -> Result<Option<Edit>>,
    ) -> Result<Rewritten> {
        let target = writer::resolve(path, false)?;
        let real = &target.real_path;
        let (lock, _guard) = self.lock_file(real)?;
        for _ in 0..MAX_ATTEMPTS {
            let old = writer::read(real)?;
            let old_text = utf8_text(real, old.as_deref())?;
            let Some(change) = edit(old_text)? else {
                return Ok(Rewritten::default());
            };
            if old_text == Some(change.text.as_str()) {
                return Ok(Rewritten::default());
            }
            let intent = Intent::new(
                lock.clone(),
                Evidence::File {
                    path: real.clone(),
                    before: old.as_deref().map(fsutil::sha256_hex),
                    after: fsutil::sha256_hex(change.text.as_bytes()),
                },
                Vec::new(),
                change.events,
                self.now(),
            );
            self.intents().begin(&intent)?;
            let backup_id = match &old {
                Some(bytes) => {
                    Some(
                        self.backup_store()
                            .save(client, real, bytes, self.now(), None)?,
                    )
                }
                None => None,
            };
            let replaced = fsutil::replace_if_unchanged(
                real,
                change.text.as_bytes(),
                old.as_deref(),
                0o644,
                change.private,
            )?;
            if replaced == Replace::Conflict {
                self.intents().finish(&intent.id)?;
                continue;
            }
            self.record_all(intent.events.clone())?;
            self.intents().finish(&intent.id)?;
            return Ok(Rewritten {
                changed: true,
                backup_id,
            });
        }
        Err(Error::invalid(
            Code::ConcurrentModification,
            "path",
            format!(
                "{} kept changing while it was being written",
                real.display()
            ),
            "another program is rewriting this file; close it and try again",
        ))
    }
}
