//! Each face's spelling of a next step ([`crate::core::next`]): a command line for the CLI
//! and the TUI, a tool call for MCP, an endpoint for REST. A step the face does not offer is
//! spelled as the command to run in a terminal. Errors are rendered here for every face, so
//! the code, message, field, details and steps agree everywhere and only the hint's spelling
//! differs.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::core::next::{Hint, Op, Step};
use crate::core::profiles::DEFAULT_PROFILE;
use crate::core::{Error, ErrorBody};

/// The face an answer is shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The command line and the TUI.
    Cli,
    /// The MCP tools.
    Mcp,
    /// The REST API.
    Rest,
}

/// An error's body as `face` shows it.
pub fn error_body(error: &Error, face: Face) -> ErrorBody {
    let mut body = error.body();
    body.hint = render(&error.hint(), face);
    if let Error::Fields(problems) = error {
        let problems: Vec<ErrorBody> = problems.iter().map(|p| error_body(p, face)).collect();
        body.details = serde_json::json!({ "problems": problems });
    }
    body
}

/// A hint in `face`'s terms: the prose, then each step.
pub fn render(hint: &Hint, face: Face) -> String {
    let mut out = hint.text.clone();
    for (i, step) in hint.steps.iter().enumerate() {
        out.push_str(if i == 0 { ": " } else { ", or " });
        out.push_str(&spell(step, face));
    }
    out
}

/// One step in `face`'s terms.
pub fn spell(step: &Step, face: Face) -> String {
    if step.op == Op::Give {
        return give(step, face);
    }
    let offered = match face {
        Face::Cli => None,
        Face::Mcp => tool(step),
        Face::Rest => endpoint(step),
    };
    offered.unwrap_or_else(|| match face {
        Face::Cli => format!("`{}`", command(step)),
        _ => format!("in a terminal, `{}`", command(step)),
    })
}

/// An input to give, in `face`'s terms: the CLI's flag, the tool's argument, the body field.
fn give(step: &Step, face: Face) -> String {
    let field = step.arg("field").unwrap_or("");
    let example = step.arg("example").unwrap_or("VALUE");
    match face {
        Face::Cli => {
            let flag = match field.split_once('.') {
                Some(("params", name)) => format!("--param {name}={example}"),
                Some(("env_vars", name)) if step.arg("secret").is_some() => {
                    format!("--secret {name}")
                }
                Some(("env_vars", name)) => format!("--env {name}={example}"),
                _ if field == "server_name" => format!("--name {example}"),
                _ => format!("--{} {example}", field.replace('_', "-")),
            };
            format!("`{flag}`")
        }
        Face::Mcp => format!("the `{field}` argument (e.g. `{example}`)"),
        Face::Rest => format!("`{field}` in the body (e.g. `{example}`)"),
    }
}

/// The command line of a step.
pub fn command(step: &Step) -> String {
    let a = |name: &str| step.arg(name).unwrap_or("").to_owned();
    let (verb, positional) = match step.op {
        Op::Give => ("", None),
        Op::ListClients => ("clients", None),
        Op::SearchServers => ("servers search", None),
        Op::ListProfiles => ("profiles list", None),
        Op::CreateProfile => ("profiles create", Some(a("profile_id"))),
        Op::ShowDraft => ("draft show", None),
        Op::AddServer => ("draft add", Some(a("server_id"))),
        Op::RemoveServer => ("draft remove", Some(a("server_name"))),
        Op::ClearDraft => ("draft clear", None),
        Op::Validate => ("validate", None),
        Op::Publish => ("publish", None),
        Op::History => ("history", None),
        Op::Deploy => ("deploy", None),
        Op::Rollback => ("rollback", None),
        Op::ListBackups => ("restore --list", None),
        Op::SetSecret => ("secrets set", Some(a("name"))),
        Op::ListSecrets => ("secrets list", None),
        Op::InitKeys => ("keys init", None),
        Op::RotateKeys => ("keys rotate", None),
        Op::ExportKey => ("keys export", None),
        Op::TrustKey => ("keys trust", Some(a("file"))),
        Op::ShowKeys => ("keys show", None),
        Op::ListTokens => ("token list", None),
        Op::RevokeToken => ("token revoke", Some(a("id"))),
        Op::VerifyAudit => ("audit --verify", None),
        Op::SyncRegistry => ("registry sync", None),
        Op::ProbeAsClient => ("probe --as-client", Some(a("client_id"))),
    };
    let mut out = format!("mcp-orch {verb}");
    if let Some(p) = positional.filter(|p| !p.is_empty()) {
        let _ = write!(out, " {p}");
    }
    let takes_target = !matches!(
        step.op,
        Op::ListClients
            | Op::SearchServers
            | Op::CreateProfile
            | Op::InitKeys
            | Op::RotateKeys
            | Op::ExportKey
            | Op::TrustKey
            | Op::ShowKeys
            | Op::ListTokens
            | Op::RevokeToken
            | Op::VerifyAudit
            | Op::SyncRegistry
            | Op::ProbeAsClient
            | Op::ListSecrets
    );
    if (step.op == Op::CreateProfile || takes_target)
        && let Some(client) = step.arg("client_id")
    {
        let _ = write!(out, " --client {client}");
    }
    if takes_target && let Some(profile) = step.arg("profile_id").filter(|p| *p != DEFAULT_PROFILE)
    {
        let _ = write!(out, " --profile {profile}");
    }
    if let Some(path) = step.arg("path").filter(|_| step.op == Op::CreateProfile) {
        let _ = write!(out, " --path {path}");
    }
    if let Some(to) = step.arg("artifact_id").filter(|_| step.op == Op::Rollback) {
        let _ = write!(out, " --to {to}");
    }
    if step.arg("full").is_some() {
        out.push_str(" --full");
    }
    out
}

/// The MCP tool call of a step, when a tool does it.
fn tool(step: &Step) -> Option<String> {
    let (name, mut args): (&str, Map<String, Value>) = match step.op {
        Op::ListClients => ("list_clients", Map::new()),
        Op::SearchServers => ("list_available_servers", Map::new()),
        Op::ListProfiles => ("list_profiles", target_args(step, &["client_id"])),
        Op::ShowDraft => (
            "view_draft_config",
            target_args(step, &["client_id", "profile_id"]),
        ),
        Op::AddServer => (
            "add_server_to_config",
            target_args(step, &["server_id", "client_id", "profile_id"]),
        ),
        Op::RemoveServer => (
            "remove_server_from_config",
            target_args(step, &["server_name", "client_id", "profile_id"]),
        ),
        Op::ClearDraft => (
            "clear_draft_config",
            target_args(step, &["client_id", "profile_id"]),
        ),
        Op::Validate => (
            "validate_config",
            target_args(step, &["client_id", "profile_id"]),
        ),
        Op::Publish => (
            "publish_config",
            target_args(step, &["client_id", "profile_id"]),
        ),
        Op::History => (
            "get_config_history",
            target_args(step, &["client_id", "profile_id"]),
        ),
        Op::Deploy => (
            "deploy_config",
            target_args(step, &["client_id", "profile_id"]),
        ),
        Op::Rollback => (
            "rollback_config",
            target_args(step, &["client_id", "profile_id", "artifact_id"]),
        ),
        Op::InitKeys => ("initialize_keys", Map::new()),
        Op::RotateKeys => {
            let mut args = Map::new();
            args.insert("regenerate".into(), Value::Bool(true));
            ("initialize_keys", args)
        }
        Op::VerifyAudit => {
            let mut args = Map::new();
            args.insert("verify".into(), Value::Bool(true));
            ("get_audit_log", args)
        }
        Op::ProbeAsClient => {
            let mut args = target_args(step, &["client_id"]);
            args.insert("as_client".into(), Value::Bool(true));
            ("check_server_health", args)
        }
        _ => return None,
    };
    args.retain(|_, v| v.as_str() != Some(""));
    Some(if args.is_empty() {
        format!("the `{name}` tool")
    } else {
        format!("the `{name}` tool with {}", Value::Object(args))
    })
}

fn target_args(step: &Step, names: &[&str]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|n| {
            step.arg(n)
                .map(|v| ((*n).to_owned(), Value::String(v.to_owned())))
        })
        .collect()
}

/// The REST call of a step, when an endpoint does it.
fn endpoint(step: &Step) -> Option<String> {
    let target = || {
        format!(
            "/v1/config/{}/{}",
            step.arg("client_id").unwrap_or("{client_id}"),
            step.arg("profile_id").unwrap_or(DEFAULT_PROFILE)
        )
    };
    let (method, path, body) = match step.op {
        Op::ListClients => ("GET", "/v1/clients".to_owned(), None),
        Op::SearchServers => ("GET", "/v1/servers?search=".to_owned(), None),
        Op::ListProfiles => (
            "GET",
            format!(
                "/v1/clients/{}/profiles",
                step.arg("client_id").unwrap_or("{client_id}")
            ),
            None,
        ),
        Op::ShowDraft => ("GET", format!("{}/draft", target()), None),
        Op::AddServer => (
            "POST",
            format!("{}/draft/add", target()),
            step.arg("server_id")
                .map(|id| format!("{{\"server_id\": \"{id}\"}}")),
        ),
        Op::RemoveServer => (
            "POST",
            format!("{}/draft/remove", target()),
            step.arg("server_name")
                .map(|n| format!("{{\"server_name\": \"{n}\"}}")),
        ),
        Op::ClearDraft => ("DELETE", format!("{}/draft", target()), None),
        Op::Validate => ("POST", format!("{}/validate", target()), None),
        Op::Publish => ("POST", format!("{}/publish", target()), None),
        Op::History => ("GET", format!("{}/history", target()), None),
        Op::Deploy => ("POST", format!("{}/deploy", target()), None),
        Op::Rollback => (
            "POST",
            format!("{}/rollback", target()),
            step.arg("artifact_id")
                .map(|id| format!("{{\"artifact_id\": \"{id}\"}}")),
        ),
        Op::InitKeys => ("POST", "/v1/keys/initialize".to_owned(), None),
        Op::RotateKeys => (
            "POST",
            "/v1/keys/initialize".to_owned(),
            Some("{\"regenerate\": true}".to_owned()),
        ),
        Op::VerifyAudit => ("GET", "/v1/audit/verify".to_owned(), None),
        _ => return None,
    };
    Some(match body {
        Some(body) => format!("`{method} {path}` with `{body}`"),
        None => format!("`{method} {path}`"),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn every_step() -> Vec<Step> {
        let target = [("client_id", "cursor"), ("profile_id", "work")];
        [
            Step::new(Op::ListClients, &[]),
            Step::new(Op::SearchServers, &[]),
            Step::new(Op::ListProfiles, &target[..1]),
            Step::new(Op::CreateProfile, &target),
            Step::new(Op::ShowDraft, &target),
            Step::new(
                Op::AddServer,
                &[("server_id", "memory"), target[0], target[1]],
            ),
            Step::new(
                Op::RemoveServer,
                &[("server_name", "memory"), target[0], target[1]],
            ),
            Step::new(Op::ClearDraft, &target),
            Step::new(Op::Validate, &target),
            Step::new(Op::Publish, &target),
            Step::new(Op::History, &target),
            Step::new(Op::Deploy, &target),
            Step::new(
                Op::Rollback,
                &[target[0], target[1], ("artifact_id", "4aff2339")],
            ),
            Step::new(Op::ListBackups, &target[..1]),
            Step::new(Op::SetSecret, &[("name", "TOKEN"), target[0], target[1]]),
            Step::new(Op::ListSecrets, &[]),
            Step::new(Op::InitKeys, &[]),
            Step::new(Op::RotateKeys, &[]),
            Step::new(Op::ExportKey, &[]),
            Step::new(Op::TrustKey, &[("file", "key.json")]),
            Step::new(Op::ShowKeys, &[]),
            Step::new(Op::ListTokens, &[]),
            Step::new(Op::RevokeToken, &[("id", "abcdefghij")]),
            Step::new(Op::VerifyAudit, &[]),
            Step::new(Op::SyncRegistry, &[("full", "true")]),
            Step::new(Op::ProbeAsClient, &target[..1]),
        ]
        .into()
    }

    /// Every step's command line is one the CLI parses.
    #[test]
    fn every_command_parses() {
        for step in every_step() {
            let line = command(&step);
            let args: Vec<&str> = line.split(' ').collect();
            assert!(
                crate::cli::Cli::try_parse_from(&args).is_ok(),
                "{:?}: `{line}` does not parse",
                step.op
            );
        }
    }

    /// Every tool a step names is an MCP tool, every endpoint is in `/openapi.json`.
    #[test]
    fn every_tool_and_endpoint_exists() {
        let openapi: Value = serde_json::from_str(crate::server::http::openapi::json()).unwrap();
        for step in every_step() {
            if let Some(call) = tool(&step) {
                let name = call.split('`').nth(1).unwrap();
                assert!(
                    crate::server::mcp::tools::spec(name).is_some(),
                    "{:?}: no tool `{name}`",
                    step.op
                );
            }
            if let Some(call) = endpoint(&step) {
                let (method, path) = call.trim_matches('`').split_once(' ').unwrap();
                let path = path.split(['?', '`']).next().unwrap();
                let templated = path
                    .replace("/cursor/work", "/{client_id}/{profile}")
                    .replace("/clients/cursor/", "/clients/{client_id}/");
                assert!(
                    openapi["paths"][&templated][method.to_lowercase()].is_object(),
                    "{:?}: no `{method} {templated}`",
                    step.op
                );
            }
        }
    }

    #[test]
    fn a_hint_is_spelled_by_each_face() {
        let hint = Hint::new(
            "create it, or list the client's profiles",
            [
                Step::new(
                    Op::CreateProfile,
                    &[("client_id", "cursor"), ("profile_id", "dev")],
                ),
                Step::new(Op::ListProfiles, &[("client_id", "cursor")]),
            ],
        );
        assert_eq!(
            render(&hint, Face::Cli),
            "create it, or list the client's profiles: `mcp-orch profiles create dev --client cursor`, or `mcp-orch profiles list --client cursor`"
        );
        assert_eq!(
            render(&hint, Face::Mcp),
            "create it, or list the client's profiles: in a terminal, `mcp-orch profiles create dev --client cursor`, or the `list_profiles` tool with {\"client_id\":\"cursor\"}"
        );
        assert_eq!(
            render(&hint, Face::Rest),
            "create it, or list the client's profiles: in a terminal, `mcp-orch profiles create dev --client cursor`, or `GET /v1/clients/cursor/profiles`"
        );
        let give = Hint::give("give it", "params.path", "~/Documents");
        assert_eq!(
            render(&give, Face::Cli),
            "give it: `--param path=~/Documents`"
        );
        assert_eq!(
            render(&give, Face::Mcp),
            "give it: the `params.path` argument (e.g. `~/Documents`)"
        );
        assert_eq!(
            render(&give, Face::Rest),
            "give it: `params.path` in the body (e.g. `~/Documents`)"
        );
    }
}
