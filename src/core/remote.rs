//! A developer machine's remotes (docs/TEAM.md): the team servers it pulls from, each with its
//! pinned root, what it has seen (so nothing older is accepted later) and how the last pull
//! went; and the HTTP side of talking to one. `<home>/remotes/<name>.json`, 0600 (it holds
//! the remote's API token).

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::core::code::Code;
use crate::core::draft::check_id;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};
use crate::core::registry::fetch;
use crate::core::state::StateDir;
use crate::core::team::{Seen, Signed};

/// Largest answer accepted from a team server.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// One remote as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// Its name here.
    pub name: String,
    /// The team server's base URL.
    pub url: String,
    /// The API token (read scope is enough); never shown.
    pub token: String,
    /// The newest root verified, pinned.
    pub root: Signed,
    /// What was seen: nothing older is accepted.
    pub seen: Seen,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// How the last pull went.
    pub last_pull: Option<LastPull>,
}

/// How a pull went, as remembered for `remote list` and the TUI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LastPull {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// The error code, when it failed.
    pub error_code: Option<String>,
    /// Channels deployed (`client/profile vN`).
    pub deployed: Vec<String>,
    /// Channels that are newer on the team server than deployed here, after the pull
    /// (skipped, failed, or not selected).
    pub pending: Vec<String>,
}

/// `<home>/remotes/`.
#[derive(Debug, Clone)]
pub struct RemoteStore {
    dir: PathBuf,
    locks: PathBuf,
}

impl RemoteStore {
    /// The remotes of a state directory.
    pub fn for_state(state: &StateDir) -> Self {
        Self {
            dir: state.join("remotes"),
            locks: state.locks(),
        }
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        check_id("remote", name)?;
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Holds the remote's lock: one pull (or change) of a remote at a time.
    ///
    /// # Errors
    /// `INVALID_ID`, or the lock's own failure.
    pub fn lock(&self, name: &str) -> Result<LockGuard> {
        check_id("remote", name)?;
        LockGuard::acquire(&self.locks.join(format!("remote-{name}.lock")))
    }

    /// The remote of that name.
    ///
    /// # Errors
    /// `UNKNOWN_REMOTE`, `INVALID_ID`, `DATA_FILE_ERROR`.
    pub fn load(&self, name: &str) -> Result<Remote> {
        fsutil::read_json(&self.path(name)?)?.ok_or_else(|| unknown_remote(name))
    }

    /// Every remote, by name.
    ///
    /// # Errors
    /// A remote file that does not parse.
    pub fn list(&self) -> Result<Vec<Remote>> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_owned)
            })
            .filter(|n| check_id("remote", n).is_ok())
            .collect();
        names.sort();
        names.iter().map(|n| self.load(n)).collect()
    }

    /// Stores a remote (0600).
    ///
    /// # Errors
    /// The write's own failure.
    pub fn save(&self, remote: &Remote) -> Result<()> {
        fsutil::write_json(&self.path(&remote.name)?, remote)
    }

    /// Whether a remote of that name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).is_ok_and(|p| p.is_file())
    }

    /// Removes a remote.
    ///
    /// # Errors
    /// `UNKNOWN_REMOTE`, or the removal's own failure.
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(unknown_remote(name)),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }
}

/// `UNKNOWN_REMOTE`.
pub fn unknown_remote(name: &str) -> Error {
    Error::invalid(
        Code::UnknownRemote,
        "remote",
        format!("no remote named `{}`", crate::core::error::echo(name)),
        "add it: `mcp-orch remote add NAME URL --token TOKEN` (see `mcp-orch remote list`)",
    )
}

/// Checks a team server's base URL.
///
/// # Errors
/// `INVALID_ARGUMENT` naming `url`.
pub fn check_url(raw: &str) -> Result<Url> {
    fetch::check_url(
        raw,
        Code::InvalidArgument,
        "team server",
        "https://orch.example.internal",
    )
}

/// An HTTP client for team servers.
///
/// # Errors
/// The TLS setup's own failure.
pub fn http_client() -> Result<reqwest::Client> {
    fetch::client_builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))
}

fn unreachable(url: &Url, why: &str) -> Error {
    Error::invalid(
        Code::RemoteUnreachable,
        "url",
        format!("the team server at {url} failed: {why}"),
        "check the URL, the token and the network, then pull again (nothing was changed here)",
    )
}

/// GETs `path` (below the base URL) with the token, and parses the JSON answer. A refusal
/// carries the server's own error code in the message.
///
/// # Errors
/// `REMOTE_UNREACHABLE`.
pub async fn get<T: DeserializeOwned>(
    client: &reqwest::Client,
    base: &Url,
    token: &str,
    path: &str,
) -> Result<T> {
    let url = base
        .join(path.trim_start_matches('/'))
        .map_err(|e| unreachable(base, &e.to_string()))?;
    let response = client
        .get(url.clone())
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| unreachable(&url, &without_url(e)))?;
    let status = response.status();
    let bytes = read_capped(response, &url).await?;
    if !status.is_success() {
        let code = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(unreachable(
            &url,
            &format!("HTTP {} {code}", status.as_u16()),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| unreachable(&url, &format!("an answer that does not parse ({e})")))
}

async fn read_capped(mut response: reqwest::Response, url: &Url) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable(url, &without_url(e)))?
    {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(unreachable(url, "an answer over 16 MiB"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// reqwest's message without the URL it repeats.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// The API's answer of `GET /v1/team/roots`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RootList {
    /// Every root, oldest first.
    pub roots: Vec<Signed>,
}

/// An HTTP client for a team server's event stream: no overall timeout (the stream stays
/// open), but a silent connection is given up after 90 s (the server sends a keep-alive
/// comment more often).
///
/// # Errors
/// The TLS setup's own failure.
pub fn stream_client() -> Result<reqwest::Client> {
    fetch::client_builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))
}

/// A team server's `/v1/events` stream.
pub struct Events {
    response: reqwest::Response,
    buffer: Vec<u8>,
    data: String,
}

/// Opens the event stream of a team server.
///
/// # Errors
/// `REMOTE_UNREACHABLE`.
pub async fn open_events(client: &reqwest::Client, base: &Url, token: &str) -> Result<Events> {
    let url = base
        .join("v1/events")
        .map_err(|e| unreachable(base, &e.to_string()))?;
    let response = client
        .get(url.clone())
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|e| unreachable(&url, &without_url(e)))?;
    if !response.status().is_success() {
        return Err(unreachable(
            &url,
            &format!("HTTP {}", response.status().as_u16()),
        ));
    }
    Ok(Events {
        response,
        buffer: Vec::new(),
        data: String::new(),
    })
}

impl Events {
    /// The `action` of the next event that has one; `None` when the stream ends (or
    /// breaks).
    pub async fn next_action(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches(['\r', '\n']);
                if line.is_empty() {
                    let data = std::mem::take(&mut self.data);
                    let action = serde_json::from_str::<serde_json::Value>(&data)
                        .ok()
                        .and_then(|v| v["action"].as_str().map(str::to_owned));
                    if action.is_some() {
                        return action;
                    }
                } else if let Some(rest) = line.strip_prefix("data:") {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                }
                continue;
            }
            if self.buffer.len() > MAX_BODY {
                return None;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk),
                _ => return None,
            }
        }
    }
}
