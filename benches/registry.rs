//! Registry benchmarks: a full sync of 5,000 servers from a local registry that serves
//! realistic v0.1 pages (`tests/support/fake_registry.rs`, 100 per page, over loopback HTTP),
//! opening the orchestrator with those entries in the catalog, and catalog search over the
//! bundled entries plus the 5,000. Results and the command are in docs/BENCHMARKS.md.

#![allow(clippy::unwrap_used)]

#[path = "../tests/it/fake_registry.rs"]
mod fake_registry;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mcp_orch::core::env::{Environment, Os};
use mcp_orch::core::orchestrator::SystemClock;
use mcp_orch::core::registry::SyncOptions;
use mcp_orch::core::search::Query;
use mcp_orch::core::{Options, Orchestrator};

const SERVERS: usize = 5_000;

fn open(state: &Path) -> Orchestrator {
    Orchestrator::open(Options {
        home: state.to_path_buf(),
        env: Environment::synthetic(state, Os::Linux, &[]),
        launcher: PathBuf::from("/usr/bin/mcp-orch"),
        clock: Arc::new(SystemClock),
        store: None,
    })
    .unwrap()
}

fn options(url: &str) -> SyncOptions {
    SyncOptions {
        url: url.to_owned(),
        full: true,
        ..SyncOptions::default()
    }
}

fn bench_registry(c: &mut Criterion) {
    let registry = fake_registry::FakeRegistry::start(fake_registry::many(SERVERS));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let orch = open(&state);
    // One sync up front, so the other benchmarks have the entries when filtered alone.
    orch.sync_registry_blocking(&options(&registry.url()), &mut |_| {})
        .unwrap();

    let mut group = c.benchmark_group("registry");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("sync_5000_full", |b| {
        b.iter(|| {
            let report = orch
                .sync_registry_blocking(&options(&registry.url()), &mut |_| {})
                .unwrap();
            assert_eq!(report.entry_count, SERVERS);
            black_box(report)
        });
    });
    group.finish();

    c.bench_function("open_with_5000_registry_entries", |b| {
        b.iter(|| black_box(open(&state)));
    });

    let orch = open(&state);
    assert_eq!(orch.registry_status().unwrap().entry_count, SERVERS);
    let total = orch.catalog().entries().len();
    let mut group = c.benchmark_group(format!("search_registry_{total}"));
    for query in ["fs", "pstgrs", "git", "git issue", "zzzq", "kube server"] {
        group.bench_with_input(BenchmarkId::from_parameter(query), &query, |b, q| {
            let query = Query {
                text: (*q).to_owned(),
                ..Query::default()
            };
            b.iter(|| black_box(orch.search(&query).len()));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_registry);
criterion_main!(benches);
