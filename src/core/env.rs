//! A snapshot of the process environment that matters for finding files: the home
//! directory, the OS, the working directory and environment variables. Everything that
//! resolves a path takes this snapshot instead of reading globals, so tests point every
//! path at temporary directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Replaces every `${NAME}` in `template` with `f(NAME)`: `None` when `f` has no value for
/// one, or a `${` is not closed.
pub fn replace_refs(template: &str, mut f: impl FnMut(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        out.push_str(&f(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The operating systems whose client paths we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    /// macOS.
    Macos,
    /// Linux and other Unix-likes.
    Linux,
    /// Windows.
    Windows,
}

impl Os {
    /// The OS this binary was built for.
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::Macos
        } else if cfg!(windows) {
            Self::Windows
        } else {
            Self::Linux
        }
    }
}

/// Environment snapshot used for path resolution.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The user's home directory.
    pub home: PathBuf,
    /// The working directory (project scope is relative to it by default).
    pub cwd: PathBuf,
    /// The OS whose path conventions apply.
    pub os: Os,
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// Captures the current process environment.
    pub fn from_process() -> Self {
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        let home = vars
            .get("HOME")
            .or_else(|| vars.get("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("."));
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self {
            home,
            cwd,
            os: Os::current(),
            vars,
        }
    }

    /// A synthetic environment, for tests and benchmarks.
    pub fn synthetic(home: impl Into<PathBuf>, os: Os, vars: &[(&str, &str)]) -> Self {
        let home = home.into();
        Self {
            cwd: home.clone(),
            home,
            os,
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Every variable.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// An environment variable; empty values count as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The `PATH` entries.
    pub fn path_dirs(&self) -> Vec<PathBuf> {
        self.var("PATH")
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default()
    }

    /// Expands a path template: a leading `~`, `${VAR}` and `${VAR:-default}` (whose default may
    /// itself start with `~`). Returns `None` when a `${VAR}` without default is unset, so the
    /// candidate is skipped.
    pub fn expand(&self, template: &str) -> Option<PathBuf> {
        let out = replace_refs(template, |inner| {
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match (self.var(name), default) {
                (Some(v), _) => Some(v.to_owned()),
                (None, Some(d)) => Some(self.expand_tilde(d)),
                (None, None) => None,
            }
        })?;
        Some(PathBuf::from(self.expand_tilde(&out)))
    }

    fn expand_tilde(&self, s: &str) -> String {
        if s == "~" {
            self.home.display().to_string()
        } else if let Some(rest) = s.strip_prefix("~/").or_else(|| s.strip_prefix("~\\")) {
            self.home.join(rest).display().to_string()
        } else {
            s.to_owned()
        }
    }

    /// Whether an executable named `command` can be found (absolute, relative or on `PATH`).
    pub fn command_exists(&self, command: &str) -> bool {
        let path = Path::new(command);
        if path.components().count() > 1 {
            return is_executable(path);
        }
        let exts: &[&str] = if self.os == Os::Windows {
            &["", ".exe", ".cmd", ".bat"]
        } else {
            &[""]
        };
        self.path_dirs().iter().any(|dir| {
            exts.iter()
                .any(|ext| is_executable(&dir.join(format!("{command}{ext}"))))
        })
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_tilde_vars_and_defaults() {
        let env =
            Environment::synthetic("/h", Os::Linux, &[("XDG_CONFIG_HOME", "/x"), ("EMPTY", "")]);
        assert_eq!(
            env.expand("~/.cursor/mcp.json"),
            Some(PathBuf::from("/h/.cursor/mcp.json"))
        );
        assert_eq!(
            env.expand("${XDG_CONFIG_HOME:-~/.config}/zed"),
            Some(PathBuf::from("/x/zed"))
        );
        assert_eq!(
            env.expand("${EMPTY:-~/.config}/zed"),
            Some(PathBuf::from("/h/.config/zed"))
        );
        assert_eq!(env.expand("${CODEX_HOME}/config.toml"), None);
    }
}
