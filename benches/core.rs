//! Core benchmarks: fuzzy search over a 10,000-entry catalog (nucleo-matcher, which the
//! core uses, against the archived fuzzy-matcher it replaced), validation of a 500-server
//! draft, and publishing a 500-server draft (canonicalise + hash + sign, and the same with the
//! payload and release written to disk). Results and the command that reproduces them are in docs/BENCHMARKS.md.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use mcp_orch::core::artifact::{self, ArtifactStore, Envelope, Metadata, NewRelease, Payload};
use mcp_orch::core::catalog::{Catalog, ServerEntry, Transport};
use mcp_orch::core::clients::ClientRegistry;
use mcp_orch::core::draft::{Draft, DraftServer, EnvValue, Origin};
use mcp_orch::core::keys::Signer;
use mcp_orch::core::render::{self, RenderOptions, SecretStyle};
use mcp_orch::core::search::{self, Query, SearchIndex};
use mcp_orch::core::validate::{self, Context};

const WORDS: &[&str] = &[
    "file", "git", "postgres", "slack", "search", "browser", "memory", "docs", "cloud", "kube",
    "redis", "notion", "issue", "tracker", "vector", "graph", "mail", "calendar", "sql", "shell",
];

/// A deterministic synthetic catalog of `n` entries.
fn catalog(n: usize) -> Catalog {
    let entries = (0..n)
        .map(|i| {
            let a = WORDS[i % WORDS.len()];
            let b = WORDS[(i / WORDS.len()) % WORDS.len()];
            ServerEntry {
                id: format!("{a}-{b}-mcp-{i}"),
                name: format!("{a} {b} server {i}"),
                description: format!("Lets the model work with {a} and {b} through tool number {i}, with read and write access."),
                tags: vec![a.to_owned(), b.to_owned()],
                transport: if i % 7 == 0 { Transport::Http } else { Transport::Stdio },
                command: Some("npx".into()),
                args: vec!["-y".into(), format!("@acme/{a}-{b}-{i}")],
                url: None,
                headers: Vec::new(),
                params: Vec::new(),
                env: Vec::new(),
                docs_url: None,
                package: None,
                source: mcp_orch::core::catalog::Source::Registry,
                version: None,
                server_json: None,
            }
        })
        .collect();
    Catalog::from_entries(entries)
}

fn bench_search(c: &mut Criterion) {
    let catalog = catalog(10_000);
    let index = SearchIndex::build(catalog.entries());
    let haystacks: Vec<(String, String)> = catalog
        .entries()
        .iter()
        .map(|e| {
            (
                format!("{} {} {}", e.id, e.name, e.tags.join(" ")),
                e.description.clone(),
            )
        })
        .collect();
    let skim = SkimMatcherV2::default();
    let mut group = c.benchmark_group("search_10k");
    for query in ["fs", "pstgrs", "git issue", "zzzq"] {
        group.bench_with_input(BenchmarkId::new("nucleo", query), &query, |b, q| {
            let query = Query {
                text: (*q).to_owned(),
                ..Query::default()
            };
            b.iter(|| black_box(search::search(&catalog, &index, &query)));
        });
        group.bench_with_input(BenchmarkId::new("fuzzy_matcher", query), &query, |b, q| {
            b.iter(|| {
                let mut hits: Vec<(i64, usize)> = haystacks
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (primary, description))| {
                        // The same shape as the core's search: fuzzy per word on id, name and
                        // tags, substring on the description.
                        let description = description.to_lowercase();
                        q.split_whitespace()
                            .map(|word| {
                                skim.fuzzy_match(primary, word)
                                    .map(|s| s * 4)
                                    .or_else(|| description.contains(word).then_some(1))
                            })
                            .sum::<Option<i64>>()
                            .map(|s| (s, i))
                    })
                    .collect();
                hits.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                black_box(hits)
            });
        });
    }
    group.finish();
}

/// A 500-server draft for the catalog's first entries, with env vars and secrets.
fn big_draft(catalog: &Catalog) -> Draft {
    let mut servers = BTreeMap::new();
    for (i, entry) in catalog.entries().iter().take(500).enumerate() {
        let mut env = BTreeMap::new();
        env.insert("LOG_LEVEL".to_owned(), EnvValue::Plain("info".into()));
        env.insert(
            "API_TOKEN".to_owned(),
            EnvValue::Secret {
                secret: format!("TOKEN_{}", i % 10),
            },
        );
        servers.insert(
            format!("server-{i}"),
            DraftServer {
                server_id: Some(entry.id.clone()),
                transport: Transport::Stdio,
                command: Some("npx".into()),
                args: entry.args.clone(),
                url: None,
                headers: BTreeMap::new(),
                env,
                params: BTreeMap::new(),
                secret_delivery: None,
                origin: Origin::Catalog,
                extra: BTreeMap::new(),
            },
        );
    }
    Draft {
        client: "cursor".into(),
        profile: "default".into(),
        servers,
        revision: 1,
        updated_at: None,
    }
}

fn bench_validate(c: &mut Criterion) {
    let catalog = catalog(10_000);
    let draft = big_draft(&catalog);
    let secrets: BTreeSet<String> = (0..10).map(|i| format!("TOKEN_{i}")).collect();
    let command_exists = |_: &str| true;
    let ctx = Context {
        client: None,
        catalog: &catalog,
        secret_names: &secrets,
        command_exists: &command_exists,
        policy: None,
    };
    c.bench_function("validate_500_servers", |b| {
        b.iter(|| black_box(validate::validate(&draft, &ctx)));
    });
}

/// The payload `publish` builds for the big draft: its servers and their cursor entries.
fn big_payload() -> Payload {
    let catalog = catalog(10_000);
    let draft = big_draft(&catalog);
    let registry = ClientRegistry::load(std::path::Path::new("/nonexistent/clients.toml"))
        .expect("built-in client registry");
    let client = registry.get("cursor").expect("cursor is a built-in client");
    let launcher = render::SelfCommand {
        program: "/usr/local/bin/mcp-orch".into(),
        home: None,
    };
    let opts = RenderOptions {
        launcher: &launcher,
        secret_style: SecretStyle::AsConfigured,
        secret_values: None,
    };
    let entries = draft
        .servers
        .iter()
        .map(|(name, server)| {
            let entry = render::render_entry(client, name, server, &opts).expect("renders");
            (name.clone(), entry)
        })
        .collect();
    Payload::new("cursor", draft.servers, entries)
}

fn bench_publish(c: &mut Criterion) {
    let payload = big_payload();
    let signer = Signer::from_key(ed25519_dalek::SigningKey::from_bytes(&[42; 32]));
    let created_at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid time");
    // What publish does in memory: canonicalise the payload (RFC 8785), hash it, build and
    // canonicalise the envelope, sign it.
    c.bench_function("publish_500_servers", |b| {
        b.iter(|| {
            let bytes = payload.canonical_bytes().expect("canonical");
            let artifact_id = artifact::sha256_hex(&bytes);
            let envelope = Envelope {
                schema: artifact::ENVELOPE_SCHEMA.to_owned(),
                artifact_id,
                client_id: "cursor".into(),
                profile_id: "default".into(),
                version: 1,
                created_at,
                key_id: signer.key_id().to_owned(),
                changelog: Some("bench".into()),
                metadata: Metadata {
                    server_count: payload.servers.len(),
                    servers: payload.servers.keys().cloned().collect(),
                    generator: "mcp-orch bench".into(),
                },
            };
            let text = envelope.canonical_text().expect("canonical");
            black_box((signer.sign(text.as_bytes()), bytes.len()))
        });
    });
    // The whole store step: the above plus the write-once payload check and a new release
    // file created exclusively and fsynced (one new version per iteration).
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ArtifactStore::new(dir.path().join("artifacts"), dir.path().join("locks"));
    let mut group = c.benchmark_group("publish_500_servers_to_disk");
    group.sample_size(20);
    group.bench_function("store", |b| {
        b.iter(|| {
            black_box(
                store
                    .publish(
                        &payload,
                        &NewRelease {
                            client_id: "cursor",
                            profile_id: "default",
                            changelog: Some("bench"),
                            created_at,
                        },
                        &signer,
                    )
                    .expect("publish"),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, bench_search, bench_validate, bench_publish);
criterion_main!(benches);
