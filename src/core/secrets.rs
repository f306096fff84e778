//! The local secret store: a 0600 JSON file in the state directory mapping secret keys to
//! values, kept byte for byte (a PEM key keeps its line breaks). Drafts, artifacts, diffs and
//! outputs hold only the keys. Values leave the store only for the launcher (`mcp-orch run`),
//! the bridge (`mcp-orch connect`) and `--inline-secrets` deploys.
//!
//! A key is scoped to one client and profile (`cursor/work/GITHUB_TOKEN`), so a value set for
//! one profile never replaces another's, or shared under a name the user chooses
//! (`GITHUB_TOKEN`); keys written before scoping existed are shared ones.

use crate::core::code::Code;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

    /// The store of the state directory `home`, without opening anything else: the launcher
    /// needs only this.
    pub fn at_home(home: &Path) -> Self {
        Self::new(
            home.join("secrets.json"),
            home.join("locks").join("secrets.lock"),
        )
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

    /// The key holding `var`'s secret for a (client, profile): its scoped key, else a shared
    /// secret of the same name (as every secret was stored before scoping).
    pub fn stored_key(&self, client: &str, profile: &str, var: &str) -> Result<Option<String>> {
        Ok(stored_key_in(&self.read()?, client, profile, var))
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

/// [`SecretStore::stored_key`] over secrets already read.
pub fn stored_key_in<V>(
    stored: &BTreeMap<String, V>,
    client: &str,
    profile: &str,
    var: &str,
) -> Option<String> {
    [scoped_key(client, profile, var), var.to_owned()]
        .into_iter()
        .find(|key| stored.contains_key(key))
}

/// The command that stores the secret `key`.
pub fn set_command(key: &str) -> String {
    match key.split('/').collect::<Vec<_>>().as_slice() {
        [client, profile, name] => {
            format!("mcp-orch secrets set {name} --client {client} --profile {profile}")
        }
        _ => format!("mcp-orch secrets set {key}"),
    }
}

/// The key of `var`'s secret for one client and profile.
pub fn scoped_key(client: &str, profile: &str, var: &str) -> String {
    format!("{client}/{profile}/{var}")
}

/// A secret key is an env-var-like name, shared, or scoped as `CLIENT/PROFILE/NAME`.
pub fn check_secret_name(key: &str) -> Result<()> {
    let var_like = |name: &str| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    };
    let ok = match key.split('/').collect::<Vec<_>>().as_slice() {
        [name] => var_like(name),
        [client, profile, name] => {
            crate::core::draft::check_id("client", client).is_ok()
                && crate::core::draft::check_id("profile", profile).is_ok()
                && var_like(name)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let shown: String = key.chars().take(80).collect();
        Err(Error::invalid(
            Code::InvalidSecretName,
            "secret",
            format!("`{shown}` is not a valid secret name"),
            "use letters, digits and `_`, not starting with a digit (like an env var), optionally scoped as CLIENT/PROFILE/NAME",
        ))
    }
}

/// Refuses a file that group or others can read.
pub fn check_private(path: &std::path::Path) -> Result<()> {
    if let Some(mode) = fsutil::existing_mode(path)
        && mode & 0o077 != 0
    {
        return Err(Error::invalid(
            Code::InsecurePermissions,
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
