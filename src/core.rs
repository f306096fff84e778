//! The domain: client registry, catalog and search, drafts, secrets, validation, rendering,
//! format-preserving editing and diffs. No UI, HTTP or CLI code lives here; every front-end
//! calls the [`Orchestrator`] façade.

pub mod approvals;
pub mod artifact;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod canonical;
pub mod catalog;
pub mod clients;
pub mod code;
pub mod diagnostic;
pub mod diff;
pub mod document;
pub mod draft;
pub mod env;
pub mod error;
pub mod events;
pub mod fsutil;
pub mod import;
pub mod intent;
pub mod keys;
pub mod launch;
pub mod next;
pub mod orchestrator;
pub mod overlay;
pub mod policy;
pub mod probe;
pub mod profiles;
pub mod registry;
pub mod remote;
pub mod render;
pub mod search;
pub mod secret_shape;
pub mod secrets;
pub mod sse_client;
pub mod state;
pub mod store;
pub mod team;
pub mod tokens;
pub mod unique_keys;
pub mod validate;
pub mod writer;

pub use error::{Error, ErrorBody, ErrorKind, Result};
pub use orchestrator::{
    CheckStatus, ClientSet, DoctorReport, Options, Orchestrator, ProbeTarget, RegistryStatus,
    ValidationReport, any_probe_failed,
};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The modules of `src/core` that each module's non-test code names.
    fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
        let modules: BTreeSet<String> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".rs")
                    .map(str::to_owned)
                    .or(e.path().is_dir().then_some(name))
            })
            .collect();
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = vec![root.clone()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path()),
                );
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let module = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            let depends_on = deps.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::core::") {
                let rest = &code[i + "crate::core::".len()..];
                let mut names = Vec::new();
                if let Some(group) = rest.strip_prefix('{') {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    names.extend(
                        group
                            .split(',')
                            .map(|p| p.trim().split("::").next().unwrap_or_default()),
                    );
                } else {
                    names.push(
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap_or_default(),
                    );
                }
                for name in names {
                    if name != module && modules.contains(name) {
                        depends_on.insert(name.to_owned());
                    }
                }
            }
        }
        deps
    }

    /// `core` is layered: no module depends on itself through others.
    #[test]
    fn core_has_no_import_circles() {
        fn visit<'a>(
            module: &'a str,
            deps: &'a BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if let Some(at) = path.iter().position(|m| *m == module) {
                panic!("import circle: {} -> {module}", path[at..].join(" -> "));
            }
            if !done.insert(module) {
                return;
            }
            path.push(module);
            for next in deps.get(module).into_iter().flatten() {
                visit(next, deps, path, done);
            }
            path.pop();
        }
        let deps = dependencies();
        assert!(deps.len() > 20, "{deps:?}");
        let mut done = BTreeSet::new();
        for module in deps.keys() {
            visit(module, &deps, &mut Vec::new(), &mut done);
        }
    }
}
