//! The MCP prompts: guided workflows for an agent. Each prompt states the facts the façade
//! knows about the target (where the client's file is, what the draft holds, what validation
//! says) and the tool calls that do the work.

use crate::core::code::Code;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};

use crate::core::profiles::DEFAULT_PROFILE;
use crate::core::{self, Error, Orchestrator};

/// A prompt argument: name, description, whether it is required.
pub type ArgSpec = (&'static str, &'static str, bool);

/// Every prompt: name, title, description, arguments.
pub const PROMPTS: &[(&str, &str, &str, &[ArgSpec])] = &[
    (
        "setup_client",
        "Set up a client",
        "Guide the choice of MCP servers for a client, then add, validate and deploy them.",
        &[
            (
                "client_id",
                "Client id, e.g. cursor (see list_clients)",
                true,
            ),
            ("profile_id", "Profile id (default: default)", false),
            (
                "goal",
                "What the servers are for, e.g. 'work on GitHub issues'",
                false,
            ),
        ],
    ),
    (
        "troubleshoot_config",
        "Troubleshoot a config",
        "Diagnose why a client's MCP servers do not work: validation, drift between the draft and the file, and fixes.",
        &[
            ("client_id", "Client id (see list_clients)", true),
            ("profile_id", "Profile id (default: default)", false),
            (
                "symptom",
                "What goes wrong, e.g. 'github server fails to start'",
                false,
            ),
        ],
    ),
    (
        "migrate_config",
        "Migrate a config",
        "Import an existing client file into mcp-orch, clean it up (secrets out of the file, invalid entries fixed) and deploy it back.",
        &[
            ("client_id", "Client id (see list_clients)", true),
            ("profile_id", "Profile id (default: default)", false),
        ],
    ),
];

/// The `prompts/list` entries.
pub fn list() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|(name, title, description, args)| {
            let arguments = args
                .iter()
                .map(|(n, d, required)| {
                    PromptArgument::new(*n)
                        .with_description(*d)
                        .with_required(*required)
                })
                .collect();
            Prompt::new(*name, Some(*description), Some(arguments)).with_title(*title)
        })
        .collect()
}

fn arg<'a>(args: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    args.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn required<'a>(
    args: &'a BTreeMap<String, String>,
    prompt: &str,
    name: &str,
) -> core::Result<&'a str> {
    arg(args, name).ok_or_else(|| {
        Error::invalid(
            Code::InvalidArguments,
            name,
            format!("prompt `{prompt}` needs the argument `{name}`"),
            format!("give {name}, e.g. {name}=cursor"),
        )
    })
}

/// Builds a prompt; `None` for an unknown name.
pub fn get(
    orch: &Orchestrator,
    name: &str,
    args: &BTreeMap<String, String>,
) -> Option<core::Result<GetPromptResult>> {
    let description = PROMPTS.iter().find(|p| p.0 == name)?.2;
    let text = match name {
        "setup_client" => setup_client(orch, args),
        "troubleshoot_config" => troubleshoot_config(orch, args),
        "migrate_config" => migrate_config(orch, args),
        _ => return None,
    };
    Some(text.map(|text| {
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(description)
    }))
}

/// Facts about the client's file, shared by every prompt.
fn client_facts(orch: &Orchestrator, client: &str, profile: &str) -> core::Result<String> {
    let def = orch.client(client)?;
    let status = orch.client_status(def)?;
    orch.profile(client, profile)?;
    let target = orch.target(client, profile)?;
    let draft = orch.draft(client, profile)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Facts about {} ({client}), profile {profile}:",
        def.name
    );
    match &target.path {
        Some(p) if target.exists => {
            let count = status
                .server_count
                .map_or_else(|| "an unreadable number of".to_owned(), |n| n.to_string());
            let _ = writeln!(
                out,
                "- its config file is {} and holds {count} server(s)",
                p.display()
            );
        }
        Some(p) => {
            let _ = writeln!(
                out,
                "- its config file would be {} (it does not exist yet)",
                p.display()
            );
        }
        None => {
            let _ = writeln!(out, "- no config path is known for it on this system");
        }
    }
    if let Some(e) = &status.error {
        let _ = writeln!(out, "- the file cannot be read: {e}");
    }
    let names: Vec<&String> = draft.servers.keys().collect();
    let _ = writeln!(
        out,
        "- the draft holds {} server(s){}",
        names.len(),
        if names.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !def.restart_hint.is_empty() {
        let _ = writeln!(out, "- after a deploy: {}", def.restart_hint);
    }
    Ok(out)
}

fn setup_client(orch: &Orchestrator, args: &BTreeMap<String, String>) -> core::Result<String> {
    let client = required(args, "setup_client", "client_id")?;
    let profile = arg(args, "profile_id").unwrap_or(DEFAULT_PROFILE);
    let goal = arg(args, "goal");
    let mut out = format!(
        "Help me choose and configure MCP servers for the client `{client}` (profile `{profile}`) with the mcp-orch tools.\n"
    );
    if let Some(goal) = goal {
        let _ = writeln!(out, "My goal: {goal}");
    }
    out.push('\n');
    out.push_str(&client_facts(orch, client, profile)?);
    let _ = write!(
        out,
        "
Steps:
1. Search the catalog with `list_available_servers` (use `search_query` for the goal; add `transport_filter` if the client needs one transport).
2. For each candidate, call `describe_server` and tell me what it needs (parameters, environment variables, which are secret).
3. Ask me for the values, then call `add_server_to_config` with `client_id` = \"{client}\" and `profile_id` = \"{profile}\". Never echo secret values back.
4. Call `validate_config` and fix every error it reports.
5. Call `diff_config` and show me what would change in the client's file.
6. When I agree, publish the draft and deploy it (deploy only with my explicit confirmation).
"
    );
    Ok(out)
}

fn troubleshoot_config(
    orch: &Orchestrator,
    args: &BTreeMap<String, String>,
) -> core::Result<String> {
    let client = required(args, "troubleshoot_config", "client_id")?;
    let profile = arg(args, "profile_id").unwrap_or(DEFAULT_PROFILE);
    let mut out = format!(
        "Help me find out why the MCP servers of `{client}` (profile `{profile}`) do not work, using the mcp-orch tools.\n"
    );
    if let Some(symptom) = arg(args, "symptom") {
        let _ = writeln!(out, "What I see: {symptom}");
    }
    out.push('\n');
    out.push_str(&client_facts(orch, client, profile)?);
    let report = orch.validate(client, profile)?;
    let _ = writeln!(
        out,
        "- validation of the draft: {} error(s), {} warning(s)",
        report.errors.len(),
        report.warnings.len()
    );
    for d in report.errors.iter().chain(&report.warnings) {
        let _ = writeln!(
            out,
            "  - [{}] {}: {} (hint: {})",
            d.code, d.path, d.message, d.hint
        );
    }
    match orch.diff(client, profile) {
        Ok(plan) if plan.servers.is_empty() => {
            let _ = writeln!(out, "- the client's file matches the draft");
        }
        Ok(plan) => {
            let _ = writeln!(
                out,
                "- the client's file differs from the draft in {} server(s)",
                plan.servers.total_changes()
            );
        }
        Err(e) => {
            let _ = writeln!(out, "- the file cannot be compared: [{}] {e}", e.code());
        }
    }
    let _ = write!(
        out,
        "
Steps:
1. Call `validate_config` (client_id \"{client}\", profile_id \"{profile}\") and explain each problem with its hint.
2. Call `diff_config` to see whether the file holds what the draft says; entries changed by hand show up as modified.
3. Call `describe_server` for a failing server to check its command, parameters and required environment variables.
4. Propose fixes with `remove_server_from_config` and `add_server_to_config`, validate again, and deploy only with my confirmation.
"
    );
    Ok(out)
}

fn migrate_config(orch: &Orchestrator, args: &BTreeMap<String, String>) -> core::Result<String> {
    let client = required(args, "migrate_config", "client_id")?;
    let profile = arg(args, "profile_id").unwrap_or(DEFAULT_PROFILE);
    let mut out = format!(
        "Help me bring the existing MCP config of `{client}` (profile `{profile}`) under mcp-orch's management.\n\n"
    );
    out.push_str(&client_facts(orch, client, profile)?);
    let _ = write!(
        out,
        "
Steps:
1. Call `import_client_config` (client_id \"{client}\", profile_id \"{profile}\"): the servers in the file are adopted into the draft and plain-text secrets move into the local secret store.
2. Call `view_draft_config` and list what was imported and what was skipped, with the reasons.
3. Call `validate_config` and fix each problem (replace hand-written entries with catalog servers via `list_available_servers` and `add_server_to_config` where one exists).
4. Call `diff_config`: after a clean import the file should change only where secrets were moved out or entries were fixed.
5. Publish and deploy only with my explicit confirmation.
"
    );
    Ok(out)
}
