//! The HTTP server's configuration: defaults, then `<home>/server.toml` (or `--config FILE`),
//! then `MCP_ORCH_*` environment variables and flags (merged by the CLI). Every field is
//! documented in docs/HTTP.md.

use crate::core::code::Code;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::tokens::Scope;
use crate::core::{Error, Result};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to bind (default 127.0.0.1).
    pub host: IpAddr,
    /// Port (default 8000; 0 picks a free one).
    pub port: u16,
    /// Authentication.
    pub auth: AuthConfig,
    /// Browser access (CORS); off unless origins are listed.
    pub cors: CorsConfig,
    /// Extra Host names and Origins accepted beside the loopback ones.
    pub security: SecurityConfig,
    /// Per-credential rate limit.
    pub rate_limit: RateLimitConfig,
    /// Limits and timeouts.
    pub limits: LimitsConfig,
    /// TLS.
    pub tls: TlsConfig,
    /// The live event feed.
    pub events: EventsConfig,
    /// The team registry (`/v0.1`).
    pub registry: RegistryConfig,
    /// Where shared state lives (`files` or a PostgreSQL URL); `--store` and `MCP_ORCH_STORE`
    /// win over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8000,
            auth: AuthConfig::default(),
            cors: CorsConfig::default(),
            security: SecurityConfig::default(),
            rate_limit: RateLimitConfig::default(),
            limits: LimitsConfig::default(),
            tls: TlsConfig::default(),
            events: EventsConfig::default(),
            registry: RegistryConfig::default(),
            store: None,
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Require credentials on /v1 and /mcp (default true). `false` is refused on a
    /// non-loopback bind.
    pub required: bool,
    /// The environment variable holding a static API key accepted as `X-API-Key`.
    pub api_key_env: String,
    /// The scope of the API key.
    pub api_key_scope: Scope,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            required: true,
            api_key_env: "MCP_ORCH_API_KEY".into(),
            api_key_scope: Scope::Admin,
        }
    }
}

/// `[cors]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`) allowed to call from a browser. `*` is refused.
    pub origins: Vec<String>,
}

/// `[security]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Host header values accepted beside localhost, 127.0.0.1 and `::1` (any port), e.g. the
    /// server's DNS name when it is exposed.
    pub allowed_hosts: Vec<String>,
    /// Origins accepted beside loopback ones and the CORS origins.
    pub allowed_origins: Vec<String>,
}

/// `[rate_limit]`: a token bucket per credential (token id, API key, or peer address when
/// auth is off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second (0 turns the limit off).
    pub per_second: u32,
    /// Burst size.
    pub burst: u32,
    /// Failed authentications per minute per peer address before 429.
    pub auth_failures_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_second: 50,
            burst: 100,
            auth_failures_per_minute: 60,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body in bytes (413 above it).
    pub body_bytes: usize,
    /// Seconds a non-streaming request may take (408 after).
    pub request_timeout_secs: u64,
    /// Seconds a client has to send the request headers, and a new connection its first
    /// request.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may pause between two pieces.
    pub body_read_timeout_secs: u64,
    /// Seconds a keep-alive connection (HTTP/1.1, or HTTP/2 with no stream open) may idle.
    pub idle_timeout_secs: u64,
    /// Open connections at most. At the cap the longest-idle one is closed for a newcomer;
    /// when all are busy, newcomers wait in the accept queue.
    pub max_connections: usize,
    /// Open connections from one address at most (its longest-idle one gives way).
    pub max_connections_per_peer: usize,
    /// Open event streams (SSE) at most; more get 503.
    pub max_streams: usize,
    /// Open MCP sessions at most; more get 503.
    pub max_sessions: usize,
    /// Open MCP sessions of one credential at most; its least recently used one closes for a
    /// new one.
    pub max_sessions_per_credential: usize,
    /// Seconds an MCP session with no request and no open stream stays open.
    pub session_idle_secs: u64,
    /// Seconds a drained shutdown waits for requests in flight.
    pub shutdown_grace_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: 512,
            max_connections_per_peer: 256,
            max_streams: 256,
            max_sessions: 512,
            max_sessions_per_credential: 64,
            session_idle_secs: 600,
            shutdown_grace_secs: 10,
        }
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

/// `[events]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Events kept for `Last-Event-ID` resumption.
    pub buffer: usize,
    /// Seconds between keep-alive comments.
    pub heartbeat_secs: u64,
    /// Milliseconds between polls of the state directory.
    pub poll_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            buffer: 1024,
            heartbeat_secs: 15,
            poll_ms: 250,
        }
    }
}

/// `[registry]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// Serve the approved catalog (`/v0.1`) without credentials, as GitHub Copilot reads it.
    pub public: bool,
}

impl ServerConfig {
    /// Reads a config file; a missing file gives the defaults only when `required` is false.
    pub fn load(path: &Path, required: bool) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Self::default());
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        toml::from_str(&text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
            code: Code::DataFileError,
        })
    }

    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// Whether the bind address is a loopback one.
    pub fn is_loopback(&self) -> bool {
        self.host.is_loopback()
    }

    /// Request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs.max(1))
    }

    /// Header-read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.header_read_timeout_secs.max(1))
    }

    /// Body-read timeout.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.body_read_timeout_secs.max(1))
    }

    /// The connection tracker's limits.
    pub fn connection_limits(&self) -> super::connections::ConnectionLimits {
        super::connections::ConnectionLimits {
            max: self.limits.max_connections.max(1),
            per_peer: self.limits.max_connections_per_peer.max(1),
            first_request: self.header_read_timeout(),
            idle: Duration::from_secs(self.limits.idle_timeout_secs.max(1)),
        }
    }

    /// The MCP session caps.
    pub fn session_limits(&self) -> super::sessions::SessionLimits {
        super::sessions::SessionLimits {
            max: self.limits.max_sessions.max(1),
            per_credential: self.limits.max_sessions_per_credential.max(1),
            idle: Duration::from_secs(self.limits.session_idle_secs.max(1)),
        }
    }

    /// Whether TLS is configured.
    pub fn tls_enabled(&self) -> bool {
        self.tls.cert.is_some() && self.tls.key.is_some()
    }

    /// Checks the combination before the server starts: a wildcard CORS origin, half a TLS
    /// configuration, or a non-loopback bind without authentication are refused.
    /// `has_credentials` says whether any token or API key exists.
    pub fn check(&self, has_credentials: bool) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        if let Some(o) = self
            .cors
            .origins
            .iter()
            .chain(&self.security.allowed_origins)
            .find(|o| o.contains('*') || o.trim() == "null")
        {
            return Err(Error::invalid(
                Code::InsecureConfig,
                "cors.origins",
                format!("origin `{o}` is a wildcard; list exact origins"),
                "write each origin in full, e.g. https://app.example.com",
            ));
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(Error::invalid(
                Code::InvalidConfig,
                "tls",
                "TLS needs both a certificate and a key",
                "give both --tls-cert and --tls-key",
            ));
        }
        if !self.is_loopback() {
            if !self.auth.required {
                return Err(Error::invalid(
                    Code::InsecureConfig,
                    "auth.required",
                    format!("refusing to listen on {} without authentication", self.host),
                    "bind 127.0.0.1, or keep authentication on",
                ));
            }
            if !has_credentials {
                return Err(Error::invalid(
                    Code::InsecureConfig,
                    "auth",
                    format!(
                        "refusing to listen on {}: no token or API key exists, so nobody could call it",
                        self.host
                    ),
                    "create a token first with `mcp-orch token create`",
                ));
            }
            if !self.tls_enabled() {
                warnings.push(format!(
                    "listening on {} without TLS: tokens cross the network in clear text; use --tls-cert and --tls-key",
                    self.host
                ));
            }
        }
        if !self.auth.required {
            warnings.push("authentication is off: anyone on this machine can call the API".into());
        }
        if self.limits.body_bytes == 0 || self.limits.max_connections == 0 {
            return Err(Error::invalid(
                Code::InvalidConfig,
                "limits",
                "limits must be positive",
                "remove the zero limit from the config",
            ));
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let c = ServerConfig::default();
        assert!(c.is_loopback());
        assert_eq!(c.limits.body_bytes, 1 << 20);
        assert!(c.auth.required);
        assert!(c.check(false).unwrap().is_empty());
    }

    #[test]
    fn refuses_insecure_combinations() {
        let mut c = ServerConfig {
            host: "0.0.0.0".parse().unwrap(),
            ..ServerConfig::default()
        };
        assert_eq!(c.check(false).unwrap_err().code(), "INSECURE_CONFIG");
        let warnings = c.check(true).unwrap();
        assert!(warnings[0].contains("without TLS"));
        c.auth.required = false;
        assert_eq!(c.check(true).unwrap_err().code(), "INSECURE_CONFIG");
        let c = ServerConfig {
            cors: CorsConfig {
                origins: vec!["*".into()],
            },
            ..ServerConfig::default()
        };
        assert_eq!(c.check(true).unwrap_err().code(), "INSECURE_CONFIG");
    }

    #[test]
    fn parses_toml_and_rejects_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "port = 9000\n[cors]\norigins = [\"https://a.example\"]\n[rate_limit]\nper_second = 5\n",
        )
        .unwrap();
        let c = ServerConfig::load(&path, true).unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.rate_limit.per_second, 5);
        assert_eq!(c.rate_limit.burst, 100);
        std::fs::write(&path, "prot = 1\n").unwrap();
        assert_eq!(
            ServerConfig::load(&path, true).unwrap_err().code(),
            "DATA_FILE_ERROR"
        );
        assert_eq!(
            ServerConfig::load(&dir.path().join("none.toml"), false).unwrap(),
            ServerConfig::default()
        );
    }
}
