//! Safe file primitives shared by every store: atomic, durable replacement (temp file in the
//! same directory, fsync, rename, fsync of the directory) that keeps the file's mode and
//! writes through symlinks, inter-process locks, and 0700/0600 creation for private state.

use crate::core::code::Code;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::core::error::{Error, Result};

/// Prefix of our temp files, so leftovers of a killed run can be recognised and removed.
pub const TEMP_PREFIX: &str = ".mcp-orch-tmp-";

/// Creates a directory (and its parents) with mode 0700 when it does not exist.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

/// Follows symlinks to the real file, so a dotfile manager's link keeps pointing at it.
pub fn real_path(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The temp-file prefix used for one target file, so leftovers for that target can be found.
pub fn temp_prefix_for(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{TEMP_PREFIX}{name}-")
}

/// Outcome of [`replace_if_unchanged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// The new bytes are in place.
    Done,
    /// The file changed after it was read; nothing was written.
    Conflict,
}

/// Atomically replaces the real file behind `path` with `bytes`, but only if it still holds
/// `expected` (`None` = still missing) just before the rename: the optimistic check against
/// other programs that rewrite the file without taking our lock. Keeps the file's mode
/// (`new_mode` for a new file), less every group and other bit when the bytes are `private`
/// (they hold secret values), and its owner and group (a new file made by root in a user's
/// directory gets the directory's owner); fsyncs the temp file and the directory.
pub fn replace_if_unchanged(
    path: &Path,
    bytes: &[u8],
    expected: Option<&[u8]>,
    new_mode: u32,
    private: bool,
) -> Result<Replace> {
    replace(path, bytes, new_mode, private, Expect::Holds(expected))
}

/// What the file must hold just before the rename.
#[derive(Clone, Copy)]
enum Expect<'a> {
    /// Anything: mcp-orch's own files, written under their lock.
    Anything,
    /// These bytes (`None`: still missing): client files other programs may rewrite.
    Holds(Option<&'a [u8]>),
}

/// The one replace recipe: a temp file beside the real file, with the mode (less group and
/// other bits when `private`) and owner of the file it replaces, written and fsynced; then,
/// when `expected` is given, a check that the file still holds those bytes; the rename; the
/// directory's fsync.
fn replace(
    path: &Path,
    bytes: &[u8],
    new_mode: u32,
    private: bool,
    expected: Expect<'_>,
) -> Result<Replace> {
    let target = real_path(path);
    let dir = target
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let ctx = |what: &str| format!("{what} {}", target.display());
    let mut tmp =
        temp_file_for(&target, &dir).map_err(|e| Error::io(ctx("creating a temp file for"), e))?;
    let mode = existing_mode(&target).unwrap_or(new_mode);
    let mode = if private { mode & 0o7700 } else { mode };
    set_mode(tmp.as_file(), mode).map_err(|e| Error::io(ctx("setting the mode of"), e))?;
    keep_owner(tmp.as_file(), &target, &dir)
        .map_err(|e| Error::io(ctx("keeping the owner of"), e))?;
    tmp.write_all(bytes)
        .map_err(|e| Error::io(ctx("writing"), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(ctx("syncing"), e))?;
    if let Expect::Holds(expected) = expected
        && read_optional(&target)?.as_deref() != expected
    {
        return Ok(Replace::Conflict);
    }
    tmp.persist(&target)
        .map_err(|e| Error::io(ctx("replacing"), e.error))?;
    sync_dir(&dir);
    Ok(Replace::Done)
}

/// Gives the temp file the owner and group of the file it replaces (or, for a new file made by
/// root, of its directory), so a deploy run as root leaves a user's file theirs. Only root can
/// give a file away; anyone else's temp file already has their own ids, like the target.
#[cfg(unix)]
fn keep_owner(tmp: &File, target: &Path, dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mine = tmp.metadata()?;
    let wanted = match fs::metadata(target) {
        Ok(meta) => meta,
        Err(_) if mine.uid() == 0 => fs::metadata(dir)?,
        Err(_) => return Ok(()),
    };
    if (wanted.uid(), wanted.gid()) == (mine.uid(), mine.gid()) {
        return Ok(());
    }
    match std::os::unix::fs::fchown(tmp, Some(wanted.uid()), Some(wanted.gid())) {
        // Not root: the group may still be one of ours; the owner cannot change anyway.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && mine.uid() != 0 => Ok(()),
        other => other,
    }
}

#[cfg(not(unix))]
fn keep_owner(_tmp: &File, _target: &Path, _dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A temp file beside `target`, named so a later run can tell whose it is: the prefix of the
/// target, then this process's id.
fn temp_file_for(target: &Path, dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!(
            "{}{}-",
            temp_prefix_for(target),
            std::process::id()
        ))
        .tempfile_in(dir)
}

/// Removes the temp files under `root` (a few levels deep) whose writer is gone: a process
/// killed between creating a temp file and renaming it leaves one behind. Returns how many.
pub fn sweep_temp_files(root: &Path) -> usize {
    fn walk(dir: &Path, depth: usize, removed: &mut usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth > 0 {
                walk(&entry.path(), depth - 1, removed);
            } else if let Some(rest) = name.strip_prefix(TEMP_PREFIX)
                && writer_is_gone(rest)
                && fs::remove_file(entry.path()).is_ok()
            {
                *removed += 1;
            }
        }
    }
    let mut removed = 0;
    walk(root, 4, &mut removed);
    removed
}

/// Whether the process named in a temp file's name (`<target>-<pid>-<random>`) is gone. Names
/// without a pid (older versions) count as gone.
fn writer_is_gone(rest: &str) -> bool {
    let pid = rest.rsplit('-').nth(1).and_then(|p| p.parse::<i32>().ok());
    match pid {
        Some(pid) if pid == i32::try_from(std::process::id()).unwrap_or(-1) => false,
        #[cfg(unix)]
        Some(pid) => matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        ),
        _ => true,
    }
}

/// Removes every temp file of `target` left by a killed run. Call it only while holding the
/// target's lock: then no live writer can own one.
pub fn remove_temp_files_of(target: &Path) -> usize {
    let Some(dir) = target.parent() else { return 0 };
    let prefix = temp_prefix_for(target);
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Atomically replaces `path` with `bytes`.
///
/// The temp file is created beside the real file (after following symlinks), given the old
/// file's mode (or `new_mode` for a new file) before any data is written, fsynced, renamed over
/// the target, and the directory is fsynced. Readers see the old or the new bytes, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    replace(path, bytes, new_mode, false, Expect::Anything).map(|_| ())
}

/// Creates a new file that only the owner can read (mode 0600 from the start, never chmod-ed
/// afterwards). Fails when the file exists.
pub fn create_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    file.sync_all()
        .map_err(|e| Error::io(format!("syncing {}", path.display()), e))
}

/// The permission bits of an existing file.
pub fn existing_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

/// Makes a rename or removal in `dir` durable.
pub fn sync_dir(dir: &Path) {
    // Durability of the rename needs the directory entry on disk; failure to open a directory
    // (Windows) is not an error for the write itself.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads a file, mapping "not found" to `None`. Anything but a regular file is refused before
/// it is opened (reading a FIFO would block).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(Error::invalid(
            Code::NotARegularFile,
            "path",
            format!("{} is not a regular file", path.display()),
            "replace it with a regular file, or point mcp-orch at one",
        ));
    }
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// An exclusive inter-process lock, released on drop.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl LockGuard {
    /// Blocks until the lock file at `path` is held exclusively.
    pub fn acquire(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent() {
            ensure_private_dir(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening lock {}", path.display()), e))?;
        file.lock()
            .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
        Ok(Self { file })
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Reads and parses a JSON state file, `None` when missing.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
            code: Code::DataFileError,
        })
}

/// Serialises a state value as pretty JSON and writes it atomically with mode 0600.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("serialising {}: {e}", path.display())))?;
    bytes.push(b'\n');
    if let Some(parent) = path.parent() {
        ensure_private_dir(parent)?;
    }
    atomic_write(path, &bytes, 0o600)
}
