//! The local secret store: a 0600 JSON file in the state directory mapping secret names to
//! values. Drafts, artifacts, diffs and outputs hold only the names. Values leave the store
//! only for the launcher (`mcp-orch run`) and for `--inline-secrets` deploys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};

/// `<home>/secrets.json`.
#[derive(Debug, Clone)]
pub struct SecretStore {
    path: PathBuf,
    lock: PathBuf,
}

impl SecretStore {
    /// A store at `path` with its lock file at `lock`.
    pub fn new(path: PathBuf, lock: PathBuf) -> Self {
        Self { path, lock }
    }

    /// The store's file.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    fn read(&self) -> Result<BTreeMap<String, String>> {
        check_private(&self.path)?;
        Ok(fsutil::read_json(&self.path)?.unwrap_or_default())
    }

    /// The names of every stored secret.
    pub fn names(&self) -> Result<Vec<String>> {
        Ok(self.read()?.into_keys().collect())
    }

    /// Whether a secret exists.
    pub fn contains(&self, name: &str) -> Result<bool> {
        Ok(self.read()?.contains_key(name))
    }

    /// A secret's value.
    pub fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self.read()?.remove(name))
    }

    /// Every secret, for the launcher and for redaction.
    pub fn all(&self) -> Result<BTreeMap<String, String>> {
        self.read()
    }

    /// Stores or replaces a secret.
    pub fn set(&self, name: &str, value: &str) -> Result<()> {
        check_secret_name(name)?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut all = self.read()?;
        all.insert(name.to_owned(), value.to_owned());
        fsutil::write_json(&self.path, &all)
    }

    /// Removes a secret; returns whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut all = self.read()?;
        let existed = all.remove(name).is_some();
        if existed {
            fsutil::write_json(&self.path, &all)?;
        }
        Ok(existed)
    }
}

/// Secret names follow env var rules.
pub fn check_secret_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "INVALID_SECRET_NAME",
            "secret",
            format!("`{name}` is not a valid secret name"),
            "use letters, digits and `_`, not starting with a digit (like an env var)",
        ))
    }
}

/// Refuses a file that group or others can read.
pub fn check_private(path: &std::path::Path) -> Result<()> {
    if let Some(mode) = fsutil::existing_mode(path)
        && mode & 0o077 != 0
    {
        return Err(Error::invalid(
            "INSECURE_PERMISSIONS",
            path.display().to_string(),
            format!(
                "{} can be read by other users (mode {mode:o})",
                path.display()
            ),
            format!("run `chmod 600 {}`", path.display()),
        ));
    }
    Ok(())
}
