//! The organisation's server policy: which MCP servers may run, by name, by command (the exact
//! argv) or by URL pattern, compiled into each client's own managed policy file
//! (CLIENTS.md section 10), and judged the way each client will judge it.
//!
//! One policy, written once:
//!
//! ```toml
//! [[allow]]
//! command = ["npx", "-y", "@modelcontextprotocol/server-github"]
//! [[allow]]
//! url = "https://*.example.com/*"
//! [[deny]]
//! name = "everything"
//! ```
//!
//! No `allow` means every server not denied; `allow = []` means none. A rule matches a server
//! when every field it gives matches; a deny rule always wins. That is mcp-orch's own verdict
//! (`validate`'s `POLICY_DENIED`). Clients enforce less precise dialects: Claude Code, VS Code
//! and Copilot match one field per rule (and, with an allowlist, a stdio server only by
//! command and a remote one only by URL once the list has such a rule), Gemini CLI only names,
//! Codex only an allowlist of names with a command or an exact URL. [`PolicyDialect::compile`] says
//! what each loses, and [`PolicyDialect::blocks`] judges a server as the client will.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::core::clients::PolicyDialect;
use crate::core::code::Code;
use crate::core::draft::DraftServer;
use crate::core::error::{Error, Result};

/// Which servers may run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Servers allowed: absent, every server not denied; empty, none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<Rule>>,
    /// Servers denied, whatever `allow` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<Rule>,
}

/// One rule: the fields a server must match, at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The server's name in the client's file, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A stdio server's command and arguments, exactly and in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A remote server's URL: `*` matches anything, the host is compared without case, and a
    /// pattern without a path matches every path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What a server is, as a policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Its name.
    pub name: String,
    /// Command and arguments (stdio), else empty.
    pub argv: Vec<String>,
    /// Its URL (remote).
    pub url: Option<String>,
}

impl Identity {
    /// A draft server as it really runs (its own command, not the launcher around it).
    pub fn of_server(name: &str, server: &DraftServer) -> Self {
        Self {
            name: name.to_owned(),
            argv: server.command.iter().chain(&server.args).cloned().collect(),
            url: server.url.clone(),
        }
    }
}

impl Rule {
    fn matches(&self, id: &Identity) -> bool {
        self.name.as_ref().is_none_or(|n| *n == id.name)
            && self.command.as_ref().is_none_or(|c| *c == id.argv)
            && (self.url.as_ref())
                .is_none_or(|p| id.url.as_deref().is_some_and(|u| url_matches(p, u)))
    }

    /// The rule as people read it.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(name) = &self.name {
            parts.push(format!("name `{name}`"));
        }
        if let Some(command) = &self.command {
            parts.push(format!("command `{}`", command.join(" ")));
        }
        if let Some(url) = &self.url {
            parts.push(format!("URL `{url}`"));
        }
        parts.join(" and ")
    }
}

impl Policy {
    /// Why the policy forbids `id`, or `None` when it may run.
    pub fn forbids(&self, id: &Identity) -> Option<String> {
        if let Some(rule) = self.deny.iter().find(|r| r.matches(id)) {
            return Some(format!("denied by the rule on {}", rule.describe()));
        }
        match &self.allow {
            Some(rules) if !rules.iter().any(|r| r.matches(id)) => {
                Some("not on the policy's allowlist".to_owned())
            }
            _ => None,
        }
    }

    /// Parses a policy file (TOML, or JSON when it starts with `{`), checking every rule.
    ///
    /// # Errors
    /// `POLICY_INVALID`, naming the field.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let invalid = |field: String, message: String| {
            Error::invalid(
                Code::PolicyInvalid,
                field,
                format!("{}: {message}", origin.display()),
                "fix the policy file (docs/POLICY.md shows its shape) and run the command again",
            )
        };
        let policy: Self = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| invalid("policy".into(), e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| invalid("policy".into(), e.message().to_owned()))?
        };
        let rules = (policy
            .allow
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| (format!("allow[{i}]"), r)))
        .chain(
            policy
                .deny
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("deny[{i}]"), r)),
        );
        for (at, rule) in rules {
            if rule.name.is_none() && rule.command.is_none() && rule.url.is_none() {
                return Err(invalid(
                    at,
                    "a rule needs a `name`, a `command` or a `url`".into(),
                ));
            }
            if rule.command.is_some() && rule.url.is_some() {
                return Err(invalid(
                    at,
                    "a server has a command or a URL, never both: split the rule".into(),
                ));
            }
            if rule
                .command
                .as_ref()
                .is_some_and(|c| c.is_empty() || c[0].is_empty())
            {
                return Err(invalid(
                    format!("{at}.command"),
                    "the command is empty".into(),
                ));
            }
            if rule.url.as_ref().is_some_and(|u| !u.contains("://")) {
                return Err(invalid(
                    format!("{at}.url"),
                    "a URL pattern needs its scheme (`https://*.example.com/*`)".into(),
                ));
            }
            if rule.name.as_ref().is_some_and(String::is_empty) {
                return Err(invalid(format!("{at}.name"), "the name is empty".into()));
            }
        }
        Ok(policy)
    }
}

/// Whether `url` matches `pattern`: `*` matches any run of characters, the scheme and host are
/// compared without case, and a pattern without a path matches every path.
pub fn url_matches(pattern: &str, url: &str) -> bool {
    let split = |u: &str| -> (String, String) {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let (authority, path) = rest
            .find(['/', '?', '#'])
            .map_or((rest, ""), |i| rest.split_at(i));
        (
            format!("{scheme}://{authority}").to_ascii_lowercase(),
            path.to_owned(),
        )
    };
    let (pattern_head, pattern_path) = split(pattern);
    let (url_head, url_path) = split(url);
    glob(&pattern_head, &url_head) && (pattern_path.is_empty() || glob(&pattern_path, &url_path))
}

/// `*` as any run of characters, everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text.is_empty();
    };
    for part in middle {
        match text.find(part) {
            Some(i) => text = &text[i + part.len()..],
            None => return false,
        }
    }
    text.ends_with(last)
}

/// One field a client's matcher compares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Name(String),
    Command(Vec<String>),
    Url(String),
}

impl Matcher {
    /// The strongest single field of a rule: the command or URL, else the name.
    fn of(rule: &Rule) -> Self {
        match (&rule.command, &rule.url, &rule.name) {
            (Some(c), _, _) => Self::Command(c.clone()),
            (_, Some(u), _) => Self::Url(u.clone()),
            (_, _, name) => Self::Name(name.clone().unwrap_or_default()),
        }
    }

    fn matches(&self, id: &Identity) -> bool {
        match self {
            Self::Name(n) => *n == id.name,
            Self::Command(c) => *c == id.argv,
            Self::Url(p) => id.url.as_deref().is_some_and(|u| url_matches(p, u)),
        }
    }

    /// The `{"serverName"|"serverCommand"|"serverUrl": …}` object Claude Code, Copilot and
    /// VS Code read.
    fn to_json(&self) -> Value {
        match self {
            Self::Name(n) => json!({ "serverName": n }),
            Self::Command(c) => json!({ "serverCommand": c }),
            Self::Url(u) => json!({ "serverUrl": u }),
        }
    }
}

/// A managed file's new text, and what the client's dialect could not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The file as it must be written.
    pub text: String,
    /// Rules the client cannot enforce as written, each with its effect.
    pub notes: Vec<String>,
}

/// How a dialect enforces one compiled policy.
struct Enforced {
    allowed: Option<Vec<Matcher>>,
    denied: Vec<Matcher>,
    notes: Vec<String>,
}

impl PolicyDialect {
    /// What `policy` becomes in this dialect.
    fn enforced(self, policy: &Policy) -> Enforced {
        let mut notes = Vec::new();
        let mut keep = |rule: &Rule, allow: bool| -> Option<Matcher> {
            let matcher = Matcher::of(rule);
            let lost = match (self, &matcher) {
                (Self::GeminiSettings, Matcher::Command(_) | Matcher::Url(_)) => {
                    rule.name.is_none()
                }
                (Self::CodexRequirements, _) => {
                    rule.name.is_none() || (rule.command.is_none() && rule.url.is_none())
                }
                _ => false,
            };
            if lost {
                notes.push(format!(
                    "the {} rule on {} cannot be written: {}; {}",
                    if allow { "allow" } else { "deny" },
                    rule.describe(),
                    if self == Self::CodexRequirements {
                        "Codex allows a name together with its command or URL"
                    } else {
                        "Gemini CLI matches servers by name"
                    },
                    if allow {
                        "the servers it allows are blocked there"
                    } else {
                        "it is not enforced there"
                    }
                ));
                return None;
            }
            let compared = match self {
                Self::GeminiSettings => Matcher::Name(rule.name.clone().unwrap_or_default()),
                _ => matcher,
            };
            if self == Self::CodexRequirements && rule.url.as_ref().is_some_and(|u| u.contains('*'))
            {
                notes.push(format!(
                    "the rule on {} is written as it is, but Codex compares URLs exactly: the pattern matches only itself there",
                    rule.describe()
                ));
            }
            if self == Self::CodexRequirements && rule.command.as_ref().is_some_and(|c| c.len() > 1)
            {
                notes.push(format!(
                    "the rule on {} is enforced by its name and executable: Codex does not compare arguments",
                    rule.describe()
                ));
            }
            if rule.name.is_some()
                && !matches!(compared, Matcher::Name(_))
                && self != Self::CodexRequirements
            {
                notes.push(format!(
                    "the rule on {} is enforced by its {} alone: {} compares one field per rule",
                    rule.describe(),
                    if rule.command.is_some() {
                        "command"
                    } else {
                        "URL"
                    },
                    self.client_names()
                ));
            }
            if (rule.command.is_some() || rule.url.is_some())
                && matches!(compared, Matcher::Name(_))
            {
                notes.push(format!(
                    "the rule on {} is enforced by its name alone: {} compares names only",
                    rule.describe(),
                    self.client_names()
                ));
            }
            Some(compared)
        };
        let allowed = policy.allow.as_ref().map(|rules| {
            rules
                .iter()
                .filter_map(|r| keep(r, true))
                .collect::<Vec<_>>()
        });
        let denied: Vec<Matcher> = policy.deny.iter().filter_map(|r| keep(r, false)).collect();
        let mut enforced = Enforced {
            allowed,
            denied,
            notes,
        };
        if self == Self::CodexRequirements {
            enforced.codex_rules();
        }
        enforced
    }

    fn client_names(self) -> &'static str {
        match self {
            Self::ClaudeSettings => "Claude Code",
            Self::VsCodePolicy => "VS Code",
            Self::GeminiSettings => "Gemini CLI",
            Self::CodexRequirements => "Codex",
        }
    }

    /// The client's managed file with `policy` written into it, everything else kept.
    ///
    /// # Errors
    /// `CONFIG_PARSE_ERROR` when the existing file cannot be read as its format.
    pub fn compile(self, policy: &Policy, old: Option<&str>, origin: &Path) -> Result<Compiled> {
        let enforced = self.enforced(policy);
        let list =
            |matchers: &[Matcher]| Value::Array(matchers.iter().map(Matcher::to_json).collect());
        let text = match self {
            Self::ClaudeSettings => set_json(
                old,
                origin,
                &[
                    (
                        &["allowedMcpServers"],
                        enforced.allowed.as_deref().map(list),
                    ),
                    (
                        &["deniedMcpServers"],
                        Some(list(&enforced.denied)).filter(|_| !enforced.denied.is_empty()),
                    ),
                ],
            )?,
            Self::VsCodePolicy => {
                // VS Code reads array policies as JSON text (the same value a Group Policy
                // holds).
                let as_text = |v: Value| Value::String(v.to_string());
                set_json(
                    old,
                    origin,
                    &[
                        (
                            &["ChatAllowedMcpServers"],
                            enforced.allowed.as_deref().map(list).map(as_text),
                        ),
                        (
                            &["ChatDeniedMcpServers"],
                            Some(list(&enforced.denied))
                                .filter(|_| !enforced.denied.is_empty())
                                .map(as_text),
                        ),
                    ],
                )?
            }
            Self::GeminiSettings => {
                let names = |m: &[Matcher]| {
                    Value::Array(
                        m.iter()
                            .filter_map(|m| match m {
                                Matcher::Name(n) => Some(Value::String(n.clone())),
                                _ => None,
                            })
                            .collect(),
                    )
                };
                set_json(
                    old,
                    origin,
                    &[
                        (&["mcp", "allowed"], enforced.allowed.as_deref().map(names)),
                        (
                            &["mcp", "excluded"],
                            Some(names(&enforced.denied)).filter(|_| !enforced.denied.is_empty()),
                        ),
                    ],
                )?
            }
            Self::CodexRequirements => codex_requirements(old, origin, policy, &enforced)?,
        };
        Ok(Compiled {
            text,
            notes: enforced.notes,
        })
    }

    /// Why this client, given the file compiled from `policy`, blocks `id`; `None` when it
    /// lets it run.
    pub fn blocks(self, policy: &Policy, id: &Identity) -> Option<String> {
        let enforced = self.enforced(policy);
        if let Some(m) = enforced.denied.iter().find(|m| m.matches(id)) {
            return Some(format!("denied by its {}", describe_matcher(m)));
        }
        let allowed = enforced.allowed.as_ref()?;
        let ok = match self {
            Self::ClaudeSettings | Self::VsCodePolicy => {
                // With an allowlist, a remote server is judged by URL (and a stdio one by
                // command) as soon as the list has such an entry; names then do not count.
                let by_kind: Vec<&Matcher> = allowed
                    .iter()
                    .filter(|m| {
                        if id.url.is_some() {
                            matches!(m, Matcher::Url(_))
                        } else {
                            matches!(m, Matcher::Command(_))
                        }
                    })
                    .collect();
                if by_kind.is_empty() {
                    allowed
                        .iter()
                        .any(|m| matches!(m, Matcher::Name(_)) && m.matches(id))
                } else {
                    by_kind.iter().any(|m| m.matches(id))
                }
            }
            Self::GeminiSettings => allowed.iter().any(|m| m.matches(id)),
            Self::CodexRequirements => codex_allows(policy, &enforced, id),
        };
        (!ok).then(|| "not on its allowlist".to_owned())
    }
}

fn describe_matcher(m: &Matcher) -> String {
    match m {
        Matcher::Name(n) => format!("name rule `{n}`"),
        Matcher::Command(c) => format!("command rule `{}`", c.join(" ")),
        Matcher::Url(u) => format!("URL rule `{u}`"),
    }
}

impl Enforced {
    /// Codex allows by name with an identity, and denies nothing: a deny rule on a name drops
    /// that name from the allowlist; other deny rules, and any deny without an allowlist,
    /// cannot be said.
    fn codex_rules(&mut self) {
        if self.allowed.is_none() && !self.denied.is_empty() {
            self.notes.push(
                "Codex's requirements only list the servers allowed: without an allowlist the deny rules are not enforced there".to_owned(),
            );
        }
        self.denied.clear();
    }
}

/// The `(name, identity)` pairs Codex's requirements hold: allow rules with a name, less the
/// names a deny rule names, each with its command (the executable, which Codex compares) or
/// exact URL.
fn codex_entries(policy: &Policy) -> Vec<(String, (&'static str, String))> {
    let denied: Vec<&String> = policy.deny.iter().filter_map(|r| r.name.as_ref()).collect();
    policy
        .allow
        .iter()
        .flatten()
        .filter_map(|rule| {
            let name = rule.name.clone()?;
            if denied.contains(&&name) {
                return None;
            }
            let identity = match (&rule.command, &rule.url) {
                (Some(c), _) => ("command", c[0].clone()),
                (_, Some(u)) => ("url", u.clone()),
                _ => return None,
            };
            Some((name, identity))
        })
        .collect()
}

fn codex_allows(policy: &Policy, enforced: &Enforced, id: &Identity) -> bool {
    if enforced.allowed.is_none() {
        return true;
    }
    codex_entries(policy).iter().any(|(name, identity)| {
        *name == id.name
            && match identity {
                ("command", c) => id.argv.first() == Some(c),
                (_, u) => id.url.as_deref() == Some(u.as_str()),
            }
    })
}

/// Codex's `requirements.toml` with its `[mcp_servers]` table replaced (removed when the
/// policy has no allowlist); every other table and comment kept.
fn codex_requirements(
    old: Option<&str>,
    origin: &Path,
    policy: &Policy,
    enforced: &Enforced,
) -> Result<String> {
    let mut doc: toml_edit::DocumentMut =
        old.unwrap_or_default()
            .parse()
            .map_err(|e: toml_edit::TomlError| Error::Parse {
                path: origin.to_path_buf(),
                message: e.message().to_owned(),
                code: Code::ConfigParseError,
            })?;
    if enforced.allowed.is_some() {
        let mut servers = toml_edit::Table::new();
        for (name, (field, value)) in codex_entries(policy) {
            let mut entry = toml_edit::Table::new();
            let mut id = toml_edit::Table::new();
            id.insert(field, toml_edit::value(value));
            entry.insert("identity", toml_edit::Item::Table(id));
            entry.set_implicit(true);
            servers.insert(&name, toml_edit::Item::Table(entry));
        }
        // An empty `[mcp_servers]` is Codex's "no server at all"; otherwise the header is
        // left to the entries' own.
        servers.set_implicit(!servers.is_empty());
        doc.insert("mcp_servers", toml_edit::Item::Table(servers));
    } else {
        doc.remove("mcp_servers");
    }
    Ok(doc.to_string())
}

/// `old` (a JSON object, or nothing) with each key path set to its value, or removed for
/// `None`; everything else kept as written.
fn set_json(
    old: Option<&str>,
    origin: &Path,
    changes: &[(&[&str], Option<Value>)],
) -> Result<String> {
    crate::core::document::set_json_values(old.unwrap_or_default(), changes).map_err(|message| {
        Error::Parse {
            path: origin.to_path_buf(),
            message,
            code: Code::ConfigParseError,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, argv: &[&str], url: Option<&str>) -> Identity {
        Identity {
            name: name.to_owned(),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            url: url.map(str::to_owned),
        }
    }

    #[test]
    fn url_patterns_match_like_the_clients_do() {
        assert!(url_matches(
            "https://*.example.com/*",
            "https://mcp.EXAMPLE.com/v1/mcp"
        ));
        assert!(url_matches(
            "https://mcp.example.com",
            "https://mcp.example.com/any/path?x=1"
        ));
        assert!(!url_matches(
            "https://*.example.com/*",
            "https://example.org/mcp"
        ));
        assert!(!url_matches(
            "https://mcp.example.com/v1/*",
            "https://mcp.example.com/v2/mcp"
        ));
        assert!(!url_matches(
            "https://mcp.example.com",
            "http://mcp.example.com/mcp"
        ));
        assert!(url_matches(
            "http://127.0.0.1:*/*",
            "http://127.0.0.1:8080/mcp"
        ));
    }

    #[test]
    fn deny_wins_and_an_allowlist_must_match_every_field_of_a_rule() {
        let policy = Policy::parse(
            "[[allow]]\nname = \"gh\"\ncommand = [\"npx\", \"-y\", \"gh\"]\n[[allow]]\nurl = \"https://*.example.com/*\"\n[[deny]]\nurl = \"https://bad.example.com/*\"\n",
            Path::new("p.toml"),
        )
        .unwrap();
        assert_eq!(policy.forbids(&id("gh", &["npx", "-y", "gh"], None)), None);
        assert!(
            policy
                .forbids(&id("other", &["npx", "-y", "gh"], None))
                .is_some()
        );
        assert_eq!(
            policy.forbids(&id("r", &[], Some("https://ok.example.com/mcp"))),
            None
        );
        assert_eq!(
            policy
                .forbids(&id("r", &[], Some("https://bad.example.com/mcp")))
                .as_deref(),
            Some("denied by the rule on URL `https://bad.example.com/*`")
        );
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        for (text, field) in [
            ("[[allow]]\n", "allow[0]"),
            ("[[deny]]\ncommand = []\n", "deny[0].command"),
            ("[[deny]]\nurl = \"example.com\"\n", "deny[0].url"),
            (
                "[[allow]]\ncommand = [\"x\"]\nurl = \"https://x\"\n",
                "allow[0]",
            ),
            ("[[allow]]\nhost = \"x\"\n", "policy"),
        ] {
            match Policy::parse(text, Path::new("p.toml")).unwrap_err() {
                Error::Invalid {
                    code, field: at, ..
                } => {
                    assert_eq!((code, at.as_str()), (Code::PolicyInvalid, field), "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn claude_judges_stdio_servers_by_command_once_the_allowlist_has_one() {
        let policy = Policy::parse(
            "[[allow]]\ncommand = [\"npx\", \"-y\", \"gh\"]\n[[allow]]\nname = \"memory\"\n",
            Path::new("p.toml"),
        )
        .unwrap();
        let claude = PolicyDialect::ClaudeSettings;
        assert_eq!(
            claude.blocks(&policy, &id("gh", &["npx", "-y", "gh"], None)),
            None
        );
        // The name rule does not let a stdio server in once commands are listed.
        assert!(
            claude
                .blocks(&policy, &id("memory", &["npx", "memory"], None))
                .is_some()
        );
        // A remote server falls back to names: there is no URL rule.
        assert_eq!(
            claude.blocks(&policy, &id("memory", &[], Some("https://x/mcp"))),
            None
        );
    }
}
