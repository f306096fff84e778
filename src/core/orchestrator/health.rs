//! Health (façade part): starting servers as their client would (probes of the draft, the
//! catalog and the client's own file), `status --verify` and `doctor`.

use super::registry::{
    CheckStatus, DoctorCheck, DoctorReport, ProbeTarget, Verification, any_probe_failed,
};
use super::{AddServer, Missing, Orchestrator, TargetStatus};
use crate::core::catalog::Transport;
use crate::core::code::Code;
use crate::core::draft::{Draft, DraftServer, EnvValue};
use crate::core::error::{Error, Result};
use crate::core::launch;
use crate::core::next::{Hint, Op, Step};
use crate::core::probe::{self, ProbeReport, ProbeSpec};
use crate::core::render;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

impl Orchestrator {
    // ---- probes ---------------------------------------------------------------------------

    /// Resolves what to probe into a runnable spec: the draft server (or catalog entry with its
    /// defaults), env with secrets from the secret store by the same rules as `mcp-orch run`,
    /// headers with their `${VAR}` references resolved. Unknown clients, profiles or servers
    /// and bad params are errors; a missing secret is a failed probe.
    pub fn resolve_probe(&self, target: &ProbeTarget) -> Result<ProbeSpec> {
        match target {
            ProbeTarget::Server { name, server } => self.spec_for(name, server, "draft", None),
            ProbeTarget::Named {
                name,
                client,
                profile,
                params,
            } => {
                if let Some(client) = client {
                    let profile = profile
                        .as_deref()
                        .unwrap_or(crate::core::profiles::DEFAULT_PROFILE);
                    let draft = self.draft(client, profile)?;
                    if let Some(server) = draft.servers.get(name) {
                        return self.spec_for(name, server, "draft", Some(client));
                    }
                    if self.catalog.find(name).is_none() {
                        return Err(Error::invalid(
                            Code::UnknownServer,
                            "server_name",
                            format!(
                                "`{name}` is neither in the draft of {client}/{profile} nor in the catalog"
                            ),
                            Hint::new(
                                "list the draft, or search the catalog",
                                [
                                    Step::new(
                                        Op::ShowDraft,
                                        &[("client_id", client), ("profile_id", profile)],
                                    ),
                                    Step::new(Op::SearchServers, &[]),
                                ],
                            ),
                        ));
                    }
                }
                self.catalog_spec(name, params)
            }
        }
    }

    fn catalog_spec(&self, id: &str, params: &[(String, String)]) -> Result<ProbeSpec> {
        let entry = self.server(id)?;
        // The add's rules; a required env var without a value fails the probe, not the call,
        // unless this process's environment has it.
        let resolved = self.resolve_server(
            &AddServer {
                server_id: id.to_owned(),
                params: params.to_vec(),
                ..AddServer::default()
            },
            Missing::Allow,
        )?;
        let missing = resolved
            .missing_env
            .into_iter()
            .find(|var| self.env.var(var).is_none());
        let server = resolved.server;
        let mut spec = self.spec_for(id, &server, "catalog", None)?;
        if let (None, Some(var)) = (&spec.resolve_error, missing) {
            let how = if entry.env_var(&var).is_some_and(|e| e.secret) {
                format!("store it with `mcp-orch secrets set {var}`")
            } else {
                format!("set {var} in the environment")
            };
            spec.resolve_error = Some((
                "MISSING_REQUIRED_ENV",
                format!("`{id}` needs env var `{var}`, which is not set: {how}"),
            ));
        }
        Ok(spec)
    }

    /// The probe of a draft server. Its secrets come from the store, as the launcher gives
    /// them, except those `client` reads from its own environment (`env` delivery): those come
    /// from this process's environment, and one that is not set fails `MISSING_CLIENT_ENV`.
    fn spec_for(
        &self,
        name: &str,
        server: &DraftServer,
        from: &'static str,
        client: Option<&str>,
    ) -> Result<ProbeSpec> {
        let mut secrets = self.secrets.all()?;
        let mut resolve_error = None;
        if let Some(def) = client.and_then(|c| self.client(c).ok()) {
            let vars = render::client_env_vars(def, server);
            // Keys the client fills itself: their value is the environment's, or none, and the
            // first unset one is the failure to report.
            secrets.retain(|key, _| !vars.iter().any(|v| v == render::secret_var(key)));
            let header_keys = server.headers.values().flat_map(|t| render::secret_keys(t));
            let keys: Vec<String> = server
                .env
                .values()
                .filter_map(EnvValue::secret_name)
                .map(str::to_owned)
                .chain(header_keys)
                .collect();
            for key in keys {
                if let Some(v) = self.env.var(render::secret_var(&key)) {
                    secrets.insert(key, v.to_owned());
                }
            }
            resolve_error = vars.iter().find(|v| self.env.var(v).is_none()).map(|var| {
                (
                    "MISSING_CLIENT_ENV",
                    format!(
                        "`{var}` is not set in this environment, and {name} fills it from its own: export it where {name} is started, or deliver it with --secret-delivery launcher",
                        name = def.name
                    ),
                )
            });
        }
        let mut secret_values = Vec::new();
        let mut env = BTreeMap::new();
        for (key, value) in &server.env {
            match value {
                EnvValue::Plain(v) => {
                    env.insert(key.clone(), v.clone());
                }
                EnvValue::Secret { secret } => match secrets.get(secret) {
                    Some(v) => {
                        secret_values.push(v.clone());
                        env.insert(key.clone(), v.clone());
                    }
                    None => {
                        resolve_error.get_or_insert((
                            "MISSING_SECRET",
                            format!(
                                "server `{name}` needs secret `{secret}`, which is not in the secret store: store it with `mcp-orch secrets set {secret}`"
                            ),
                        ));
                    }
                },
            }
        }
        let mut headers = BTreeMap::new();
        for (header, template) in &server.headers {
            let mut missing = None;
            let value = render::replace_refs(template, |var| {
                let v = match server.env.get(var) {
                    Some(EnvValue::Plain(v)) => Some(v.clone()),
                    Some(EnvValue::Secret { secret }) => secrets.get(secret).cloned(),
                    None => secrets.get(var).cloned(),
                };
                if v.is_none() {
                    missing = Some(var.to_owned());
                }
                v
            });
            if let Some(v) = value {
                if template.contains("${") {
                    secret_values.push(v.clone());
                }
                headers.insert(header.clone(), v);
            } else {
                let var = missing.unwrap_or_default();
                resolve_error.get_or_insert((
                    "MISSING_SECRET",
                    format!(
                        "header `{header}` of `{name}` needs secret `{var}`, which is not in the secret store: store it with `mcp-orch secrets set {var}`"
                    ),
                ));
            }
        }
        // `{secret:KEY}` in arguments and the URL, as the launcher and the bridge fill them.
        let mut fill = |field: &str, text: &str| {
            render::fill_placeholders(text, |key| {
                let value = secrets.get(key).cloned();
                secret_values.extend(value.clone());
                value
            })
            .unwrap_or_else(|key| {
                resolve_error.get_or_insert((
                    "MISSING_SECRET",
                    format!(
                        "{field} of `{name}` needs secret `{key}`, which is not in the secret store: store it with `mcp-orch secrets set {key}`"
                    ),
                ));
                text.to_owned()
            })
        };
        let args: Vec<String> = (server.args.iter().enumerate())
            .map(|(i, a)| fill(&format!("args[{i}]"), a))
            .collect();
        let url = server.url.as_deref().map(|u| fill("the URL", u));
        // The command is looked up, and runs, with the PATH of the environment mcp-orch
        // resolves everything else in (the process's, or a test's), unless the server sets one.
        if let Some(path) = self.env.var("PATH")
            && !env.contains_key("PATH")
        {
            env.insert("PATH".to_owned(), path.to_owned());
        }
        // Header values hold credentials even when not templated (`Authorization: Bearer x`).
        secret_values.extend(
            server
                .headers
                .iter()
                .filter(|(h, _)| crate::core::validate::looks_secret(h))
                .map(|(_, v)| v.clone()),
        );
        Ok(ProbeSpec {
            name: name.to_owned(),
            server_id: server.server_id.clone(),
            resolved_from: from,
            transport: server.transport,
            command: server.command.clone(),
            args,
            env,
            clear_env: false,
            url,
            headers,
            secret_values,
            resolve_error,
        })
    }

    /// Probes one server: starts it as its client would and runs `initialize` and
    /// `tools/list`. Errors only when the target cannot be resolved; every failure of the
    /// server itself is in the report.
    pub async fn probe(&self, target: ProbeTarget, timeout: Duration) -> Result<ProbeReport> {
        let spec = self.resolve_probe(&target)?;
        Ok(probe::run(spec, timeout).await)
    }

    /// [`Self::probe`] on a current-thread runtime of its own.
    pub fn probe_blocking(&self, target: &ProbeTarget, timeout: Duration) -> Result<ProbeReport> {
        let spec = self.resolve_probe(target)?;
        Ok(probe::runtime()?.block_on(probe::run(spec, timeout)))
    }

    /// The entries of a client's file, each as that client would start it: its reference
    /// syntax expanded from `client_env` (the environment the client runs in) and the
    /// environment it gives its servers; only `name` when given, only the entries mcp-orch
    /// owns when `owned_only`.
    pub fn client_probe_specs(
        &self,
        client: &str,
        profile: &str,
        name: Option<&str>,
        owned_only: bool,
        client_env: &BTreeMap<String, String>,
    ) -> Result<Vec<ProbeSpec>> {
        self.check_target(client, profile)?;
        let def = self.profile_client(client, profile)?;
        let def = &*def;
        let path = self.target_path(client, profile)?;
        let (_, entries) = self.read_entries(def, &path)?;
        let owned = self.deploy_record(client, profile)?.owned;
        if let Some(name) = name
            && !entries.iter().any(|(n, _)| n == name)
        {
            return Err(Error::invalid(
                Code::NotInClientFile,
                "server_name",
                format!(
                    "{} has no server named `{}`",
                    path.display(),
                    name.chars().take(80).collect::<String>()
                ),
                Hint::step(
                    "list the entries",
                    Op::ProbeAsClient,
                    &[("client_id", client)],
                ),
            ));
        }
        Ok(entries
            .iter()
            .filter(|(n, _)| name.is_none_or(|name| n == name))
            .filter(|(n, _)| !owned_only || owned.contains(n))
            .map(|(n, entry)| {
                launch::spec(def, n, entry, client_env)
                    .unwrap_or_else(|reason| unreadable_entry(n, &reason))
            })
            .collect())
    }

    /// Probes the entries of a client's file as that client starts them
    /// ([`Self::client_probe_specs`]), with this process's environment as the client's.
    pub async fn probe_as_client(
        &self,
        client: &str,
        profile: &str,
        name: Option<&str>,
        timeout: Duration,
    ) -> Result<Vec<ProbeReport>> {
        let specs = self.client_probe_specs(client, profile, name, false, self.env.vars())?;
        Ok(probe::run_many(specs, timeout, PROBE_PARALLELISM).await)
    }

    /// [`Self::probe_as_client`], only the entries mcp-orch owns when `owned_only`, on a
    /// current-thread runtime of its own.
    pub fn probe_as_client_blocking(
        &self,
        client: &str,
        profile: &str,
        name: Option<&str>,
        owned_only: bool,
        timeout: Duration,
    ) -> Result<Vec<ProbeReport>> {
        let specs = self.client_probe_specs(client, profile, name, owned_only, self.env.vars())?;
        Ok(probe::runtime()?.block_on(probe::run_many(specs, timeout, PROBE_PARALLELISM)))
    }

    /// Deployed entries start this binary by its path: report a path that is gone (the binary
    /// was moved or uninstalled), per (client, profile).
    fn launcher_checks(&self) -> Vec<DoctorCheck> {
        let Ok(targets) = self.status(None) else {
            return Vec::new();
        };
        targets
            .into_iter()
            .filter(|t| !t.missing_launcher.is_empty())
            .map(|t| {
                let mut c = check(
                    "launcher",
                    &format!("{}/{}", t.client_id, t.profile_id),
                    CheckStatus::Error,
                    format!(
                        "{} start an mcp-orch binary that is no longer there",
                        t.missing_launcher.join(", ")
                    ),
                );
                c.hint = Some(format!(
                    "publish again with the installed binary, then deploy: `mcp-orch publish --client {c} --profile {p} -m \"new binary path\" && mcp-orch deploy --client {c} --profile {p} --yes`",
                    c = t.client_id,
                    p = t.profile_id
                ));
                c.path = t.path;
                c
            })
            .collect()
    }

    /// Verifies the deployed ones of `targets` (from [`Self::status`]): each entry mcp-orch
    /// owns is started as the client starts it ([`Self::client_probe_specs`]), and where the
    /// client's own list command is installed, its verdict is kept beside.
    pub fn verify_blocking(
        &self,
        targets: &[TargetStatus],
        timeout: Duration,
    ) -> Result<Vec<Verification>> {
        let runtime = probe::runtime()?;
        let mut out = Vec::new();
        for target in targets {
            if target.deployed_at.is_none() {
                continue;
            }
            let (c, p) = (&target.client_id, &target.profile_id);
            let specs = self.client_probe_specs(c, p, None, true, self.env.vars())?;
            let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
            let def = self.client(c)?;
            let (servers, client_says) = runtime.block_on(async {
                tokio::join!(
                    probe::run_many(specs, timeout, PROBE_PARALLELISM),
                    launch::client_verdicts(def, &self.env, &names, CLIENT_LIST_TIMEOUT)
                )
            });
            out.push(Verification {
                client_id: c.to_owned(),
                profile_id: p.clone(),
                ok: !any_probe_failed(&servers),
                servers,
                client_says,
            });
        }
        Ok(out)
    }

    /// Probes every server of a draft (a few at a time), in name order.
    pub async fn probe_draft(&self, draft: &Draft, timeout: Duration) -> Result<Vec<ProbeReport>> {
        let specs = draft
            .servers
            .iter()
            .map(|(name, server)| self.spec_for(name, server, "draft", Some(&draft.client)))
            .collect::<Result<Vec<_>>>()?;
        Ok(probe::run_many(specs, timeout, PROBE_PARALLELISM).await)
    }

    /// [`Self::probe_draft`] on a current-thread runtime of its own.
    pub fn probe_draft_blocking(
        &self,
        draft: &Draft,
        timeout: Duration,
    ) -> Result<Vec<ProbeReport>> {
        probe::runtime()?.block_on(self.probe_draft(draft, timeout))
    }

    // ---- doctor ---------------------------------------------------------------------------

    /// Checks the tools servers need (node, npx, uvx, docker, with versions), that every
    /// detected client file parses, and the permissions of keys and the secret store. A
    /// missing tool is an error only when a draft uses it.
    pub async fn doctor(&self) -> DoctorReport {
        let mut checks = Vec::new();
        let used = self.draft_commands();
        for tool in TOOLS {
            checks.push(self.tool_check(tool, used.contains(tool)).await);
        }
        for client in self.all_clients() {
            let status = match self.client_status(client) {
                Ok(s) => s,
                Err(e) => {
                    checks.push(check(
                        "client",
                        &client.id,
                        CheckStatus::Error,
                        e.to_string(),
                    ));
                    continue;
                }
            };
            if !status.detected {
                continue;
            }
            let path = status.config.path.clone();
            let mut c = match (&status.error, status.server_count) {
                (Some(error), _) => {
                    let mut c = check("client", &client.id, CheckStatus::Error, error.clone());
                    c.hint = Some(
                        "fix the file's syntax; mcp-orch leaves it untouched until then".into(),
                    );
                    c
                }
                (None, count) => check(
                    "client",
                    &client.id,
                    CheckStatus::Ok,
                    format!("{} parses ({} servers)", client.name, count.unwrap_or(0)),
                ),
            };
            c.path = path;
            checks.push(c);
        }
        checks.extend(self.launcher_checks());
        checks.extend(self.permission_checks());
        checks.push(self.registry_check());
        let errors = checks
            .iter()
            .filter(|c| c.status == CheckStatus::Error)
            .count();
        let warnings = checks
            .iter()
            .filter(|c| c.status == CheckStatus::Warn)
            .count();
        DoctorReport {
            ok: errors == 0,
            errors,
            warnings,
            checks,
        }
    }

    /// [`Self::doctor`] on a current-thread runtime of its own.
    pub fn doctor_blocking(&self) -> Result<DoctorReport> {
        Ok(probe::runtime()?.block_on(self.doctor()))
    }

    /// The commands of every stored draft.
    fn draft_commands(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for draft in self.drafts.all().unwrap_or_default() {
            out.extend(draft.servers.values().filter_map(|s| {
                s.command.as_deref().map(|c| {
                    Path::new(c)
                        .file_name()
                        .map_or_else(|| c.to_owned(), |n| n.to_string_lossy().into_owned())
                })
            }));
            if draft.servers.values().any(|s| s.transport.is_remote()) {
                // Bridged remotes run through `npx mcp-remote` in some clients.
                out.insert("npx".into());
            }
        }
        out
    }

    fn permission_checks(&self) -> Vec<DoctorCheck> {
        let mut out = Vec::new();
        let private = |path: &Path, what: &str| {
            let mode = crate::core::fsutil::existing_mode(path)?;
            // No group or other bits (`mode & 0o077 == 0`).
            let mut c = if mode.trailing_zeros() >= 6 {
                check(
                    "permissions",
                    what,
                    CheckStatus::Ok,
                    format!("mode {mode:o}"),
                )
            } else {
                let mut c = check(
                    "permissions",
                    what,
                    CheckStatus::Error,
                    format!(
                        "{} can be read by other users (mode {mode:o})",
                        path.display()
                    ),
                );
                c.hint = Some(format!("run `chmod 600 {}`", path.display()));
                c
            };
            c.path = Some(path.to_path_buf());
            Some(c)
        };
        if let Some(c) = private(self.secrets.path(), "secrets.json") {
            out.push(c);
        }
        if let Ok(keys) = std::fs::read_dir(self.state.join("keys")) {
            let mut paths: Vec<PathBuf> = keys
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "key"))
                .collect();
            paths.sort();
            for path in paths {
                let name = format!(
                    "keys/{}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                );
                if let Some(c) = private(&path, &name) {
                    out.push(c);
                }
            }
        }
        if let Some(mode) = crate::core::fsutil::existing_mode(self.home())
            && mode & 0o022 != 0
        {
            let mut c = check(
                "permissions",
                "home",
                CheckStatus::Warn,
                format!("the state directory can be written by other users (mode {mode:o})"),
            );
            c.hint = Some(format!("run `chmod 700 {}`", self.home().display()));
            c.path = Some(self.home().to_path_buf());
            out.push(c);
        }
        out
    }

    fn registry_check(&self) -> DoctorCheck {
        match (&self.registry.error, self.registry_store().load_state()) {
            (Some(e), _) => {
                let mut c = check("registry", "cache", CheckStatus::Warn, e.clone());
                c.hint = Some("run `mcp-orch registry sync --full` to rebuild it".into());
                c
            }
            (None, Ok(state)) if state.last_sync_at.is_some() => check(
                "registry",
                "cache",
                CheckStatus::Ok,
                format!(
                    "{} registry entries in the catalog",
                    self.registry.entries
                ),
            ),
            (None, Ok(_)) => check(
                "registry",
                "cache",
                CheckStatus::Ok,
                "never synced (run `mcp-orch registry sync` to add the official registry to the catalog)".into(),
            ),
            (None, Err(e)) => check("registry", "state", CheckStatus::Warn, e.to_string()),
        }
    }

    async fn tool_check(&self, tool: &str, needed: bool) -> DoctorCheck {
        if !self.env.command_exists(tool) {
            let (status, why) = if needed {
                (CheckStatus::Error, "a server in a draft needs it")
            } else {
                (CheckStatus::Warn, "servers started with it will not run")
            };
            let mut c = check(
                "tool",
                tool,
                status,
                format!("`{tool}` is not on PATH ({why})"),
            );
            c.hint = Some(
                match tool {
                    "uvx" => "install uv (https://docs.astral.sh/uv/)",
                    "docker" => "install Docker and make sure the daemon is running",
                    _ => "install Node.js 18 or newer (it brings npx)",
                }
                .into(),
            );
            return c;
        }
        let mut command = tokio::process::Command::new(tool);
        command
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(path) = self.env.var("PATH") {
            command.env("PATH", path);
        }
        let output = tokio::time::timeout(VERSION_TIMEOUT, command.output()).await;
        let version = match output {
            Ok(Ok(out)) if out.status.success() => {
                let text = if out.stdout.is_empty() {
                    out.stderr
                } else {
                    out.stdout
                };
                String::from_utf8_lossy(&text)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            }
            Ok(Ok(out)) => {
                return check(
                    "tool",
                    tool,
                    CheckStatus::Warn,
                    format!("`{tool} --version` exited with {}", out.status),
                );
            }
            Ok(Err(e)) => {
                return check(
                    "tool",
                    tool,
                    CheckStatus::Warn,
                    format!("cannot run `{tool}`: {e}"),
                );
            }
            Err(_) => {
                return check(
                    "tool",
                    tool,
                    CheckStatus::Warn,
                    format!("`{tool} --version` did not answer within 10 s"),
                );
            }
        };
        let message = if version.to_ascii_lowercase().starts_with(tool) {
            version.clone()
        } else {
            format!("{tool} {version}")
        };
        let mut c = check("tool", tool, CheckStatus::Ok, message);
        if tool == "node" && node_major(&version).is_some_and(|m| m < 18) {
            c.status = CheckStatus::Warn;
            c.message = format!("node {version} is older than 18, which most MCP servers need");
            c.hint = Some("install Node.js 18 or newer".into());
        }
        c.version = Some(version);
        c
    }
}

/// Longest wait for `<tool> --version`.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// `v20.1.0` → 20.
fn node_major(version: &str) -> Option<u32> {
    version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn check(category: &'static str, name: &str, status: CheckStatus, message: String) -> DoctorCheck {
    DoctorCheck {
        category,
        name: name.to_owned(),
        status,
        message,
        hint: None,
        path: None,
        version: None,
    }
}

/// The tools that stdio servers are usually started with.
const TOOLS: [&str; 4] = ["node", "npx", "uvx", "docker"];

/// Probes run at once by [`Orchestrator::probe_draft`].
const PROBE_PARALLELISM: usize = 4;

/// How long a client's own list command may take (some start every server).
const CLIENT_LIST_TIMEOUT: Duration = Duration::from_mins(1);

/// A probe that reports an entry mcp-orch could not read, without running anything.
fn unreadable_entry(name: &str, reason: &str) -> ProbeSpec {
    ProbeSpec {
        name: name.to_owned(),
        server_id: None,
        resolved_from: "client",
        transport: Transport::Stdio,
        command: None,
        args: Vec::new(),
        env: BTreeMap::new(),
        clear_env: true,
        url: None,
        headers: BTreeMap::new(),
        secret_values: Vec::new(),
        resolve_error: Some(("INVALID_ENTRY", format!("`{name}`: {reason}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::draft::Draft;
    use crate::core::env::{Environment, Os};
    use crate::core::orchestrator::{Options, SystemClock};
    use crate::core::registry::{SyncOptions, SyncProgress};

    fn is_send<T: Send>(_: &T) {}

    /// The MCP server and the TUI run these on multi-threaded runtimes.
    #[test]
    fn io_futures_are_send() {
        let dir = tempfile::tempdir().unwrap();
        let orch = Orchestrator::open(Options {
            home: dir.path().to_path_buf(),
            env: Environment::synthetic(dir.path(), Os::Linux, &[]),
            launcher: PathBuf::from("/usr/bin/mcp-orch"),
            clock: Arc::new(SystemClock),
            store: None,
        })
        .unwrap();
        let draft = Draft::empty("cursor", "default");
        is_send(&orch.probe(ProbeTarget::named("x", None, None), probe::DEFAULT_TIMEOUT));
        is_send(&orch.probe_draft(&draft, probe::DEFAULT_TIMEOUT));
        is_send(&orch.doctor());
        let mut progress = |_: &SyncProgress| {};
        is_send(&orch.sync_registry(&SyncOptions::default(), &mut progress));
        assert_eq!(node_major("v20.20.2"), Some(20));
        assert_eq!(node_major("18"), Some(18));
        assert_eq!(node_major("x"), None);
    }
}
