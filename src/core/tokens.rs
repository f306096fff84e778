//! API tokens for the HTTP server: created and revoked from the CLI, checked by the server.
//!
//! A token looks like `mcpo_pat_<id>_<secret><crc>`: a recognisable prefix (so secret scanners
//! and people can tell a leaked mcp-orch token), a public 10-character id (so lookup needs no
//! scan), a 30-character base62 secret, and a 6-character base62 CRC32 of everything before it
//! (so a typo or a random string is rejected offline). Only the SHA-256 of the whole token is
//! stored, in `<home>/tokens.json` (mode 0600); the token itself is shown once. The server
//! reloads the file when it changes, so a token created or revoked with the CLI takes effect at
//! once.

use crate::core::code::Code;
use crate::core::next::{Hint, Op};
use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};

/// Every token starts with this.
pub const PREFIX: &str = "mcpo_pat_";
const ID_LEN: usize = 10;
const SECRET_LEN: usize = 30;
const CRC_LEN: usize = 6;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// The length of every token.
pub const TOKEN_LEN: usize = PREFIX.len() + ID_LEN + 1 + SECRET_LEN + CRC_LEN;

/// What a token may do. Each scope includes the ones below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// List, show, diff, validate, status, history, audit, events.
    #[default]
    Read,
    /// Also change drafts, publish, deploy and roll back.
    Write,
    /// Also manage keys.
    Admin,
}

impl Scope {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Whether this scope allows a call that needs `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

impl std::str::FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Self::Read),
            "write" | "deploy" => Ok(Self::Write),
            "admin" => Ok(Self::Admin),
            _ => Err(Error::invalid(
                Code::InvalidScope,
                "scope",
                format!("`{s}` is not a scope"),
                "use read, write or admin",
            )),
        }
    }
}

/// One stored token: metadata and the hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (part of the token).
    pub id: String,
    /// A name to tell tokens apart.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// SHA-256 of the whole token, hex.
    pub hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last accepted (recorded by the server, a few seconds late at most).
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// `active`, `expired` or `revoked` at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        }
    }

    /// The record as listed: everything but the hash.
    pub fn public(&self, now: DateTime<Utc>) -> serde_json::Value {
        json!({
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "state": self.state(now),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        })
    }
}

/// The file: `{ "version": 1, "tokens": [...] }`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenFile {
    /// Format version.
    #[serde(default = "one")]
    pub version: u32,
    /// Every token ever created (revoked ones stay, for the record).
    #[serde(default)]
    pub tokens: Vec<TokenRecord>,
}

fn one() -> u32 {
    1
}

/// A freshly created token: shown once.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    /// The token itself.
    pub token: String,
    /// Its record.
    #[serde(flatten)]
    pub record: TokenRecord,
}

/// What changes whenever the tokens do: a file's modification time (ns), length and inode; a
/// store's revision. Read on every request, so it allocates nothing.
pub type Stamp = (u128, u64, u64);

/// Where the token file is kept: the state directory's `tokens.json`, or a shared store.
pub trait TokenBackend: Send + Sync + std::fmt::Debug {
    /// The tokens (none when nothing was stored yet).
    ///
    /// # Errors
    /// The store's own failure.
    fn load(&self) -> Result<TokenFile>;

    /// Changes the tokens with `change`, with no other change in between; nothing is stored
    /// when `change` fails.
    ///
    /// # Errors
    /// What `change` returns, or the store's own failure.
    fn update(&self, change: &mut dyn FnMut(&mut TokenFile) -> Result<()>) -> Result<()>;

    /// A value that changes whenever the tokens do (`None` when it cannot be read).
    fn stamp(&self) -> Option<Stamp>;

    /// How long a stamp is trusted before it is read again: zero for a file (a `statx` per
    /// request), longer for a store a query away.
    fn stamp_ttl(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// `<home>/tokens.json` with its lock.
#[derive(Debug, Clone)]
struct TokenFileStore {
    path: PathBuf,
    lock: PathBuf,
}

impl TokenBackend for TokenFileStore {
    fn load(&self) -> Result<TokenFile> {
        Ok(fsutil::read_json(&self.path)?.unwrap_or_default())
    }

    fn update(&self, change: &mut dyn FnMut(&mut TokenFile) -> Result<()>) -> Result<()> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = self.load()?;
        change(&mut file)?;
        fsutil::atomic_write(
            &self.path,
            &serde_json::to_vec_pretty(&file).map_err(|e| Error::Internal(e.to_string()))?,
            0o600,
        )
    }

    fn stamp(&self) -> Option<Stamp> {
        let meta = std::fs::metadata(&self.path).ok()?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some((modified, meta.len(), inode))
    }
}

/// The API tokens: created, revoked and their last use recorded, wherever they are kept.
#[derive(Debug, Clone)]
pub struct TokenStore {
    backend: std::sync::Arc<dyn TokenBackend>,
}

fn random_base62(n: usize) -> String {
    // 62 * 4 = 248: reject bytes >= 248 so every character is equally likely.
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            if b < 248 && out.len() < n {
                out.push(char::from(BASE62[usize::from(b % 62)]));
            }
        }
    }
    out
}

fn crc_base62(text: &str) -> String {
    let mut n = crc32fast::hash(text.as_bytes());
    let mut out = [b'0'; CRC_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The id of a well-formed token (prefix, length, alphabet and checksum all right), else
/// `None`. Needs no storage.
pub fn parse(token: &str) -> Option<&str> {
    if token.len() != TOKEN_LEN || !token.starts_with(PREFIX) {
        return None;
    }
    let rest = &token[PREFIX.len()..];
    let (id, tail) = rest.split_at(ID_LEN);
    let tail = tail.strip_prefix('_')?;
    if !id.bytes().chain(tail.bytes()).all(|b| BASE62.contains(&b)) {
        return None;
    }
    let (body, crc) = token.split_at(TOKEN_LEN - CRC_LEN);
    (crc_base62(body) == crc).then_some(id)
}

/// SHA-256 of a token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn generate() -> (String, String) {
    let id = random_base62(ID_LEN);
    let body = format!("{PREFIX}{id}_{}", random_base62(SECRET_LEN));
    let crc = crc_base62(&body);
    (format!("{body}{crc}"), id)
}

/// Parses `30d`, `12h`, `90m`, `2w` or `never`.
pub fn parse_duration(text: &str) -> Result<Option<Duration>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("never") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || {
        Error::invalid(
            Code::InvalidDuration,
            "expires",
            format!("`{text}` is not a duration"),
            "use a number with a unit: 30d, 12h, 90m, 2w, 45s, or `never`",
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    let d = match unit {
        "s" => Duration::try_seconds(n),
        "m" | "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        "y" => Duration::try_days(n.saturating_mul(365)),
        _ => None,
    };
    d.map(Some).ok_or_else(bad)
}

impl TokenStore {
    /// The state directory's `tokens.json` at `path`, locked through `lock`.
    pub fn new(path: PathBuf, lock: PathBuf) -> Self {
        Self::with_backend(std::sync::Arc::new(TokenFileStore { path, lock }))
    }

    /// The tokens kept by `backend`.
    pub fn with_backend(backend: std::sync::Arc<dyn TokenBackend>) -> Self {
        Self { backend }
    }

    /// Reads the tokens.
    ///
    /// # Errors
    /// The store's own failure.
    pub fn load(&self) -> Result<TokenFile> {
        self.backend.load()
    }

    /// A value that changes whenever the tokens do.
    pub fn stamp(&self) -> Option<Stamp> {
        self.backend.stamp()
    }

    /// How long a stamp is trusted.
    pub fn stamp_ttl(&self) -> std::time::Duration {
        self.backend.stamp_ttl()
    }

    fn update<T>(&self, change: impl FnOnce(&mut TokenFile) -> Result<T>) -> Result<T> {
        let mut change = Some(change);
        let mut out = None;
        self.backend.update(&mut |file| {
            let change = change
                .take()
                .ok_or_else(|| Error::Internal("a token update ran twice".into()))?;
            out = Some(change(file)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::Internal("a token update did not run".into()))
    }

    /// Creates a token.
    pub fn create(
        &self,
        name: &str,
        scope: Scope,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<NewToken> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                Code::InvalidTokenName,
                "name",
                format!("`{name}` is not a usable token name"),
                "use 1 to 64 printable characters",
            ));
        }
        self.update(|file| {
            if file
                .tokens
                .iter()
                .any(|t| t.name == name && t.state(now) == "active")
            {
                return Err(Error::invalid(
                    Code::TokenNameExists,
                    "name",
                    format!("an active token is already named `{name}`"),
                    Hint::step(
                        "choose another name, or revoke the old token",
                        Op::RevokeToken,
                        &[("id", "ID")],
                    ),
                ));
            }
            let (token, id) = loop {
                let (token, id) = generate();
                if !file.tokens.iter().any(|t| t.id == id) {
                    break (token, id);
                }
            };
            let record = TokenRecord {
                id,
                name: name.to_owned(),
                scope,
                hash: hex::encode(hash(&token)),
                created_at: now,
                expires_at,
                last_used_at: None,
                revoked_at: None,
            };
            file.tokens.push(record.clone());
            Ok(NewToken { token, record })
        })
    }

    /// Revokes a token by id (or by name, when exactly one active token has it).
    pub fn revoke(&self, id_or_name: &str, now: DateTime<Utc>) -> Result<TokenRecord> {
        self.update(|file| {
            let idx = file
                .tokens
                .iter()
                .position(|t| t.id == id_or_name)
                .or_else(|| {
                    let active: Vec<usize> = file
                        .tokens
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| t.name == id_or_name && t.revoked_at.is_none())
                        .map(|(i, _)| i)
                        .collect();
                    (active.len() == 1).then(|| active[0])
                })
                .ok_or_else(|| {
                    Error::invalid(
                        Code::TokenNotFound,
                        "id",
                        format!("no token has the id `{id_or_name}`"),
                        Hint::step("list the tokens", Op::ListTokens, &[]),
                    )
                })?;
            let record = &mut file.tokens[idx];
            if record.revoked_at.is_none() {
                record.revoked_at = Some(now);
            }
            Ok(record.clone())
        })
    }

    /// Records when tokens were last used (the newest time wins).
    pub fn record_use(&self, uses: &HashMap<String, DateTime<Utc>>) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        self.update(|file| {
            for t in &mut file.tokens {
                if let Some(at) = uses.get(&t.id)
                    && t.last_used_at.is_none_or(|old| old < *at)
                {
                    t.last_used_at = Some(*at);
                }
            }
            Ok(())
        })
    }
}

/// Why a token was refused. Callers answer every one of these the same way (401), so a caller
/// cannot tell them apart; the reason is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a well-formed token.
    Malformed,
    /// No stored token matches.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl Refusal {
    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// The tokens of one version of the file, indexed by id for checking.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    by_id: HashMap<String, (TokenRecord, [u8; 32])>,
}

impl Verifier {
    /// Indexes a file's tokens.
    pub fn new(file: &TokenFile) -> Self {
        let mut by_id = HashMap::new();
        for t in &file.tokens {
            let mut digest = [0u8; 32];
            if hex::decode_to_slice(&t.hash, &mut digest).is_ok() {
                by_id.insert(t.id.clone(), (t.clone(), digest));
            }
        }
        Self { by_id }
    }

    /// How many tokens are active at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> usize {
        self.by_id
            .values()
            .filter(|(t, _)| t.state(now) == "active")
            .count()
    }

    /// Whether the token with this id exists and is active.
    pub fn is_active(&self, id: &str, now: DateTime<Utc>) -> bool {
        self.by_id
            .get(id)
            .is_some_and(|(t, _)| t.state(now) == "active")
    }

    /// Checks a token: the hash is compared in constant time, and an unknown id costs the
    /// same hashing and comparing as a known one.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<&TokenRecord, Refusal> {
        let Some(id) = parse(token) else {
            return Err(Refusal::Malformed);
        };
        let digest = hash(token);
        let Some((record, stored)) = self.by_id.get(id) else {
            let _ = digest.ct_eq(&[0u8; 32]);
            return Err(Refusal::Unknown);
        };
        if !bool::from(digest.ct_eq(stored)) {
            return Err(Refusal::Unknown);
        }
        if record.revoked_at.is_some() {
            return Err(Refusal::Revoked);
        }
        if record.expires_at.is_some_and(|e| e <= now) {
            return Err(Refusal::Expired);
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn tokens_parse_and_reject_typos() {
        let (token, id) = generate();
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token.starts_with("mcpo_pat_"));
        assert_eq!(parse(&token), Some(id.as_str()));
        let mut typo = token.clone().into_bytes();
        let i = PREFIX.len() + ID_LEN + 5;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        assert_eq!(parse(&String::from_utf8(typo).unwrap()), None);
        assert_eq!(parse("mcpo_pat_short"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse(&token.replace("mcpo_pat_", "mcpo_xyz_")), None);
    }

    #[test]
    fn store_create_verify_revoke_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("tokens.json"), dir.path().join("t.lock"));
        let a = store.create("ci", Scope::Write, None, t(0)).unwrap();
        let b = store
            .create("short", Scope::Read, Some(t(10)), t(0))
            .unwrap();
        assert_eq!(
            store
                .create("ci", Scope::Read, None, t(1))
                .unwrap_err()
                .code(),
            "TOKEN_NAME_EXISTS"
        );
        let path = dir.path().join("tokens.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&a.token) && text.contains(&a.record.hash));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let v = Verifier::new(&store.load().unwrap());
        assert_eq!(v.verify(&a.token, t(5)).unwrap().scope, Scope::Write);
        assert_eq!(v.verify(&b.token, t(5)).unwrap().scope, Scope::Read);
        assert_eq!(v.verify(&b.token, t(10)).unwrap_err(), Refusal::Expired);
        let (other, _) = generate();
        assert_eq!(v.verify(&other, t(5)).unwrap_err(), Refusal::Unknown);
        assert_eq!(v.verify("nope", t(5)).unwrap_err(), Refusal::Malformed);
        store.revoke(&a.record.id, t(6)).unwrap();
        let v = Verifier::new(&store.load().unwrap());
        assert_eq!(v.verify(&a.token, t(7)).unwrap_err(), Refusal::Revoked);
        assert_eq!(
            store.revoke("missing", t(8)).unwrap_err().code(),
            "TOKEN_NOT_FOUND"
        );
        let uses = HashMap::from([(b.record.id.clone(), t(9))]);
        store.record_use(&uses).unwrap();
        let file = store.load().unwrap();
        assert_eq!(file.tokens[1].last_used_at, Some(t(9)));
    }

    #[test]
    fn scopes_and_durations() {
        assert!(Scope::Admin.allows(Scope::Write));
        assert!(!Scope::Read.allows(Scope::Write));
        assert_eq!("WRITE".parse::<Scope>().unwrap(), Scope::Write);
        assert!("root".parse::<Scope>().is_err());
        assert_eq!(parse_duration("30d").unwrap(), Some(Duration::days(30)));
        assert_eq!(parse_duration("12h").unwrap(), Some(Duration::hours(12)));
        assert_eq!(parse_duration("never").unwrap(), None);
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("d").is_err());
    }
}
