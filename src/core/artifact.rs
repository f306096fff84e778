//! Content-addressed, signed, immutable artifacts.
//!
//! The seed hashed and signed only the payload (client, profile, changelog and key id could be
//! altered freely), overwrote the artifact file when two publishes shared a payload (mixing up
//! their client and metadata), and put unchecked ids into paths. Here:
//!
//! - A **payload** (the draft's servers with secret references only, plus the entries rendered
//!   in the client's spelling) is stored once at `artifacts/payloads/<artifact_id>.json` as its
//!   RFC 8785 (JCS) canonical bytes; `artifact_id` is the sha256 of those bytes. A payload file
//!   is never rewritten.
//! - Every publish writes a new **release** at
//!   `artifacts/releases/<client>/<profile>/<version:08>.json`, created exclusively (never
//!   overwritten). It holds the exact JCS text of a signed **envelope** that binds the schema,
//!   artifact id, client, profile, a version rising per (client, profile), the time, the key
//!   id, the changelog and metadata, with the Ed25519 signature of those bytes.
//! - Verification checks the stored bytes before parsing them: the signature with the trusted
//!   key the release names, then that the payload still hashes to the artifact id. Each
//!   failure has its own code: `SIGNATURE_INVALID`, `ARTIFACT_TAMPERED`, `UNTRUSTED_KEY`,
//!   `ARTIFACT_NOT_FOUND`; ids are validated (`INVALID_ARTIFACT_ID`) before any path is built.

use crate::core::code::Code;
use crate::core::next::{Hint, Op, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::draft::{DraftServer, check_id};
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};
use crate::core::keys::{self, Signer};
use crate::core::state::StateDir;

/// Schema tag of payloads.
pub const PAYLOAD_SCHEMA: &str = "mcp-orch/payload/v1";
/// Schema tag of signed envelopes.
pub const ENVELOPE_SCHEMA: &str = "mcp-orch/artifact/v1";
/// The shortest artifact id prefix accepted for lookups.
pub const MIN_PREFIX: usize = 8;

pub use crate::core::canonical::{canonical_string, canonicalize};

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn invalid_id(id: &str) -> Error {
    Error::invalid(
        Code::InvalidArtifactId,
        "artifact_id",
        format!("`{id}` is not an artifact id"),
        format!(
            "give the 64 lowercase hex digits of an artifact id, or at least its first {MIN_PREFIX} (the history lists them)"
        ),
    )
}

/// The first 16 digits of an artifact id, for messages.
pub fn short_id(id: &str) -> &str {
    id.get(..16).unwrap_or(id)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a full artifact id: exactly 64 lowercase hex digits.
pub fn check_artifact_id(id: &str) -> Result<()> {
    if id.len() == 64 && is_lower_hex(id) {
        Ok(())
    } else {
        Err(invalid_id(id))
    }
}

/// Checks an artifact id or a prefix of one: 8 to 64 lowercase hex digits.
pub fn check_artifact_ref(id: &str) -> Result<()> {
    if (MIN_PREFIX..=64).contains(&id.len()) && is_lower_hex(id) {
        Ok(())
    } else {
        Err(invalid_id(id))
    }
}

/// `ARTIFACT_NOT_FOUND` for an id or prefix.
pub fn not_found(id: &str) -> Error {
    Error::invalid(
        Code::ArtifactNotFound,
        "artifact_id",
        format!("no artifact `{id}` has been published"),
        Hint::new(
            "publish one, or list the releases",
            [Step::new(Op::Publish, &[]), Step::new(Op::History, &[])],
        ),
    )
}

/// `INVALID_ARTIFACT_ID` for a prefix that matches several artifacts.
pub fn ambiguous(id: &str, matches: &BTreeSet<String>) -> Error {
    Error::invalid(
        Code::InvalidArtifactId,
        "artifact_id",
        format!(
            "`{id}` matches {} artifacts: {}",
            matches.len(),
            matches
                .iter()
                .map(|m| short_id(m))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "give more digits of the artifact id",
    )
}

/// What an artifact carries: the servers (secret references only, never values) and the
/// entries rendered in the client's spelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Always [`PAYLOAD_SCHEMA`].
    pub schema: String,
    /// The client the entries are rendered for.
    pub client_id: String,
    /// The draft's servers.
    pub servers: BTreeMap<String, DraftServer>,
    /// The rendered client entries.
    pub entries: BTreeMap<String, Value>,
}

impl Payload {
    /// A payload of the current schema.
    pub fn new(
        client_id: &str,
        servers: BTreeMap<String, DraftServer>,
        entries: BTreeMap<String, Value>,
    ) -> Self {
        Self {
            schema: PAYLOAD_SCHEMA.to_owned(),
            client_id: client_id.to_owned(),
            servers,
            entries,
        }
    }

    /// Its RFC 8785 canonical bytes.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>> {
        canonicalize(self)
    }

    /// Its content address: sha256 of the canonical bytes.
    pub fn artifact_id(&self) -> Result<String> {
        Ok(sha256_hex(&self.canonical_bytes()?))
    }
}

/// Signed metadata of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Number of servers.
    pub server_count: usize,
    /// Server names, sorted.
    pub servers: Vec<String>,
    /// `mcp-orch <version>`.
    pub generator: String,
}

/// The signed statement of one release. Unknown fields are refused: a verifier must never
/// ignore something that was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Always [`ENVELOPE_SCHEMA`].
    pub schema: String,
    /// Content address of the payload.
    pub artifact_id: String,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Rises by at least one with every publish of this (client, profile).
    pub version: u64,
    /// When it was published.
    pub created_at: DateTime<Utc>,
    /// The key that signed it.
    pub key_id: String,
    /// What changed, as given by the publisher.
    pub changelog: Option<String>,
    /// Servers and generator.
    pub metadata: Metadata,
}

impl Envelope {
    /// The exact text that is signed: its RFC 8785 form.
    pub fn canonical_text(&self) -> Result<String> {
        canonical_string(self)
    }
}

/// A release file as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRelease {
    envelope: String,
    signature: String,
    key_id: String,
}

/// One published release: the signed envelope text, its parsed form, the signature and the
/// key id that selects the verifying key. Loading a release does not verify it; call
/// `Orchestrator::verify_release` (or [`verify`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The envelope parsed from `signed`.
    pub envelope: Envelope,
    /// The exact signed text.
    pub signed: String,
    /// Ed25519 signature of `signed`, base64.
    pub signature: String,
    /// The key that signed it.
    pub key_id: String,
}

impl Release {
    /// Artifact id.
    pub fn artifact_id(&self) -> &str {
        &self.envelope.artifact_id
    }

    /// Version within its (client, profile).
    pub fn version(&self) -> u64 {
        self.envelope.version
    }

    /// Client id.
    pub fn client_id(&self) -> &str {
        &self.envelope.client_id
    }

    /// Profile id.
    pub fn profile_id(&self) -> &str {
        &self.envelope.profile_id
    }

    /// Parses a stored release file. An envelope text that does not parse cannot carry a valid
    /// signature (only parseable envelopes are ever signed), so it is reported as
    /// `SIGNATURE_INVALID`.
    fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let stored: StoredRelease = serde_json::from_slice(bytes).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
            code: Code::DataFileError,
        })?;
        Self::from_parts(
            stored.envelope,
            stored.signature,
            stored.key_id,
            &path.display().to_string(),
        )
    }

    /// A release from its stored parts (as a store keeps them): the signed text is parsed,
    /// not yet verified.
    ///
    /// # Errors
    /// `SIGNATURE_INVALID` for a text that does not parse as an envelope,
    /// `UNSUPPORTED_SCHEMA` for another envelope schema.
    pub fn from_parts(
        signed: String,
        signature: String,
        key_id: String,
        what: &str,
    ) -> Result<Self> {
        let envelope = parse_envelope(&signed, what)?;
        Ok(Self {
            envelope,
            signed,
            signature,
            key_id,
        })
    }
}

fn signature_invalid(what: &str, detail: &str) -> Error {
    Error::invalid(
        Code::SignatureInvalid,
        "signature",
        format!("the signature of {what} does not verify: {detail}"),
        "the release was altered after it was signed; do not deploy it, publish again from the draft",
    )
}

fn parse_envelope(text: &str, what: &str) -> Result<Envelope> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| signature_invalid(what, &format!("the signed text is not JSON ({e})")))?;
    let schema = value.get("schema").and_then(Value::as_str).unwrap_or("");
    if schema != ENVELOPE_SCHEMA {
        return Err(Error::invalid(
            Code::UnsupportedSchema,
            "schema",
            format!(
                "{what} has envelope schema `{schema}`, this mcp-orch reads `{ENVELOPE_SCHEMA}`"
            ),
            "upgrade mcp-orch",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| signature_invalid(what, &format!("the signed envelope is malformed ({e})")))
}

/// A release whose signature and payload were checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verified {
    /// The release.
    pub release: Release,
    /// Its payload.
    pub payload: Payload,
}

/// What a new release says besides its payload.
#[derive(Debug, Clone, Copy)]
pub struct NewRelease<'a> {
    /// Client id.
    pub client_id: &'a str,
    /// Profile id.
    pub profile_id: &'a str,
    /// What changed.
    pub changelog: Option<&'a str>,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Head {
    version: u64,
    artifact_id: String,
}

/// `<home>/artifacts`: payloads and releases.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
    locks: PathBuf,
}

impl ArtifactStore {
    /// A store rooted at `root`, with lock files under `locks`.
    pub fn new(root: PathBuf, locks: PathBuf) -> Self {
        Self { root, locks }
    }

    /// The store of a state directory.
    pub fn for_state(state: &StateDir) -> Self {
        Self::new(state.join("artifacts"), state.locks())
    }

    fn payloads(&self) -> PathBuf {
        self.root.join("payloads")
    }

    fn releases(&self) -> PathBuf {
        self.root.join("releases")
    }

    /// The payload file of an artifact id (checked first).
    pub fn payload_path(&self, artifact_id: &str) -> Result<PathBuf> {
        check_artifact_id(artifact_id)?;
        Ok(self.payloads().join(format!("{artifact_id}.json")))
    }

    fn channel_dir(&self, client: &str, profile: &str) -> Result<PathBuf> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        Ok(self.releases().join(client).join(profile))
    }

    /// Stores a payload (once) and returns its artifact id. An existing file with the same id
    /// is never rewritten; it must still hash to its id.
    pub fn store_payload(&self, payload: &Payload) -> Result<String> {
        let bytes = payload.canonical_bytes()?;
        let id = sha256_hex(&bytes);
        let path = self.payload_path(&id)?;
        if path.exists() {
            self.payload_bytes(&id)?;
            return Ok(id);
        }
        fsutil::ensure_private_dir(&self.payloads())?;
        match create_exclusive(&path, &bytes) {
            Ok(()) => Ok(id),
            // Another publish of the same payload won the race; its bytes must be ours.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                self.payload_bytes(&id)?;
                Ok(id)
            }
            Err(e) => Err(Error::io(format!("writing {}", path.display()), e)),
        }
    }

    /// The stored payload bytes, checked against the id: `ARTIFACT_NOT_FOUND` when missing,
    /// `ARTIFACT_TAMPERED` when they do not hash to it.
    pub fn payload_bytes(&self, artifact_id: &str) -> Result<Vec<u8>> {
        let path = self.payload_path(artifact_id)?;
        let bytes = fsutil::read_optional(&path)?.ok_or_else(|| not_found(artifact_id))?;
        check_payload_hash(artifact_id, &bytes)?;
        Ok(bytes)
    }

    /// Stores the payload and a new signed release of it with the next version of its
    /// (client, profile), under that channel's lock.
    pub fn publish(
        &self,
        payload: &Payload,
        req: &NewRelease<'_>,
        signer: &Signer,
    ) -> Result<Release> {
        self.publish_with(payload, req, signer, |_, _, _| Ok(()), |()| Ok(()))
    }

    /// [`publish`](Self::publish), with two steps run under the channel's lock: `intend`
    /// before the release file is created (given the release, its file and the lock file),
    /// and `finish` after it is in place, with what `intend` returned. A recorder of the
    /// publish uses them to make the release and its record one step for every other process.
    pub fn publish_with<T>(
        &self,
        payload: &Payload,
        req: &NewRelease<'_>,
        signer: &Signer,
        intend: impl FnOnce(&Release, &Path, &Path) -> Result<T>,
        finish: impl FnOnce(T) -> Result<()>,
    ) -> Result<Release> {
        let dir = self.channel_dir(req.client_id, req.profile_id)?;
        let artifact_id = self.store_payload(payload)?;
        let lock = self
            .locks
            .join(format!("publish-{}-{}.lock", req.client_id, req.profile_id));
        let _lock = LockGuard::acquire(&lock)?;
        let head_path = dir.join("head.json");
        let head: Head = fsutil::read_json(&head_path)?.unwrap_or_default();
        let highest = release_files(&dir)?
            .last()
            .map_or(0, |(version, _)| *version)
            .max(head.version);
        let version = highest
            .checked_add(1)
            .ok_or_else(|| Error::Internal("release version overflow".into()))?;
        let release = sign_release(payload, &artifact_id, version, req, signer)?;
        let bytes = stored_bytes(&release)?;
        fsutil::ensure_private_dir(&dir)?;
        let path = dir.join(release_file_name(version));
        let intended = intend(&release, &path, &lock)?;
        create_exclusive(&path, &bytes).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::invalid(
                    Code::ReleaseExists,
                    "version",
                    format!(
                        "{} already exists; releases are never overwritten",
                        path.display()
                    ),
                    "publish again (the next free version is used)",
                )
            } else {
                Error::io(format!("writing {}", path.display()), e)
            }
        })?;
        fsutil::write_json(
            &head_path,
            &Head {
                version,
                artifact_id,
            },
        )?;
        finish(intended)?;
        Ok(release)
    }

    /// Stores a release verified elsewhere (a team's, pulled) exactly as it was signed, with
    /// its payload, at its own version; the next local publish of the channel goes above it.
    /// Storing the same release twice is harmless; another release at its version is
    /// `RELEASE_EXISTS`.
    pub fn import(&self, verified: &Verified) -> Result<()> {
        let release = &verified.release;
        let dir = self.channel_dir(release.client_id(), release.profile_id())?;
        if self.store_payload(&verified.payload)? != release.artifact_id() {
            return Err(Error::Internal(
                "an imported payload does not hash to its release's artifact id".into(),
            ));
        }
        let lock = self.locks.join(format!(
            "publish-{}-{}.lock",
            release.client_id(),
            release.profile_id()
        ));
        let _lock = LockGuard::acquire(&lock)?;
        let path = dir.join(release_file_name(release.version()));
        if let Some(bytes) = fsutil::read_optional(&path)? {
            if Release::parse(&bytes, &path).is_ok_and(|r| r.signed == release.signed) {
                return Ok(());
            }
            return Err(Error::invalid(
                Code::ReleaseExists,
                "version",
                format!(
                    "{}/{} already has another v{} here",
                    release.client_id(),
                    release.profile_id(),
                    release.version()
                ),
                "a channel a remote delivers must not also be published here; delete the local profile's releases or pull into another profile",
            ));
        }
        fsutil::ensure_private_dir(&dir)?;
        create_exclusive(&path, &stored_bytes(release)?)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        let head_path = dir.join("head.json");
        let head: Head = fsutil::read_json(&head_path)?.unwrap_or_default();
        if release.version() > head.version {
            fsutil::write_json(
                &head_path,
                &Head {
                    version: release.version(),
                    artifact_id: release.artifact_id().to_owned(),
                },
            )?;
        }
        Ok(())
    }

    /// Every release of a (client, profile), newest first.
    pub fn history(&self, client: &str, profile: &str) -> Result<Vec<Release>> {
        let dir = self.channel_dir(client, profile)?;
        let mut out = Vec::new();
        for (_, path) in release_files(&dir)?.into_iter().rev() {
            let bytes = fsutil::read_optional(&path)?.unwrap_or_default();
            out.push(Release::parse(&bytes, &path)?);
        }
        // The signed version decides the order, not the file name.
        out.sort_by_key(|r| std::cmp::Reverse(r.version()));
        Ok(out)
    }

    /// The newest release of a (client, profile), reading only its file: the one whose name
    /// carries the highest version, when its signed version agrees (else the whole history
    /// decides, as [`history`](Self::history) does).
    pub fn latest(&self, client: &str, profile: &str) -> Result<Option<Release>> {
        let dir = self.channel_dir(client, profile)?;
        let Some((version, path)) = release_files(&dir)?.pop() else {
            return Ok(None);
        };
        let bytes = fsutil::read_optional(&path)?.unwrap_or_default();
        let release = Release::parse(&bytes, &path)?;
        if release.version() == version {
            return Ok(Some(release));
        }
        Ok(self.history(client, profile)?.into_iter().next())
    }

    /// The newest release of every channel, by client and profile.
    pub fn channels(&self) -> Result<Vec<Release>> {
        let mut out = Vec::new();
        for client in sorted_dirs(&self.releases())? {
            for profile in sorted_dirs(&client)? {
                let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
                if let (Some(c), Some(p)) = (name(&client), name(&profile))
                    && let Some(release) = self.latest(&c, &p)?
                {
                    out.push(release);
                }
            }
        }
        Ok(out)
    }

    fn all_release_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for client in sorted_dirs(&self.releases())? {
            for profile in sorted_dirs(&client)? {
                files.extend(release_files(&profile)?.into_iter().rev().map(|(_, p)| p));
            }
        }
        Ok(files)
    }

    /// Every release whose artifact id starts with `prefix`, by client, profile and newest
    /// version first. A release file that cannot be read but mentions `prefix` is reported.
    pub fn releases_matching(&self, prefix: &str) -> Result<Vec<Release>> {
        check_artifact_ref(prefix)?;
        let mut out = Vec::new();
        for path in self.all_release_files()? {
            let bytes = fsutil::read_optional(&path)?.unwrap_or_default();
            match Release::parse(&bytes, &path) {
                Ok(r) => {
                    if r.artifact_id().starts_with(prefix) {
                        out.push(r);
                    }
                }
                Err(e) => {
                    if contains(&bytes, prefix.as_bytes()) {
                        return Err(e);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The full artifact id that `id_or_prefix` names, among stored payloads and releases:
    /// `ARTIFACT_NOT_FOUND` for none, `INVALID_ARTIFACT_ID` when it is ambiguous.
    pub fn resolve(&self, id_or_prefix: &str) -> Result<String> {
        check_artifact_ref(id_or_prefix)?;
        let mut matches = BTreeSet::new();
        if let Ok(entries) = std::fs::read_dir(self.payloads()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(stem) = name.strip_suffix(".json")
                    && check_artifact_id(stem).is_ok()
                    && stem.starts_with(id_or_prefix)
                {
                    matches.insert(stem.to_owned());
                }
            }
        }
        for release in self.releases_matching(id_or_prefix)? {
            matches.insert(release.envelope.artifact_id);
        }
        match matches.len() {
            0 => Err(not_found(id_or_prefix)),
            1 => Ok(matches.into_iter().next().unwrap_or_default()),
            _ => Err(ambiguous(id_or_prefix, &matches)),
        }
    }
}

/// `ARTIFACT_TAMPERED` unless `bytes` hash to `artifact_id`.
///
/// # Errors
/// `ARTIFACT_TAMPERED`.
pub fn check_payload_hash(artifact_id: &str, bytes: &[u8]) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual == artifact_id {
        return Ok(());
    }
    Err(Error::invalid(
        Code::ArtifactTampered,
        "artifact_id",
        format!("the payload of artifact {artifact_id} was altered: its bytes hash to {actual}"),
        "do not deploy it; publish again from the draft",
    ))
}

/// The payload in `bytes` (stored under `artifact_id`, at `path`), after checking its hash.
///
/// # Errors
/// `ARTIFACT_TAMPERED`, `DATA_FILE_ERROR`, `UNSUPPORTED_SCHEMA`.
pub fn parse_payload(artifact_id: &str, bytes: &[u8], path: &Path) -> Result<Payload> {
    check_payload_hash(artifact_id, bytes)?;
    let payload: Payload = serde_json::from_slice(bytes).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
        code: Code::DataFileError,
    })?;
    if payload.schema != PAYLOAD_SCHEMA {
        return Err(Error::invalid(
            Code::UnsupportedSchema,
            "schema",
            format!(
                "artifact {artifact_id} has payload schema `{}`, this mcp-orch reads `{PAYLOAD_SCHEMA}`",
                payload.schema
            ),
            "upgrade mcp-orch",
        ));
    }
    Ok(payload)
}

/// The signed release of `payload` (stored under `artifact_id`) as version `version` of its
/// channel.
///
/// # Errors
/// An internal error when the payload is for another client than the request.
pub fn sign_release(
    payload: &Payload,
    artifact_id: &str,
    version: u64,
    req: &NewRelease<'_>,
    signer: &Signer,
) -> Result<Release> {
    if payload.client_id != req.client_id {
        return Err(Error::Internal(format!(
            "a payload for {} cannot be published for {}",
            payload.client_id, req.client_id
        )));
    }
    let envelope = Envelope {
        schema: ENVELOPE_SCHEMA.to_owned(),
        artifact_id: artifact_id.to_owned(),
        client_id: req.client_id.to_owned(),
        profile_id: req.profile_id.to_owned(),
        version,
        created_at: req.created_at,
        key_id: signer.key_id().to_owned(),
        changelog: req.changelog.map(str::to_owned),
        metadata: Metadata {
            server_count: payload.servers.len(),
            servers: payload.servers.keys().cloned().collect(),
            generator: format!("mcp-orch {}", env!("CARGO_PKG_VERSION")),
        },
    };
    let text = envelope.canonical_text()?;
    Ok(Release {
        signature: signer.sign(text.as_bytes()),
        key_id: signer.key_id().to_owned(),
        envelope,
        signed: text,
    })
}

/// Verifies a release: the signature over the exact stored text with the trusted key it
/// names (before that text is trusted), that the text is the envelope shown, then (with the
/// payload `load` reads, which checks its hash) that the payload belongs to the envelope's
/// client.
///
/// # Errors
/// `SIGNATURE_INVALID`, `UNTRUSTED_KEY` (from `key_for`), `ARTIFACT_TAMPERED`,
/// `ARTIFACT_NOT_FOUND`, `ARTIFACT_CLIENT_MISMATCH`.
pub fn verify(
    release: &Release,
    key_for: &dyn Fn(&str) -> Result<VerifyingKey>,
    load: &dyn Fn(&str) -> Result<Payload>,
) -> Result<Verified> {
    let envelope = verify_signature(release, key_for)?;
    let payload = load(&envelope.artifact_id)?;
    if payload.client_id != envelope.client_id {
        return Err(Error::invalid(
            Code::ArtifactClientMismatch,
            "client_id",
            format!(
                "artifact {} holds entries for {}, but its release is for {}",
                envelope.artifact_id, payload.client_id, envelope.client_id
            ),
            "publish again from the draft of the right client",
        ));
    }
    Ok(Verified {
        release: release.clone(),
        payload,
    })
}

/// The first half of [`verify`]: the signature over the exact stored text with the trusted
/// key it names, and that the text is the envelope shown.
///
/// # Errors
/// `SIGNATURE_INVALID`, `UNTRUSTED_KEY` (from `key_for`).
pub fn verify_signature(
    release: &Release,
    key_for: &dyn Fn(&str) -> Result<VerifyingKey>,
) -> Result<Envelope> {
    let what = format!(
        "release {} of {}/{}",
        release.envelope.version, release.envelope.client_id, release.envelope.profile_id
    );
    if !keys::is_key_id(&release.key_id) {
        return Err(signature_invalid(&what, "the key id is malformed"));
    }
    let public = key_for(&release.key_id)?;
    if !keys::verify(&public, release.signed.as_bytes(), &release.signature) {
        return Err(signature_invalid(
            &what,
            &format!("it was not signed by key {}", release.key_id),
        ));
    }
    let envelope = parse_envelope(&release.signed, &what)?;
    if envelope != release.envelope {
        return Err(signature_invalid(
            &what,
            "the envelope shown differs from the signed text",
        ));
    }
    if envelope.key_id != release.key_id {
        return Err(signature_invalid(
            &what,
            "the signed key id differs from the one stored beside it",
        ));
    }
    Ok(envelope)
}

/// A release file's bytes.
fn stored_bytes(release: &Release) -> Result<Vec<u8>> {
    let stored = StoredRelease {
        envelope: release.signed.clone(),
        signature: release.signature.clone(),
        key_id: release.key_id.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&stored)
        .map_err(|e| Error::Internal(format!("serialising a release: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn release_file_name(version: u64) -> String {
    format!("{version:08}.json")
}

/// The release files in a channel directory, by version (oldest first).
fn release_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut files: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json")?;
            if stem.len() < 8 || !stem.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((stem.parse().ok()?, entry.path()))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Writes a new file atomically and never over an existing one: a temp file beside it is
/// written and fsynced, then linked into place only if the name is free, and the directory is
/// fsynced. Readers never see a partial file.
fn create_exclusive(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(fsutil::TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jcs(input: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(input).unwrap();
        canonical_string(&value).unwrap()
    }

    #[test]
    fn canonical_form_follows_rfc_8785() {
        // RFC 8785 section 3.2.2.
        assert_eq!(
            jcs(r#"{
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }"#),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        // RFC 8785 section 3.2.3: keys sorted by UTF-16 code units (the astral emoji, D83D,
        // sorts before U+FB33).
        assert_eq!(
            jcs(
                r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
            ),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        // Numbers in ECMAScript form; -0 is 0; U+2028 and non-ASCII stay raw; an astral key
        // sorts before U+E000 (by UTF-16, not by code point); every short escape.
        assert_eq!(
            jcs(
                r#"{"n":[1e21,1e-7,-0.0,1.0,5e-324,1.7976931348623157e308,100,1e+16,-12.5e-1],"s":"é\u2028x\u001f\b\f\t\u007f","\ue000":2,"\ud83d\ude00":1}"#
            ),
            "{\"n\":[1e+21,1e-7,0,1,5e-324,1.7976931348623157e+308,100,10000000000000000,-1.25],\"s\":\"é\u{2028}x\\u001f\\b\\f\\t\u{7f}\",\"😀\":1,\"\u{e000}\":2}"
        );
    }

    use crate::core::catalog::Transport;
    use crate::core::draft::{EnvValue, Origin};
    use crate::core::store::Releases as _;
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    fn server(secret: &str) -> DraftServer {
        let mut env = BTreeMap::new();
        env.insert(
            "TOKEN".to_owned(),
            EnvValue::Secret {
                secret: secret.to_owned(),
            },
        );
        env.insert("MODE".to_owned(), EnvValue::Plain("ünïcødé".to_owned()));
        DraftServer {
            server_id: Some("github".into()),
            transport: Transport::Stdio,
            command: Some("npx".into()),
            args: vec!["-y".into(), "@acme/server".into()],
            url: None,
            headers: BTreeMap::new(),
            env,
            params: BTreeMap::new(),
            secret_delivery: None,
            origin: Origin::Catalog,
            extra: BTreeMap::new(),
        }
    }

    fn payload(client: &str) -> Payload {
        let mut servers = BTreeMap::new();
        servers.insert("gh".to_owned(), server("GITHUB_TOKEN"));
        let mut entries = BTreeMap::new();
        entries.insert(
            "gh".to_owned(),
            json!({"command": "npx", "args": ["-y", "@acme/server"], "env": {"TOKEN": "${env:GITHUB_TOKEN}", "MODE": "ünïcødé"}, "timeout": 1e21}),
        );
        Payload::new(client, servers, entries)
    }

    #[test]
    fn payload_id_is_the_sha256_of_its_canonical_bytes() {
        let p = payload("cursor");
        let bytes = p.canonical_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            r#"{"client_id":"cursor","entries":{"gh":{"args":["-y","@acme/server"],"command":"npx","env":{"MODE":"ünïcødé","TOKEN":"${env:GITHUB_TOKEN}"},"timeout":1e+21}},"schema":"mcp-orch/payload/v1","servers":{"gh":{"args":["-y","@acme/server"],"command":"npx","env":{"MODE":"ünïcødé","TOKEN":{"secret":"GITHUB_TOKEN"}},"origin":"catalog","server_id":"github","transport":"stdio"}}}"#
        );
        // Computed independently: printf '%s' "$text" | sha256sum.
        assert_eq!(
            p.artifact_id().unwrap(),
            "4aff23397f17dfe028fbcc7604b7fa97625869dbf28a7d482dd0e86dc5c4407f"
        );
        // A parse → print cycle keeps the id.
        let again: Payload = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(again.artifact_id().unwrap(), p.artifact_id().unwrap());
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        store: ArtifactStore,
        signer: Signer,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = ArtifactStore::new(dir.path().join("artifacts"), dir.path().join("locks"));
            Self {
                _dir: dir,
                store,
                signer: Signer::from_key(SigningKey::from_bytes(&[42; 32])),
            }
        }

        fn publish(&self, client: &str, profile: &str, changelog: &str) -> Release {
            self.store
                .publish(
                    &payload(client),
                    &NewRelease {
                        client_id: client,
                        profile_id: profile,
                        changelog: Some(changelog),
                        created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                    },
                    &self.signer,
                )
                .unwrap()
        }

        fn keys(&self) -> impl Fn(&str) -> Result<VerifyingKey> + '_ {
            |id| {
                if id == self.signer.key_id() {
                    Ok(self.signer.verifying_key())
                } else {
                    Err(Error::invalid(Code::UntrustedKey, "key_id", id, ""))
                }
            }
        }

        fn release_path(&self, client: &str, profile: &str, version: u64) -> PathBuf {
            self.store
                .releases()
                .join(client)
                .join(profile)
                .join(release_file_name(version))
        }
    }

    #[test]
    fn publish_signs_and_verifies_and_versions_rise() {
        let f = Fixture::new();
        let r1 = f.publish("cursor", "default", "first");
        let r2 = f.publish("cursor", "default", "second");
        let other = f.publish("cursor", "work", "other profile");
        assert_eq!((r1.version(), r2.version(), other.version()), (1, 2, 1));
        assert_eq!(r1.artifact_id(), r2.artifact_id(), "same payload, same id");
        assert_eq!(r1.artifact_id(), payload("cursor").artifact_id().unwrap());
        assert_eq!(r1.envelope.metadata.servers, vec!["gh".to_owned()]);
        assert!(r1.signed.starts_with(r#"{"artifact_id":""#));
        assert!(f.release_path("cursor", "default", 2).is_file());

        let verified = f.store.verify(&r2, &f.keys()).unwrap();
        assert_eq!(verified.payload, payload("cursor"));
        let history = f.store.history("cursor", "default").unwrap();
        assert_eq!(history, vec![r2.clone(), r1.clone()]);
        for r in &history {
            f.store.verify(r, &f.keys()).unwrap();
        }
        assert_eq!(
            f.store
                .releases_matching(&r1.artifact_id()[..8])
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            f.store.resolve(&r1.artifact_id()[..10]).unwrap(),
            r1.artifact_id()
        );
    }

    #[test]
    fn versions_keep_rising_after_a_release_file_is_removed() {
        let f = Fixture::new();
        f.publish("cursor", "default", "1");
        f.publish("cursor", "default", "2");
        std::fs::remove_file(f.release_path("cursor", "default", 2)).unwrap();
        assert_eq!(f.publish("cursor", "default", "3").version(), 3);
    }

    #[test]
    fn payloads_are_never_rewritten() {
        let f = Fixture::new();
        let r = f.publish("cursor", "default", "1");
        let path = f.store.payload_path(r.artifact_id()).unwrap();
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        f.publish("cursor", "default", "2");
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
        // A tampered payload is not silently replaced by a later publish.
        std::fs::write(&path, b"{}").unwrap();
        let err = f
            .store
            .publish(
                &payload("cursor"),
                &NewRelease {
                    client_id: "cursor",
                    profile_id: "default",
                    changelog: None,
                    created_at: Utc::now(),
                },
                &f.signer,
            )
            .unwrap_err();
        assert_eq!(err.code(), "ARTIFACT_TAMPERED");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }

    #[test]
    fn tampered_envelope_is_signature_invalid() {
        let f = Fixture::new();
        let r = f.publish("cursor", "default", "first");
        let path = f.release_path("cursor", "default", 1);
        let text = std::fs::read_to_string(&path).unwrap();
        for (from, to) in [
            (r#"\"changelog\":\"first\""#, r#"\"changelog\":\"FIRST\""#),
            (r#"\"version\":1"#, r#"\"version\":9"#),
            (
                r#"\"profile_id\":\"default\""#,
                r#"\"profile_id\":\"work\""#,
            ),
        ] {
            assert!(text.contains(from), "{from} in {text}");
            std::fs::write(&path, text.replace(from, to)).unwrap();
            let loaded = f.store.history("cursor", "default").unwrap();
            let err = f.store.verify(&loaded[0], &f.keys()).unwrap_err();
            assert_eq!(err.code(), "SIGNATURE_INVALID", "after {from} -> {to}");
        }
        // A truncated envelope cannot even be parsed: still a signature failure.
        std::fs::write(&path, text.replace(r#"\"metadata\""#, r#"\"metadat"#)).unwrap();
        assert_eq!(
            f.store.history("cursor", "default").unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
        // An in-memory release whose parsed envelope differs from its signed text.
        let mut forged = r.clone();
        forged.envelope.version = 5;
        assert_eq!(
            f.store.verify(&forged, &f.keys()).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
        // A flipped signature.
        let mut flipped = r.clone();
        flipped.signature = keys_flip(&r.signature);
        assert_eq!(
            f.store.verify(&flipped, &f.keys()).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
    }

    fn keys_flip(sig_b64: &str) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut bytes = b64.decode(sig_b64).unwrap();
        bytes[10] ^= 1;
        b64.encode(bytes)
    }

    #[test]
    fn tampered_payload_is_artifact_tampered() {
        let f = Fixture::new();
        let r = f.publish("cursor", "default", "first");
        let path = f.store.payload_path(r.artifact_id()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("@acme/server", "@evil/server")).unwrap();
        let err = f.store.verify(&r, &f.keys()).unwrap_err();
        assert_eq!(err.code(), "ARTIFACT_TAMPERED");
        assert_eq!(
            f.store.load_payload(r.artifact_id()).unwrap_err().code(),
            "ARTIFACT_TAMPERED"
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            f.store.verify(&r, &f.keys()).unwrap_err().code(),
            "ARTIFACT_NOT_FOUND"
        );
    }

    #[test]
    fn unknown_key_is_untrusted() {
        let f = Fixture::new();
        let r = f.publish("cursor", "default", "first");
        let nobody = |id: &str| -> Result<VerifyingKey> {
            Err(Error::invalid(Code::UntrustedKey, "key_id", id, ""))
        };
        assert_eq!(
            f.store.verify(&r, &nobody).unwrap_err().code(),
            "UNTRUSTED_KEY"
        );
        // Swapping in another key's id (unsigned field) does not help.
        let other = Signer::from_key(SigningKey::from_bytes(&[1; 32]));
        let mut swapped = r.clone();
        swapped.key_id = other.key_id().to_owned();
        let both = |id: &str| -> Result<VerifyingKey> {
            if id == other.key_id() {
                Ok(other.verifying_key())
            } else {
                f.keys()(id)
            }
        };
        assert_eq!(
            f.store.verify(&swapped, &both).unwrap_err().code(),
            "SIGNATURE_INVALID"
        );
    }

    #[test]
    fn ids_are_validated_before_any_path_is_built() {
        let f = Fixture::new();
        for bad in [
            "../../../../etc/passwd",
            "abc",
            "ABCDEF0123456789",
            "0123456789abcdef/..",
            &"a".repeat(65),
            "",
        ] {
            assert_eq!(
                f.store.resolve(bad).unwrap_err().code(),
                "INVALID_ARTIFACT_ID",
                "{bad}"
            );
            assert_eq!(
                f.store.load_payload(bad).unwrap_err().code(),
                "INVALID_ARTIFACT_ID",
                "{bad}"
            );
        }
        assert_eq!(
            f.store.load_payload(&"ab".repeat(32)).unwrap_err().code(),
            "ARTIFACT_NOT_FOUND"
        );
        assert_eq!(
            f.store.resolve("abababab").unwrap_err().code(),
            "ARTIFACT_NOT_FOUND"
        );
        assert_eq!(
            f.store.history("../x", "default").unwrap_err().code(),
            "INVALID_ID"
        );
    }

    #[test]
    fn ambiguous_prefixes_are_refused() {
        let f = Fixture::new();
        let a = f.store.store_payload(&payload("cursor")).unwrap();
        // Find a second payload whose id shares the first hex digit, then use that digit
        // padded with its own following digits as a prefix that matches only one.
        let b = f.store.store_payload(&payload("vscode")).unwrap();
        assert_ne!(a, b);
        let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        assert_eq!(f.store.resolve(&a[..=common.max(8)]).unwrap(), a);
        // Plant a third payload file with a fabricated id sharing a's first 12 digits.
        let twin = format!("{}{}", &a[..12], "0".repeat(52));
        std::fs::write(f.store.payload_path(&twin).unwrap(), b"{}").unwrap();
        assert_eq!(
            f.store.resolve(&a[..12]).unwrap_err().code(),
            "INVALID_ARTIFACT_ID"
        );
    }
}
