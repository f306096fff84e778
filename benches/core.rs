//! Core benchmarks: fuzzy search over a 10,000-entry catalog (nucleo-matcher, which the
//! core uses, against the archived fuzzy-matcher it replaced) and validation of a 500-server
//! draft. Results and the command that reproduces them are in docs/BENCHMARKS.md.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use mcp_orch::core::catalog::{Catalog, ServerEntry, Transport};
use mcp_orch::core::draft::{Draft, DraftServer, EnvValue, Origin};
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
    };
    c.bench_function("validate_500_servers", |b| {
        b.iter(|| black_box(validate::validate(&draft, &ctx)));
    });
}

criterion_group!(benches, bench_search, bench_validate);
criterion_main!(benches);
