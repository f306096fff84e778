//! The HTTP side of a registry sync: one page of `GET /v0.1/servers`, with timeouts, retries
//! with exponential backoff on 5xx, 429, timeouts and connection failures, a cap on the body
//! size and on redirects (RELIABILITY.md 3.6, API7 and API10).

use crate::core::code::Code;
use crate::core::next::{Hint, Op};
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::core::error::{Error, Result};

/// Largest page body accepted.
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Longest wait that a `Retry-After` header can ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Cap of one backoff step.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Redirects followed (same host only).
const MAX_REDIRECTS: usize = 3;

/// Installs the `ring` rustls provider once (reqwest is built without a default provider so
/// that no C crypto library is compiled).
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client builder with our TLS provider, no cookies, and a same-host redirect policy.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("mcp-orch/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_host = attempt
                .previous()
                .first()
                .is_some_and(|first| first.host_str() == attempt.url().host_str());
            if attempt.previous().len() > MAX_REDIRECTS || !same_host {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
}

/// Checks a registry base URL: http(s) only, and plain http only to a loopback address.
pub fn check_base_url(raw: &str) -> Result<Url> {
    check_url(
        raw,
        Code::InvalidRegistryUrl,
        "registry",
        "https://registry.modelcontextprotocol.io",
    )
}

/// Checks the base URL of a server of kind `what` (`registry`, `team server`): http(s) only,
/// plain http only to a loopback address, no credentials; `INVALID_REGISTRY_URL` or `code`.
pub fn check_url(raw: &str, code: Code, what: &str, example: &str) -> Result<Url> {
    let bad = |why: &str| {
        Error::invalid(
            code,
            "url",
            format!("`{raw}` cannot be used as a {what} URL: {why}"),
            format!("give an https:// URL, e.g. {example} (plain http only to localhost)"),
        )
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => return Err(bad("plain http is allowed only to a loopback address")),
        other => return Err(bad(&format!("scheme `{other}` is not http(s)"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry credentials"));
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback_host(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Retry and timeout settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff step; doubled after each retry.
    pub backoff: Duration,
}

/// Counters of one sync's HTTP traffic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Traffic {
    /// Requests sent (retries included).
    pub requests: u32,
    /// Retries.
    pub retries: u32,
}

/// Why an attempt failed, and whether another may succeed.
enum Attempt {
    Retry(String, Option<Duration>),
    Fatal(Error),
}

/// GETs `url` and parses the body as JSON, retrying transient failures.
pub async fn get_json(
    client: &reqwest::Client,
    url: &Url,
    policy: RetryPolicy,
    traffic: &mut Traffic,
    mut on_retry: impl FnMut(&str),
) -> Result<Value> {
    let mut attempt = 0u32;
    loop {
        traffic.requests += 1;
        let failure = match get_once(client, url).await {
            Ok(v) => return Ok(v),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry(why, after)) => (why, after),
        };
        if attempt >= policy.retries {
            return Err(Error::invalid(
                Code::RegistryUnreachable,
                "url",
                format!(
                    "the registry did not answer {} after {} attempts: {}",
                    redact_url(url),
                    attempt + 1,
                    failure.0
                ),
                Hint::step(
                    "check the network and the URL, then sync again (the cached catalog is still used)",
                    Op::SyncRegistry,
                    &[],
                ),
            ));
        }
        let step = policy
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(MAX_BACKOFF);
        let wait = failure.1.map_or(step, |after| after.min(MAX_RETRY_AFTER));
        on_retry(&failure.0);
        tokio::time::sleep(wait).await;
        attempt += 1;
        traffic.retries += 1;
    }
}

async fn get_once(client: &reqwest::Client, url: &Url) -> Result<Value, Attempt> {
    let response = match client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(Attempt::Retry("timed out".into(), None)),
        Err(e) if e.is_connect() || e.is_request() => {
            return Err(Attempt::Retry(
                format!("cannot connect ({})", cause(&e)),
                None,
            ));
        }
        Err(e) => return Err(Attempt::Fatal(http_error(url, &cause(&e)))),
    };
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        let after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Err(Attempt::Retry(format!("HTTP {status}"), after));
    }
    if !status.is_success() {
        return Err(Attempt::Fatal(http_error(url, &format!("HTTP {status}"))));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PAGE_BYTES as u64)
    {
        return Err(Attempt::Fatal(bad_response(
            url,
            "the page is larger than 16 MiB",
        )));
    }
    let mut body = Vec::new();
    let mut response = response;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_PAGE_BYTES {
                    return Err(Attempt::Fatal(bad_response(
                        url,
                        "the page is larger than 16 MiB",
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return Err(Attempt::Retry("timed out reading the page".into(), None));
            }
            Err(e) => {
                return Err(Attempt::Retry(
                    format!("the connection broke ({})", cause(&e)),
                    None,
                ));
            }
        }
    }
    serde_json::from_slice(&body)
        .map_err(|e| Attempt::Fatal(bad_response(url, &format!("the page is not JSON: {e}"))))
}

/// The innermost cause of a reqwest error, which names what actually failed.
fn cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// The URL without its query, for messages.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn http_error(url: &Url, what: &str) -> Error {
    Error::invalid(
        Code::RegistryHttpError,
        "url",
        format!("the registry at {} answered {what}", redact_url(url)),
        Hint::step(
            "check the registry URL (it must serve the v0.1 API), then sync again",
            Op::SyncRegistry,
            &[],
        ),
    )
}

/// A page that is not what the v0.1 API promises.
pub fn bad_response(url: &Url, what: &str) -> Error {
    Error::invalid(
        Code::RegistryBadResponse,
        "url",
        format!("unexpected answer from {}: {what}", redact_url(url)),
        "check that the URL serves the MCP Registry v0.1 API",
    )
}
