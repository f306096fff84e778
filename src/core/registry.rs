//! The official MCP Registry: sync (API v0.1, cursor pagination, incremental with
//! `updated_since`), the local cache that makes search work offline, and the conversion of
//! registry entries into catalog entries ([`convert()`]).
//!
//! Layout under the state directory:
//! - `registry/cache.json`: the `server.json` of every active latest server, by registry name,
//!   with the registry's status and timestamps. Entries are converted when the catalog loads,
//!   so better conversion rules apply without a new sync.
//! - `registry/entries.json`: the catalog entries converted from the cache, without their
//!   `server.json` (read from the cache on demand), so that opening the catalog stays cheap with
//!   thousands of registry entries. It is rebuilt from the cache when the conversion rules of
//!   this build differ from the ones that wrote it.
//! - `registry/state.json`: the URL, the last sync times, the `updated_since` watermark (the
//!   newest `updatedAt` seen, so the registry's clock is the only one compared), and what the
//!   last sync skipped.
//!
//! The files are written atomically (cache, entries, state), and a sync holds
//! `locks/registry.lock`.
//! Nothing here touches the network unless [`RegistryStore::sync`] is called.

pub mod convert;
pub mod export;
pub mod fetch;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::catalog::ServerEntry;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};

pub use convert::{convert, is_valid_registry_name, registry_id};

/// The official registry.
pub const DEFAULT_URL: &str = "https://registry.modelcontextprotocol.io";
/// Environment variable that overrides [`DEFAULT_URL`].
pub const URL_ENV: &str = "MCP_ORCH_REGISTRY_URL";
/// Key of the registry-managed metadata in `_meta`.
pub const OFFICIAL_META: &str = "io.modelcontextprotocol.registry/official";
/// Most pages one sync reads (a guard against a registry that never ends).
const MAX_PAGES: u32 = 100_000;
const CACHE_SCHEMA: u32 = 1;
/// Version of the conversion rules; `entries.json` written by other rules is rebuilt.
const CONVERTER: u32 = 1;

/// How to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Base URL of the registry (the API lives under `v0.1/`).
    pub url: String,
    /// Ignore the watermark and fetch everything.
    pub full: bool,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries of one request after the first attempt (5xx, 429, timeouts, connection errors).
    pub retries: u32,
    /// First backoff step, doubled after each retry.
    pub backoff: Duration,
    /// Servers per page (the API's maximum is 100).
    pub page_size: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            full: false,
            timeout: Duration::from_secs(30),
            retries: 4,
            backoff: Duration::from_millis(500),
            page_size: 100,
        }
    }
}

/// Progress of a running sync, reported after each page and before each retry.
#[derive(Debug, Clone, Default)]
pub struct SyncProgress {
    /// Pages read so far.
    pub pages: u32,
    /// Records received so far.
    pub received: usize,
    /// Set while waiting to retry: why the last attempt failed.
    pub retrying: Option<String>,
}

/// A registry entry that is not in the catalog, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Registry name (or where the record was, when it has none).
    pub name: String,
    /// Its version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// The registry's base URL.
    pub url: String,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// The `updated_since` sent, for an incremental sync.
    pub updated_since: Option<DateTime<Utc>>,
    /// Pages read.
    pub pages: u32,
    /// HTTP requests sent (retries included).
    pub requests: u32,
    /// Retries after transient failures.
    pub retries: u32,
    /// Records received.
    pub received: usize,
    /// Servers new in the cache.
    pub added: usize,
    /// Servers whose cached version changed.
    pub updated: usize,
    /// Servers dropped from the cache (deleted, deprecated, or gone in a full sync).
    pub removed: usize,
    /// Records ignored: not the latest version, or inactive and not cached.
    pub ignored: usize,
    /// Servers in the cache now.
    pub server_count: usize,
    /// Of those, how many became catalog entries.
    pub entry_count: usize,
    /// Records that could not be converted or were invalid, with the reason.
    pub skipped: Vec<Skipped>,
    /// When the sync finished.
    pub synced_at: DateTime<Utc>,
    /// Wall time.
    pub duration_ms: u64,
}

/// One cached server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedServer {
    /// Its `server.json`.
    pub server: Value,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `updatedAt` from the registry metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// `publishedAt` from the registry metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

/// `registry/cache.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cache {
    /// Format version.
    #[serde(default)]
    pub schema: u32,
    /// The registry it came from.
    #[serde(default)]
    pub url: String,
    /// Servers by registry name.
    #[serde(default)]
    pub servers: BTreeMap<String, CachedServer>,
}

/// `registry/state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// The registry last synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the last sync finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<DateTime<Utc>>,
    /// When the last full sync finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_sync_at: Option<DateTime<Utc>>,
    /// `updated_since` of the next incremental sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<DateTime<Utc>>,
    /// Servers in the cache.
    #[serde(default)]
    pub server_count: usize,
    /// Catalog entries made from them.
    #[serde(default)]
    pub entry_count: usize,
    /// What the last sync skipped.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// `registry/entries.json`: the converted catalog entries (without `server_json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EntriesFile {
    /// Format version.
    #[serde(default)]
    pub schema: u32,
    /// Version of the conversion rules that wrote it.
    #[serde(default)]
    pub converter: u32,
    /// Catalog entries, `server_json` left out.
    #[serde(default)]
    pub entries: Vec<ServerEntry>,
    /// Registry name of each entry, by id.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Cached servers that could not be converted.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

impl EntriesFile {
    /// Converts a cache.
    pub fn from_cache(cache: &Cache) -> Self {
        let (mut entries, skipped) = convert_all(cache);
        let mut names = BTreeMap::new();
        for entry in &mut entries {
            if let Some(name) = entry
                .server_json
                .take()
                .as_ref()
                .and_then(|j| j.get("name"))
                .and_then(Value::as_str)
            {
                names.insert(entry.id.clone(), name.to_owned());
            }
        }
        Self {
            schema: CACHE_SCHEMA,
            converter: CONVERTER,
            entries,
            names,
            skipped,
        }
    }
}

/// The registry metadata of one record, read defensively.
#[derive(Debug, Clone, Default)]
struct Official {
    status: Option<String>,
    is_latest: Option<bool>,
    updated_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
}

fn field<'a>(obj: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| obj.get(snake))
}

fn time_field(obj: &Value, camel: &str, snake: &str) -> Option<DateTime<Utc>> {
    field(obj, camel, snake)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Official {
    /// From `_meta[OFFICIAL_META]`, or `_meta` itself when the fields are unwrapped there.
    fn from_meta(meta: Option<&Value>) -> Option<Self> {
        let meta = meta?;
        let official = meta
            .get(OFFICIAL_META)
            .filter(|v| v.is_object())
            .or_else(|| {
                ["status", "isLatest", "is_latest", "updatedAt", "updated_at"]
                    .iter()
                    .any(|k| meta.get(*k).is_some())
                    .then_some(meta)
            })?;
        Some(Self {
            status: official
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
            is_latest: field(official, "isLatest", "is_latest").and_then(Value::as_bool),
            updated_at: time_field(official, "updatedAt", "updated_at"),
            published_at: time_field(official, "publishedAt", "published_at"),
        })
    }

    fn is_active(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "active")
    }
}

/// A record of a page, made sense of.
struct Record {
    name: String,
    version: Option<String>,
    server: Value,
    official: Official,
}

/// Reads one element of `servers[]`: `{server, _meta}`, or a bare `server.json` with its
/// metadata inside (older documents).
fn parse_record(item: &Value, position: &str) -> std::result::Result<Record, Skipped> {
    let server = match item.get("server") {
        Some(s) if s.is_object() => s,
        _ if item.get("name").is_some() => item,
        _ => {
            return Err(Skipped {
                name: position.to_owned(),
                version: None,
                reason: "the record has no server object".into(),
            });
        }
    };
    let name = server
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let version = server
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(name) = name.filter(|n| !n.trim().is_empty()) else {
        return Err(Skipped {
            name: position.to_owned(),
            version,
            reason: "the server has no name".into(),
        });
    };
    let official = Official::from_meta(item.get("_meta"))
        .or_else(|| Official::from_meta(server.get("_meta")))
        .unwrap_or_default();
    Ok(Record {
        name,
        version,
        server: server.clone(),
        official,
    })
}

/// Converts every cached server. Ids come from the registry names; names whose ids clash get
/// a hash suffix each, so no entry hides another.
pub fn convert_all(cache: &Cache) -> (Vec<ServerEntry>, Vec<Skipped>) {
    let mut by_id: HashMap<String, Vec<&str>> = HashMap::new();
    for name in cache.servers.keys() {
        by_id.entry(registry_id(name)).or_default().push(name);
    }
    let mut entries = Vec::with_capacity(cache.servers.len());
    let mut skipped = Vec::new();
    for (name, cached) in &cache.servers {
        let base = registry_id(name);
        let id = if by_id.get(&base).is_some_and(|names| names.len() > 1) {
            convert::hashed_id(&base, name)
        } else {
            base
        };
        match convert(&id, &cached.server) {
            Ok(entry) => entries.push(entry),
            Err(reason) => skipped.push(Skipped {
                name: name.clone(),
                version: cached.version.clone(),
                reason,
            }),
        }
    }
    (entries, skipped)
}

/// The registry files in the state directory.
#[derive(Debug, Clone)]
pub struct RegistryStore {
    dir: PathBuf,
    lock: PathBuf,
}

impl RegistryStore {
    /// The store in `dir` (`<home>/registry`), locked through `lock`.
    pub fn new(dir: PathBuf, lock: PathBuf) -> Self {
        Self { dir, lock }
    }

    /// `cache.json`.
    pub fn cache_path(&self) -> PathBuf {
        self.dir.join("cache.json")
    }

    /// `state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The cache, `None` before the first sync.
    pub fn load_cache(&self) -> Result<Option<Cache>> {
        fsutil::read_json(&self.cache_path())
    }

    /// The sync state (empty before the first sync).
    pub fn load_state(&self) -> Result<SyncState> {
        Ok(fsutil::read_json(&self.state_path())?.unwrap_or_default())
    }

    /// `entries.json`.
    pub fn entries_path(&self) -> PathBuf {
        self.dir.join("entries.json")
    }

    /// The catalog entries of the cache (without `server_json`), their registry names and the
    /// cached servers that could not be converted. Reads `entries.json`, or converts the cache
    /// when that file is missing or was written by other conversion rules.
    pub fn entries(&self) -> Result<EntriesFile> {
        if let Some(file) = fsutil::read_json::<EntriesFile>(&self.entries_path())
            .ok()
            .flatten()
            .filter(|f| f.schema == CACHE_SCHEMA && f.converter == CONVERTER)
        {
            return Ok(file);
        }
        Ok(self
            .load_cache()?
            .map(|c| EntriesFile::from_cache(&c))
            .unwrap_or_default())
    }

    /// The cached `server.json` of a registry name.
    pub fn server_json(&self, name: &str) -> Result<Option<Value>> {
        Ok(self
            .load_cache()?
            .and_then(|mut c| c.servers.remove(name))
            .map(|s| s.server))
    }

    /// Syncs the cache with the registry. Incremental (`updated_since` the watermark, deleted
    /// entries included so they can be dropped) when a previous sync of the same URL exists,
    /// full otherwise or when `opts.full`. `now` stamps the state; `progress` is called after
    /// each page and before each retry.
    pub async fn sync(
        &self,
        opts: &SyncOptions,
        now: impl Fn() -> DateTime<Utc>,
        progress: &mut (dyn FnMut(&SyncProgress) + Send),
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let base = fetch::check_base_url(&opts.url)?;
        let url = base.as_str().trim_end_matches('/').to_owned();
        let _lock = LockGuard::acquire(&self.lock)?;
        let old = self.load_cache()?.filter(|c| c.url == url);
        let state = self.load_state()?;
        let since = state
            .watermark
            .filter(|_| !opts.full && old.is_some() && state.url.as_deref() == Some(&url));
        let old_servers = old.map(|c| c.servers).unwrap_or_default();
        let mut servers = if since.is_some() {
            old_servers.clone()
        } else {
            BTreeMap::new()
        };
        let client = fetch::client_builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))?;
        let endpoint = base
            .join("v0.1/servers")
            .map_err(|e| Error::Internal(format!("joining the registry URL: {e}")))?;
        let policy = fetch::RetryPolicy {
            retries: opts.retries,
            backoff: opts.backoff,
        };
        let mut traffic = fetch::Traffic::default();
        let mut cursor: Option<String> = None;
        let mut seen_cursors = BTreeSet::new();
        let mut status = SyncProgress::default();
        let mut invalid = Vec::new();
        let mut ignored = 0usize;
        let mut watermark = state.watermark.filter(|_| since.is_some());
        loop {
            let mut page_url = endpoint.clone();
            {
                let mut q = page_url.query_pairs_mut();
                q.append_pair("limit", &opts.page_size.clamp(1, 100).to_string());
                q.append_pair("version", "latest");
                if let Some(c) = &cursor {
                    q.append_pair("cursor", c);
                }
                if let Some(t) = since {
                    q.append_pair(
                        "updated_since",
                        &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    );
                    q.append_pair("include_deleted", "true");
                }
            }
            let page = fetch::get_json(&client, &page_url, policy, &mut traffic, |why| {
                status.retrying = Some(why.to_owned());
                progress(&status);
            })
            .await?;
            status.retrying = None;
            status.pages += 1;
            let items = page
                .get("servers")
                .and_then(Value::as_array)
                .ok_or_else(|| fetch::bad_response(&page_url, "it has no `servers` array"))?;
            for (i, item) in items.iter().enumerate() {
                status.received += 1;
                let position = format!("page {} item {}", status.pages, i + 1);
                let record = match parse_record(item, &position) {
                    Ok(r) => r,
                    Err(skipped) => {
                        invalid.push(skipped);
                        continue;
                    }
                };
                if let Some(t) = record.official.updated_at {
                    watermark = Some(watermark.map_or(t, |w| w.max(t)));
                }
                if record.official.is_latest == Some(false) {
                    ignored += 1;
                    continue;
                }
                if !record.official.is_active() {
                    if servers.remove(&record.name).is_none() {
                        ignored += 1;
                    }
                    continue;
                }
                servers.insert(
                    record.name,
                    CachedServer {
                        server: record.server,
                        version: record.version,
                        updated_at: record.official.updated_at,
                        published_at: record.official.published_at,
                    },
                );
            }
            progress(&status);
            let next = page
                .get("metadata")
                .and_then(|m| field(m, "nextCursor", "next_cursor"))
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            match next {
                None => break,
                Some(c) if !seen_cursors.insert(c.clone()) => {
                    return Err(fetch::bad_response(
                        &page_url,
                        &format!("the cursor `{c}` came back twice"),
                    ));
                }
                Some(_) if status.pages >= MAX_PAGES => {
                    return Err(fetch::bad_response(&page_url, "more than 100,000 pages"));
                }
                Some(c) => cursor = Some(c),
            }
        }
        let synced_at = now();
        let (mut added, mut updated) = (0, 0);
        for (name, new) in &servers {
            match old_servers.get(name) {
                None => added += 1,
                Some(prev) if prev.version != new.version || prev.updated_at != new.updated_at => {
                    updated += 1;
                }
                Some(_) => {}
            }
        }
        let removed = old_servers
            .keys()
            .filter(|n| !servers.contains_key(*n))
            .count();
        let cache = Cache {
            schema: CACHE_SCHEMA,
            url: url.clone(),
            servers,
        };
        let entries_file = EntriesFile::from_cache(&cache);
        let entry_count = entries_file.entries.len();
        let mut skipped = entries_file.skipped.clone();
        skipped.extend(invalid);
        fsutil::ensure_private_dir(&self.dir)?;
        write_json_compact(&self.cache_path(), &cache)?;
        write_json_compact(&self.entries_path(), &entries_file)?;
        let full = since.is_none();
        let new_state = SyncState {
            url: Some(url.clone()),
            last_sync_at: Some(synced_at),
            last_full_sync_at: if full {
                Some(synced_at)
            } else {
                state.last_full_sync_at
            },
            watermark: watermark.or(Some(synced_at)),
            server_count: cache.servers.len(),
            entry_count,
            skipped: skipped.clone(),
        };
        fsutil::write_json(&self.state_path(), &new_state)?;
        Ok(SyncReport {
            url,
            mode: if full { "full" } else { "incremental" },
            updated_since: since,
            pages: status.pages,
            requests: traffic.requests,
            retries: traffic.retries,
            received: status.received,
            added,
            updated,
            removed,
            ignored,
            server_count: cache.servers.len(),
            entry_count,
            skipped,
            synced_at,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// The cache is read on every start, so it is written without indentation.
fn write_json_compact<T: Serialize>(path: &std::path::Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec(value)
        .map_err(|e| Error::Internal(format!("serialising {}: {e}", path.display())))?;
    bytes.push(b'\n');
    fsutil::atomic_write(path, &bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn official_meta_wrapped_unwrapped_and_snake() {
        let wrapped = json!({"server": {"name": "a/b", "version": "1"},
            "_meta": {OFFICIAL_META: {"status": "deleted", "isLatest": true, "updatedAt": "2025-10-01T00:00:00Z"}}});
        let r = parse_record(&wrapped, "p").unwrap();
        assert!(!r.official.is_active());
        assert_eq!(
            r.official.updated_at.unwrap().to_rfc3339(),
            "2025-10-01T00:00:00+00:00"
        );
        let unwrapped = json!({"server": {"name": "a/b", "version": "1"},
            "_meta": {"status": "active", "is_latest": false}});
        let r = parse_record(&unwrapped, "p").unwrap();
        assert!(r.official.is_active());
        assert_eq!(r.official.is_latest, Some(false));
        let bare = json!({"name": "a/b", "version": "1"});
        let r = parse_record(&bare, "p").unwrap();
        assert!(r.official.is_active());
        assert_eq!(r.official.is_latest, None);
        let broken = json!({"server": {"version": "1"}});
        assert_eq!(
            parse_record(&broken, "page 1 item 3").err().unwrap().name,
            "page 1 item 3"
        );
    }

    #[test]
    fn clashing_ids_get_suffixes() {
        let mut cache = Cache::default();
        for name in ["io.github.foo/bar-baz", "io.github.foo-bar/baz"] {
            cache.servers.insert(
                name.into(),
                CachedServer {
                    server: json!({"name": name, "version": "1", "description": "d",
                        "remotes": [{"type": "sse", "url": "https://x.example/sse"}]}),
                    version: Some("1".into()),
                    updated_at: None,
                    published_at: None,
                },
            );
        }
        let (entries, skipped) = convert_all(&cache);
        assert!(skipped.is_empty());
        assert_eq!(entries.len(), 2);
        assert_ne!(entries[0].id, entries[1].id);
        assert!(
            entries
                .iter()
                .all(|e| e.id.starts_with("io-github-foo-bar-baz-"))
        );
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            fetch::check_base_url("https://registry.example/api")
                .unwrap()
                .as_str(),
            "https://registry.example/api/"
        );
        assert!(fetch::check_base_url("http://127.0.0.1:9/").is_ok());
        assert!(fetch::check_base_url("http://[::1]:9/").is_ok());
        for bad in [
            "http://registry.example",
            "ftp://x",
            "https://u:p@x.example",
            "nope",
        ] {
            assert_eq!(
                fetch::check_base_url(bad).unwrap_err().code(),
                "INVALID_REGISTRY_URL",
                "{bad}"
            );
        }
    }
}
