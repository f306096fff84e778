//! `mcp-orch migrate`: servers moved from a client's old home to its new one in each of the
//! three migrations, the rest of both files kept byte for byte, a plan that writes nothing,
//! servers mcp-orch deployed left to their drafts, and a move interrupted between its two
//! files finished by the next run.

use crate::common::Sandbox;

const GEMINI: &str = r#"{
  // UI settings stay.
  "ui": { "theme": "GitHub" },
  "mcpServers": {
    "github": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": { "GITHUB_TOKEN": "${GITHUB_TOKEN}" } },
    "docs": { "httpUrl": "https://docs.example.com/mcp", "headers": { "X-Team": "core" }, "timeout": 30000 }
  },
  "security": { "folderTrust": { "enabled": true } }
}
"#;

const GEMINI_AFTER: &str = r#"{
  // UI settings stay.
  "ui": { "theme": "GitHub" },
  "mcpServers": {},
  "security": { "folderTrust": { "enabled": true } }
}
"#;

const ANTIGRAVITY_AFTER: &str = r#"{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {
        "GITHUB_TOKEN": "${GITHUB_TOKEN}"
      }
    },
    "docs": {
      "serverUrl": "https://docs.example.com/mcp",
      "headers": {
        "X-Team": "core"
      },
      "timeout": 30000
    }
  }
}
"#;

fn read(sb: &Sandbox, rel: &str) -> String {
    std::fs::read_to_string(sb.home.join(rel)).unwrap()
}

#[test]
fn gemini_servers_move_to_antigravity_after_a_plan_that_writes_nothing() {
    let sb = Sandbox::new();
    sb.write("home/.gemini/settings.json", GEMINI);
    let plan = sb.json_ok(&["migrate", "gemini-to-antigravity"]);
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["moved"], serde_json::json!(["github", "docs"]));
    assert_eq!(plan["files"].as_array().unwrap().len(), 2);
    assert_eq!(read(&sb, ".gemini/settings.json"), GEMINI);
    assert!(
        !sb.home
            .join(".gemini/antigravity-cli/mcp_config.json")
            .exists()
    );
    // Antigravity expands no variables: the plan says what to do about the reference.
    assert!(
        plan["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("`github` refers to variables"),
        "{plan:#}"
    );

    let done = sb.json_ok(&["migrate", "gemini-to-antigravity", "--yes"]);
    assert_eq!(done["applied"], true);
    assert_eq!(read(&sb, ".gemini/settings.json"), GEMINI_AFTER);
    assert_eq!(
        read(&sb, ".gemini/antigravity-cli/mcp_config.json"),
        ANTIGRAVITY_AFTER
    );
    let again = sb.json_ok(&["migrate", "gemini-to-antigravity", "--yes"]);
    assert_eq!(again["moved"], serde_json::json!([]));
    let log = std::fs::read_to_string(sb.state.join("audit.jsonl")).unwrap();
    assert_eq!(
        log.matches("\"action\":\"migrate\"").count(),
        2,
        "one per file"
    );
}

#[test]
fn a_move_killed_between_its_two_files_is_finished_by_the_next_run() {
    let sb = Sandbox::new();
    // As a crash leaves it: the new home written, the old one not yet.
    sb.write("home/.gemini/settings.json", GEMINI);
    sb.write(
        "home/.gemini/antigravity-cli/mcp_config.json",
        ANTIGRAVITY_AFTER,
    );
    let done = sb.json_ok(&["migrate", "gemini-to-antigravity", "--yes"]);
    assert_eq!(done["moved"], serde_json::json!(["github", "docs"]));
    assert_eq!(read(&sb, ".gemini/settings.json"), GEMINI_AFTER);
    assert_eq!(
        read(&sb, ".gemini/antigravity-cli/mcp_config.json"),
        ANTIGRAVITY_AFTER
    );
    // A different server of the same name in the new home is not overwritten.
    sb.write("home/.gemini/settings.json", GEMINI);
    sb.write(
        "home/.gemini/antigravity-cli/mcp_config.json",
        "{\"mcpServers\": {\"docs\": {\"serverUrl\": \"https://other.example.com/mcp\"}}}\n",
    );
    let done = sb.json_ok(&["migrate", "gemini-to-antigravity", "--yes"]);
    assert_eq!(done["moved"], serde_json::json!(["github"]));
    assert_eq!(done["skipped"][0]["server"], "docs");
    let gemini = read(&sb, ".gemini/settings.json");
    assert!(gemini.contains("\"docs\": { \"httpUrl\""), "{gemini}");
    assert!(!gemini.contains("\"github\""), "{gemini}");
}

#[test]
fn servers_mcp_orch_deployed_stay_with_their_draft() {
    let sb = Sandbox::new();
    sb.write("home/.gemini/settings.json", GEMINI);
    sb.json_ok(&["draft", "add", "memory", "--client", "gemini-cli"]);
    sb.json_ok(&["apply", "--client", "gemini-cli", "--yes"]);
    let done = sb.json_ok(&["migrate", "gemini-to-antigravity", "--yes"]);
    assert_eq!(done["moved"], serde_json::json!(["github", "docs"]));
    assert_eq!(done["skipped"][0]["server"], "memory");
    assert!(
        done["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("mcp-orch draft copy --client gemini-cli --to antigravity-cli"),
        "{done:#}"
    );
    // The deployed server is still where its deploy record says.
    let status = sb.json_ok(&["status", "--client", "gemini-cli"]);
    assert_eq!(status["targets"][0]["drift"], "in_sync", "{status:#}");
}

#[test]
fn a_projects_vscode_servers_move_to_its_portable_mcp_json() {
    let sb = Sandbox::new();
    let before = "{\n  \"servers\": {\n    \"memory\": { \"type\": \"stdio\", \"command\": \"npx\", \"args\": [\"-y\", \"@modelcontextprotocol/server-memory\"] }\n  },\n  // prompted values\n  \"inputs\": []\n}\n";
    sb.write("proj/.vscode/mcp.json", before);
    let project = sb.root.join("proj").display().to_string();
    let done = sb.json_ok(&[
        "migrate",
        "vscode-to-mcp-json",
        "--project",
        &project,
        "--yes",
    ]);
    assert_eq!(done["moved"], serde_json::json!(["memory"]));
    assert_eq!(
        std::fs::read_to_string(sb.root.join("proj/.vscode/mcp.json")).unwrap(),
        "{\n  \"servers\": {},\n  // prompted values\n  \"inputs\": []\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(sb.root.join("proj/.mcp.json")).unwrap(),
        "{\n  \"mcpServers\": {\n    \"memory\": {\n      \"type\": \"stdio\",\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"@modelcontextprotocol/server-memory\"]\n    }\n  }\n}\n"
    );
}

#[test]
fn opencode_1_servers_move_under_mcp_servers_with_disabled_for_enabled_false() {
    let sb = Sandbox::new();
    let before = "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"mcp\": {\n    \"kb\": { \"type\": \"local\", \"command\": [\"bun\", \"x\", \"kb-mcp\"], \"enabled\": false, \"timeout\": 5000 },\n    \"docs\": { \"type\": \"remote\", \"url\": \"https://docs.example.com/mcp\", \"enabled\": true }\n  },\n  \"model\": \"anthropic/claude-sonnet-4-5\"\n}\n";
    sb.write("home/.config/opencode/opencode.json", before);
    let done = sb.json_ok(&["migrate", "opencode-v2", "--yes"]);
    assert_eq!(done["moved"], serde_json::json!(["kb", "docs"]));
    assert_eq!(done["files"].as_array().unwrap().len(), 1);
    assert_eq!(
        read(&sb, ".config/opencode/opencode.json"),
        "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"mcp\": {\n    \"servers\": {\n      \"kb\": {\n        \"type\": \"local\",\n        \"command\": [\"bun\", \"x\", \"kb-mcp\"],\n        \"timeout\": 5000,\n        \"disabled\": true\n      },\n      \"docs\": {\n        \"type\": \"remote\",\n        \"url\": \"https://docs.example.com/mcp\"\n      }\n    }\n  },\n  \"model\": \"anthropic/claude-sonnet-4-5\"\n}\n"
    );
    // OpenCode 2 reads it back as the same servers.
    let again = sb.json_ok(&["migrate", "opencode-v2", "--yes"]);
    assert_eq!(again["moved"], serde_json::json!([]));
}
