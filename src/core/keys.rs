//! Signing keys and the trust store.
//!
//! The seed signed with one PEM key chmod-ed after it was written, never used its key id and
//! had no rotation: regenerating the key broke every artifact published before. Here:
//!
//! - Keys are Ed25519 (`ed25519-dalek`, verified with `verify_strict`). The key id is the hex
//!   of the first 8 bytes of sha256(public key), carried in every signed envelope and used to
//!   select the verifying key (never "try every key").
//! - The private key lives in `<home>/keys/<key_id>.key`, created with mode 0600 from the first
//!   byte (`O_EXCL`, never chmod-ed afterwards) inside a 0700 directory; `<home>/keys/current`
//!   names the signing key. A private key that group or others can access is refused.
//! - `<home>/trust.json` lists the trusted public keys and a rotation log. Rotation keeps the
//!   old key trusted, so artifacts signed before it still verify; each rotation statement (the
//!   RFC 8785 bytes of `{from, to, at}`) is signed by both the old and the new key.
//!
//! Every write happens under `<home>/locks/keys.lock`.

use crate::core::code::Code;
use crate::core::next::{Hint, Op};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};
use crate::core::state::StateDir;

/// The only signature algorithm.
pub const ALGORITHM: &str = "ed25519";

const KEY_FILE_SCHEMA: &str = "mcp-orch/private-key/v1";
const TRUST_SCHEMA: &str = "mcp-orch/trust/v1";

/// The key id of a public key: hex of the first 8 bytes of its sha256.
pub fn key_id(public: &VerifyingKey) -> String {
    let digest = Sha256::digest(public.as_bytes());
    hex::encode(&digest[..8])
}

/// Whether `id` has the shape of a key id (16 lowercase hex digits).
pub fn is_key_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Encodes a public key as standard base64.
pub fn encode_public(public: &VerifyingKey) -> String {
    B64.encode(public.as_bytes())
}

/// Decodes a base64 public key; `None` when it is not a valid, strong Ed25519 point.
pub fn decode_public(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = B64.decode(text.trim()).ok()?.try_into().ok()?;
    let key = VerifyingKey::from_bytes(&bytes).ok()?;
    (!key.is_weak()).then_some(key)
}

/// Decodes a base64 signature.
pub fn decode_signature(text: &str) -> Option<Signature> {
    let bytes: [u8; 64] = B64.decode(text.trim()).ok()?.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// Verifies a base64 signature over `message` with `verify_strict` (which rejects weak keys
/// and non-canonical signatures).
pub fn verify(public: &VerifyingKey, message: &[u8], signature_b64: &str) -> bool {
    decode_signature(signature_b64).is_some_and(|sig| public.verify_strict(message, &sig).is_ok())
}

/// Where a trusted key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    /// Generated here (`keys init` or `keys rotate`).
    Local,
    /// Imported with `keys trust FILE`.
    Imported,
}

/// A public key that signatures are checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// Key id (fingerprint).
    pub key_id: String,
    /// Public key, standard base64 of the 32 bytes.
    pub public_key: String,
    /// When it was trusted.
    pub added_at: DateTime<Utc>,
    /// Generated here or imported.
    pub origin: KeyOrigin,
}

/// One recorded key rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The key replaced.
    pub from: String,
    /// The new signing key.
    pub to: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The exact RFC 8785 text of `{from, to, at}` that both keys signed.
    pub statement: String,
    /// Signature of `statement` by the old key (base64).
    pub signature_by_old: String,
    /// Signature of `statement` by the new key (base64).
    pub signature_by_new: String,
}

#[derive(Serialize)]
struct RotationStatement<'a> {
    from: &'a str,
    to: &'a str,
    at: DateTime<Utc>,
}

/// A rotation with the result of checking both of its signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationStatus {
    /// The rotation as recorded.
    #[serde(flatten)]
    pub rotation: Rotation,
    /// Both signatures verify and the statement matches the record; `None` when one of the
    /// two keys is no longer trusted, so it cannot be checked.
    pub verified: Option<bool>,
}

/// `<home>/trust.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustStore {
    /// Format tag.
    pub schema: String,
    /// Trusted public keys, in the order they were added.
    #[serde(default)]
    pub keys: Vec<TrustedKey>,
    /// Every rotation, oldest first.
    #[serde(default)]
    pub rotations: Vec<Rotation>,
}

impl Default for TrustStore {
    fn default() -> Self {
        Self {
            schema: TRUST_SCHEMA.to_owned(),
            keys: Vec::new(),
            rotations: Vec::new(),
        }
    }
}

impl TrustStore {
    /// A trusted key by id.
    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// The verifying key of a trusted key id; `UNTRUSTED_KEY` when it is not trusted.
    pub fn verifying_key(&self, key_id: &str) -> Result<VerifyingKey> {
        let trusted = self.get(key_id).ok_or_else(|| untrusted(key_id))?;
        decode_public(&trusted.public_key).ok_or_else(|| {
            Error::Internal(format!(
                "the trust store holds an invalid public key for {key_id}"
            ))
        })
    }

    /// Checks a rotation's statement and both signatures.
    pub fn check_rotation(&self, rotation: &Rotation) -> Option<bool> {
        let old = self.verifying_key(&rotation.from).ok()?;
        let new = self.verifying_key(&rotation.to).ok()?;
        let expected = rotation_statement(&rotation.from, &rotation.to, rotation.at).ok()?;
        Some(
            expected == rotation.statement
                && verify(
                    &old,
                    rotation.statement.as_bytes(),
                    &rotation.signature_by_old,
                )
                && verify(
                    &new,
                    rotation.statement.as_bytes(),
                    &rotation.signature_by_new,
                ),
        )
    }
}

fn rotation_statement(from: &str, to: &str, at: DateTime<Utc>) -> Result<String> {
    crate::core::canonical::canonical_string(&RotationStatement { from, to, at })
}

fn untrusted(key_id: &str) -> Error {
    Error::invalid(
        Code::UntrustedKey,
        "key_id",
        format!("key {key_id} is not in the trust store"),
        Hint::step(
            "if you trust its owner, import the exported public key",
            Op::TrustKey,
            &[("file", "FILE")],
        ),
    )
}

/// A public key as exported by `keys export` and imported by `keys trust`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyFile {
    /// Always `ed25519`.
    pub algorithm: String,
    /// Key id (fingerprint of the key).
    pub key_id: String,
    /// Public key, standard base64 of the 32 bytes.
    pub public_key: String,
}

impl PublicKeyFile {
    /// The export of a public key.
    pub fn of(public: &VerifyingKey) -> Self {
        Self {
            algorithm: ALGORITHM.to_owned(),
            key_id: key_id(public),
            public_key: encode_public(public),
        }
    }

    /// Reads an exported public key file.
    pub fn read(path: &Path) -> Result<Self> {
        let bad = |message: String| {
            Error::invalid(
                Code::InvalidKeyFile,
                "file",
                message,
                Hint::step("give the file the export writes", Op::ExportKey, &[]),
            )
        };
        let bytes =
            std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            bad(format!(
                "{} is not an exported public key: {e}",
                path.display()
            ))
        })
    }

    /// Checks the algorithm, the key and that the key id is the key's fingerprint.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        if self.algorithm != ALGORITHM {
            return Err(Error::invalid(
                Code::InvalidKeyFile,
                "algorithm",
                format!(
                    "unsupported key algorithm `{}` (only ed25519)",
                    self.algorithm
                ),
                Hint::step("export the key", Op::ExportKey, &[]),
            ));
        }
        let public = decode_public(&self.public_key).ok_or_else(|| {
            Error::invalid(
                Code::InvalidKeyFile,
                "public_key",
                "`public_key` is not a valid Ed25519 public key (base64 of 32 bytes)",
                Hint::step("export the key again", Op::ExportKey, &[]),
            )
        })?;
        let actual = key_id(&public);
        if actual != self.key_id {
            return Err(Error::invalid(
                Code::KeyIdMismatch,
                "key_id",
                format!(
                    "the file says key id {} but the key's fingerprint is {actual}",
                    self.key_id
                ),
                "the file was altered or mixed up; ask its owner to export it again",
            ));
        }
        Ok(public)
    }
}

/// The private key file. The secret is wiped from memory when this is dropped.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    schema: String,
    algorithm: String,
    key_id: String,
    public_key: String,
    secret_key: String,
    created_at: DateTime<Utc>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

/// The signing key, loaded from its private file.
pub struct Signer {
    key_id: String,
    key: SigningKey,
    created_at: DateTime<Utc>,
    path: PathBuf,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Reads a private key file (as `keys init` writes it); `None` when there is none. The
    /// file must be private (0600) and its id, public and secret key must agree.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        check_private_mode(&file, path)?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let corrupt = |message: String| Error::Parse {
            path: path.to_path_buf(),
            message,
            code: Code::DataFileError,
        };
        let parsed: KeyFile =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("{e}")))?;
        if parsed.schema != KEY_FILE_SCHEMA || parsed.algorithm != ALGORITHM {
            return Err(corrupt(format!(
                "unsupported key format `{}` / `{}`",
                parsed.schema, parsed.algorithm
            )));
        }
        let secret = Zeroizing::new(
            B64.decode(parsed.secret_key.as_bytes())
                .map_err(|e| corrupt(format!("secret_key: {e}")))?,
        );
        let seed: &[u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("secret_key is not 32 bytes".into()))?;
        let key = SigningKey::from_bytes(seed);
        let public = key.verifying_key();
        let id = key_id(&public);
        if parsed.key_id != id || parsed.public_key != encode_public(&public) {
            return Err(corrupt(format!(
                "the key in this file does not match its id {}",
                parsed.key_id
            )));
        }
        Ok(Some(Self {
            key_id: id,
            key,
            created_at: parsed.created_at,
            path: path.to_path_buf(),
        }))
    }

    /// Generates a key into a new private file at `path` (0600 from the start; fails when
    /// the file exists).
    pub fn create(path: &Path, now: DateTime<Utc>) -> Result<Self> {
        Self::write_new(
            SigningKey::generate(&mut rand_core::OsRng),
            path.to_path_buf(),
            now,
        )
    }

    /// Generates a key into a new private file in `dir` named after its key id.
    pub fn create_in(dir: &Path, now: DateTime<Utc>) -> Result<Self> {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let path = dir.join(format!("{}.key", key_id(&key.verifying_key())));
        Self::write_new(key, path, now)
    }

    fn write_new(key: SigningKey, path: PathBuf, now: DateTime<Utc>) -> Result<Self> {
        let public = key.verifying_key();
        let id = key_id(&public);
        let seed = Zeroizing::new(key.to_bytes());
        let file = KeyFile {
            schema: KEY_FILE_SCHEMA.to_owned(),
            algorithm: ALGORITHM.to_owned(),
            key_id: id.clone(),
            public_key: encode_public(&public),
            secret_key: B64.encode(seed.as_slice()),
            created_at: now,
        };
        let mut bytes = Zeroizing::new(
            serde_json::to_vec_pretty(&file)
                .map_err(|e| Error::Internal(format!("serialising a key file: {e}")))?,
        );
        bytes.push(b'\n');
        fsutil::create_private_file(&path, &bytes)?;
        Ok(Self {
            key_id: id,
            key,
            created_at: now,
            path,
        })
    }

    /// A signer from a key held in memory (tests and benchmarks).
    pub fn from_key(key: SigningKey) -> Self {
        Self {
            key_id: key_id(&key.verifying_key()),
            key,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            path: PathBuf::new(),
        }
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `message`; returns the base64 signature.
    pub fn sign(&self, message: &[u8]) -> String {
        B64.encode(self.key.sign(message).to_bytes())
    }
}

/// The signing key as shown to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KeyInfo {
    /// Key id.
    pub key_id: String,
    /// Always `ed25519`.
    pub algorithm: &'static str,
    /// Public key, base64.
    pub public_key: String,
    /// When the key was generated.
    pub created_at: DateTime<Utc>,
    /// The private key file.
    pub path: PathBuf,
    /// The key this one replaced, when it came from a rotation.
    pub rotated_from: Option<String>,
}

/// `keys show`: the signing key, the trusted keys and the rotations.
#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    /// The signing key, when there is one.
    pub current: Option<KeyInfo>,
    /// Every trusted public key.
    pub trusted: Vec<TrustedKey>,
    /// Every rotation, oldest first, with its check.
    pub rotations: Vec<RotationStatus>,
}

/// Keys and the trust store on disk.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
    trust: PathBuf,
    lock: PathBuf,
}

impl KeyStore {
    /// A store with private keys in `dir`, the trust store at `trust` and its lock at `lock`.
    pub fn new(dir: PathBuf, trust: PathBuf, lock: PathBuf) -> Self {
        Self { dir, trust, lock }
    }

    /// The store of a state directory: `keys/`, `trust.json`, `locks/keys.lock`.
    pub fn for_state(state: &StateDir) -> Self {
        Self::new(
            state.join("keys"),
            state.join("trust.json"),
            state.locks().join("keys.lock"),
        )
    }

    /// The private key file of a key id.
    pub fn key_path(&self, key_id: &str) -> PathBuf {
        self.dir.join(format!("{key_id}.key"))
    }

    fn current_path(&self) -> PathBuf {
        self.dir.join("current")
    }

    /// The id of the signing key, when one was created.
    pub fn current_id(&self) -> Result<Option<String>> {
        let path = self.current_path();
        let Some(bytes) = fsutil::read_optional(&path)? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&bytes).trim().to_owned();
        if is_key_id(&id) {
            Ok(Some(id))
        } else {
            Err(Error::Parse {
                path,
                message: format!("`{id}` is not a key id"),
                code: Code::DataFileError,
            })
        }
    }

    /// Whether a signing key exists (whether or not it can be loaded).
    pub fn has_key(&self) -> Result<bool> {
        Ok(self
            .current_id()?
            .is_some_and(|id| self.key_path(&id).exists()))
    }

    /// The trust store (empty when missing).
    pub fn trust_store(&self) -> Result<TrustStore> {
        let store: TrustStore = fsutil::read_json(&self.trust)?.unwrap_or_default();
        if store.schema != TRUST_SCHEMA {
            return Err(Error::Parse {
                path: self.trust.clone(),
                message: format!("unsupported trust store format `{}`", store.schema),
                code: Code::DataFileError,
            });
        }
        Ok(store)
    }

    fn save_trust(&self, store: &TrustStore) -> Result<()> {
        fsutil::write_json(&self.trust, store)
    }

    /// The verifying key of a trusted key id (`UNTRUSTED_KEY` otherwise).
    pub fn verifying_key(&self, key_id: &str) -> Result<VerifyingKey> {
        self.trust_store()?.verifying_key(key_id)
    }

    /// Loads the signing key: `KEY_NOT_FOUND` when there is none, `INSECURE_KEY_PERMISSIONS`
    /// when group or others can access its file.
    pub fn signer(&self) -> Result<Signer> {
        let missing = || {
            Error::invalid(
                Code::KeyNotFound,
                "key",
                "no signing key has been created",
                Hint::step("create one", Op::InitKeys, &[]),
            )
        };
        let id = self.current_id()?.ok_or_else(missing)?;
        self.load_key(&id)?.ok_or_else(missing)
    }

    fn load_key(&self, id: &str) -> Result<Option<Signer>> {
        let path = self.key_path(id);
        let signer = Signer::read(&path)?;
        if signer.as_ref().is_some_and(|s| s.key_id != id) {
            return Err(Error::Parse {
                path,
                message: format!("the key in this file does not match its id {id}"),
                code: Code::DataFileError,
            });
        }
        Ok(signer)
    }

    /// Generates a key, writes its private file (0600 from the start, in a 0700 directory)
    /// and returns it. Does not touch the trust store or `current`.
    fn generate(&self, now: DateTime<Utc>) -> Result<Signer> {
        fsutil::ensure_private_dir(&self.dir)?;
        check_private_dir(&self.dir)?;
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let path = self.key_path(&key_id(&key.verifying_key()));
        Signer::write_new(key, path, now)
    }

    fn set_current(&self, id: &str) -> Result<()> {
        fsutil::atomic_write(&self.current_path(), format!("{id}\n").as_bytes(), 0o600)
    }

    fn info(signer: &Signer, trust: &TrustStore) -> KeyInfo {
        KeyInfo {
            key_id: signer.key_id.clone(),
            algorithm: ALGORITHM,
            public_key: encode_public(&signer.verifying_key()),
            created_at: signer.created_at,
            path: signer.path.clone(),
            rotated_from: trust
                .rotations
                .iter()
                .rev()
                .find(|r| r.to == signer.key_id)
                .map(|r| r.from.clone()),
        }
    }

    /// Creates the first signing key; `KEY_EXISTS` when there is one.
    pub fn init(&self, now: DateTime<Utc>) -> Result<KeyInfo> {
        let _lock = LockGuard::acquire(&self.lock)?;
        if self.has_key()? {
            return Err(Error::invalid(
                Code::KeyExists,
                "key",
                format!(
                    "a signing key already exists ({})",
                    self.current_id()?.unwrap_or_default()
                ),
                Hint::step(
                    "keep it, or replace it (artifacts signed before stay verifiable)",
                    Op::RotateKeys,
                    &[],
                ),
            ));
        }
        let signer = self.generate(now)?;
        let mut trust = self.trust_store()?;
        trust.keys.push(TrustedKey {
            key_id: signer.key_id.clone(),
            public_key: encode_public(&signer.verifying_key()),
            added_at: now,
            origin: KeyOrigin::Local,
        });
        self.save_trust(&trust)?;
        self.set_current(&signer.key_id)?;
        Ok(Self::info(&signer, &trust))
    }

    /// Replaces the signing key with a new one. The old key stays trusted, and the rotation is
    /// recorded with a statement signed by both keys. `KEY_NOT_FOUND` when there is no key.
    pub fn rotate(&self, now: DateTime<Utc>) -> Result<KeyInfo> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let old = self.signer()?;
        let new = self.generate(now)?;
        let statement = rotation_statement(&old.key_id, &new.key_id, now)?;
        let rotation = Rotation {
            from: old.key_id.clone(),
            to: new.key_id.clone(),
            at: now,
            signature_by_old: old.sign(statement.as_bytes()),
            signature_by_new: new.sign(statement.as_bytes()),
            statement,
        };
        let mut trust = self.trust_store()?;
        if trust.get(&old.key_id).is_none() {
            // The old key was untrusted by hand; keep artifacts it signed verifiable.
            trust.keys.push(TrustedKey {
                key_id: old.key_id.clone(),
                public_key: encode_public(&old.verifying_key()),
                added_at: now,
                origin: KeyOrigin::Local,
            });
        }
        trust.keys.push(TrustedKey {
            key_id: new.key_id.clone(),
            public_key: encode_public(&new.verifying_key()),
            added_at: now,
            origin: KeyOrigin::Local,
        });
        trust.rotations.push(rotation);
        self.save_trust(&trust)?;
        self.set_current(&new.key_id)?;
        Ok(Self::info(&new, &trust))
    }

    /// The signing key (if any), the trusted keys and the checked rotations.
    pub fn status(&self) -> Result<KeyStatus> {
        let trust = self.trust_store()?;
        let current = match self.signer() {
            Ok(signer) => Some(Self::info(&signer, &trust)),
            Err(e) if e.code() == "KEY_NOT_FOUND" => None,
            Err(e) => return Err(e),
        };
        let rotations = trust
            .rotations
            .iter()
            .map(|r| RotationStatus {
                rotation: r.clone(),
                verified: trust.check_rotation(r),
            })
            .collect();
        Ok(KeyStatus {
            current,
            trusted: trust.keys,
            rotations,
        })
    }

    /// The signing key's public half, for others to trust.
    pub fn export(&self) -> Result<PublicKeyFile> {
        Ok(PublicKeyFile::of(&self.signer()?.verifying_key()))
    }

    /// Trusts an exported public key (checking its id). Trusting a key twice is harmless: the
    /// existing entry is returned and `false` says nothing was added.
    pub fn trust(&self, file: &PublicKeyFile, now: DateTime<Utc>) -> Result<(TrustedKey, bool)> {
        let public = file.verifying_key()?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut trust = self.trust_store()?;
        if let Some(existing) = trust.get(&file.key_id) {
            return Ok((existing.clone(), false));
        }
        let key = TrustedKey {
            key_id: file.key_id.clone(),
            public_key: encode_public(&public),
            added_at: now,
            origin: KeyOrigin::Imported,
        };
        trust.keys.push(key.clone());
        self.save_trust(&trust)?;
        Ok((key, true))
    }

    /// Removes a key from the trust store: `KEY_IN_USE` for the signing key, `UNKNOWN_KEY`
    /// when it is not trusted. Artifacts it signed no longer verify.
    pub fn untrust(&self, id: &str) -> Result<TrustedKey> {
        let _lock = LockGuard::acquire(&self.lock)?;
        if self.current_id()?.as_deref() == Some(id) {
            return Err(Error::invalid(
                Code::KeyInUse,
                "key_id",
                format!("{id} is the current signing key"),
                Hint::step("rotate to a new key first", Op::RotateKeys, &[]),
            ));
        }
        let mut trust = self.trust_store()?;
        let Some(pos) = trust.keys.iter().position(|k| k.key_id == id) else {
            return Err(Error::invalid(
                Code::UnknownKey,
                "key_id",
                format!("`{id}` is not a trusted key"),
                Hint::step("list the trusted keys", Op::ShowKeys, &[]),
            ));
        };
        let removed = trust.keys.remove(pos);
        self.save_trust(&trust)?;
        Ok(removed)
    }
}

fn insecure(path: &Path, what: &str, mode: u32, fix: &str) -> Error {
    Error::invalid(
        Code::InsecureKeyPermissions,
        "key",
        format!(
            "{what} {} has mode {mode:o}: group or others can access it, so it is not used",
            path.display()
        ),
        format!("chmod {fix} {}", path.display()),
    )
}

#[cfg(unix)]
fn check_private_mode(file: &std::fs::File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| Error::io(format!("reading the mode of {}", path.display()), e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(insecure(path, "private key", mode, "600"));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_file: &std::fs::File, _path: &Path) -> Result<()> {
    Ok(())
}

fn check_private_dir(dir: &Path) -> Result<()> {
    match fsutil::existing_mode(dir) {
        Some(mode) if mode & 0o077 != 0 => Err(insecure(dir, "key directory", mode & 0o777, "700")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, KeyStore) {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().to_path_buf());
        (dir, KeyStore::for_state(&state))
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn key_id_is_the_sha256_prefix_of_the_public_key() {
        // RFC 8032 test 1: secret 9d61…7f60, public d75a…511a.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SigningKey::from_bytes(&seed);
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        // sha256 of those 32 bytes, computed independently (sha256sum), first 8 bytes.
        assert_eq!(key_id(&key.verifying_key()), "21fe31dfa154a261");
        assert!(is_key_id("21fe31dfa154a261"));
        assert!(!is_key_id("21FE31DFA154A261"));
        assert!(!is_key_id("../../etc/passwd"));
        // RFC 8032 test 1 signature of the empty message.
        let signer = Signer::from_key(key);
        assert_eq!(
            hex::encode(B64.decode(signer.sign(b"")).unwrap()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn sign_and_verify_strict() {
        let signer = Signer::from_key(SigningKey::from_bytes(&[7; 32]));
        let sig = signer.sign(b"hello");
        assert!(verify(&signer.verifying_key(), b"hello", &sig));
        assert!(!verify(&signer.verifying_key(), b"hellO", &sig));
        assert!(!verify(&signer.verifying_key(), b"hello", "not base64"));
        let other = Signer::from_key(SigningKey::from_bytes(&[8; 32]));
        assert!(!verify(&other.verifying_key(), b"hello", &sig));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_0600_in_a_0700_dir() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, keys) = store();
        let info = keys.init(t(0)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&info.path), 0o600);
        assert_eq!(mode(info.path.parent().unwrap()), 0o700);
        assert_eq!(info.path, keys.key_path(&info.key_id));
        assert_eq!(keys.signer().unwrap().key_id(), info.key_id);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, keys) = store();
        let info = keys.init(t(0)).unwrap();
        std::fs::set_permissions(&info.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = keys.signer().unwrap_err();
        assert_eq!(err.code(), "INSECURE_KEY_PERMISSIONS");
        assert_eq!(
            err.hint().text,
            format!("chmod 600 {}", info.path.display()),
            "the hint says how to fix it"
        );
        assert_eq!(
            keys.status().unwrap_err().code(),
            "INSECURE_KEY_PERMISSIONS"
        );
        std::fs::set_permissions(&info.path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            keys.signer().unwrap_err().code(),
            "INSECURE_KEY_PERMISSIONS"
        );
        std::fs::set_permissions(&info.path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(keys.signer().is_ok());
    }

    #[test]
    fn init_twice_is_refused_and_missing_key_is_reported() {
        let (_dir, keys) = store();
        assert_eq!(keys.signer().unwrap_err().code(), "KEY_NOT_FOUND");
        assert_eq!(keys.export().unwrap_err().code(), "KEY_NOT_FOUND");
        assert_eq!(keys.rotate(t(0)).unwrap_err().code(), "KEY_NOT_FOUND");
        assert!(keys.status().unwrap().current.is_none());
        keys.init(t(0)).unwrap();
        assert_eq!(keys.init(t(1)).unwrap_err().code(), "KEY_EXISTS");
    }

    #[test]
    fn a_corrupted_key_file_is_detected() {
        let (_dir, keys) = store();
        let info = keys.init(t(0)).unwrap();
        let text = std::fs::read_to_string(&info.path).unwrap();
        let other = B64.encode([9u8; 32]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let replaced = text.replace(value["secret_key"].as_str().unwrap(), &other);
        std::fs::remove_file(&info.path).unwrap();
        fsutil::create_private_file(&info.path, replaced.as_bytes()).unwrap();
        assert_eq!(keys.signer().unwrap_err().code(), "DATA_FILE_ERROR");
    }

    #[test]
    fn rotation_keeps_the_old_key_trusted_and_is_signed_by_both() {
        let (_dir, keys) = store();
        let first = keys.init(t(0)).unwrap();
        let second = keys.rotate(t(10)).unwrap();
        assert_ne!(first.key_id, second.key_id);
        assert_eq!(second.rotated_from.as_deref(), Some(first.key_id.as_str()));
        assert_eq!(
            keys.current_id().unwrap().as_deref(),
            Some(second.key_id.as_str())
        );
        let status = keys.status().unwrap();
        let ids: Vec<&str> = status.trusted.iter().map(|k| k.key_id.as_str()).collect();
        assert_eq!(ids, vec![first.key_id.as_str(), second.key_id.as_str()]);
        assert_eq!(status.rotations.len(), 1);
        assert_eq!(status.rotations[0].verified, Some(true));
        let rotation = &status.rotations[0].rotation;
        assert_eq!(
            rotation.statement,
            format!(
                r#"{{"at":"2023-11-14T22:13:30Z","from":"{}","to":"{}"}}"#,
                first.key_id, second.key_id
            )
        );
        // The old key still verifies what it signed; the old private file is kept.
        assert!(keys.verifying_key(&first.key_id).is_ok());
        assert!(first.path.exists());

        // A forged rotation record does not check out.
        let mut trust = keys.trust_store().unwrap();
        trust.rotations[0].signature_by_old = trust.rotations[0].signature_by_new.clone();
        assert_eq!(trust.check_rotation(&trust.rotations[0]), Some(false));
        let mut trust = keys.trust_store().unwrap();
        trust.rotations[0].statement = trust.rotations[0].statement.replace("22:13", "22:14");
        assert_eq!(trust.check_rotation(&trust.rotations[0]), Some(false));
    }

    #[test]
    fn trust_and_untrust() {
        let (_dir, ours) = store();
        let (_dir2, theirs) = store();
        let mine = ours.init(t(0)).unwrap();
        theirs.init(t(0)).unwrap();
        let exported = theirs.export().unwrap();
        assert_eq!(exported.algorithm, "ed25519");

        assert_eq!(
            ours.verifying_key(&exported.key_id).unwrap_err().code(),
            "UNTRUSTED_KEY"
        );
        let (added, new) = ours.trust(&exported, t(5)).unwrap();
        assert!(new);
        assert_eq!(added.origin, KeyOrigin::Imported);
        assert!(ours.verifying_key(&exported.key_id).is_ok());
        let (_, again) = ours.trust(&exported, t(6)).unwrap();
        assert!(!again, "trusting twice adds nothing");

        let mut wrong = exported.clone();
        wrong.key_id = mine.key_id.clone();
        assert_eq!(
            ours.trust(&wrong, t(7)).unwrap_err().code(),
            "KEY_ID_MISMATCH"
        );
        let mut bad_alg = exported.clone();
        bad_alg.algorithm = "rsa".into();
        assert_eq!(
            ours.trust(&bad_alg, t(7)).unwrap_err().code(),
            "INVALID_KEY_FILE"
        );
        let mut bad_key = exported.clone();
        bad_key.public_key = "AAAA".into();
        assert_eq!(
            ours.trust(&bad_key, t(7)).unwrap_err().code(),
            "INVALID_KEY_FILE"
        );

        assert_eq!(ours.untrust(&mine.key_id).unwrap_err().code(), "KEY_IN_USE");
        assert_eq!(
            ours.untrust("0123456789abcdef").unwrap_err().code(),
            "UNKNOWN_KEY"
        );
        ours.untrust(&exported.key_id).unwrap();
        assert_eq!(
            ours.verifying_key(&exported.key_id).unwrap_err().code(),
            "UNTRUSTED_KEY"
        );
        assert_eq!(
            ours.untrust(&exported.key_id).unwrap_err().code(),
            "UNKNOWN_KEY"
        );
    }

    #[test]
    fn weak_public_keys_are_rejected() {
        // The identity point (a small-order point) encoded as 1 followed by zeros.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        assert!(decode_public(&B64.encode(weak)).is_none());
    }
}
