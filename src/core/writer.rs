//! Client files as deploys touch them (RELIABILITY.md 1.9): the real file behind a path
//! (symlinks followed, so a dotfile manager's link keeps pointing at it), what is refused
//! before anything is read (FIFOs, devices, directories, hard links, files over the size
//! limit), mcp-orch's per-file lock (one writer per file across processes), and the queue that
//! turns concurrent deploys of this process into one write (RELIABILITY.md 1.5).

use crate::core::code::Code;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::core::batch::Batcher;
use crate::core::error::{Error, Result};
use crate::core::fsutil;

/// The largest client file mcp-orch edits (64 MiB). A deploy holds the file's text, its
/// syntax tree and the new text at once, so memory grows with the file; `~/.claude.json`,
/// the largest client file in the wild, stays well below this.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How many symlinks are followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// The file a deploy writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The real file: symlinks followed (it may not exist yet).
    pub real_path: PathBuf,
    /// Whether the path was a symlink.
    pub followed_symlink: bool,
}

/// The name of mcp-orch's lock file for a client file (one per real path).
pub fn lock_name(real_path: &Path) -> String {
    format!(
        "file-{}.lock",
        &fsutil::sha256_hex(real_path.display().to_string().as_bytes())[..16]
    )
}

/// Resolves the real file behind `path` and refuses what cannot be replaced safely: anything
/// but a regular file (`NOT_A_REGULAR_FILE`, at once: a FIFO is never opened), and a file with
/// other hard links unless `break_hard_link` (replacing it would leave the other names on the
/// old bytes). A dangling symlink resolves to its target, which the write then creates: the
/// link keeps pointing where it did.
pub fn resolve(path: &Path, break_hard_link: bool) -> Result<Target> {
    let mut current = path.to_path_buf();
    let mut followed_symlink = false;
    for _ in 0..MAX_LINKS {
        let Ok(meta) = current.symlink_metadata() else {
            // Missing: the write creates it (in the real directory, when that exists).
            let real_path = match (current.parent(), current.file_name()) {
                (Some(dir), Some(name)) => fsutil::real_path(dir).join(name),
                _ => current,
            };
            return Ok(Target {
                real_path,
                followed_symlink,
            });
        };
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&current)
                .map_err(|e| Error::io(format!("reading the link {}", current.display()), e))?;
            current = match current.parent() {
                Some(dir) if link.is_relative() => dir.join(link),
                _ => link,
            };
            followed_symlink = true;
            continue;
        }
        if !meta.is_file() {
            return Err(not_a_regular_file(&current));
        }
        if !break_hard_link && hard_links(&meta) > 1 {
            return Err(Error::invalid(
                Code::HardLinkedFile,
                "path",
                format!(
                    "{} has {} hard links: replacing it would leave the other names on the old content",
                    current.display(),
                    hard_links(&meta)
                ),
                "pass --break-hard-link to write a new file at this name only, or replace the hard link with a symlink",
            ));
        }
        return Ok(Target {
            real_path: fsutil::real_path(&current),
            followed_symlink,
        });
    }
    Err(Error::invalid(
        Code::NotARegularFile,
        "path",
        format!("{} is a loop of symlinks", path.display()),
        "point the link at the client's config file",
    ))
}

fn not_a_regular_file(path: &Path) -> Error {
    Error::invalid(
        Code::NotARegularFile,
        "path",
        format!(
            "{} is not a regular file (a directory, FIFO, socket or device)",
            path.display()
        ),
        "point the profile at the client's config file with `profiles create --path`",
    )
}

#[cfg(unix)]
fn hard_links(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn hard_links(_meta: &std::fs::Metadata) -> u64 {
    1
}

/// Reads a client file (`None` when missing) within [`MAX_FILE_BYTES`], refusing anything
/// but a regular file before opening it.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        Ok(meta) if !meta.is_file() => return Err(not_a_regular_file(path)),
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            return Err(Error::invalid(
                Code::FileTooLarge,
                "path",
                format!(
                    "{} is {} MiB, over the {} MiB mcp-orch edits",
                    path.display(),
                    meta.len() / (1024 * 1024),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
                "shrink the file (for Claude Code, clear old project history), then deploy again",
            ));
        }
        Ok(_) => {}
    }
    fsutil::read_optional(path)
}

/// Reads a client file as text (`None` when missing).
pub fn read_text(path: &Path) -> Result<Option<String>> {
    read(path)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| Error::Parse {
                path: path.to_path_buf(),
                message: "the file is not UTF-8".into(),
                code: Code::ConfigParseError,
            })
        })
        .transpose()
}

/// Per-file queues: jobs for one real file submitted by concurrent threads of this process
/// run in batches, one batch at a time (the file lock still orders other processes).
pub struct FileQueues<J, R> {
    files: Mutex<HashMap<PathBuf, Arc<Batcher<J, R>>>>,
}

impl<J, R> Default for FileQueues<J, R> {
    fn default() -> Self {
        Self {
            files: Mutex::new(HashMap::new()),
        }
    }
}

impl<J, R> FileQueues<J, R> {
    /// Queues `job` for `real_path` and returns its result; `run` gets each batch in
    /// submission order (see [`Batcher::submit`]).
    pub fn submit(&self, real_path: &Path, job: J, run: impl FnMut(Vec<J>) -> Vec<R>) -> R {
        let queue = self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(real_path.to_path_buf())
            .or_default()
            .clone();
        queue.submit(job, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dangling_symlink_resolves_to_its_target_and_odd_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("mcp.json");
        std::os::unix::fs::symlink("dotfiles/mcp.json", &link).unwrap();
        std::fs::create_dir(dir.path().join("dotfiles")).unwrap();
        let target = resolve(&link, false).unwrap();
        assert!(target.followed_symlink);
        assert_eq!(
            target.real_path,
            fsutil::real_path(dir.path()).join("dotfiles/mcp.json")
        );
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(
            resolve(&fifo, false).unwrap_err().code(),
            "NOT_A_REGULAR_FILE"
        );
        assert_eq!(read(&fifo).unwrap_err().code(), "NOT_A_REGULAR_FILE");
        assert_eq!(
            resolve(dir.path(), false).unwrap_err().code(),
            "NOT_A_REGULAR_FILE"
        );
        let file = dir.path().join("a.json");
        std::fs::write(&file, "{}").unwrap();
        std::fs::hard_link(&file, dir.path().join("b.json")).unwrap();
        assert_eq!(
            resolve(&file, false).unwrap_err().code(),
            "HARD_LINKED_FILE"
        );
        assert_eq!(
            resolve(&file, true).unwrap().real_path,
            fsutil::real_path(&file)
        );
    }
}
