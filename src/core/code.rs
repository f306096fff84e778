//! The stable error codes, each with its category. The category decides, in one place, the
//! exit code of the CLI, the HTTP status of the API and the kind of MCP tool error; the
//! table in docs/CLI.md is generated from this list (`UPDATE_ERROR_DOC=1 cargo test
//! error_doc`), and a test fails when they disagree.

use std::fmt::Write as _;

use serde::Serialize;

/// What kind of failure a code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Something named does not exist (HTTP 404).
    NotFound,
    /// The state does not allow it now (HTTP 409).
    Conflict,
    /// The input is malformed (HTTP 400).
    Invalid,
    /// The input is well formed but refused on its content (HTTP 422).
    Unprocessable,
    /// No valid credentials (HTTP 401; the HTTP server only).
    Unauthorized,
    /// The credentials, origin or host do not allow it (HTTP 403; the HTTP server only).
    Forbidden,
    /// The path exists, the method does not (HTTP 405; the HTTP server only).
    MethodNotAllowed,
    /// The request body is over the limit (HTTP 413; the HTTP server only).
    TooLarge,
    /// The body is not declared as JSON (HTTP 415; the HTTP server only).
    UnsupportedMedia,
    /// Too many requests from this client (HTTP 429; the HTTP server only).
    RateLimited,
    /// Ours to fix, or the machine's (exit code 2, HTTP 500).
    Internal,
    /// A server-side component failed to answer (exit code 2, HTTP 502).
    Upstream,
    /// Busy: try again later (exit code 2, HTTP 503).
    Unavailable,
}

impl Category {
    /// The CLI's exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Internal | Self::Upstream | Self::Unavailable => 2,
            _ => 1,
        }
    }

    /// The HTTP status.
    pub fn http_status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::Invalid => 400,
            Self::Unprocessable => 422,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::MethodNotAllowed => 405,
            Self::TooLarge => 413,
            Self::UnsupportedMedia => 415,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Upstream => 502,
            Self::Unavailable => 503,
        }
    }
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $category:ident, $when:literal;)*) => {
        /// Every stable error code of the core.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Code {
            $(#[doc = $when] #[serde(rename = $text)] $variant,)*
        }

        impl Code {
            /// Every code, in the order of the documentation.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as it appears on every face.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// Its category.
            pub fn category(self) -> Category {
                match self { $(Code::$variant => Category::$category,)* }
            }

            /// When it happens.
            pub fn when(self) -> &'static str {
                match self { $(Code::$variant => $when,)* }
            }
        }
    };
}

codes! {
    UnknownClient => "UNKNOWN_CLIENT", NotFound, "the client id is not in the registry (`details.known` lists the ids)";
    UnknownServer => "UNKNOWN_SERVER", NotFound, "the server id is not in the catalog (`details.suggestions`)";
    UnknownProfile => "UNKNOWN_PROFILE", NotFound, "the profile does not exist for the client";
    ServerNotInDraft => "SERVER_NOT_IN_DRAFT", NotFound, "a server name that is not in the draft";
    ArtifactNotFound => "ARTIFACT_NOT_FOUND", NotFound, "no artifact (or no release of it) with that id or prefix, or nothing published yet";
    BackupNotFound => "BACKUP_NOT_FOUND", NotFound, "no backup with that id";
    UnknownKey => "UNKNOWN_KEY", NotFound, "`keys untrust` of a key that is not trusted";
    NotApproved => "NOT_APPROVED", NotFound, "nothing is approved for the team registry under that name";
    TokenNotFound => "TOKEN_NOT_FOUND", NotFound, "no API token with that id";
    UnknownRemote => "UNKNOWN_REMOTE", NotFound, "no remote of that name (`remote add` one)";
    TeamNotInitialized => "TEAM_NOT_INITIALIZED", Conflict, "the server has no team root yet (`team init`)";
    TeamExists => "TEAM_EXISTS", Conflict, "`team init` when the team has a root (use `team rotate`)";
    RemoteExists => "REMOTE_EXISTS", Conflict, "`remote add` of a name that is taken (`remote remove` it first)";
    ProfileExists => "PROFILE_EXISTS", Conflict, "a profile of that name exists";
    ProfileProtected => "PROFILE_PROTECTED", Conflict, "the default profile cannot be deleted";
    NoProjectScope => "NO_PROJECT_SCOPE", Invalid, "the client has no project-scope file";
    KeyExists => "KEY_EXISTS", Conflict, "`keys init` when a key exists (use `keys rotate` or `--regenerate`)";
    KeyNotFound => "KEY_NOT_FOUND", Conflict, "no signing key yet (create one: `keys init`, `initialize_keys`, `POST /v1/keys/initialize`)";
    KeyInUse => "KEY_IN_USE", Conflict, "`keys untrust` of the current signing key";
    ReleaseExists => "RELEASE_EXISTS", Conflict, "a release file that already exists (never overwritten)";
    DuplicateName => "DUPLICATE_NAME", Conflict, "a server of that name is already in the draft";
    NameClash => "NAME_CLASH", Conflict, "a server added by hand has the same name (`--adopt`), or `draft copy` into drafts that have it (`--overwrite`, `--skip`)";
    ConcurrentModification => "CONCURRENT_MODIFICATION", Conflict, "another program kept rewriting the client file";
    DowngradeRefused => "DOWNGRADE_REFUSED", Conflict, "the artifact is older than the deployed one (use rollback)";
    NoEarlierArtifact => "NO_EARLIER_ARTIFACT", Conflict, "rollback: no published version that far back";
    NothingDeployed => "NOTHING_DEPLOYED", Conflict, "rollback: nothing is deployed";
    TokenNameExists => "TOKEN_NAME_EXISTS", Conflict, "an active API token has that name";
    ConfigParseError => "CONFIG_PARSE_ERROR", Conflict, "a client's file cannot be parsed (it is left untouched)";
    ConfigShapeError => "CONFIG_SHAPE_ERROR", Conflict, "a TOML key on the way to the servers is not a table";
    NotARegularFile => "NOT_A_REGULAR_FILE", Conflict, "a FIFO, socket, device or directory at the path: refused at once, never opened";
    PlanStale => "PLAN_STALE", Conflict, "the plan confirmed is no longer what applying would do; nothing was written; `details.plan` is the fresh plan";
    AuditCorrupt => "AUDIT_CORRUPT", Conflict, "the audit log's last record does not parse or it does not match its signed head: refused before acting";
    WrongContainerType => "WRONG_CONTAINER_TYPE", Conflict, "the key that holds the servers (or one on the way) holds something else";
    DuplicateKey => "DUPLICATE_KEY", Conflict, "that key, or a server name in it, is given twice";
    JsonNotStrict => "JSON_NOT_STRICT", Conflict, "a strict-JSON client's file has comments or trailing commas: the client cannot read it";
    HardLinkedFile => "HARD_LINKED_FILE", Conflict, "the client file has other hard links (`--break-hard-link`)";
    FileTooLarge => "FILE_TOO_LARGE", Conflict, "a client file over 64 MiB";
    PolicyInvalid => "POLICY_INVALID", Invalid, "a policy file that does not parse, or a rule without a field or with both a command and a URL (`field` names it)";
    NoPolicy => "NO_POLICY", Conflict, "`policy` or `policy plan` without a file when none was set before";
    NoManagedFile => "NO_MANAGED_FILE", Invalid, "`policy --client` for a client with no managed policy file mcp-orch can write";
    ValidationFailed => "VALIDATION_FAILED", Unprocessable, "publishing or applying an invalid draft (`details.diagnostics`)";
    SignatureInvalid => "SIGNATURE_INVALID", Unprocessable, "a release's envelope or signature was altered after signing";
    ArtifactTampered => "ARTIFACT_TAMPERED", Unprocessable, "an artifact's payload no longer hashes to its id";
    UntrustedKey => "UNTRUSTED_KEY", Unprocessable, "the release names a key that is not in the trust store";
    ArtifactClientMismatch => "ARTIFACT_CLIENT_MISMATCH", Unprocessable, "the artifact was published for another client or profile";
    UnsupportedSchema => "UNSUPPORTED_SCHEMA", Unprocessable, "an artifact of a newer format";
    MetadataExpired => "METADATA_EXPIRED", Unprocessable, "`pull`: the team's snapshot or root is past its expiry (a frozen server, or a replayed answer)";
    SnapshotMismatch => "SNAPSHOT_MISMATCH", Unprocessable, "`pull`: a release that is not the one the team's snapshot lists (mix-and-match), or a snapshot of another root";
    KeyIdMismatch => "KEY_ID_MISMATCH", Unprocessable, "`keys trust FILE`: the key id is not the key's fingerprint";
    InvalidKeyFile => "INVALID_KEY_FILE", Invalid, "`keys trust FILE`: not an exported Ed25519 key";
    InsecureKeyPermissions => "INSECURE_KEY_PERMISSIONS", Invalid, "the private key file or its directory can be accessed by group or others";
    InsecurePermissions => "INSECURE_PERMISSIONS", Invalid, "the secret store can be read by other users";
    InsecureConfig => "INSECURE_CONFIG", Invalid, "a server configuration that would expose the API (e.g. no authentication off loopback)";
    InvalidConfig => "INVALID_CONFIG", Invalid, "a server configuration file or flag that is not valid";
    AmbiguousBackupId => "AMBIGUOUS_BACKUP_ID", Invalid, "a backup prefix that matches several backups";
    BackupCorrupted => "BACKUP_CORRUPTED", Invalid, "a backup no longer matches its hash";
    InvalidArtifactId => "INVALID_ARTIFACT_ID", Invalid, "not 64 lowercase hex digits (or a prefix of at least 8), or a prefix of several artifacts";
    InvalidKeyValue => "INVALID_KEY_VALUE", Invalid, "a `--param`/`--env` value that is not `KEY=VALUE`";
    UnknownParam => "UNKNOWN_PARAM", Invalid, "a parameter the catalog entry does not have";
    InvalidParamType => "INVALID_PARAM_TYPE", Invalid, "a parameter value of the wrong type";
    InvalidParamValue => "INVALID_PARAM_VALUE", Invalid, "a parameter value that is not allowed";
    MissingRequiredParam => "MISSING_REQUIRED_PARAM", Invalid, "a required parameter is missing";
    MissingRequiredEnv => "MISSING_REQUIRED_ENV", Invalid, "a required environment variable is missing";
    InvalidEnvName => "INVALID_ENV_NAME", Invalid, "an environment variable name that is not valid";
    MissingSecret => "MISSING_SECRET", Invalid, "a secret the server needs is not in the store";
    InvalidSecretName => "INVALID_SECRET_NAME", Invalid, "a secret name that is not valid";
    InvalidSecretValue => "INVALID_SECRET_VALUE", Invalid, "an empty secret value";
    UnknownSecret => "UNKNOWN_SECRET", Invalid, "a secret name that is not in the store";
    InvalidServerName => "INVALID_SERVER_NAME", Invalid, "a server name with characters clients reject";
    InvalidId => "INVALID_ID", Invalid, "a client or profile id with characters that are not allowed";
    UnresolvedPlaceholder => "UNRESOLVED_PLACEHOLDER", Invalid, "a `{placeholder}` with no value";
    InvalidTransport => "INVALID_TRANSPORT", Invalid, "a transport that is not stdio, http or sse";
    InvalidRegistryName => "INVALID_REGISTRY_NAME", Invalid, "a registry name that is not `namespace/name`";
    NotRegistrable => "NOT_REGISTRABLE", Invalid, "a catalog entry the registry format cannot express (not run from npm, `PyPI` or OCI, nor remote)";
    InvalidStore => "INVALID_STORE", Invalid, "a store that is neither `files` nor a PostgreSQL URL that parses";
    MissingCommand => "MISSING_COMMAND", Invalid, "a stdio server without a command";
    MissingUrl => "MISSING_URL", Invalid, "a remote server without a URL";
    InvalidHeader => "INVALID_HEADER", Invalid, "a header that is not `Name: value`";
    CommandNotFound => "COMMAND_NOT_FOUND", Invalid, "the command to start is not on PATH";
    NotInClientFile => "NOT_IN_CLIENT_FILE", NotFound, "`probe --as-client`: the client's file has no entry of that name";
    NoConfigPath => "NO_CONFIG_PATH", Invalid, "no path is known for the client on this OS";
    DataFileError => "DATA_FILE_ERROR", Invalid, "one of mcp-orch's own files cannot be parsed";
    InvalidRegistryUrl => "INVALID_REGISTRY_URL", Invalid, "`registry sync`: a URL that is not https (plain http only to loopback)";
    RegistryUnreachable => "REGISTRY_UNREACHABLE", Invalid, "`registry sync`: no answer after the retries (the cache is left as it was)";
    RegistryHttpError => "REGISTRY_HTTP_ERROR", Invalid, "`registry sync`: the registry answered 4xx";
    RegistryBadResponse => "REGISTRY_BAD_RESPONSE", Invalid, "`registry sync`: a page that is not v0.1 JSON";
    RemoteUnreachable => "REMOTE_UNREACHABLE", Unavailable, "`remote add`, `pull`: the team's server did not answer, or answered with an error (its status and code are in the message)";
    InvalidDuration => "INVALID_DURATION", Invalid, "a duration that is not like `10s`, `500ms` or `2m`, or a time that is neither";
    InvalidArgument => "INVALID_ARGUMENT", Invalid, "a combination of flags that does not go together";
    InvalidArguments => "INVALID_ARGUMENTS", Invalid, "MCP: tool arguments that do not match the tool's schema";
    InvalidScope => "INVALID_SCOPE", Invalid, "a token scope that is not read, write or admin";
    InvalidTokenName => "INVALID_TOKEN_NAME", Invalid, "a token name that is not valid";
    ConfirmationRequired => "CONFIRMATION_REQUIRED", Invalid, "a change to a client file without `--yes` and without a terminal to ask on";
    Cancelled => "CANCELLED", Invalid, "the question was answered no; nothing was written";
    Unauthorized => "UNAUTHORIZED", Unauthorized, "HTTP: no valid credentials (missing, malformed, unknown, revoked or expired)";
    InsufficientScope => "INSUFFICIENT_SCOPE", Forbidden, "HTTP: the token's scope does not allow the call";
    ForbiddenHost => "FORBIDDEN_HOST", Forbidden, "HTTP: a `Host` header that is not allowed (DNS rebinding)";
    ForbiddenOrigin => "FORBIDDEN_ORIGIN", Forbidden, "HTTP: an `Origin` that is not allowed";
    NotFound => "NOT_FOUND", NotFound, "HTTP: no such path";
    UnknownSession => "UNKNOWN_SESSION", NotFound, "HTTP: an MCP session id the server does not know (or no longer)";
    MethodNotAllowed => "METHOD_NOT_ALLOWED", MethodNotAllowed, "HTTP: the path does not take that method";
    BodyTooLarge => "BODY_TOO_LARGE", TooLarge, "HTTP: a body over 1 MiB";
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE", UnsupportedMedia, "HTTP: a body not declared `application/json`; nothing is done";
    MalformedBody => "MALFORMED_BODY", Invalid, "HTTP: a body that could not be read";
    MalformedJson => "MALFORMED_JSON", Invalid, "HTTP: a body that is not JSON, or has a field or type the endpoint does not take";
    InvalidBody => "INVALID_BODY", Invalid, "HTTP: a JSON body without what the endpoint needs";
    MissingField => "MISSING_FIELD", Invalid, "HTTP: a required body field is missing";
    ConflictingFields => "CONFLICTING_FIELDS", Invalid, "HTTP: body fields that do not go together";
    InvalidQuery => "INVALID_QUERY", Invalid, "HTTP: a query parameter that is not valid";
    InvalidPath => "INVALID_PATH", Invalid, "HTTP: a path parameter that is not valid";
    InvalidTime => "INVALID_TIME", Invalid, "HTTP: a time that is not RFC 3339";
    MalformedRequest => "MALFORMED_REQUEST", Invalid, "HTTP: a request to `/mcp/tools/*` that cannot be read";
    MalformedJsonRpc => "MALFORMED_JSON_RPC", Invalid, "HTTP: a legacy SSE message that is not JSON-RPC";
    JsonRpcError => "JSONRPC_ERROR", Invalid, "HTTP: the MCP handler answered a JSON-RPC error (its status is relayed)";
    WeakApiKey => "WEAK_API_KEY", Invalid, "HTTP: a static API key under 128 bits of entropy (refused at start)";
    RateLimited => "RATE_LIMITED", RateLimited, "HTTP: over the per-client rate (`Retry-After` says when to retry)";
    McpFailed => "MCP_FAILED", Upstream, "HTTP: the MCP handler gave no JSON-RPC answer";
    TooManyStreams => "TOO_MANY_STREAMS", Unavailable, "HTTP: the server holds its maximum of event streams";
    TooManySessions => "TOO_MANY_SESSIONS", Unavailable, "HTTP: the server holds its maximum of MCP sessions";
    DbUnavailable => "DB_UNAVAILABLE", Unavailable, "the PostgreSQL store cannot be reached, or failed the query (team mode)";
    IoError => "IO_ERROR", Internal, "reading or writing a file failed";
    InternalError => "INTERNAL_ERROR", Internal, "a bug, or mcp-orch's own state is broken";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Markdown table of every code, as docs/CLI.md holds it.
pub fn markdown_table() -> String {
    let mut out = String::from("| Code | Category | Exit | HTTP | When |\n|---|---|---|---|---|\n");
    for code in Code::ALL {
        let category = code.category();
        let name = serde_json::to_value(category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{}` | {name} | {} | {} | {} |",
            code.as_str(),
            category.exit_code(),
            category.http_status(),
            code.when()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_shouting_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_')
            );
        }
    }

    /// docs/CLI.md holds the generated table between its markers.
    #[test]
    fn error_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CLI.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let (start, end) = ("<!-- codes:start -->\n", "<!-- codes:end -->");
        let a = doc.find(start).expect("docs/CLI.md has the codes markers") + start.len();
        let b = doc.find(end).expect("docs/CLI.md has the codes end marker");
        let table = markdown_table();
        if std::env::var_os("UPDATE_ERROR_DOC").is_some() {
            std::fs::write(&path, format!("{}{table}{}", &doc[..a], &doc[b..])).unwrap();
            return;
        }
        assert!(
            doc[a..b] == table,
            "docs/CLI.md's code table is stale: run UPDATE_ERROR_DOC=1 cargo test error_doc"
        );
    }
}
