//! The approved catalog a team server serves as a private MCP Registry (API v0.1,
//! docs/TEAM.md §6): each approval is one version of one registry name, with its `server.json`
//! and the registry's status (`active`, `deprecated`, `deleted`: a removal is a tombstone, so
//! mirrors that sync with `updated_since` see it). Pages are keyset pages over
//! `(updated_at, name, version)`, the cursor an opaque base64url of the last key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::core::code::Code;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};
use crate::core::registry::OFFICIAL_META;

/// Where mcp-orch's own data about an approval goes in `_meta` (the official object allows
/// no other properties).
pub const APPROVAL_META: &str = "io.github.mcp-orch/approval";

/// Entries per page when the client does not say, and at most.
pub const DEFAULT_LIMIT: usize = 30;
/// The most entries one page holds.
pub const MAX_LIMIT: usize = 100;

/// An approval's status, as the registry spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Served to everyone.
    Active,
    /// Still served, with a message saying what to use instead.
    Deprecated,
    /// Removed: listed only to mirrors that ask for changes (a tombstone).
    Deleted,
}

/// One approved version of one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Approval {
    /// Registry name (`namespace/name`).
    pub name: String,
    /// Exact version.
    pub version: String,
    /// The catalog entry it was made from.
    pub catalog_id: String,
    /// The `server.json` served.
    pub server_json: Value,
    /// Status.
    pub status: Status,
    /// Why it is deprecated or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed_at: Option<DateTime<Utc>>,
    /// When this version was approved.
    pub published_at: DateTime<Utc>,
    /// When anything about it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who approved it.
    pub approved_by: String,
}

/// `<home>/registry/approved.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ApprovalFile {
    servers: Vec<Approval>,
}

/// The approvals of a state directory, changed under a lock with an atomic replace.
#[derive(Debug, Clone)]
pub struct ApprovalStore {
    path: PathBuf,
    lock: PathBuf,
}

impl ApprovalStore {
    /// The store at `path`, locked through `lock`.
    pub fn new(path: PathBuf, lock: PathBuf) -> Self {
        Self { path, lock }
    }

    /// Every approval, in the order they were made.
    ///
    /// # Errors
    /// The file cannot be read or parsed.
    pub fn all(&self) -> Result<Vec<Approval>> {
        Ok(fsutil::read_json::<ApprovalFile>(&self.path)?
            .unwrap_or_default()
            .servers)
    }

    /// Changes the approvals with `change` (under the lock; nothing is written when it fails).
    ///
    /// # Errors
    /// What `change` returns, or the file's own failure.
    pub fn update<T>(&self, change: impl FnOnce(&mut Vec<Approval>) -> Result<T>) -> Result<T> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut servers = self.all()?;
        let out = change(&mut servers)?;
        fsutil::write_json(&self.path, &ApprovalFile { servers })?;
        Ok(out)
    }
}

/// What a `GET /v0.1/servers` asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Where the previous page ended.
    pub cursor: Option<String>,
    /// Entries per page (default 30, at most 100).
    pub limit: Option<usize>,
    /// Case-insensitive substring of the name or the description.
    pub search: Option<String>,
    /// Only entries changed at or after this time (deleted ones included).
    pub updated_since: Option<DateTime<Utc>>,
    /// `latest`, or one exact version.
    pub version: Option<String>,
    /// List deleted entries too.
    pub include_deleted: Option<bool>,
}

/// The registry's list answer.
#[derive(Debug, Clone, Serialize)]
pub struct ServerList {
    /// `ServerResponse`s.
    pub servers: Vec<Value>,
    /// `nextCursor` (absent on the last page) and `count`.
    pub metadata: Value,
}

fn key_of(a: &Approval) -> (DateTime<Utc>, &str, &str) {
    (a.updated_at, &a.name, &a.version)
}

fn encode_cursor(a: &Approval) -> String {
    let key = json!([
        a.updated_at.to_rfc3339_opts(SecondsFormat::Nanos, true),
        a.name,
        a.version
    ]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, String, String)> {
    let bad = || {
        Error::invalid(
            Code::InvalidQuery,
            "cursor",
            "the cursor is not one this registry gave out",
            "start again without `cursor`, then pass each page's `metadata.nextCursor`",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let (at, name, version): (String, String, String) =
        serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let at = DateTime::parse_from_rfc3339(&at).map_err(|_| bad())?;
    Ok((at.with_timezone(&Utc), name, version))
}

/// The latest version of each name: the one approved last.
fn latest(approvals: &[Approval]) -> BTreeMap<&str, &str> {
    let mut newest: BTreeMap<&str, &Approval> = BTreeMap::new();
    for a in approvals {
        let entry = newest.entry(&a.name).or_insert(a);
        if a.published_at > entry.published_at {
            *entry = a;
        }
    }
    newest
        .into_iter()
        .map(|(name, a)| (name, a.version.as_str()))
        .collect()
}

/// One approval as the registry's `ServerResponse`.
pub fn server_response(a: &Approval, is_latest: bool) -> Value {
    let mut official = json!({
        "status": a.status,
        "publishedAt": a.published_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "updatedAt": a.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "isLatest": is_latest,
    });
    if let Some(m) = &a.status_message {
        official["statusMessage"] = json!(m);
    }
    if let Some(at) = a.status_changed_at {
        official["statusChangedAt"] = json!(at.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    json!({
        "server": a.server_json,
        "_meta": {
            OFFICIAL_META: official,
            APPROVAL_META: { "approvedBy": a.approved_by, "catalogId": a.catalog_id },
        },
    })
}

/// One page of `approvals` for `query`.
///
/// # Errors
/// `INVALID_QUERY` for a cursor this registry did not give out, or a limit of 0.
pub fn page(approvals: &[Approval], query: &Query) -> Result<ServerList> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 {
        return Err(Error::invalid(
            Code::InvalidQuery,
            "limit",
            "limit must be at least 1",
            format!("give a limit from 1 to {MAX_LIMIT}"),
        ));
    }
    let limit = limit.min(MAX_LIMIT);
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let latest = latest(approvals);
    let is_latest = |a: &Approval| latest.get(a.name.as_str()) == Some(&a.version.as_str());
    let include_deleted = query
        .include_deleted
        .unwrap_or(query.updated_since.is_some());
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let mut matching: Vec<&Approval> = approvals
        .iter()
        .filter(|a| include_deleted || a.status != Status::Deleted)
        .filter(|a| query.updated_since.is_none_or(|t| a.updated_at >= t))
        .filter(|a| match query.version.as_deref() {
            None => true,
            Some("latest") => is_latest(a),
            Some(v) => a.version == v,
        })
        .filter(|a| {
            search.as_deref().is_none_or(|s| {
                a.name.to_lowercase().contains(s)
                    || a.server_json["description"]
                        .as_str()
                        .is_some_and(|d| d.to_lowercase().contains(s))
            })
        })
        .filter(|a| {
            after.as_ref().is_none_or(|(at, name, version)| {
                key_of(a) > (*at, name.as_str(), version.as_str())
            })
        })
        .collect();
    matching.sort_by(|a, b| key_of(a).cmp(&key_of(b)));
    let more = matching.len() > limit;
    matching.truncate(limit);
    let mut metadata = json!({ "count": matching.len() });
    if more && let Some(last) = matching.last() {
        metadata["nextCursor"] = json!(encode_cursor(last));
    }
    Ok(ServerList {
        servers: matching
            .iter()
            .map(|a| server_response(a, is_latest(a)))
            .collect(),
        metadata,
    })
}

/// Every version of `name`, newest first, as `ServerResponse`s (empty when none is listed:
/// deleted ones are not).
pub fn versions(approvals: &[Approval], name: &str) -> Vec<Value> {
    let latest = latest(approvals);
    let mut found: Vec<&Approval> = approvals
        .iter()
        .filter(|a| a.name == name && a.status != Status::Deleted)
        .collect();
    found.sort_by_key(|a| std::cmp::Reverse(a.published_at));
    found
        .iter()
        .map(|a| server_response(a, latest.get(name) == Some(&a.version.as_str())))
        .collect()
}

/// One version of `name` (`latest` allowed), unless it is not listed.
pub fn version(approvals: &[Approval], name: &str, version: &str) -> Option<Value> {
    let latest = latest(approvals);
    let wanted = if version == "latest" {
        *latest.get(name)?
    } else {
        version
    };
    approvals
        .iter()
        .find(|a| a.name == name && a.version == wanted && a.status != Status::Deleted)
        .map(|a| server_response(a, latest.get(name) == Some(&a.version.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn approval(name: &str, version: &str, minutes: i64, status: Status) -> Approval {
        let at = DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minutes);
        Approval {
            name: name.into(),
            version: version.into(),
            catalog_id: name.replace('/', "-"),
            server_json: json!({ "name": name, "version": version, "description": format!("{name} server") }),
            status,
            status_message: None,
            status_changed_at: None,
            published_at: at,
            updated_at: at,
            approved_by: "cli:test".into(),
        }
    }

    fn names(list: &ServerList) -> Vec<String> {
        list.servers
            .iter()
            .map(|s| {
                format!(
                    "{}@{}",
                    s["server"]["name"].as_str().unwrap(),
                    s["server"]["version"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn pages_follow_their_cursor_to_the_end_without_repeats() {
        let all: Vec<Approval> = (0..7)
            .map(|i| approval(&format!("local/s{i}"), "1.0.0", i, Status::Active))
            .collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let list = page(
                &all,
                &Query {
                    cursor: cursor.clone(),
                    limit: Some(3),
                    ..Query::default()
                },
            )
            .unwrap();
            seen.extend(names(&list));
            match list.metadata.get("nextCursor") {
                Some(c) => cursor = Some(c.as_str().unwrap().to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        assert_eq!(seen[0], "local/s0@1.0.0");
        assert_eq!(seen[6], "local/s6@1.0.0");
        let e = page(
            &all,
            &Query {
                cursor: Some("bm90IGEgY3Vyc29y".into()),
                ..Query::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "INVALID_QUERY");
    }

    #[test]
    fn latest_deleted_and_changes_since() {
        let all = vec![
            approval("local/a", "1.0.0", 1, Status::Active),
            approval("local/a", "1.0.1", 2, Status::Active),
            approval("local/b", "1.0.0", 3, Status::Deleted),
        ];
        let list = page(&all, &Query::default()).unwrap();
        assert_eq!(names(&list), ["local/a@1.0.0", "local/a@1.0.1"]);
        assert_eq!(
            list.servers[1]["_meta"][OFFICIAL_META]["isLatest"],
            json!(true)
        );
        assert_eq!(
            list.servers[0]["_meta"][OFFICIAL_META]["isLatest"],
            json!(false)
        );
        let latest_only = Query {
            version: Some("latest".into()),
            ..Query::default()
        };
        assert_eq!(names(&page(&all, &latest_only).unwrap()), ["local/a@1.0.1"]);
        // A mirror asking for changes sees the tombstone.
        let since = Query {
            updated_since: Some(DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(2)),
            ..Query::default()
        };
        assert_eq!(
            names(&page(&all, &since).unwrap()),
            ["local/a@1.0.1", "local/b@1.0.0"]
        );
        assert_eq!(versions(&all, "local/a").len(), 2);
        assert_eq!(
            version(&all, "local/a", "latest").unwrap()["server"]["version"],
            json!("1.0.1")
        );
        assert!(version(&all, "local/b", "1.0.0").is_none());
        let search = Query {
            search: Some("B SERV".into()),
            include_deleted: Some(true),
            ..Query::default()
        };
        assert_eq!(names(&page(&all, &search).unwrap()), ["local/b@1.0.0"]);
    }
}
