//! Golden fixtures for every client in `assets/clients.toml`.
//!
//! Each client has a realistic "before" file in its own format
//! (`tests/fixtures/clients/<id>/before.<ext>`: comments where the format allows them, foreign
//! top-level keys and a hand-added server) and a committed golden "after" file: the text a
//! deploy of four catalog servers would write (a stdio server with a plain env var and a secret,
//! a Streamable HTTP server with a secret header, an SSE server with a secret header and a
//! parameter default, and an unauthenticated HTTP server built from parameter defaults).
//!
//! Two levels are checked against the same golden:
//! - the library (`Orchestrator::diff` with a synthetic environment, a fixed launcher path and
//!   clock), plus the read side (`document::open(..).entries()`), the remove round trip and
//!   byte preservation;
//! - the binary (`draft add` x4, `diff --json`, the unified diff applied to the before text,
//!   the launcher's real path replaced by a placeholder), then `import` of the before file and
//!   a second diff after "writing" the new text, which must show every entry unchanged.
//!
//! Regenerate the goldens with `UPDATE_GOLDENS=1 cargo test --test formats` and review them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mcp_orch::core::clients::{ClientDef, ClientRegistry, CommandStyle, EntriesKind, Format};
use mcp_orch::core::document;
use mcp_orch::core::env::{Environment, Os};
use mcp_orch::core::orchestrator::{AddServer, FileDiff, Options, Orchestrator};
use mcp_orch::core::render::{SecretDelivery, SecretStyle};
use serde_json::{Value, json};

use common::{LAUNCHER_PLACEHOLDER, Sandbox};

/// One client's fixture.
struct Case {
    /// Client id.
    id: &'static str,
    /// Fixture extension.
    ext: &'static str,
    /// The server added by hand in the before file.
    hand_added: &'static str,
    /// Entries of the before file that import must skip (the client's own).
    skipped: &'static [&'static str],
    /// Where the client's file is under the sandbox home on Linux (resolution by HOME layout).
    linux_home_path: &'static str,
}

const CASES: &[Case] = &[
    Case {
        id: "claude-desktop",
        ext: "json",
        hand_added: "weather",
        skipped: &[],
        linux_home_path: ".config/Claude/claude_desktop_config.json",
    },
    Case {
        id: "claude-code",
        ext: "json",
        hand_added: "local-notes",
        skipped: &[],
        linux_home_path: ".claude/.claude.json",
    },
    Case {
        id: "cursor",
        ext: "json",
        hand_added: "postgres-local",
        skipped: &[],
        linux_home_path: ".cursor/mcp.json",
    },
    Case {
        id: "vscode",
        ext: "jsonc",
        hand_added: "perplexity",
        skipped: &[],
        linux_home_path: ".config/Code/User/mcp.json",
    },
    Case {
        id: "windsurf",
        ext: "json",
        hand_added: "sequential",
        skipped: &[],
        linux_home_path: ".codeium/windsurf/mcp_config.json",
    },
    Case {
        id: "cline",
        ext: "json",
        hand_added: "weather",
        skipped: &[],
        linux_home_path: ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
    },
    Case {
        id: "gemini-cli",
        ext: "jsonc",
        hand_added: "pythonTools",
        skipped: &[],
        linux_home_path: ".gemini/settings.json",
    },
    Case {
        id: "codex",
        ext: "toml",
        hand_added: "docs",
        skipped: &[],
        linux_home_path: ".codex/config.toml",
    },
    Case {
        id: "zed",
        ext: "jsonc",
        hand_added: "sqlite-explorer",
        skipped: &[],
        linux_home_path: ".config/zed/settings.json",
    },
    Case {
        id: "continue",
        ext: "yaml",
        hand_added: "SQLite",
        skipped: &[],
        linux_home_path: ".continue/config.yaml",
    },
    Case {
        id: "goose",
        ext: "yaml",
        hand_added: "notes",
        skipped: &["developer"],
        linux_home_path: ".config/goose/config.yaml",
    },
    Case {
        id: "opencode",
        ext: "jsonc",
        hand_added: "local-kb",
        skipped: &[],
        linux_home_path: ".config/opencode/opencode.json",
    },
    Case {
        id: "kiro",
        ext: "json",
        hand_added: "aws-docs",
        skipped: &[],
        linux_home_path: ".kiro/settings/mcp.json",
    },
    Case {
        id: "lm-studio",
        ext: "json",
        hand_added: "hf-mcp-server",
        skipped: &[],
        linux_home_path: ".lmstudio/mcp.json",
    },
    Case {
        id: "copilot-cli",
        ext: "json",
        hand_added: "playwright",
        skipped: &[],
        linux_home_path: ".copilot/mcp-config.json",
    },
    Case {
        id: "antigravity-cli",
        ext: "json",
        hand_added: "bigquery",
        skipped: &[],
        linux_home_path: ".gemini/antigravity-cli/mcp_config.json",
    },
    Case {
        id: "factory",
        ext: "json",
        hand_added: "linear",
        skipped: &[],
        linux_home_path: ".factory/mcp.json",
    },
    Case {
        id: "kimi-code",
        ext: "json",
        hand_added: "context7",
        skipped: &[],
        linux_home_path: ".kimi-code/mcp.json",
    },
    Case {
        id: "roo-code",
        ext: "json",
        hand_added: "puppeteer",
        skipped: &[],
        linux_home_path: ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
    },
    Case {
        id: "trae",
        ext: "json",
        hand_added: "figma",
        skipped: &[],
        linux_home_path: ".config/Trae/User/mcp.json",
    },
    Case {
        id: "junie",
        ext: "json",
        hand_added: "vaadin",
        skipped: &[],
        linux_home_path: ".junie/mcp/mcp.json",
    },
    Case {
        id: "qoder",
        ext: "json",
        hand_added: "time",
        skipped: &[],
        linux_home_path: ".qoder/mcp.json",
    },
    Case {
        id: "amazon-q",
        ext: "json",
        hand_added: "aws-docs",
        skipped: &[],
        linux_home_path: ".aws/amazonq/mcp.json",
    },
    Case {
        id: "warp",
        ext: "json",
        hand_added: "sqlite",
        skipped: &[],
        linux_home_path: ".warp/.mcp.json",
    },
    Case {
        id: "augment",
        ext: "json",
        hand_added: "git",
        skipped: &[],
        linux_home_path: ".augment/settings.json",
    },
    Case {
        id: "kilo-code",
        ext: "jsonc",
        hand_added: "memory",
        skipped: &[],
        linux_home_path: ".config/kilo/kilo.jsonc",
    },
    Case {
        id: "crush",
        ext: "json",
        hand_added: "filesystem",
        skipped: &[],
        linux_home_path: ".config/crush/crush.json",
    },
    Case {
        id: "grok-build",
        ext: "toml",
        hand_added: "linear",
        skipped: &[],
        linux_home_path: ".grok/config.toml",
    },
];

/// The servers every golden adds, by name (the draft keeps them sorted).
const ADDED: &[&str] = &["circleci", "custom-api", "github-remote", "n8n"];

/// Secret values given on the command line; none may ever be printed.
const SECRET_VALUES: &[&str] = &[
    "cci-token-value-1234",
    "ghp_example_token_5678",
    "n8n-key-value-9012",
];

fn case(id: &str) -> &'static Case {
    CASES.iter().find(|c| c.id == id).unwrap()
}

fn fixture_dir(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clients")
        .join(id)
}

fn read_fixture(case: &Case, stem: &str) -> String {
    let path = fixture_dir(case.id).join(format!("{stem}.{}", case.ext));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn registry() -> ClientRegistry {
    ClientRegistry::load(Path::new("/nonexistent/mcp-orch/clients.toml")).unwrap()
}

fn client_def(id: &str) -> ClientDef {
    registry().get(id).unwrap().clone()
}

/// Compares `actual` with the golden `<stem>.<ext>`, or rewrites it under `UPDATE_GOLDENS`.
fn assert_golden(case: &Case, stem: &str, actual: &str, what: &str) {
    let path = fixture_dir(case.id).join(format!("{stem}.{}", case.ext));
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDENS=1)", path.display()));
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .header("golden", what)
            .to_string();
        panic!(
            "{} differs from the golden {}:\n{diff}",
            what,
            path.display()
        );
    }
}

/// Parses a client file with a parser independent of the editors (strict JSON for `json`).
fn parse_generic(format: Format, text: &str) -> Value {
    match format {
        Format::Json => serde_json::from_str(text).expect("strict JSON"),
        Format::Jsonc => jsonc_parser::parse_to_ast(
            text,
            &jsonc_parser::CollectOptions::default(),
            &jsonc_parser::ParseOptions::default(),
        )
        .unwrap()
        .value
        .map_or(Value::Null, Value::from),
        Format::Toml => serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap(),
        Format::Yaml => {
            serde_json::to_value(serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).unwrap())
                .unwrap()
        }
    }
}

/// The server collection of a parsed document, as `(name, entry)` pairs in file order.
fn generic_entries(client: &ClientDef, doc: &Value) -> Vec<(String, Value)> {
    let mut node = doc;
    for key in &client.container {
        node = &node[key.as_str()];
    }
    match client.entries {
        EntriesKind::Map => node
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        EntriesKind::List => node
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v[client.name_field.as_str()].as_str().unwrap().to_owned(),
                    v.clone(),
                )
            })
            .collect(),
    }
}

/// `doc` without the named entries.
fn without_entries(client: &ClientDef, doc: &Value, names: &[&str]) -> Value {
    let mut doc = doc.clone();
    let mut node = &mut doc;
    for key in &client.container {
        node = &mut node[key.as_str()];
    }
    match client.entries {
        EntriesKind::Map => {
            let map = node.as_object_mut().unwrap();
            for name in names {
                map.shift_remove(*name);
            }
        }
        EntriesKind::List => {
            let field = client.name_field.as_str();
            node.as_array_mut()
                .unwrap()
                .retain(|v| !names.iter().any(|n| v[field] == *n));
        }
    }
    doc
}

/// Lines of `before` that are not in `after` must be punctuation only (a closing brace that
/// gained a comma, say): no key, value or comment outside the added entries may change.
fn assert_only_structural_lines_removed(before: &str, after: &str, id: &str) {
    let diff = similar::TextDiff::from_lines(before, after);
    for change in diff.iter_all_changes() {
        if change.tag() == similar::ChangeTag::Delete {
            let line = change.value();
            assert!(
                line.trim().chars().all(|c| "{}[],".contains(c)),
                "{id}: a line outside the added entries changed: {line:?}"
            );
        }
    }
}

fn add_request(client: &str, server_id: &str) -> AddServer {
    let mut req = AddServer {
        client: client.to_owned(),
        profile: "default".to_owned(),
        server_id: server_id.to_owned(),
        ..AddServer::default()
    };
    match server_id {
        "circleci" => {
            req.env = vec![(
                "CIRCLECI_BASE_URL".to_owned(),
                "https://circleci.example.com".to_owned(),
            )];
            req.secrets = vec![(
                "CIRCLECI_TOKEN".to_owned(),
                Some(SECRET_VALUES[0].to_owned()),
            )];
        }
        "github-remote" => {
            req.secrets = vec![(
                "GITHUB_PERSONAL_ACCESS_TOKEN".to_owned(),
                Some(SECRET_VALUES[1].to_owned()),
            )];
        }
        "n8n" => {
            req.secrets = vec![("N8N_API_KEY".to_owned(), Some(SECRET_VALUES[2].to_owned()))];
        }
        _ => {}
    }
    req
}

/// The four `draft add` command lines of a client.
fn add_commands(client: &str) -> Vec<Vec<String>> {
    let own = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        v.extend(["--client".to_owned(), client.to_owned()]);
        v
    };
    vec![
        own(&[
            "draft",
            "add",
            "circleci",
            "--env",
            "CIRCLECI_BASE_URL=https://circleci.example.com",
            "--secret",
            "CIRCLECI_TOKEN=cci-token-value-1234",
        ]),
        own(&[
            "draft",
            "add",
            "github-remote",
            "--secret",
            "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_example_token_5678",
        ]),
        own(&[
            "draft",
            "add",
            "n8n",
            "--secret",
            "N8N_API_KEY=n8n-key-value-9012",
        ]),
        own(&["draft", "add", "custom-api"]),
    ]
}

fn open_orchestrator(state: &Path, home: &Path, client: &ClientDef, file: &Path) -> Orchestrator {
    let var = client.override_var();
    let file = file.display().to_string();
    Orchestrator::open(Options {
        home: state.to_path_buf(),
        env: Environment::synthetic(home, Os::Linux, &[(var.as_str(), file.as_str())]),
        launcher: PathBuf::from(LAUNCHER_PLACEHOLDER),
        clock: crate::common::FixedClock::at("2026-11-22T12:00:00Z"),
        store: None,
    })
    .unwrap()
}

/// The plan of deploying the four servers into a file holding `before`, through the façade.
fn plan_for(case: &Case, before: &str) -> (tempfile::TempDir, PathBuf, Orchestrator, FileDiff) {
    let client = client_def(case.id);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join(format!("client-file.{}", case.ext));
    std::fs::write(&file, before).unwrap();
    let orch = open_orchestrator(&tmp.path().join("state"), tmp.path(), &client, &file);
    for server in ADDED {
        orch.add_server(&add_request(case.id, server)).unwrap();
    }
    let plan = orch.diff(case.id, "default").unwrap();
    (tmp, file, orch, plan)
}

/// Library level: read, render, edit, byte preservation, remove round trip, second diff.
fn library_case(id: &str) {
    let case = case(id);
    let client = client_def(id);
    let before = read_fixture(case, "before");
    let (_tmp, file, orch, plan) = plan_for(case, &before);

    // Read: the editor sees exactly what an independent parser sees, hand-added server included.
    let doc = document::open(&client, &before, &file).unwrap();
    let generic_before = parse_generic(client.format, &before);
    assert_eq!(doc.entries(), generic_entries(&client, &generic_before));
    assert!(
        doc.entries().iter().any(|(n, _)| n == case.hand_added),
        "{id}: the hand-added server is not read"
    );

    // Render and edit through the façade.
    assert_eq!(plan.servers.added, ADDED, "{id}");
    assert!(plan.servers.modified.is_empty(), "{id}: {:?}", plan.servers);
    assert!(plan.servers.removed.is_empty(), "{id}");
    assert!(plan.exists);
    assert_eq!(plan.path, file);
    assert_eq!(plan.old_text, before);
    assert_eq!(plan.notes, vec![client.restart_hint.clone()], "{id}");
    for secret in SECRET_VALUES {
        assert!(
            !plan.new_text.contains(secret),
            "{id}: secret value in the file"
        );
        assert!(
            !plan.unified_diff.contains(secret),
            "{id}: secret value in the diff"
        );
    }
    let after = plan.new_text.clone();
    let state = file.parent().unwrap().join("state");
    assert_golden(
        case,
        "after",
        &common::normalize_state(&after, &state),
        &format!("{id}: library render"),
    );

    // Byte preservation: only punctuation lines of the before text change, and the parsed
    // document minus the added entries is the parsed before document.
    assert_only_structural_lines_removed(&before, &after, id);
    let generic_after = parse_generic(client.format, &after);
    assert_eq!(
        without_entries(&client, &generic_after, ADDED),
        generic_before,
        "{id}: something besides the added entries changed"
    );

    // The new file reads back as exactly the rendered entries, after the hand-added ones.
    let reread = document::open(&client, &after, &file).unwrap();
    let mut expected = generic_entries(&client, &generic_before);
    expected.extend(
        ADDED
            .iter()
            .map(|n| ((*n).to_owned(), plan.entries[*n].clone())),
    );
    assert_eq!(reread.entries(), expected, "{id}");

    // Removing the new entries restores the original bytes.
    let mut doc = document::open(&client, &after, &file).unwrap();
    for name in ADDED {
        assert!(doc.remove_entry(name).unwrap(), "{id}: {name} not removed");
    }
    assert_eq!(doc.text(), before, "{id}: removing the new entries");
    assert!(doc.notes().is_empty(), "{id}: {:?}", doc.notes());

    // "Write" the new text: a second diff changes nothing.
    std::fs::write(&file, &after).unwrap();
    let again = orch.diff(id, "default").unwrap();
    assert!(again.servers.is_empty(), "{id}: {:?}", again.servers);
    assert_eq!(again.servers.unchanged, ADDED);
    assert_eq!(again.unified_diff, "");
    assert_eq!(again.new_text, after);
    assert!(again.notes.is_empty(), "{id}: {:?}", again.notes);
}

/// The other secret modes, each against its own golden: every server added with
/// `--secret-delivery env` (the client's own references, `after-env`), and a deploy that writes
/// the values inline (`after-inline`).
fn secret_modes_case(id: &str) {
    let case = case(id);
    let client = client_def(id);
    let before = read_fixture(case, "before");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join(format!("client-file.{}", case.ext));
    std::fs::write(&file, &before).unwrap();
    let state = tmp.path().join("state");
    let orch = open_orchestrator(&state, tmp.path(), &client, &file);
    for server in ADDED {
        orch.add_server(&AddServer {
            secret_delivery: Some(SecretDelivery::Env),
            ..add_request(case.id, server)
        })
        .unwrap();
    }
    let env_plan = orch.diff(id, "default").unwrap();
    for secret in SECRET_VALUES {
        assert!(
            !env_plan.new_text.contains(secret),
            "{id}: secret in the file"
        );
    }
    assert_golden(
        case,
        "after-env",
        &common::normalize_state(&env_plan.new_text, &state),
        &format!("{id}: env references"),
    );
    let draft = orch.draft(id, "default").unwrap();
    let inline = orch
        .render_entries(&client, &draft.servers, SecretStyle::Inline)
        .unwrap();
    let inline_plan = orch
        .plan_file(id, "default", inline, &std::collections::BTreeSet::new())
        .unwrap();
    assert_golden(
        case,
        "after-inline",
        &common::normalize_state(&inline_plan.new_text, &state),
        &format!("{id}: inline values"),
    );
}

/// The file a client resolves to in the sandbox: the HOME layout on Linux, a pinned path
/// (`MCP_ORCH_CLIENT_PATH_<ID>`) elsewhere.
fn place_client_file(sb: &mut Sandbox, case: &Case, text: &str) -> PathBuf {
    let path = if cfg!(target_os = "linux") {
        sb.home.join(case.linux_home_path)
    } else {
        let path = sb
            .root
            .join("files")
            .join(format!("{}.{}", case.id, case.ext));
        sb.pin_client(case.id, &path);
        path
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Binary level: import of the before file, four `draft add`s, `diff --json` against the
/// golden, a second diff after writing the new text, and no secret value in any output.
fn cli_case(id: &str) {
    let case = case(id);
    let client = client_def(id);
    let before = read_fixture(case, "before");
    let mut sb = Sandbox::new();
    let path = place_client_file(&mut sb, case, &before);
    let mut outputs = String::new();

    // `clients` finds the file and counts its servers.
    let clients = sb.json_ok(&["clients"]);
    let status = clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id)
        .unwrap()
        .clone();
    assert_eq!(status["detected"], true, "{id}: {status:#}");
    assert_eq!(status["config_location"], path.display().to_string());
    let before_count = generic_entries(&client, &parse_generic(client.format, &before)).len();
    assert_eq!(status["server_count"], before_count, "{id}");

    // Import of the before file (into its own profile) adopts the hand-added server.
    sb.json_ok(&["profiles", "create", "imported", "--client", id]);
    let import = sb.json_ok(&["import", "--client", id, "--profile", "imported"]);
    assert_eq!(import["path"], path.display().to_string());
    assert_eq!(
        import["imported"],
        json!([case.hand_added]),
        "{id}: {import:#}"
    );
    let skipped: Vec<&str> = import["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|skipped| skipped["server_name"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, case.skipped, "{id}: {import:#}");
    let shown = sb.json_ok(&["draft", "show", "--client", id, "--profile", "imported"]);
    let imported = &shown["draft"][case.hand_added];
    assert_eq!(imported["origin"], "imported");
    let hand = &generic_entries(&client, &parse_generic(client.format, &before))
        .into_iter()
        .find(|(n, _)| n == case.hand_added)
        .unwrap()
        .1;
    match (hand.get(&client.stdio.command), client.stdio.command_style) {
        (Some(argv), CommandStyle::Argv) => assert_eq!(imported["command"], argv[0], "{id}"),
        (Some(command), CommandStyle::String) => assert_eq!(imported["command"], *command),
        (Some(line), CommandStyle::Shell) => assert_eq!(
            imported["command"],
            line.as_str().unwrap().split(' ').next().unwrap(),
            "{id}"
        ),
        (None, _) => assert_eq!(imported["url"], hand[&client.remote.url], "{id}"),
    }

    // Build the default draft through the binary.
    for args in add_commands(id) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = sb.run(&common::with_json(&args));
        assert_eq!(run.code, 0, "{id} {args:?}: {run}");
        outputs.push_str(&run.stdout);
        outputs.push_str(&run.stderr);
    }

    // diff --json: structured part, then the unified diff applied to the before text.
    let run = sb.run(&["diff", "--client", id, "--json"]);
    assert_eq!(run.code, 0, "{run}");
    outputs.push_str(&run.stdout);
    let plan = run.json();
    assert_eq!(plan["client_id"], id);
    assert_eq!(plan["profile_id"], "default");
    assert_eq!(plan["path"], path.display().to_string());
    assert_eq!(plan["exists"], true);
    assert_eq!(
        plan["diff"],
        json!({"servers_added": ADDED, "servers_removed": [], "servers_modified": [], "servers_unchanged": []}),
        "{id}"
    );
    assert_eq!(plan["notes"], json!([client.restart_hint]));
    let label = path.display().to_string();
    let label = label.trim_start_matches('/');
    let unified = plan["unified_diff"].as_str().unwrap();
    assert!(
        unified.starts_with(&format!("--- a/{label}\n+++ b/{label}\n@@ ")),
        "{id}: {unified}"
    );
    let after = common::apply_unified(&before, unified);
    assert_golden(
        case,
        "after",
        &common::normalize_state(&common::normalize_launcher(&after), &sb.state),
        &format!("{id}: CLI diff"),
    );

    // The text diff output says the same, and the file was not touched.
    let run = sb.run(&["diff", "--client", id]);
    assert_eq!(run.code, 0, "{run}");
    outputs.push_str(&run.stdout);
    for name in ADDED {
        assert!(
            run.stdout.contains(&format!("\n  + {name}\n")),
            "{id}: {run}"
        );
    }
    assert!(run.stdout.ends_with(unified), "{id}: {run}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    // "Write" the new text (recording nothing): the next diff shows every entry unchanged.
    std::fs::write(&path, &after).unwrap();
    let again = sb.json_ok(&["diff", "--client", id]);
    assert_eq!(
        again["diff"],
        json!({"servers_added": [], "servers_removed": [], "servers_modified": [], "servers_unchanged": ADDED}),
        "{id}"
    );
    assert_eq!(again["unified_diff"], "");
    assert_eq!(again["notes"], json!([]));

    // And `clients` counts the servers of the new file.
    let clients = sb.json_ok(&["clients"]);
    let status = clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id)
        .unwrap();
    assert_eq!(status["server_count"], before_count + ADDED.len());

    for secret in SECRET_VALUES {
        assert!(!outputs.contains(secret), "{id}: secret value printed");
    }
}

#[test]
fn every_registry_client_has_a_golden_case() {
    let ids: BTreeSet<String> = registry().ids().into_iter().collect();
    let cases: BTreeSet<String> = CASES.iter().map(|c| c.id.to_owned()).collect();
    assert_eq!(ids, cases);
    assert_eq!(ids.len(), 28);
    for case in CASES {
        assert_eq!(
            client_def(case.id).format.as_str(),
            case.ext,
            "{}: fixture extension",
            case.id
        );
    }
}

#[test]
fn goldens_keep_every_comment_of_the_before_files() {
    for case in CASES {
        let before = read_fixture(case, "before");
        let after = read_fixture(case, "after");
        let marker = if case.ext == "toml" || case.ext == "yaml" {
            "#"
        } else {
            "//"
        };
        let comments: Vec<&str> = before
            .lines()
            .filter_map(|l| l.find(marker).map(|i| &l[i..]))
            .filter(|c| !c.starts_with("//example") && !c.contains("://"))
            .collect();
        if case.ext != "json" {
            assert!(
                !comments.is_empty(),
                "{}: the fixture has no comment",
                case.id
            );
        }
        let mut rest = after.as_str();
        for comment in comments {
            let at = rest
                .find(comment)
                .unwrap_or_else(|| panic!("{}: lost or moved comment {comment:?}", case.id));
            rest = &rest[at + comment.len()..];
        }
    }
}

#[test]
fn goldens_use_each_clients_own_spelling() {
    // Spot checks of the spelling traps (CLIENTS.md section 1) in the committed goldens.
    let entry_in = |stem: &str, id: &str, name: &str| -> Value {
        let case = case(id);
        let client = client_def(id);
        let after = parse_generic(client.format, &read_fixture(case, stem));
        generic_entries(&client, &after)
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
    };
    let entry = |id: &str, name: &str| entry_in("after", id, name);
    let home = common::STATE_PLACEHOLDER;
    // By default secrets travel through mcp-orch's own binary: the launcher for stdio servers,
    // the bridge for remote ones; both name scoped keys and carry `--home`.
    assert_eq!(
        entry("claude-desktop", "n8n"),
        json!({"command": LAUNCHER_PLACEHOLDER,
               "args": ["--home", home, "connect", "http://localhost:5679/mcp/sse", "--transport", "sse",
                        "--header", "Authorization: Bearer {secret:claude-desktop/default/N8N_API_KEY}"]})
    );
    assert_eq!(
        entry("claude-code", "circleci"),
        json!({"type": "stdio", "command": LAUNCHER_PLACEHOLDER,
               "args": ["--home", home, "run", "circleci",
                        "--env", "CIRCLECI_TOKEN={secret:claude-code/default/CIRCLECI_TOKEN}",
                        "--", "npx", "-y", "@circleci/mcp-server-circleci"],
               "env": {"CIRCLECI_BASE_URL": "https://circleci.example.com"}})
    );
    // Codex speaks no legacy SSE: even without a secret such a server goes through the bridge.
    assert_eq!(
        entry("codex", "n8n")["args"].as_array().unwrap()[3..6],
        ["http://localhost:5679/mcp/sse", "--transport", "sse"]
    );
    // Env references only when asked for, in each client's own syntax.
    assert_eq!(
        entry_in("after-env", "cursor", "github-remote"),
        json!({"url": "https://api.githubcopilot.com/mcp/",
               "headers": {"Authorization": "Bearer ${env:GITHUB_PERSONAL_ACCESS_TOKEN}"}})
    );
    assert_eq!(
        entry_in("after-env", "claude-code", "github-remote"),
        json!({"type": "http", "url": "https://api.githubcopilot.com/mcp/",
               "headers": {"Authorization": "Bearer ${GITHUB_PERSONAL_ACCESS_TOKEN}"}})
    );
    assert_eq!(
        entry_in("after-env", "codex", "github-remote"),
        json!({"url": "https://api.githubcopilot.com/mcp/",
               "bearer_token_env_var": "GITHUB_PERSONAL_ACCESS_TOKEN"})
    );
    assert_eq!(
        entry_in("after-inline", "cursor", "github-remote"),
        json!({"url": "https://api.githubcopilot.com/mcp/",
               "headers": {"Authorization": "Bearer ghp_example_token_5678"}})
    );
    assert_eq!(
        entry("windsurf", "custom-api"),
        json!({"serverUrl": "http://localhost:8080/mcp"})
    );
    assert_eq!(
        entry("gemini-cli", "custom-api"),
        json!({"httpUrl": "http://localhost:8080/mcp"})
    );
    assert_eq!(
        entry_in("after-env", "gemini-cli", "n8n"),
        json!({"url": "http://localhost:5679/mcp/sse",
               "headers": {"Authorization": "Bearer ${N8N_API_KEY}"}})
    );
    assert_eq!(
        entry("cline", "custom-api"),
        json!({"type": "streamableHttp", "url": "http://localhost:8080/mcp"})
    );
    assert_eq!(
        entry_in("after-env", "vscode", "n8n"),
        json!({"type": "sse", "url": "http://localhost:5679/mcp/sse",
               "headers": {"Authorization": "Bearer ${env:N8N_API_KEY}"}})
    );
    // Codex interpolates nothing: even asked for env references, a stdio secret goes through
    // the launcher.
    assert_eq!(
        entry_in("after-env", "codex", "circleci"),
        json!({"command": LAUNCHER_PLACEHOLDER,
               "args": ["--home", home, "run", "circleci",
                        "--env", "CIRCLECI_TOKEN={secret:codex/default/CIRCLECI_TOKEN}", "--",
                        "npx", "-y", "@circleci/mcp-server-circleci"],
               "env": {"CIRCLECI_BASE_URL": "https://circleci.example.com"}})
    );
    assert_eq!(
        entry("goose", "custom-api"),
        json!({"name": "custom-api", "type": "streamable_http", "uri": "http://localhost:8080/mcp",
               "enabled": true, "timeout": 300})
    );
    assert_eq!(
        entry("continue", "custom-api"),
        json!({"name": "custom-api", "type": "streamable-http", "url": "http://localhost:8080/mcp"})
    );
    assert_eq!(
        entry_in("after-env", "opencode", "circleci"),
        json!({"type": "local", "command": ["npx", "-y", "@circleci/mcp-server-circleci"],
               "environment": {"CIRCLECI_BASE_URL": "https://circleci.example.com",
                               "CIRCLECI_TOKEN": "{env:CIRCLECI_TOKEN}"},
               "enabled": true})
    );
    assert_eq!(
        entry_in("after-env", "kiro", "n8n"),
        json!({"url": "http://localhost:5679/mcp/sse",
               "headers": {"Authorization": "Bearer ${N8N_API_KEY}"}})
    );
}

/// A draft rendered into a missing file creates it from nothing, in every format.
#[test]
fn rendering_into_a_missing_file_creates_a_minimal_document() {
    for case in CASES {
        let client = client_def(case.id);
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("sub/dir/missing");
        let orch = open_orchestrator(&tmp.path().join("state"), tmp.path(), &client, &file);
        orch.add_server(&add_request(case.id, "custom-api"))
            .unwrap();
        let plan = orch.diff(case.id, "default").unwrap();
        assert!(!plan.exists);
        assert_eq!(plan.old_text, "");
        assert_eq!(plan.servers.added, vec!["custom-api"]);
        let parsed = parse_generic(client.format, &plan.new_text);
        let entries = generic_entries(&client, &parsed);
        assert_eq!(
            entries,
            vec![("custom-api".to_owned(), plan.entries["custom-api"].clone())],
            "{}",
            case.id
        );
        // Nothing but the container is created (and what the client requires of a new
        // file: Continue's `name`, `version` and `schema`).
        let mut top: Vec<&str> = parsed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        top.sort_unstable();
        let mut expected = vec![client.container[0].as_str()];
        if case.id == "continue" {
            expected.extend(["name", "schema", "version"]);
        }
        expected.sort_unstable();
        assert_eq!(top, expected, "{}", case.id);
        assert!(
            plan.new_text.ends_with('\n'),
            "{}: {:?}",
            case.id,
            plan.new_text
        );
    }
}

/// Every entry each client would get, read back by `import`'s inverse of rendering: rendering
/// the imported servers again gives the same entries (stdio, launcher, bridge and native
/// remote entries, for every client), so adopting a file and deploying it changes nothing.
#[test]
fn rendered_entries_import_back_to_the_same_entries() {
    let mut failures = Vec::new();
    for case in CASES {
        let client = client_def(case.id);
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        let orch = open_orchestrator(&tmp.path().join("state"), tmp.path(), &client, &file);
        for server in ADDED {
            orch.add_server(&add_request(case.id, server)).unwrap();
        }
        orch.add_server(&AddServer {
            env: vec![("MEMORY_FILE_PATH".into(), "/data/memory.jsonl".into())],
            ..add_request(case.id, "memory")
        })
        .unwrap();
        let draft = orch.draft(case.id, "default").unwrap();
        let entries = orch
            .render_entries(&client, &draft.servers, SecretStyle::AsConfigured)
            .unwrap();
        let mut reimported = BTreeMap::new();
        for (name, entry) in &entries {
            let server = mcp_orch::core::import::parse_entry(&client, entry, orch.launcher())
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", case.id));
            reimported.insert(name.clone(), server);
        }
        let again = orch
            .render_entries(&client, &reimported, SecretStyle::AsConfigured)
            .unwrap();
        for (name, entry) in &entries {
            if again[name] != *entry {
                failures.push(format!(
                    "{} {name}:\n  rendered {entry}\n  again    {}",
                    case.id, again[name]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A file with Windows line endings keeps them: the golden, with CRLF, in every format.
#[test]
fn crlf_files_keep_their_line_endings() {
    for case in CASES {
        let before = read_fixture(case, "before").replace('\n', "\r\n");
        let golden = read_fixture(case, "after").replace('\n', "\r\n");
        let (_tmp, file, _orch, plan) = plan_for(case, &before);
        assert_eq!(plan.servers.added, ADDED, "{}", case.id);
        let new_text =
            common::normalize_state(&plan.new_text, &file.parent().unwrap().join("state"));
        if new_text != golden {
            let diff = similar::TextDiff::from_lines(&golden, &new_text)
                .unified_diff()
                .to_string();
            panic!("{}: CRLF file:\n{}", case.id, diff.replace('\r', "\\r"));
        }
    }
}

/// The container itself, dropped from its parent when it is empty: a TOML table that only
/// held the removed `[mcp_servers.x]` tables disappears, which means the same to the client.
fn without_empty_container(client: &ClientDef, doc: &Value) -> Value {
    let mut doc = doc.clone();
    let (last, parents) = client.container.split_last().unwrap();
    let mut node = &mut doc;
    for key in parents {
        node = &mut node[key.as_str()];
    }
    let empty = node.get(last.as_str()).is_some_and(|c| {
        c.as_object().is_some_and(serde_json::Map::is_empty)
            || c.as_array().is_some_and(Vec::is_empty)
    });
    if empty {
        node.as_object_mut().unwrap().shift_remove(last.as_str());
    }
    doc
}

/// Taking every entry out (a deploy that removes all it owns, or the user's last server) keeps
/// the rest of the document in place, without falling back to re-serialising it.
#[test]
fn removing_every_entry_keeps_the_rest_of_the_document() {
    for case in CASES {
        let client = client_def(case.id);
        let full = read_fixture(case, "after");
        let mut doc = document::open(&client, &full, Path::new("/x")).unwrap();
        let names: Vec<String> = doc.entries().into_iter().map(|(n, _)| n).collect();
        for name in &names {
            assert!(doc.remove_entry(name).unwrap(), "{}: {name}", case.id);
        }
        assert!(doc.entries().is_empty(), "{}", case.id);
        assert!(doc.notes().is_empty(), "{}: {:?}", case.id, doc.notes());
        let text = doc.text();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let expected = without_entries(&client, &parse_generic(client.format, &full), &refs);
        assert_eq!(
            without_empty_container(&client, &parse_generic(client.format, &text)),
            without_empty_container(&client, &expected),
            "{}:\n{text}",
            case.id
        );
        // Comment lines outside the entries are all still there (in TOML a comment right above
        // a removed `[mcp_servers.x]` header belongs to that table and goes with it).
        if case.ext == "yaml" || case.ext == "toml" {
            let before = read_fixture(case, "before");
            let lines: Vec<&str> = before.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let heads_entry = lines
                    .get(i + 1)
                    .is_some_and(|next| next.starts_with("[mcp_servers."));
                if line.trim_start().starts_with('#') && !heads_entry {
                    assert!(
                        text.lines().any(|l| l == *line),
                        "{}: lost {line:?}",
                        case.id
                    );
                }
            }
        }
    }
}

#[test]
fn an_emptied_yaml_container_is_written_as_an_empty_collection() {
    let cases = [
        (
            "goose",
            "# top\nextensions:\n  a:\n    cmd: x\n    name: a\nother: 1\n",
            "# top\nextensions: {}\nother: 1\n",
        ),
        (
            "continue",
            "mcpServers: # servers\n  - name: a\n    command: x\nrules: []\n",
            "mcpServers: [] # servers\nrules: []\n",
        ),
        (
            "continue",
            "mcpServers:\n- name: a\n  command: x\n",
            "mcpServers: []\n",
        ),
    ];
    for (id, before, after) in cases {
        let client = client_def(id);
        let mut doc = document::open(&client, before, Path::new("/x")).unwrap();
        assert!(doc.remove_entry("a").unwrap());
        assert_eq!(doc.text(), after, "{id}");
        assert!(doc.notes().is_empty());
    }
}

/// Continue refuses a `config.yaml` without `name`, `version` and `schema`
/// (continuedev/continue:packages/config-yaml/src/schemas/index.ts): a file mcp-orch creates
/// has them; an existing file is left as it is.
#[test]
fn a_new_continue_file_has_the_keys_continue_requires() {
    let client = client_def("continue");
    for empty in ["", "\n"] {
        let mut doc = document::open(&client, empty, Path::new("/x")).unwrap();
        doc.set_entry("memory", &serde_json::json!({"name": "memory", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}))
            .unwrap();
        assert_eq!(
            doc.text(),
            "name: Local config\nversion: 1.0.0\nschema: v1\nmcpServers:\n  - name: memory\n    command: npx\n    args:\n    - -y\n    - '@modelcontextprotocol/server-memory'\n"
        );
    }
    let mut doc = document::open(&client, "mcpServers: []\n", Path::new("/x")).unwrap();
    doc.set_entry("a", &serde_json::json!({"name": "a", "command": "x"}))
        .unwrap();
    assert!(!doc.text().contains("schema"), "{}", doc.text());
}

macro_rules! golden_tests {
    ($($name:ident => $id:literal),* $(,)?) => {
        mod library {
            $( #[test] fn $name() { super::library_case($id); } )*
        }
        mod cli {
            $( #[test] fn $name() { super::cli_case($id); } )*
        }
        mod secret_modes {
            $( #[test] fn $name() { super::secret_modes_case($id); } )*
        }
    };
}

golden_tests! {
    claude_desktop => "claude-desktop",
    claude_code => "claude-code",
    cursor => "cursor",
    vscode => "vscode",
    windsurf => "windsurf",
    cline => "cline",
    gemini_cli => "gemini-cli",
    codex => "codex",
    zed => "zed",
    continue_ => "continue",
    goose => "goose",
    opencode => "opencode",
    kiro => "kiro",
    lm_studio => "lm-studio",
    copilot_cli => "copilot-cli",
    antigravity_cli => "antigravity-cli",
    factory => "factory",
    kimi_code => "kimi-code",
    roo_code => "roo-code",
    trae => "trae",
    junie => "junie",
    qoder => "qoder",
    amazon_q => "amazon-q",
    warp => "warp",
    augment => "augment",
    kilo_code => "kilo-code",
    crush => "crush",
    grok_build => "grok-build",
}

#[test]
fn yaml_keys_keep_their_spelling_when_the_file_is_reserialised() {
    // Flow style cannot be edited line by line, so the whole file is written again: keys that
    // YAML would read as a boolean, a number or null stay the strings the file had.
    let client = client_def("goose");
    let before = "TRUE: a\n1: b\n~: c\nextensions: {old: {cmd: x, name: old}}\n";
    let mut doc = document::open(&client, before, Path::new("/x")).unwrap();
    doc.set_entry("new", &serde_json::json!({"command": "y"}))
        .unwrap();
    let text = doc.text();
    let read: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(read["TRUE"], "a", "{text}");
    assert_eq!(read["1"], "b", "{text}");
    assert_eq!(read["~"], "c", "{text}");
    assert_eq!(read["extensions"]["old"]["cmd"], "x", "{text}");
    assert_eq!(doc.notes().len(), 1, "{:?}", doc.notes());
}

/// Where a client's accepted shape depends on its version, each range has its own golden
/// (`after-v<version>`), rendered with the version pinned by `MCP_ORCH_CLIENT_VERSION_<ID>`
/// (with every server's secrets delivered as `delivery` says); the rendered file reads back as
/// the same entries.
fn version_case(id: &str, version: &str, before_stem: &str, delivery: Option<SecretDelivery>) {
    let case = case(id);
    let base = client_def(id);
    let before = read_fixture(case, before_stem);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join(format!("client-file.{}", case.ext));
    std::fs::write(&file, &before).unwrap();
    let state = tmp.path().join("state");
    let (path_var, file_text) = (base.override_var(), file.display().to_string());
    let version_var = base.version_var();
    let orch = Orchestrator::open(Options {
        home: state.clone(),
        env: Environment::synthetic(
            tmp.path(),
            Os::Linux,
            &[
                (path_var.as_str(), file_text.as_str()),
                (version_var.as_str(), version),
            ],
        ),
        launcher: PathBuf::from(LAUNCHER_PLACEHOLDER),
        clock: crate::common::FixedClock::at("2026-11-22T12:00:00Z"),
        store: None,
    })
    .unwrap();
    let client = orch.client(id).unwrap().clone();
    let resolved = client.resolved_version.clone().unwrap();
    assert_eq!(resolved.version, version);
    assert_eq!(resolved.variants.len(), 1, "{id} {version}: {resolved:?}");
    for server in ADDED {
        orch.add_server(&AddServer {
            secret_delivery: delivery,
            ..add_request(id, server)
        })
        .unwrap();
    }
    let plan = orch.diff(id, "default").unwrap();
    let after = common::normalize_state(&plan.new_text, &state);
    assert_golden(
        case,
        &format!("after-v{version}"),
        &after,
        &format!("{id} {version}"),
    );
    let generic_before = parse_generic(client.format, &before);
    let generic_after = parse_generic(client.format, &plan.new_text);
    assert_eq!(
        without_entries(&client, &generic_after, ADDED),
        generic_before,
        "{id} {version}: something besides the added entries changed"
    );
    std::fs::write(&file, &plan.new_text).unwrap();
    let again = orch.diff(id, "default").unwrap();
    assert!(
        again.servers.is_empty(),
        "{id} {version}: {:?}",
        again.servers
    );
    assert_eq!(again.servers.unchanged, ADDED);
}

#[test]
fn gemini_cli_from_0_24_reads_type_and_gets_it_for_sse_servers() {
    // With the client's own references, the SSE server is a native entry (with a credential
    // from the launcher it is bridged, the same in every version).
    version_case("gemini-cli", "0.24.0", "before", Some(SecretDelivery::Env));
    let default =
        std::fs::read_to_string(fixture_dir("gemini-cli").join("after-env.jsonc")).unwrap();
    let typed =
        std::fs::read_to_string(fixture_dir("gemini-cli").join("after-v0.24.0.jsonc")).unwrap();
    // Only the SSE server differs: it gains `type`, which older releases fail on.
    let diff = similar::TextDiff::from_lines(&default, &typed);
    let changed: Vec<&str> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .map(|c| c.value().trim())
        .collect();
    assert_eq!(changed, ["\"type\": \"sse\","], "{typed}");
}

#[test]
fn opencode_2_keeps_servers_under_mcp_servers_without_enabled() {
    version_case("opencode", "2.0.0", "before-v2", None);
    let v2 = std::fs::read_to_string(fixture_dir("opencode").join("after-v2.0.0.jsonc")).unwrap();
    let parsed = parse_generic(Format::Jsonc, &v2);
    for name in ADDED {
        let entry = &parsed["mcp"]["servers"][*name];
        assert!(entry.is_object(), "{name}: {v2}");
        assert!(entry.get("enabled").is_none(), "{name}: {v2}");
    }
}

#[test]
fn kilo_code_before_7_gets_roos_shape() {
    version_case("kilo-code", "6.0.0", "before-v6", None);
    let v6 = std::fs::read_to_string(fixture_dir("kilo-code").join("after-v6.0.0.jsonc")).unwrap();
    let parsed = parse_generic(Format::Jsonc, &v6);
    assert_eq!(
        parsed["mcpServers"]["custom-api"]["type"], "streamable-http",
        "{v6}"
    );
    assert!(parsed.get("mcp").is_none(), "{v6}");
}

/// A file's line breaks get its ending, but a lone `\n` inside a TOML multi-line string is
/// data, which turning into `\r\n` would change (found by `edit_toml`).
#[test]
fn a_file_mixing_line_endings_keeps_its_multi_line_strings() {
    let client = client_def("codex");
    let before = "model = \"gpt-5\"\r\n\r\n[mcp_servers.docs]\r\ncommand = \"docs\"\r\n\
                  description = \"\"\"first\nsecond\r\nthird\"\"\"\r\n";
    let mut doc = document::open(&client, before, Path::new("/virtual/config.toml")).unwrap();
    doc.set_entry("added", &json!({"command": "added-server"}))
        .unwrap();
    let after = doc.text();
    assert_eq!(
        after,
        format!("{before}\r\n[mcp_servers.added]\r\ncommand = \"added-server\"\r\n"),
        "every byte of the file kept, the new table after it"
    );
    let description =
        toml::from_str::<toml::Table>(&after).unwrap()["mcp_servers"]["docs"]["description"]
            .clone();
    assert_eq!(description.as_str(), Some("first\nsecond\r\nthird"));
    assert!(doc.remove_entry("added").unwrap());
    assert_eq!(doc.text(), before);
}
