//! Plaintext secrets recognised by what they look like, wherever they stand: a value whose
//! shape is a known credential's (GitHub, OpenAI, Anthropic, Slack, AWS, Google, Stripe,
//! GitLab, npm, Hugging Face tokens, JWTs), a secret in a URL (a password in its authority, a
//! query parameter named like a credential), or a command-line argument that carries one
//! (`--token=…`, `--api-key …`). One detector serves validation (`PLAINTEXT_SECRET`), the
//! redaction of diffs and plans, and the import that moves literals into the secret store.
//!
//! The names of env vars and headers that usually hold secrets are the other half
//! (`validate::looks_secret`); this module judges the value alone.

/// A recognised secret: what it is, and the exact text that is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// What kind of secret (`GitHub token`, `JWT`, `password in a URL`, ...).
    pub kind: &'static str,
    /// The secret text itself, a slice of the value looked at.
    pub secret: &'a str,
}

/// Known token prefixes, with the shortest body (after the prefix) that makes a token.
const PREFIXES: &[(&str, usize, &str)] = &[
    ("github_pat_", 20, "GitHub token"),
    ("ghp_", 20, "GitHub token"),
    ("gho_", 20, "GitHub token"),
    ("ghu_", 20, "GitHub token"),
    ("ghs_", 20, "GitHub token"),
    ("ghr_", 20, "GitHub token"),
    ("glpat-", 16, "GitLab token"),
    ("sk-ant-", 20, "Anthropic key"),
    ("sk-proj-", 20, "OpenAI key"),
    ("sk-", 20, "API key (sk-)"),
    ("sk_live_", 16, "Stripe key"),
    ("rk_live_", 16, "Stripe key"),
    ("sk_test_", 16, "Stripe key"),
    ("xoxb-", 10, "Slack token"),
    ("xoxp-", 10, "Slack token"),
    ("xoxa-", 10, "Slack token"),
    ("xoxr-", 10, "Slack token"),
    ("xoxs-", 10, "Slack token"),
    ("xapp-", 10, "Slack token"),
    ("npm_", 30, "npm token"),
    ("hf_", 30, "Hugging Face token"),
    ("AIza", 35, "Google API key"),
    ("pplx-", 30, "Perplexity key"),
    ("lin_api_", 30, "Linear key"),
];

/// Query parameters and flags whose value is a credential.
const CREDENTIAL_NAMES: &[&str] = &[
    "token",
    "access_token",
    "auth_token",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pat",
    "auth",
    "sig",
    "signature",
];

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// The secrets in `value`, each at most once, in order.
pub fn find(value: &str) -> Vec<Found<'_>> {
    let mut out = Vec::new();
    for found in url_secrets(value) {
        add(&mut out, found);
    }
    for word in value.split(|c: char| !token_char(c) && c != '.') {
        if let Some(found) = token(word) {
            add(&mut out, found);
        }
    }
    out
}

/// Adds `found` unless it is too short to be a secret or already there.
fn add<'a>(out: &mut Vec<Found<'a>>, found: Found<'a>) {
    if found.secret.len() >= 4 && !out.iter().any(|f| f.secret == found.secret) {
        out.push(found);
    }
}

/// A whole value that is one known credential (a prefixed token, a JWT, an AWS key id).
fn token(word: &str) -> Option<Found<'_>> {
    let word = word.trim_matches('.');
    for (prefix, min_body, kind) in PREFIXES {
        if let Some(body) = word.strip_prefix(prefix)
            && body.len() >= *min_body
            && body.chars().all(token_char)
            && body.chars().any(|c| c.is_ascii_digit())
        {
            return Some(Found { kind, secret: word });
        }
    }
    if is_jwt(word) {
        return Some(Found {
            kind: "JWT",
            secret: word,
        });
    }
    let aws = ["AKIA", "ASIA"]
        .iter()
        .any(|p| word.starts_with(p) && word.len() == 20)
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    aws.then_some(Found {
        kind: "AWS access key id",
        secret: word,
    })
}

/// `eyJ…` header, payload and signature in base64url.
fn is_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].starts_with("eyJ")
        && parts.iter().all(|p| {
            p.len() >= 8
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

/// Secrets in the URLs inside `value`: a password in the authority, and credential-named
/// query parameters.
fn url_secrets(value: &str) -> Vec<Found<'_>> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("://") {
        let after = &rest[start + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(after.len());
        let url = &after[..end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
            && !is_placeholder(password)
        {
            out.push(Found {
                kind: "password in a URL",
                secret: password,
            });
        }
        if let Some(query_start) = url.find('?') {
            let query = &url[query_start + 1..];
            let query = query.split('#').next().unwrap_or(query);
            for pair in query.split('&') {
                if let Some((name, secret)) = pair.split_once('=')
                    && is_credential_name(name)
                    && !secret.is_empty()
                    && !is_placeholder(secret)
                {
                    out.push(Found {
                        kind: "secret in a URL query",
                        secret,
                    });
                }
            }
        }
        rest = &after[end..];
    }
    out
}

fn is_credential_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CREDENTIAL_NAMES.contains(&lower.as_str())
        || lower.ends_with("_token")
        || lower.ends_with("_key")
        || lower.ends_with("_secret")
}

/// Whether a value is an env reference rather than a literal (`${X}`, `${env:X}`, `{env:X}`, `$X`).
pub fn is_reference(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with("{env:") && v.ends_with('}'))
        || (v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && v.len() > 1)
}

/// A reference or a template, not a value: `${VAR}`, `$VAR`, `{env:VAR}`, `{placeholder}`.
fn is_placeholder(text: &str) -> bool {
    is_reference(text)
        || (text.starts_with('{') && text.ends_with('}'))
        || text.starts_with("%24%7B")
}

/// The secrets in a command line: known shapes in any argument, and the value of a
/// credential flag (`--token=VALUE`, or `--api-key VALUE` as the next argument).
pub fn in_args(args: &[String]) -> Vec<Found<'_>> {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        for found in find(arg) {
            add(&mut out, found);
        }
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        if !is_credential_name(&name.replace('-', "_")) && !is_credential_name(name) {
            continue;
        }
        let value = inline.or_else(|| args.get(i + 1).map(String::as_str));
        if let Some(value) = value
            && !value.starts_with('-')
            && !is_placeholder(value)
        {
            add(
                &mut out,
                Found {
                    kind: "credential argument",
                    secret: value,
                },
            );
        }
    }
    out
}

/// A plaintext secret inside one client entry: where (a JSON path within the entry) and
/// what kind; never the value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct InEntry {
    /// Where in the entry (`env.GITHUB_TOKEN`, `args`, `url`, `headers.Authorization`).
    pub field: String,
    /// What kind of secret.
    pub kind: &'static str,
}

/// Every plaintext secret in a client entry, in any client's spelling: values shaped like a
/// credential anywhere, credential arguments in any list of strings, and literal values of
/// secret-named keys inside maps (`env`, `envs`, `environment`, `headers`, ...).
pub fn in_entry(entry: &serde_json::Value, secret_name: &dyn Fn(&str) -> bool) -> Vec<InEntry> {
    let mut out = Vec::new();
    walk(entry, "", secret_name, &mut out);
    out
}

fn walk(
    value: &serde_json::Value,
    path: &str,
    secret_name: &dyn Fn(&str) -> bool,
    out: &mut Vec<InEntry>,
) {
    use serde_json::Value;
    let push = |out: &mut Vec<InEntry>, field: String, kind: &'static str| {
        if !out.iter().any(|f| f.field == field && f.kind == kind) {
            out.push(InEntry { field, kind });
        }
    };
    match value {
        Value::String(text) => {
            for found in find(text) {
                push(out, path.to_owned(), found.kind);
            }
        }
        Value::Array(items) => {
            let args: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            for found in in_args(&args) {
                push(out, path.to_owned(), found.kind);
            }
            for item in items.iter().filter(|v| !v.is_string()) {
                walk(item, path, secret_name, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if let Value::String(text) = item
                    && secret_name(key)
                    && !text.trim().is_empty()
                    && !is_placeholder(text)
                    && !is_scheme_and_reference(text)
                    && find(text).is_empty()
                {
                    push(out, at.clone(), "value of a secret-named key");
                }
                walk(item, &at, secret_name, out);
            }
        }
        _ => {}
    }
}

/// `Bearer ${TOKEN}`: an auth scheme before a reference names a secret without holding one.
fn is_scheme_and_reference(text: &str) -> bool {
    text.trim().split_once(' ').is_some_and(|(scheme, rest)| {
        scheme.chars().all(|c| c.is_ascii_alphabetic()) && is_placeholder(rest.trim())
    }) || text.contains("{secret:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(value: &str) -> Vec<(&'static str, String)> {
        find(value)
            .into_iter()
            .map(|f| (f.kind, f.secret.to_owned()))
            .collect()
    }

    #[test]
    fn known_token_shapes_are_found_and_ordinary_values_are_not() {
        let cases = [
            ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "GitHub token"),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
                "GitHub token",
            ),
            ("glpat-xxxxXXXX1234yyyyZZZZ", "GitLab token"),
            (
                "sk-ant-api03-AbCdEf0123456789AbCdEf0123456789",
                "Anthropic key",
            ),
            ("sk-proj-AbCdEf0123456789AbCdEf0123456789", "OpenAI key"),
            ("sk-AbCdEf0123456789AbCdEf0123456789", "API key (sk-)"),
            ("xoxb-1234567890-abcdefghij", "Slack token"),
            ("AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
            ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "Google API key"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "JWT",
            ),
        ];
        for (value, kind) in cases {
            assert_eq!(kinds(value), [(kind, value.to_owned())], "{value}");
            // Inside other text too.
            assert_eq!(
                kinds(&format!("Bearer {value}")),
                [(kind, value.to_owned())]
            );
        }
        for plain in [
            "",
            "stdio",
            "/home/alice/code",
            "@modelcontextprotocol/server-github",
            "sk-learn",
            "task-runner-with-a-long-name-but-no-digits",
            "https://api.example.com/v1?limit=10",
            "${GITHUB_TOKEN}",
            "AKIA-not-a-key",
            "eyJ.eyJ.x",
        ] {
            assert!(find(plain).is_empty(), "{plain}: {:?}", find(plain));
        }
    }

    #[test]
    fn secrets_in_urls_are_found() {
        assert_eq!(
            kinds("postgres://orch:hunter2@db.internal:5432/orch"),
            [("password in a URL", "hunter2".to_owned())]
        );
        assert_eq!(
            kinds("https://mcp.example.com/sse?api_key=abc123def456&limit=5"),
            [("secret in a URL query", "abc123def456".to_owned())]
        );
        assert_eq!(
            kinds("https://x.example.com/mcp?token=${TOKEN}&user_token={token}"),
            []
        );
        assert_eq!(
            kinds("https://user@example.com/path?q=1"),
            [],
            "a user without a password"
        );
    }

    #[test]
    fn entries_of_any_spelling_are_scanned() {
        let named = |k: &str| k.to_ascii_uppercase().contains("TOKEN") || k == "Authorization";
        let entry = serde_json::json!({
            "cmd": "npx",
            "args": ["-y", "srv", "--api-key", "k3y-v4lue-1"],
            "envs": {"GITHUB_TOKEN": "plain-value", "OTHER": "xoxb-1234567890-abcdefghij", "MODE": "x"},
            "uri": "https://mcp.example.com/mcp?token=abcdef123",
            "headers": {"Authorization": "Bearer ${TOKEN}", "X-Key": "Bearer {secret:K}"},
        });
        let found: Vec<(String, &str)> = in_entry(&entry, &named)
            .into_iter()
            .map(|f| (f.field, f.kind))
            .collect();
        assert_eq!(
            found,
            [
                ("args".to_owned(), "credential argument"),
                (
                    "envs.GITHUB_TOKEN".to_owned(),
                    "value of a secret-named key"
                ),
                ("envs.OTHER".to_owned(), "Slack token"),
                ("uri".to_owned(), "secret in a URL query"),
            ]
        );
    }

    #[test]
    fn credential_arguments_are_found() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let a = args(&["-y", "server", "--api-key", "s3cr3t-value", "--verbose"]);
        assert_eq!(
            in_args(&a).iter().map(|f| f.secret).collect::<Vec<_>>(),
            ["s3cr3t-value"]
        );
        let a = args(&["--token=abcd1234", "--port", "8080"]);
        assert_eq!(
            in_args(&a).iter().map(|f| f.secret).collect::<Vec<_>>(),
            ["abcd1234"]
        );
        let a = args(&["--token", "${TOKEN}", "--key", "--verbose"]);
        assert!(in_args(&a).is_empty());
        let a = args(&["serve", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"]);
        assert_eq!(in_args(&a)[0].kind, "GitHub token");
    }
}
