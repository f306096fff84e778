//! Team trust (docs/TEAM.md): what a developer machine checks before it deploys a release it
//! pulled from the team's server.
//!
//! - The **root** names the root keys, how many of them must sign (the threshold), the keys
//!   that may sign releases, when it expires and how long a snapshot stays fresh. A machine
//!   pins one root (its fingerprint confirmed by a person, or given with `--root`); a newer
//!   root is accepted only when it is the next version and a threshold of the pinned root's
//!   keys and a threshold of its own keys signed it, so rotating the root keys is signed by
//!   the old root.
//! - The **snapshot** lists every channel's newest release (version, artifact id and the hash
//!   of the exact signed envelope) under a version that only rises, an expiry, and the root
//!   version it answers to, signed by a release key the root names. A replica signs a fresh
//!   one on each request.
//! - A **pulled release** must be signed by a release key the root names, be bound to the
//!   channel it was asked for, carry a payload that hashes to its id, and be exactly the one
//!   the snapshot lists.
//!
//! Each attack has its own code: `UNTRUSTED_KEY` (a key the root does not name, or a root not
//! signed by the pinned one), `SIGNATURE_INVALID`, `ARTIFACT_CLIENT_MISMATCH` (a release of
//! another client or profile), `ARTIFACT_TAMPERED`, `DOWNGRADE_REFUSED` (an older snapshot,
//! channel version or root than one seen), `METADATA_EXPIRED` (a frozen snapshot or root past
//! its expiry) and `SNAPSHOT_MISMATCH` (a release that is not the one the snapshot lists:
//! mix-and-match).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::core::artifact::{self, Release, Verified, canonical_string, sha256_hex};
use crate::core::code::Code;
use crate::core::error::{Error, Result};
use crate::core::keys::{self, PublicKeyFile, Signer};

/// Schema tag of a root.
pub const ROOT_SCHEMA: &str = "mcp-orch/team-root/v1";
/// Schema tag of a snapshot.
pub const SNAPSHOT_SCHEMA: &str = "mcp-orch/team-snapshot/v1";
/// The shortest fingerprint prefix `--root` accepts.
pub const MIN_FINGERPRINT: usize = 16;

/// The team's root of trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Root {
    /// Always [`ROOT_SCHEMA`].
    pub schema: String,
    /// Rises by one with every rotation.
    pub version: u64,
    /// After this, the root is no longer accepted (rotate before).
    pub expires: DateTime<Utc>,
    /// How many root keys must sign this root and the next.
    pub threshold: usize,
    /// The root keys.
    #[schemars(with = "Vec<serde_json::Value>")]
    pub root_keys: Vec<PublicKeyFile>,
    /// The keys that may sign releases and snapshots.
    #[schemars(with = "Vec<serde_json::Value>")]
    pub release_keys: Vec<PublicKeyFile>,
    /// How long a snapshot stays fresh after it is signed, in seconds.
    pub snapshot_ttl_secs: u64,
}

/// One channel's newest release, as a snapshot lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelEntry {
    /// The release's version.
    pub version: u64,
    /// Its artifact id.
    pub artifact_id: String,
    /// sha256 of its exact signed envelope text.
    pub release_sha256: String,
}

/// Every channel's newest release at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_SCHEMA`].
    pub schema: String,
    /// Never lower than any snapshot signed before (the audit chain's length).
    pub version: u64,
    /// The root it answers to.
    pub root_version: u64,
    /// After this, the snapshot is stale (a frozen server, or a replayed answer).
    pub expires: DateTime<Utc>,
    /// By `client/profile`.
    pub channels: BTreeMap<String, ChannelEntry>,
}

/// One key's signature of a signed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySignature {
    /// The key.
    pub key_id: String,
    /// Ed25519 signature of `signed`, base64.
    pub signature: String,
}

/// A signed document: the exact RFC 8785 text the signatures cover, parsed only after they
/// verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    /// The document's canonical text.
    pub signed: String,
    /// Its signatures.
    pub signatures: Vec<KeySignature>,
}

impl Signed {
    /// `value` signed by each of `signers`.
    ///
    /// # Errors
    /// An internal error when `value` does not serialise.
    pub fn sign(value: &impl Serialize, signers: &[&Signer]) -> Result<Self> {
        let text = canonical_string(value)?;
        Ok(Self {
            signatures: signers
                .iter()
                .map(|s| KeySignature {
                    key_id: s.key_id().to_owned(),
                    signature: s.sign(text.as_bytes()),
                })
                .collect(),
            signed: text,
        })
    }

    /// The sha256 of the signed text: what a person compares.
    pub fn fingerprint(&self) -> String {
        sha256_hex(self.signed.as_bytes())
    }

    /// How many distinct keys among `keys` signed it validly.
    fn signed_by(&self, keys: &[PublicKeyFile]) -> usize {
        let mut valid = BTreeSet::new();
        for sig in &self.signatures {
            let Some(key) = keys.iter().find(|k| k.key_id == sig.key_id) else {
                continue;
            };
            if let Ok(public) = key.verifying_key()
                && keys::verify(&public, self.signed.as_bytes(), &sig.signature)
            {
                valid.insert(sig.key_id.as_str());
            }
        }
        valid.len()
    }

    fn parse<T: DeserializeOwned>(&self, what: &str, schema: &str) -> Result<T> {
        let value: serde_json::Value = serde_json::from_str(&self.signed)
            .map_err(|e| signature_invalid(what, &format!("the signed text is not JSON ({e})")))?;
        let found = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        if found != schema {
            return Err(Error::invalid(
                Code::UnsupportedSchema,
                "schema",
                format!("the {what} has schema `{found}`, this mcp-orch reads `{schema}`"),
                "upgrade mcp-orch",
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| signature_invalid(what, &format!("it is malformed ({e})")))
    }
}

/// A release as the team's server hands it out: the exact signed text, its signature and
/// key, and the payload's exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PulledRelease {
    /// The signed envelope text.
    pub envelope: String,
    /// Its signature, base64.
    pub signature: String,
    /// The key that signed it.
    pub key_id: String,
    /// The payload's RFC 8785 text.
    pub payload: String,
}

impl PulledRelease {
    /// The release and payload as stored, for handing out.
    pub fn of(release: &Release, payload: &[u8]) -> Self {
        Self {
            envelope: release.signed.clone(),
            signature: release.signature.clone(),
            key_id: release.key_id.clone(),
            payload: String::from_utf8_lossy(payload).into_owned(),
        }
    }
}

/// What a machine has seen of a team: nothing it sees later may be older.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The highest snapshot version verified.
    pub snapshot_version: u64,
    /// The highest release version verified, by `client/profile`.
    pub channels: BTreeMap<String, u64>,
}

/// The key of a channel in a snapshot.
pub fn channel_key(client: &str, profile: &str) -> String {
    format!("{client}/{profile}")
}

fn signature_invalid(what: &str, detail: &str) -> Error {
    Error::invalid(
        Code::SignatureInvalid,
        "signature",
        format!("the signature of the team's {what} does not verify: {detail}"),
        "the answer was altered on its way or on the server; do not trust it, tell the team's operator",
    )
}

fn untrusted(what: &str, detail: &str) -> Error {
    Error::invalid(
        Code::UntrustedKey,
        "key_id",
        format!("the team's {what} is not signed by a key the pinned root trusts: {detail}"),
        "if the team rotated its keys, the new root must be signed by the old one; otherwise tell the team's operator",
    )
}

fn downgrade(detail: String) -> Error {
    Error::invalid(
        Code::DowngradeRefused,
        "version",
        detail,
        "the server answers with older data than this machine has seen (a rollback attack, or a restored server); nothing was deployed",
    )
}

fn expired(what: &str, at: DateTime<Utc>) -> Error {
    Error::invalid(
        Code::MetadataExpired,
        "expires",
        format!("the team's {what} expired at {at}"),
        "a server that stopped signing fresh metadata, or an answer replayed from the past; nothing was deployed, tell the team's operator",
    )
}

fn mismatch(detail: String) -> Error {
    Error::invalid(
        Code::SnapshotMismatch,
        "artifact_id",
        detail,
        "the release is not the one the team's snapshot lists (mixed answers); nothing was deployed, pull again",
    )
}

impl Root {
    /// A root document checked against itself: its schema, threshold and own signatures.
    ///
    /// # Errors
    /// `UNTRUSTED_KEY`, `SIGNATURE_INVALID`, `UNSUPPORTED_SCHEMA`.
    pub fn from_signed(doc: &Signed) -> Result<Self> {
        self_signed_root(doc)
    }
}

/// Checks a root against itself: its schema, threshold and own signatures.
fn self_signed_root(doc: &Signed) -> Result<Root> {
    let root: Root = doc.parse("root", ROOT_SCHEMA)?;
    if root.threshold == 0 || root.threshold > root.root_keys.len() {
        return Err(untrusted(
            "root",
            &format!(
                "threshold {} of {} root keys",
                root.threshold,
                root.root_keys.len()
            ),
        ));
    }
    let count = doc.signed_by(&root.root_keys);
    if count < root.threshold {
        return Err(untrusted(
            "root",
            &format!("{count} of its own keys signed it, {} must", root.threshold),
        ));
    }
    Ok(root)
}

/// Verifies the first root a machine sees (trust on first use, after the person compared
/// its fingerprint) and every later one in `chain`, each signed by the one before; returns
/// the newest and its document.
///
/// # Errors
/// `UNTRUSTED_KEY`, `SIGNATURE_INVALID`, `UNSUPPORTED_SCHEMA`, `METADATA_EXPIRED` (the
/// newest), `DOWNGRADE_REFUSED` (no root at or past `pinned`).
pub fn newest_root(
    pinned: Option<&Signed>,
    chain: &[Signed],
    now: DateTime<Utc>,
) -> Result<(Root, Signed)> {
    let start = pinned
        .or_else(|| chain.first())
        .ok_or_else(|| untrusted("root", "the server lists no root"))?;
    let (mut root, mut doc) = (self_signed_root(start)?, start.clone());
    let by_version: BTreeMap<u64, &Signed> = chain
        .iter()
        .filter_map(|d| Some((d.parse::<Root>("root", ROOT_SCHEMA).ok()?.version, d)))
        .collect();
    let newest = by_version.keys().next_back().copied().unwrap_or(0);
    if newest < root.version {
        return Err(downgrade(format!(
            "the server's newest team root is version {newest}, this machine pinned version {}",
            root.version
        )));
    }
    while let Some(next) = by_version.get(&(root.version + 1)) {
        let candidate = self_signed_root(next)?;
        let by_old = next.signed_by(&root.root_keys);
        if by_old < root.threshold {
            return Err(untrusted(
                "root",
                &format!(
                    "root version {} is signed by {by_old} of the pinned root's keys, {} must",
                    candidate.version, root.threshold
                ),
            ));
        }
        root = candidate;
        doc = (*next).clone();
    }
    if root.expires <= now {
        return Err(expired("root", root.expires));
    }
    Ok((root, doc))
}

/// Verifies a snapshot against the root and what was seen before.
///
/// # Errors
/// `UNTRUSTED_KEY`, `SIGNATURE_INVALID`, `UNSUPPORTED_SCHEMA`, `SNAPSHOT_MISMATCH` (another
/// root version), `METADATA_EXPIRED`, `DOWNGRADE_REFUSED`.
pub fn verify_snapshot(
    root: &Root,
    doc: &Signed,
    seen: &Seen,
    now: DateTime<Utc>,
) -> Result<Snapshot> {
    if doc.signed_by(&root.release_keys) == 0 {
        let named: Vec<&str> = doc.signatures.iter().map(|s| s.key_id.as_str()).collect();
        let trusted = named
            .iter()
            .any(|id| root.release_keys.iter().any(|k| k.key_id == *id));
        return Err(if trusted {
            signature_invalid("snapshot", "its signature is not the named key's")
        } else {
            untrusted("snapshot", &format!("signed by {}", named.join(", ")))
        });
    }
    let snapshot: Snapshot = doc.parse("snapshot", SNAPSHOT_SCHEMA)?;
    if snapshot.root_version != root.version {
        return Err(mismatch(format!(
            "the snapshot answers to root version {}, the team's root is version {}",
            snapshot.root_version, root.version
        )));
    }
    if snapshot.expires <= now {
        return Err(expired("snapshot", snapshot.expires));
    }
    if snapshot.version < seen.snapshot_version {
        return Err(downgrade(format!(
            "the team's snapshot is version {}, this machine has seen version {}",
            snapshot.version, seen.snapshot_version
        )));
    }
    for (channel, version) in &seen.channels {
        match snapshot.channels.get(channel) {
            Some(entry) if entry.version >= *version => {}
            Some(entry) => {
                return Err(downgrade(format!(
                    "the snapshot lists v{} of {channel}, this machine has seen v{version}",
                    entry.version
                )));
            }
            None => {
                return Err(downgrade(format!(
                    "the snapshot no longer lists {channel}, of which this machine has seen v{version}"
                )));
            }
        }
    }
    Ok(snapshot)
}

/// Verifies a pulled release of `client/profile` against the root and the snapshot's entry.
///
/// # Errors
/// `UNTRUSTED_KEY`, `SIGNATURE_INVALID`, `ARTIFACT_CLIENT_MISMATCH`, `ARTIFACT_TAMPERED`,
/// `UNSUPPORTED_SCHEMA`, `SNAPSHOT_MISMATCH`.
pub fn verify_pulled(
    root: &Root,
    entry: &ChannelEntry,
    client: &str,
    profile: &str,
    pulled: &PulledRelease,
) -> Result<Verified> {
    let what = format!("release of {client}/{profile}");
    let release = Release::from_parts(
        pulled.envelope.clone(),
        pulled.signature.clone(),
        pulled.key_id.clone(),
        &what,
    )?;
    let key_for = |id: &str| {
        root.release_keys
            .iter()
            .find(|k| k.key_id == id)
            .ok_or_else(|| untrusted(&what, &format!("signed by {id}")))?
            .verifying_key()
    };
    // The binding is checked once the signature holds, so an unsigned claim cannot pick
    // the code.
    artifact::verify_signature(&release, &key_for)?;
    if release.client_id() != client || release.profile_id() != profile {
        return Err(Error::invalid(
            Code::ArtifactClientMismatch,
            "artifact_id",
            format!(
                "the server answered the request for {client}/{profile} with a release of {}/{}",
                release.client_id(),
                release.profile_id()
            ),
            "the server mixed up its channels (or an attacker did); nothing was deployed, tell the team's operator",
        ));
    }
    let payload_path = Path::new("team payload");
    let verified = artifact::verify(&release, &key_for, &|id| {
        artifact::parse_payload(id, pulled.payload.as_bytes(), payload_path)
    })?;
    if release.version() != entry.version
        || release.artifact_id() != entry.artifact_id
        || sha256_hex(release.signed.as_bytes()) != entry.release_sha256
    {
        return Err(mismatch(format!(
            "the server sent v{} ({}) of {client}/{profile}, its snapshot lists v{} ({})",
            release.version(),
            artifact::short_id(release.artifact_id()),
            entry.version,
            artifact::short_id(&entry.artifact_id)
        )));
    }
    Ok(verified)
}
