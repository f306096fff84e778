//! Who is calling: bearer tokens from `<home>/tokens.json` (re-read whenever the file changes,
//! so the CLI's `token create` and `token revoke` apply at once), an optional static API key
//! from the environment sent as `X-API-Key`, or nobody when authentication is off on a
//! loopback bind. Plus the per-credential rate limiter and the Host/Origin checks that run
//! before anything else.

use crate::core::code::Code;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::body::Guarded;
use super::error::{ApiError, forbidden_scope, unauthorized};
use crate::core::tokens::{Refusal, Scope, TokenStore, Verifier};

/// Who made a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `token`, `api-key` or `anonymous`.
    pub kind: &'static str,
    /// Token id, `api-key`, or the peer address for anonymous callers.
    pub id: String,
    /// What it may do.
    pub scope: Scope,
    /// Cancelled when the credential stops being valid (a token revoked, expired or deleted
    /// while the server runs): its streams end and its MCP sessions close.
    pub ended: CancellationToken,
}

impl Principal {
    /// The credential as an owner of sessions and streams (`token:ID`, `api-key:api-key`,
    /// `anonymous:PEER`).
    pub fn owner(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }

    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        match self.kind {
            "token" => format!("http:token:{}", self.id),
            "api-key" => "http:api-key".into(),
            _ => "http:anonymous".into(),
        }
    }

    /// 403 unless the scope allows `needed`.
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.scope.allows(needed) {
            Ok(())
        } else {
            Err(forbidden_scope(needed.as_str(), self.scope.as_str()))
        }
    }
}

struct Cached {
    loaded: bool,
    stamp: Option<crate::core::tokens::Stamp>,
    /// When the stamp was last read.
    checked: std::time::Instant,
    verifier: Arc<Verifier>,
}

/// Credential checking.
pub struct Auth {
    store: TokenStore,
    cache: RwLock<Cached>,
    api_key: Option<[u8; 32]>,
    api_key_scope: Scope,
    required: bool,
    uses: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The tokens that authenticated a request since the server started, each with what ends
    /// its streams.
    live: Mutex<HashMap<String, CancellationToken>>,
    /// Never cancelled: the API key and anonymous callers cannot be revoked while running.
    lasting: CancellationToken,
}

impl Auth {
    /// Checks tokens from `store`, and `api_key` (if any) as `X-API-Key`.
    pub fn new(
        store: TokenStore,
        api_key: Option<&str>,
        api_key_scope: Scope,
        required: bool,
    ) -> Self {
        let auth = Self {
            store,
            cache: RwLock::new(Cached {
                loaded: false,
                stamp: None,
                checked: std::time::Instant::now(),
                verifier: Arc::new(Verifier::default()),
            }),
            api_key: api_key
                .filter(|k| !k.is_empty())
                .map(|k| Sha256::digest(k.as_bytes()).into()),
            api_key_scope,
            required,
            uses: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            lasting: CancellationToken::new(),
        };
        auth.reload_if_changed(true);
        auth
    }

    /// Whether any credential (an active token or the API key) exists.
    pub fn has_credentials(&self, now: DateTime<Utc>) -> bool {
        self.api_key.is_some() || self.verifier().active(now) > 0
    }

    /// Whether authentication is required.
    pub fn required(&self) -> bool {
        self.required
    }

    /// The auth modes, for `/mcp/info`.
    pub fn modes(&self) -> Vec<&'static str> {
        let mut modes = vec!["bearer"];
        if self.api_key.is_some() {
            modes.push("api-key");
        }
        if !self.required {
            modes.push("none");
        }
        modes
    }

    fn verifier(&self) -> Arc<Verifier> {
        self.reload_if_changed(false);
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .verifier
            .clone()
    }

    /// Reloads the tokens when their stamp changed; the stamp itself is read again only once
    /// it is older than the store's interval, unless `now` (a token the cache does not know:
    /// made a moment ago, maybe through another replica).
    fn reload_if_changed(&self, now: bool) {
        let ttl = if now {
            std::time::Duration::ZERO
        } else {
            self.store.stamp_ttl()
        };
        let (loaded, seen, recent) = {
            let c = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            let recent = !ttl.is_zero() && c.checked.elapsed() < ttl;
            (c.loaded, c.stamp, recent)
        };
        if loaded && recent {
            return;
        }
        let now = self.store.stamp();
        if loaded && seen == now {
            if !ttl.is_zero() {
                self.cache
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .checked = std::time::Instant::now();
            }
            return;
        }
        let verifier = match self.store.load() {
            Ok(file) => Verifier::new(&file),
            Err(e) => {
                tracing::warn!(code = e.code(), "reading the tokens failed: {e}");
                Verifier::default()
            }
        };
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Cached {
            loaded: true,
            stamp: now,
            checked: std::time::Instant::now(),
            verifier: Arc::new(verifier),
        };
    }

    /// Checks the credentials of a request. `Ok(None)` means no credentials were sent and
    /// none are required.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Principal, Refusal> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let text = value.to_str().map_err(|_| Refusal::Malformed)?;
            let (scheme, token) = text.split_once(' ').ok_or(Refusal::Malformed)?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(Refusal::Malformed);
            }
            let mut verifier = self.verifier();
            if matches!(verifier.verify(token.trim(), now), Err(Refusal::Unknown)) {
                self.reload_if_changed(true);
                verifier = self.verifier();
            }
            let record = verifier.verify(token.trim(), now)?;
            let ended = self
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(record.id.clone())
                .or_default()
                .clone();
            if let Ok(mut uses) = self.uses.lock() {
                uses.insert(record.id.clone(), now);
            }
            return Ok(Principal {
                kind: "token",
                id: record.id.clone(),
                scope: record.scope,
                ended,
            });
        }
        if let Some(value) = headers.get("x-api-key") {
            let Some(expected) = &self.api_key else {
                return Err(Refusal::Unknown);
            };
            let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
            return if bool::from(digest.ct_eq(expected)) {
                Ok(Principal {
                    kind: "api-key",
                    id: "api-key".into(),
                    scope: self.api_key_scope,
                    ended: self.lasting.clone(),
                })
            } else {
                Err(Refusal::Unknown)
            };
        }
        if self.required {
            return Err(Refusal::Malformed);
        }
        Ok(Principal {
            kind: "anonymous",
            id: peer.map_or_else(|| "unknown".into(), |p| p.to_string()),
            scope: Scope::Admin,
            ended: self.lasting.clone(),
        })
    }

    /// Ends the streams and sessions of every token that is no longer valid (revoked, expired
    /// or deleted since it last authenticated). Runs a few times a second.
    pub fn end_lost_credentials(&self, now: DateTime<Utc>) {
        let verifier = self.verifier();
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, ended| {
                let valid = verifier.is_active(id, now);
                if !valid {
                    tracing::info!(token = %id, "credential no longer valid: its streams end");
                    ended.cancel();
                }
                valid
            });
    }

    /// Writes the recorded last-use times to the token file.
    pub fn flush_uses(&self) {
        let uses = match self.uses.lock() {
            Ok(mut u) => std::mem::take(&mut *u),
            Err(_) => return,
        };
        if let Err(e) = self.store.record_use(&uses) {
            tracing::warn!(code = e.code(), "recording token use failed: {e}");
        }
    }
}

/// A GCRA limiter (a token bucket without a timer): `burst` requests at once, then one per
/// `1/rate` seconds, per key.
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    start: Instant,
    cells: Mutex<HashMap<String, Duration>>,
}

impl RateLimiter {
    /// `per_second` sustained (fractional rates through `per_minute`), `burst` at once.
    pub fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            tolerance: interval.saturating_mul(burst.saturating_sub(1)),
            start: Instant::now(),
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`; `Err(wait)` when it is over the limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = self.start.elapsed();
        let Ok(mut cells) = self.cells.lock() else {
            return Ok(());
        };
        if cells.len() > 10_000 {
            cells.retain(|_, tat| *tat > now);
        }
        let tat = cells.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat.saturating_sub(now);
        if ahead > self.tolerance {
            return Err(ahead.saturating_sub(self.tolerance));
        }
        cells.insert(key.to_owned(), tat + self.interval);
        Ok(())
    }

    /// `Some(wait)` when the next request for `key` would be refused (nothing is counted).
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let now = self.start.elapsed();
        let cells = self.cells.lock().ok()?;
        let tat = (*cells.get(key)?).max(now);
        let ahead = tat.saturating_sub(now);
        (ahead > self.tolerance).then(|| ahead.saturating_sub(self.tolerance))
    }
}

/// 429 with `Retry-After` in whole seconds (at least 1).
pub fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut res = ApiError::http(
        Code::RateLimited,
        "too many requests for these credentials",
        format!("wait {secs} s (Retry-After) and try again"),
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, secs.max(1).into());
    res
}

fn peer_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The failed-authentication backoff's key: the peer address and a digest of the credential
/// it presented, so one client retrying a bad token is slowed down without locking out the
/// other clients at the same address (every local client is 127.0.0.1).
fn failure_key(peer: &str, headers: &HeaderMap) -> String {
    let presented = headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get("x-api-key"))
        .map_or(&[][..], HeaderValue::as_bytes);
    let digest = Sha256::digest(presented);
    format!("{peer}/{}", hex::encode(&digest[..8]))
}

/// Middleware on authenticated routes: checks credentials (401), the failed-auth backoff and
/// the per-credential rate limit (429), and puts the [`Principal`] into the request. A stream
/// in the response ends when the credential stops being valid.
pub async fn require_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = peer_ip(&req);
    let peer_key = peer.map_or_else(|| "unknown".into(), |p| p.to_string());
    let failures = failure_key(&peer_key, req.headers());
    if let Some(wait) = state.auth_failures.blocked(&failures) {
        state.metrics.rate_limited();
        return too_many(wait);
    }
    let principal = match state.auth.authenticate(req.headers(), peer, Utc::now()) {
        Ok(p) => p,
        Err(refusal) => {
            state.metrics.auth_failure(refusal.as_str());
            tracing::debug!(reason = refusal.as_str(), peer = %peer_key, "authentication refused");
            if let Err(wait) = state.auth_failures.check(&failures) {
                state.metrics.rate_limited();
                return too_many(wait);
            }
            return unauthorized();
        }
    };
    if let Some(Err(wait)) = state.limiter.as_ref().map(|l| l.check(&principal.owner())) {
        state.metrics.rate_limited();
        return too_many(wait);
    }
    let ended = principal.ended.clone();
    // The scope alone, for the MCP handler (which knows nothing of principals).
    req.extensions_mut().insert(principal.scope);
    req.extensions_mut().insert(principal);
    let response = next.run(req).await;
    if is_stream(&response) {
        response.map(|body| Guarded::until(body, ended))
    } else {
        response
    }
}

/// Whether a response is an event stream.
pub fn is_stream(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The host part of a Host header or an authority: lowercased, without port or brackets.
/// `None` when it is not a well-formed `host[:port]` (`[::1]evil.com`, a port that is not a
/// number, an empty host).
fn host_part(authority: &str) -> Option<String> {
    let a = authority.trim().to_ascii_lowercase();
    let is_port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let host = if let Some(rest) = a.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside.to_owned()
    } else {
        match a.split_once(':') {
            Some((h, port)) if is_port(port) => h.to_owned(),
            Some(_) => return None,
            None => a,
        }
    };
    (!host.is_empty()).then_some(host)
}

/// The Host and Origin allow-lists.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    hosts: Vec<String>,
    origins: Vec<String>,
}

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl OriginPolicy {
    /// Loopback names always; plus `extra_hosts`, the bind address when it is a specific
    /// non-loopback one, and exact `origins`.
    pub fn new(bind: IpAddr, extra_hosts: &[String], origins: &[String]) -> Self {
        let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect();
        hosts.extend(extra_hosts.iter().filter_map(|h| host_part(h)));
        if !bind.is_loopback() && !bind.is_unspecified() {
            hosts.push(bind.to_string());
        }
        Self {
            hosts,
            origins: origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Allowed hosts (for rmcp's own check).
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether a Host header value is allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        host_part(host).is_some_and(|h| self.hosts.contains(&h))
    }

    /// Whether an Origin header value is allowed: a loopback origin, or a listed one.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&o) {
            return true;
        }
        let Some((scheme, authority)) = o.split_once("://") else {
            return false;
        };
        (scheme == "http" || scheme == "https")
            && !authority.contains('/')
            && !authority.contains('@')
            && host_part(authority).is_some_and(|h| LOOPBACK_HOSTS.contains(&h.as_str()))
    }
}

/// Middleware on every route: a foreign Host (DNS rebinding) or a foreign Origin (a web page)
/// gets 403 before the body is read.
pub async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(refused) = host_refusal(&state, &req) {
        return refused;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| state.origins.origin_allowed(o));
        if !ok {
            state.metrics.forbidden("origin");
            return ApiError::http(
                Code::ForbiddenOrigin,
                format!(
                    "Origin `{}` is not allowed",
                    origin.to_str().unwrap_or("(not text)")
                ),
                "add the origin to cors.origins or security.allowed_origins",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// The Host check alone: for the routes any origin may read (the team registry).
pub async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match host_refusal(&state, &req) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// 403 `FORBIDDEN_HOST` for a Host that is not allowed (DNS rebinding).
fn host_refusal(state: &AppState, req: &Request) -> Option<Response> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    if host
        .as_deref()
        .is_some_and(|h| state.origins.host_allowed(h))
    {
        return None;
    }
    state.metrics.forbidden("host");
    Some(
        ApiError::http(
            Code::ForbiddenHost,
            format!(
                "Host `{}` is not allowed",
                host.as_deref().unwrap_or("(none)")
            ),
            "call the server by a loopback name, or add the name to security.allowed_hosts",
        )
        .into_response(),
    )
}

/// The least entropy a static API key may have.
pub const MIN_API_KEY_BITS: f64 = 128.0;

/// Refuses a static API key that could be guessed: its entropy, estimated from its length and
/// the character classes it uses (lower, upper, digits, others), must reach
/// [`MIN_API_KEY_BITS`], and it must not be one character repeated.
pub fn check_api_key(key: &str) -> crate::core::Result<()> {
    let has = |f: fn(&char) -> bool| key.chars().any(|c| f(&c));
    let alphabet = [
        (has(char::is_ascii_lowercase), 26.0),
        (has(char::is_ascii_uppercase), 26.0),
        (has(char::is_ascii_digit), 10.0),
        (has(|c| !c.is_ascii_alphanumeric()), 32.0),
    ]
    .iter()
    .filter(|(present, _)| *present)
    .map(|(_, size)| size)
    .sum::<f64>();
    let distinct = key.chars().collect::<std::collections::BTreeSet<_>>().len();
    #[allow(clippy::cast_precision_loss)] // key lengths are small
    let bits = key.chars().count() as f64 * alphabet.max(1.0).log2();
    if bits >= MIN_API_KEY_BITS && distinct > 4 {
        return Ok(());
    }
    Err(crate::core::Error::invalid(
        Code::WeakApiKey,
        "api_key",
        format!(
            "the static API key has about {bits:.0} bits of entropy; at least {MIN_API_KEY_BITS:.0} are needed"
        ),
        "generate one with `openssl rand -hex 32` (or use tokens: `mcp-orch token create`)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_under_128_bits_are_refused() {
        for strong in [
            "3f9c2a7b1e5d4c6a8b0f2e4d6c8a0b1f",
            "Zq3_v9Lx-2mK8pT4wR7yN1",
            "correct-horse-battery-staple-and-more",
        ] {
            assert!(check_api_key(strong).is_ok(), "{strong}");
        }
        for weak in ["a", "static-key-123", "3f9c2a7b1e5d4c6a", &"ab".repeat(40)] {
            let e = check_api_key(weak).unwrap_err();
            assert_eq!(
                (e.code(), e.body().field.as_deref()),
                ("WEAK_API_KEY", Some("api_key")),
                "{weak}"
            );
        }
    }

    #[test]
    fn gcra_allows_burst_then_rate() {
        let l = RateLimiter::new(Duration::from_secs(1), 3);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.blocked("a").is_some());
        let wait = l.check("a").unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        assert!(l.check("b").is_ok());
        assert!(l.blocked("c").is_none());
    }

    #[test]
    fn hosts_and_origins() {
        let p = OriginPolicy::new(
            "127.0.0.1".parse().unwrap(),
            &["orch.example.com".into()],
            &["https://app.example.com".into()],
        );
        assert!(p.host_allowed("127.0.0.1:8000"));
        assert!(p.host_allowed("localhost"));
        assert!(p.host_allowed("[::1]:80"));
        assert!(p.host_allowed("ORCH.example.com:443"));
        assert!(!p.host_allowed("evil.example"));
        assert!(!p.host_allowed("0.0.0.0:8000"));
        for forged in [
            "[::1]evil.com",
            "[::1]:80evil",
            "[::1]:",
            "localhost:80:80",
            "localhost:",
            ":8000",
            "[]",
        ] {
            assert!(!p.host_allowed(forged), "{forged}");
        }
        assert!(!p.origin_allowed("http://[::1]evil.com"));
        assert!(p.origin_allowed("http://localhost:3000"));
        assert!(p.origin_allowed("https://app.example.com"));
        assert!(!p.origin_allowed("https://evil.example"));
        assert!(!p.origin_allowed("http://localhost.evil.example"));
        assert!(!p.origin_allowed("null"));
    }

    #[test]
    fn api_key_and_bearer() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("tokens.json"), dir.path().join("l"));
        let now = Utc::now();
        let t = store.create("x", Scope::Read, None, now).unwrap();
        let auth = Auth::new(store, Some("k3y"), Scope::Write, true);
        let mut h = HeaderMap::new();
        assert_eq!(
            auth.authenticate(&h, None, now).unwrap_err(),
            Refusal::Malformed
        );
        h.insert("x-api-key", "k3y".parse().unwrap());
        assert_eq!(
            auth.authenticate(&h, None, now).unwrap().scope,
            Scope::Write
        );
        h.insert("x-api-key", "nope".parse().unwrap());
        assert!(auth.authenticate(&h, None, now).is_err());
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {}", t.token).parse().unwrap(),
        );
        let p = auth.authenticate(&h, None, now).unwrap();
        assert_eq!((p.kind, p.scope), ("token", Scope::Read));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(
            auth.authenticate(&h, None, now).unwrap_err(),
            Refusal::Malformed
        );
    }
}
