//! Property tests of the core:
//! - the format-preserving editors (JSON, JSONC, TOML, YAML; map and list layouts): whatever
//!   is set reads back exactly, in order, next to the file's own entries; replacing keeps the
//!   position; removing entries that were new restores the original bytes;
//! - drafts survive serialisation and the draft store unchanged;
//! - validation is deterministic and idempotent, and its output is sorted;
//! - `placeholders()` finds every `{name}` and never a `${NAME}`;
//! - the diff of identical entry sets is empty, and the redactor masks every known secret.
//!
//! Case counts are modest (64 to 128) so the suite stays fast on two cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use mcp_orch::core::catalog::{Catalog, Transport};
use mcp_orch::core::clients::{ClientDef, ClientRegistry, EntriesKind};
use mcp_orch::core::diff::{REDACTED, Redactor, diff_entries};
use mcp_orch::core::document;
use mcp_orch::core::draft::{Draft, DraftServer, DraftStore, EnvValue, Origin};
use mcp_orch::core::validate::{self, Context, placeholders};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

static REGISTRY: LazyLock<ClientRegistry> = LazyLock::new(|| {
    ClientRegistry::load(Path::new("/nonexistent/mcp-orch/clients.toml")).unwrap()
});
static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::load(Path::new("/nonexistent/mcp-orch/catalog.toml")).unwrap());
static BASES: LazyLock<Vec<Base>> = LazyLock::new(editor_bases);

fn client(id: &str) -> ClientDef {
    REGISTRY.get(id).unwrap().clone()
}

/// A JSON client with a list layout (none is built in, but a user's clients.toml may add one).
fn json_list_client() -> ClientDef {
    let mut c = client("cursor");
    c.id = "json-list".into();
    // Its documents carry comments: JSONC, like the clients that read comments.
    c.format = mcp_orch::core::clients::Format::Jsonc;
    c.entries = EntriesKind::List;
    c.name_field = "name".into();
    c.container = vec!["mcp".into(), "servers".into()];
    c
}

fn fixture(id: &str, ext: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clients")
        .join(id)
        .join(format!("before.{ext}"));
    std::fs::read_to_string(path).unwrap()
}

/// A document the editor properties start from.
#[derive(Clone)]
struct Base {
    client: ClientDef,
    text: String,
    /// Whether removing the new entries must give back these exact bytes (not when the
    /// container has to be created, or a one-line container is expanded on insert).
    restores: bool,
}

fn base(id: &str, text: impl Into<String>, restores: bool) -> Base {
    Base {
        client: client(id),
        text: text.into(),
        restores,
    }
}

/// Every format and layout: the realistic fixtures (comments, foreign keys, hand-added
/// servers), CRLF files, block lists at column 0, flow-style empty containers, files without
/// a final newline, and documents that have no container yet.
fn editor_bases() -> Vec<Base> {
    let json_list = Base {
        client: json_list_client(),
        text: "{\n  // list layout\n  \"mcp\": {\n    \"servers\": [\n      {\"name\": \"hand\", \"command\": \"x\"}\n    ]\n  },\n  \"other\": true\n}\n".to_owned(),
        restores: true,
    };
    vec![
        base("cursor", fixture("cursor", "json"), true),
        base("claude-code", fixture("claude-code", "json"), true),
        base("vscode", fixture("vscode", "jsonc"), true),
        base("zed", fixture("zed", "jsonc"), true),
        base("opencode", fixture("opencode", "jsonc"), true),
        base("codex", fixture("codex", "toml"), true),
        base("goose", fixture("goose", "yaml"), true),
        base("continue", fixture("continue", "yaml"), true),
        json_list,
        base(
            "cursor",
            "{\r\n  \"mcpServers\": {\r\n    \"a\": {\"command\": \"x\"}\r\n  }\r\n}\r\n",
            true,
        ),
        base(
            "codex",
            "model = \"x\"\r\n\r\n# mine\r\n[mcp_servers.a]\r\ncommand = \"x\"\r\n",
            true,
        ),
        base(
            "goose",
            "GOOSE_MODEL: x\r\nextensions:\r\n  a:\r\n    cmd: x # run it\r\n    name: a\r\nother: 1\r\n",
            true,
        ),
        base("goose", "---\n# top\nextensions: {}\nother: 1\n", true),
        base(
            "goose",
            "extensions:\n    a:\n        cmd: x\n# trailing comment\nother: 1",
            true,
        ),
        base(
            "continue",
            "name: x\nmcpServers:\n- name: a\n  command: x\nrules: []\n",
            true,
        ),
        base(
            "codex",
            "[mcp_servers]\n# none yet\n\n[other]\nx = 1\n",
            true,
        ),
        base(
            "cursor",
            "{\"mcpServers\": {\"a\": {\"command\": \"x\"}}}",
            false,
        ),
        base(
            "zed",
            "// just settings\n{\"theme\": \"One Dark\"}\n",
            false,
        ),
        base("codex", "model = \"x\"\n", false),
        base("continue", "name: x\nversion: 1.0.0\n", false),
    ]
}

// ---- strategies ------------------------------------------------------------------------------

fn server_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,12}",
        "[a-zA-Z0-9][a-zA-Z0-9._-]{0,16}",
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("123".to_owned()),
        Just("a.b".to_owned()),
    ]
}

/// Text values, including the characters each format must quote or escape.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~]{0,20}",
        2 => "\\PC{0,12}",
        1 => Just(String::new()),
        1 => Just("line one\nline two".to_owned()),
        1 => Just("tab\there \"quoted\" back\\slash".to_owned()),
        1 => Just("# not a comment".to_owned()),
        1 => Just("key: value - [x] {y} &z *w !t".to_owned()),
        1 => Just("// not a comment /* either */".to_owned()),
        1 => Just("Bearer ${TOKEN}".to_owned()),
        1 => Just("'single' and \"double\"".to_owned()),
        1 => Just("  padded  ".to_owned()),
        1 => Just("yes".to_owned()),
        1 => Just("0x1F".to_owned()),
        1 => Just("~".to_owned()),
    ]
}

fn env_name() -> impl Strategy<Value = String> {
    "[A-Z_][A-Z0-9_]{0,10}"
}

/// One entry in a client's own spelling (stdio shape, plus a bool and an integer field).
fn entry_for(
    client: &ClientDef,
    name: &str,
    command: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
    flags: (Option<bool>, Option<i64>),
) -> Value {
    let mut obj = Map::new();
    if !client.name_field.is_empty() {
        obj.insert(client.name_field.clone(), json!(name));
    }
    obj.insert(client.stdio.command.clone(), json!(command));
    let args_field = if client.stdio.args.is_empty() {
        "args"
    } else {
        client.stdio.args.as_str()
    };
    obj.insert(args_field.to_owned(), json!(args));
    obj.insert(client.stdio.env.clone(), json!(env));
    if let Some(b) = flags.0 {
        obj.insert("enabled".into(), json!(b));
    }
    if let Some(i) = flags.1 {
        obj.insert("timeout".into(), json!(i));
    }
    Value::Object(obj)
}

type RawEntry = (
    String,
    Vec<String>,
    BTreeMap<String, String>,
    (Option<bool>, Option<i64>),
);

fn raw_entry() -> impl Strategy<Value = RawEntry> {
    (
        text(),
        prop::collection::vec(text(), 0..4),
        prop::collection::btree_map(env_name(), text(), 0..3),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(-1_000_000_i64..1_000_000),
        ),
    )
}

// ---- (a) editors -----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Set some new entries, replace one, read back exactly; remove the new ones and get the
    /// original document back (byte for byte wherever the container existed as a block).
    #[test]
    fn editors_set_read_replace_and_remove(
        base in 0..BASES.len(),
        news in prop::collection::btree_map(server_name(), raw_entry(), 1..4),
        replacement in raw_entry(),
    ) {
        let Base { client, text: before, restores } = BASES[base].clone();
        let origin = Path::new("/virtual/file");
        let mut doc = document::open(&client, &before, origin).unwrap();
        let original = doc.entries();
        let taken: BTreeSet<&str> = original.iter().map(|(n, _)| n.as_str()).collect();
        prop_assume!(news.keys().all(|n| !taken.contains(n.as_str())));

        let mut expected = original.clone();
        for (name, (command, args, env, flags)) in &news {
            let entry = entry_for(&client, name, command, args, env, *flags);
            doc.set_entry(name, &entry).unwrap();
            expected.push((name.clone(), entry));
        }
        prop_assert_eq!(&doc.entries(), &expected, "{} after set:\n{}", client.id, doc.text());
        // The text is a document of the same format that reads back the same way.
        let reopened = document::open(&client, &doc.text(), origin).unwrap();
        prop_assert_eq!(&reopened.entries(), &expected);
        // Line endings are the file's own.
        if before.contains("\r\n") {
            prop_assert!(!doc.text().replace("\r\n", "").contains('\n'), "{}: mixed line endings", client.id);
        }

        // Replacing keeps the entry's position.
        let first = news.keys().next().unwrap().clone();
        let (command, args, env, flags) = replacement;
        let entry = entry_for(&client, &first, &command, &args, &env, flags);
        doc.set_entry(&first, &entry).unwrap();
        let at = expected.iter().position(|(n, _)| *n == first).unwrap();
        expected[at].1 = entry;
        prop_assert_eq!(&doc.entries(), &expected, "{} after replace:\n{}", client.id, doc.text());

        for name in news.keys() {
            prop_assert!(doc.remove_entry(name).unwrap());
            prop_assert!(!doc.remove_entry(name).unwrap(), "removed twice");
        }
        prop_assert_eq!(doc.entries(), original);
        if restores {
            prop_assert_eq!(doc.text(), before, "{}: removing the new entries", client.id);
        }
        prop_assert!(doc.notes().is_empty(), "{}: {:?}", client.id, doc.notes());
    }

    /// Starting from a missing (empty) file.
    #[test]
    fn editors_create_the_container_in_an_empty_file(
        base in 0..BASES.len(),
        news in prop::collection::btree_map(server_name(), raw_entry(), 1..4),
    ) {
        let client = BASES[base].client.clone();
        let origin = Path::new("/virtual/file");
        let mut doc = document::open(&client, "", origin).unwrap();
        prop_assert!(doc.entries().is_empty());
        let mut expected = Vec::new();
        for (name, (command, args, env, flags)) in &news {
            let entry = entry_for(&client, name, command, args, env, *flags);
            doc.set_entry(name, &entry).unwrap();
            expected.push((name.clone(), entry));
        }
        let text = doc.text();
        prop_assert_eq!(&document::open(&client, &text, origin).unwrap().entries(), &expected);
        for name in news.keys() {
            prop_assert!(doc.remove_entry(name).unwrap());
        }
        prop_assert!(doc.entries().is_empty());
    }
}

// ---- (b) drafts ------------------------------------------------------------------------------

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::Stdio),
        Just(Transport::Http),
        Just(Transport::Sse)
    ]
}

fn env_value() -> impl Strategy<Value = EnvValue> {
    prop_oneof![
        text().prop_map(EnvValue::Plain),
        env_name().prop_map(|secret| EnvValue::Secret { secret }),
    ]
}

fn draft_server() -> impl Strategy<Value = DraftServer> {
    (
        (
            prop::option::of("[a-z][a-z0-9-]{0,10}"),
            transport(),
            prop::option::of(text()),
            prop::collection::vec(text(), 0..4),
            prop::option::of(text()),
        ),
        (
            prop::collection::btree_map("[A-Za-z-]{1,12}", text(), 0..3),
            prop::collection::btree_map(env_name(), env_value(), 0..4),
            prop::collection::btree_map("[a-z_]{1,8}", text(), 0..3),
            prop_oneof![Just(Origin::Catalog), Just(Origin::Imported)],
        ),
    )
        .prop_map(
            |((server_id, transport, command, args, url), (headers, env, params, origin))| {
                DraftServer {
                    server_id,
                    transport,
                    command,
                    args,
                    url,
                    headers,
                    env,
                    params,
                    secret_delivery: None,
                    origin,
                    extra: BTreeMap::new(),
                }
            },
        )
}

fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    (0_i64..4_000_000_000, 0_u32..1_000_000_000)
        .prop_map(|(secs, nanos)| Utc.timestamp_opt(secs, nanos).unwrap())
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        "[a-z][a-z0-9-]{0,10}",
        "[a-z][a-z0-9_.-]{0,10}",
        prop::collection::btree_map(server_name(), draft_server(), 0..5),
        any::<u64>(),
        prop::option::of(timestamp()),
    )
        .prop_map(|(client, profile, servers, revision, updated_at)| Draft {
            client,
            profile,
            servers,
            revision,
            updated_at,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn drafts_round_trip_through_json(draft in draft()) {
        let text = serde_json::to_string_pretty(&draft).unwrap();
        let back: Draft = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, draft);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Through the store on disk: what `update` saves is what `load` returns, revision and time
    /// included.
    #[test]
    fn drafts_round_trip_through_the_store(draft in draft(), now in timestamp()) {
        let tmp = tempfile::tempdir().unwrap();
        let store = DraftStore::new(tmp.path().join("drafts"), tmp.path().join("locks"));
        let servers = draft.servers.clone();
        let ((), saved) = store
            .update(&draft.client, &draft.profile, now, |d| {
                d.servers = servers;
                Ok(())
            })
            .unwrap();
        prop_assert_eq!(saved.revision, 1);
        prop_assert_eq!(saved.updated_at, Some(now));
        prop_assert_eq!(&saved.servers, &draft.servers);
        prop_assert_eq!(store.load(&draft.client, &draft.profile).unwrap(), saved);
    }
}

// ---- (c) validation --------------------------------------------------------------------------

/// Drafts built to hit the validator's rules: catalog and unknown ids, odd names, missing
/// commands and URLs, leftover placeholders, empty, plaintext and missing secrets.
fn validation_draft() -> impl Strategy<Value = Draft> {
    let name = prop_oneof![
        server_name(),
        Just("Bad Name".to_owned()),
        Just("MEMORY".to_owned()),
        Just("memory".to_owned()),
        Just("x".repeat(70)),
    ];
    let server = (
        draft_server(),
        prop_oneof![
            Just(None),
            Just(Some("memory".to_owned())),
            Just(Some("n8n".to_owned())),
            Just(Some("filesystem".to_owned())),
            Just(Some("github".to_owned())),
            Just(Some("gone-from-catalog".to_owned())),
        ],
        prop_oneof![
            Just(None),
            Just(Some("npx".to_owned())),
            Just(Some("{path}/bin".to_owned())),
            Just(Some(String::new())),
        ],
        prop_oneof![
            Just(None),
            Just(Some("https://ok.example/mcp".to_owned())),
            Just(Some("ftp://nope".to_owned())),
            Just(Some("http://{host}:{port}/mcp".to_owned())),
        ],
        prop::collection::btree_map(
            prop_oneof![
                Just("API_TOKEN".to_owned()),
                Just("MODE".to_owned()),
                env_name()
            ],
            env_value(),
            0..3,
        ),
    )
        .prop_map(|(mut s, id, command, url, env)| {
            s.server_id = id;
            if command.is_some() {
                s.command = command;
            }
            if url.is_some() {
                s.url = url;
            }
            s.env.extend(env);
            s
        });
    (
        prop_oneof![
            Just("cursor".to_owned()),
            Just("claude-desktop".to_owned()),
            Just("codex".to_owned()),
            Just("no-such-client".to_owned()),
        ],
        prop::collection::btree_map(name, server, 0..6),
    )
        .prop_map(|(client, servers)| Draft {
            client,
            profile: "default".into(),
            servers,
            revision: 0,
            updated_at: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn validation_is_deterministic_idempotent_and_sorted(
        draft in validation_draft(),
        secret_names in prop::collection::btree_set(
            prop_oneof![Just("API_TOKEN".to_owned()), Just("N8N_API_KEY".to_owned()), env_name()],
            0..4,
        ),
    ) {
        let command_exists = |c: &str| c.len() % 2 == 1;
        let ctx = Context {
            client: REGISTRY.get(&draft.client).ok(),
            catalog: &CATALOG,
            secret_names: &secret_names,
            command_exists: &command_exists,
            policy: None,
        };
        let first = validate::validate(&draft, &ctx);
        let second = validate::validate(&draft, &ctx);
        prop_assert_eq!(&first, &second);

        // The same draft after a serialisation round trip, and a clone: same diagnostics.
        let back: Draft = serde_json::from_str(&serde_json::to_string(&draft).unwrap()).unwrap();
        prop_assert_eq!(&validate::validate(&back, &ctx), &first);

        // Sorted by severity, then path, then code; errors before warnings.
        let keys: Vec<_> = first.iter().map(|d| (d.severity, d.path.clone(), d.code.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);

        // Every diagnostic names a place in the draft, and a server one names its server.
        for d in &first {
            prop_assert!(!d.message.is_empty() && !d.hint.is_empty(), "{:?}", d);
            match &d.server {
                Some(s) => prop_assert!(
                    d.path == format!("servers.{s}") || d.path.starts_with(&format!("servers.{s}.")),
                    "{:?}", d
                ),
                None => prop_assert!(d.path == "servers" || d.path == "client", "{:?}", d),
            }
        }
        prop_assert_eq!(
            first.iter().any(|d| d.code == "EMPTY_CONFIG"),
            draft.servers.is_empty()
        );
        prop_assert_eq!(
            first.iter().any(|d| d.code == "UNKNOWN_CLIENT"),
            ctx.client.is_none()
        );
        // A missing secret is reported exactly when a reference names an absent secret.
        let missing: BTreeSet<String> = draft
            .servers
            .iter()
            .flat_map(|(n, s)| s.env.iter().map(move |(k, v)| (n, k, v)))
            .filter_map(|(n, k, v)| match v {
                EnvValue::Secret { secret } if !secret_names.contains(secret) => {
                    Some(format!("servers.{n}.env.{k}"))
                }
                _ => None,
            })
            .collect();
        let reported: BTreeSet<String> = first
            .iter()
            .filter(|d| d.code == "MISSING_SECRET")
            .map(|d| d.path.clone())
            .collect();
        prop_assert_eq!(reported, missing);
    }
}

// ---- (d) placeholders ------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    Placeholder(String),
    EnvRef(String),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[a-zA-Z0-9 /:._,=-]{0,8}".prop_map(Piece::Literal),
        "[a-zA-Z0-9_-]{1,10}".prop_map(Piece::Placeholder),
        "[A-Za-z_][A-Za-z0-9_]{0,10}".prop_map(Piece::EnvRef),
        Just(Piece::Literal("{}".to_owned())),
        Just(Piece::Literal("{\"json\": 1}".to_owned())),
        Just(Piece::Literal("{two words}".to_owned())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn placeholders_finds_every_param_and_no_env_reference(
        pieces in prop::collection::vec(piece(), 0..10),
    ) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for p in &pieces {
            match p {
                Piece::Literal(s) => text.push_str(s),
                Piece::Placeholder(name) => {
                    write!(text, "{{{name}}}").unwrap();
                    expected.push(name.clone());
                }
                Piece::EnvRef(name) => write!(text, "${{{name}}}").unwrap(),
            }
        }
        let found: Vec<&str> = placeholders(&text);
        prop_assert_eq!(found, expected, "in {:?}", text);
    }
}

// ---- plans and redaction ---------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Entries already as wanted give an empty plan, whatever the ownership records say.
    #[test]
    fn the_plan_of_identical_entries_is_empty(
        entries in prop::collection::btree_map(
            server_name(),
            raw_entry().prop_map(|(c, a, e, f)| entry_for(&client("cursor"), "", &c, &a, &e, f)),
            0..5,
        ),
        owned in prop::collection::btree_set(server_name(), 0..3),
    ) {
        let diff = diff_entries(&entries, &entries, &owned, &BTreeSet::new());
        prop_assert!(diff.is_empty());
        prop_assert_eq!(diff.unchanged, entries.keys().cloned().collect::<Vec<_>>());
    }

    /// Every known secret value (at least 4 characters) is masked in any text that contains
    /// it, raw or JSON-escaped.
    #[test]
    fn the_redactor_masks_known_secrets(
        secrets in prop::collection::vec("[a-zA-Z0-9\"\\\\/ .-]{4,16}", 1..4),
        prefix in "[ -~]{0,10}",
        suffix in "[ -~]{0,10}",
    ) {
        let redactor = Redactor::new(secrets.clone());
        for secret in &secrets {
            prop_assume!(!REDACTED.contains(secret.as_str()));
            let raw = format!("{prefix}{secret}{suffix}");
            let escaped = serde_json::to_string(&raw).unwrap();
            for text in [raw, escaped] {
                let masked = redactor.text(&text);
                let escaped_secret = serde_json::to_string(secret).unwrap();
                prop_assert!(
                    !masked.contains(secret.as_str())
                        && !masked.contains(escaped_secret.trim_matches('"')),
                    "{:?} still in {:?}", secret, masked
                );
            }
        }
    }
}
