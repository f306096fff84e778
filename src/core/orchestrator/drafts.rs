//! Drafts (façade part): viewing, adding, removing, clearing, copying and importing servers,
//! the secrets they refer to, validation, rendering and the diff against the client's file.

use super::{
    AddOutcome, AddServer, BTreeMap, BTreeSet, ClientDef, Code, Diagnostic, Draft, DraftServer,
    EnvValue, Error, FileDiff, Hint, ImportReport, OnClash, Orchestrator, Origin, RenderOptions,
    Result, SecretStyle, ValidationReport, Value, deploy, import, merge_entries, render, resolve,
    secrets, validate, writer,
};

impl Orchestrator {
    /// Applies `change` to a draft, one writer at a time, and stores the result when it
    /// succeeds.
    pub(super) fn update_draft<T>(
        &self,
        client: &str,
        profile: &str,
        change: impl FnOnce(&mut Draft) -> Result<T>,
    ) -> Result<(T, Draft)> {
        crate::core::store::update_draft(&*self.drafts, client, profile, self.now(), change)
    }

    /// The names of the stored secrets (never their values).
    pub fn secret_names(&self) -> Result<Vec<String>> {
        self.secrets.names()
    }

    /// The key a secret env var of a (client, profile) is stored under, if any: its scoped
    /// key, else the shared one.
    pub fn stored_secret_key(
        &self,
        client: &str,
        profile: &str,
        var: &str,
    ) -> Result<Option<String>> {
        self.secrets.stored_key(client, profile, var)
    }

    /// Stores a secret (the name checked).
    pub fn set_secret(&self, name: &str, value: &str) -> Result<()> {
        secrets::check_secret_name(name)?;
        self.secrets.set(name, value)
    }

    /// Removes a secret: `UNKNOWN_SECRET` when there is none of that name.
    pub fn remove_secret(&self, name: &str) -> Result<()> {
        if self.secrets.remove(name)? {
            Ok(())
        } else {
            Err(Error::invalid(
                Code::UnknownSecret,
                "name",
                format!("no secret named `{}`", crate::core::error::echo(name)),
                Hint::step(
                    "list the stored secrets' names",
                    crate::core::next::Op::ListSecrets,
                    &[],
                ),
            ))
        }
    }

    /// The draft of a (client, profile).
    pub fn draft(&self, client: &str, profile: &str) -> Result<Draft> {
        self.check_target(client, profile)?;
        self.drafts.load(client, profile)
    }

    /// Adds a catalog server to a draft. Parameters are type-checked and defaults applied;
    /// secrets go to the secret store and the draft keeps their names.
    pub fn add_server(&self, req: &AddServer) -> Result<AddOutcome> {
        let resolve::Resolved {
            name,
            server,
            pending_secrets,
            ..
        } = self.resolve_server(req, resolve::Missing::Refuse)?;
        let mut stored_secrets = Vec::new();
        let mut unchanged = false;
        let ((), draft) = self.update_draft(&req.client, &req.profile, |draft| {
            if let Some(there) = draft.servers.get(&name) {
                if req.if_exists == crate::core::draft::IfExists::Keep && *there == server {
                    unchanged = true;
                    return Ok(());
                }
                return Err(resolve::duplicate_name(&name));
            }
            // Only once the add cannot be rejected: a failed add leaves the secret store as it was.
            for (key, value) in &pending_secrets {
                self.secrets.set(key, value)?;
                stored_secrets.push(key.clone());
            }
            draft.servers.insert(name.clone(), server.clone());
            Ok(())
        })?;
        Ok(AddOutcome {
            diagnostics: self.validate_draft(&draft),
            server_count: draft.servers.len(),
            name,
            server,
            stored_secrets,
            unchanged,
        })
    }

    /// Removes a server from a draft.
    pub fn remove_server(&self, client: &str, profile: &str, name: &str) -> Result<Draft> {
        self.check_target(client, profile)?;
        let ((), draft) = self.update_draft(client, profile, |draft| {
            draft
                .servers
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| Error::NotInDraft {
                    client: client.to_owned(),
                    profile: profile.to_owned(),
                    name: name.to_owned(),
                })
        })?;
        Ok(draft)
    }

    /// Empties a draft; returns how many servers it had.
    pub fn clear_draft(&self, client: &str, profile: &str) -> Result<usize> {
        self.check_target(client, profile)?;
        let (count, _) = self.update_draft(client, profile, |draft| {
            let count = draft.servers.len();
            draft.servers.clear();
            Ok(count)
        })?;
        Ok(count)
    }

    /// Copies the draft's servers into other clients' drafts (same or another profile).
    /// Secrets scoped to the source get the target's own key (value copied). A server whose
    /// name the target's draft already has is a `NAME_CLASH`, refused before anything is
    /// copied, unless `on_clash` says to overwrite or skip it.
    pub fn copy_draft(
        &self,
        client: &str,
        profile: &str,
        targets: &[String],
        target_profile: &str,
        on_clash: OnClash,
    ) -> Result<Vec<(String, usize)>> {
        let source = self.draft(client, profile)?;
        for target in targets {
            self.check_target(target, target_profile)?;
        }
        if on_clash == OnClash::Refuse {
            let clashes: Vec<String> = targets
                .iter()
                .map(|target| Ok((target, self.draft(target, target_profile)?)))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flat_map(|(target, draft)| {
                    source
                        .servers
                        .keys()
                        .filter(|name| draft.servers.contains_key(*name))
                        .map(|name| format!("{target}: {name}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            if !clashes.is_empty() {
                return Err(Error::invalid(
                    Code::NameClash,
                    "to",
                    format!(
                        "the target drafts already have servers of these names: {}",
                        clashes.join(", ")
                    ),
                    "replace them with --overwrite, keep them with --skip, or rename the servers first",
                ));
            }
        }
        let source_scope = format!("{client}/{profile}/");
        let stored = self.secrets.all()?;
        targets
            .iter()
            .map(|target| {
                let mut servers = source.servers.clone();
                for value in servers.values_mut().flat_map(|s| s.env.values_mut()) {
                    if let EnvValue::Secret { secret } = value
                        && let Some(var) = secret.strip_prefix(&source_scope)
                    {
                        let key = secrets::scoped_key(target, target_profile, var);
                        if !stored.contains_key(&key)
                            && let Some(v) = stored.get(secret.as_str())
                        {
                            self.secrets.set(&key, v)?;
                        }
                        *secret = key;
                    }
                }
                let (count, _) = self.update_draft(target, target_profile, |draft| {
                    for (name, server) in &servers {
                        if on_clash == OnClash::Skip && draft.servers.contains_key(name) {
                            continue;
                        }
                        draft.servers.insert(name.clone(), server.clone());
                    }
                    Ok(draft.servers.len())
                })?;
                Ok((target.clone(), count))
            })
            .collect()
    }

    /// Adopts the servers already in the client's file into the draft. Plain-text secrets are
    /// moved into the secret store; servers whose names are already in the draft are skipped.
    pub fn import(&self, client: &str, profile: &str) -> Result<ImportReport> {
        self.check_target(client, profile)?;
        let def = self.profile_client(client, profile)?;
        let def = &*def;
        let path = self.target_path(client, profile)?;
        let (_, entries) = self.read_entries(def, &path)?;
        let stored = self.secrets.all()?;
        let mut converted = Vec::new();
        let mut skipped = Vec::new();
        let mut to_store: BTreeMap<String, String> = BTreeMap::new();
        let scope = secrets::scoped_key(client, profile, "");
        // Servers the draft has are skipped before their secrets are moved (checked again
        // under the lock below).
        let present = self.drafts.load(client, profile)?.servers;
        for (name, value) in entries {
            if present.contains_key(&name) {
                skipped.push((name, "already in the draft".into()));
                continue;
            }
            match import::parse_entry(def, &value, &self.launcher) {
                Ok(mut server) => {
                    import::move_secrets(
                        &name,
                        &scope,
                        &mut server,
                        &mut import::SecretSink {
                            stored: &stored,
                            to_store: &mut to_store,
                        },
                    );
                    converted.push((name, server));
                }
                Err(reason) => skipped.push((name, reason)),
            }
        }
        for (key, value) in &to_store {
            self.secrets.set(key, value)?;
        }
        let (imported, draft) = self.update_draft(client, profile, |draft| {
            let mut imported = Vec::new();
            for (name, server) in converted {
                if draft.servers.contains_key(&name) {
                    skipped.push((name, "already in the draft".into()));
                } else {
                    draft.servers.insert(name.clone(), server);
                    imported.push(name);
                }
            }
            Ok(imported)
        })?;
        Ok(ImportReport {
            path,
            imported,
            skipped,
            secrets_moved: to_store.into_keys().collect(),
            server_count: draft.servers.len(),
        })
    }

    // ---- validation and diff --------------------------------------------------------------

    /// Validates a draft (pure apart from cached lookups; fast enough for every keystroke).
    pub fn validate_draft(&self, draft: &Draft) -> Vec<Diagnostic> {
        let secret_names: BTreeSet<String> = self
            .secrets
            .names()
            .unwrap_or_default()
            .into_iter()
            .collect();
        self.validate_with(draft, &secret_names)
    }

    /// Validates a draft against a known set of secret names.
    pub fn validate_with(&self, draft: &Draft, secret_names: &BTreeSet<String>) -> Vec<Diagnostic> {
        let env = &self.env;
        let launcher = &self.launcher;
        let command_exists = |c: &str| launcher.is_self(c) || env.command_exists(c);
        // A stored policy that no longer parses fails validation: no draft passes unchecked.
        let (policy, policy_error) = match self.policy() {
            Ok(policy) => (policy, None),
            Err(e) => (None, Some(e)),
        };
        let ctx = validate::Context {
            client: self.client(&draft.client).ok(),
            catalog: &self.catalog,
            secret_names,
            command_exists: &command_exists,
            policy: policy.as_ref(),
        };
        let mut diagnostics = validate::validate(draft, &ctx);
        if let Some(e) = policy_error {
            diagnostics.push(Diagnostic {
                code: e.code().to_owned(),
                severity: crate::core::diagnostic::Severity::Error,
                path: "policy".into(),
                server: None,
                message: e.to_string(),
                hint: "set the policy again with `mcp-orch policy FILE`".into(),
            });
        }
        diagnostics
    }

    /// Validates the stored draft of a (client, profile).
    pub fn validate(&self, client: &str, profile: &str) -> Result<ValidationReport> {
        let draft = self.draft(client, profile)?;
        let diagnostics = self.validate_draft(&draft);
        let (errors, warnings): (Vec<_>, Vec<_>) =
            diagnostics.into_iter().partition(Diagnostic::is_error);
        Ok(ValidationReport {
            client_id: client.to_owned(),
            profile_id: profile.to_owned(),
            valid: errors.is_empty(),
            server_count: draft.servers.len(),
            errors,
            warnings,
        })
    }

    /// Renders a draft's servers in the client's spelling.
    pub fn render_entries(
        &self,
        client: &ClientDef,
        servers: &BTreeMap<String, DraftServer>,
        style: SecretStyle,
    ) -> Result<BTreeMap<String, Value>> {
        let values = if style == SecretStyle::Inline {
            Some(self.secrets.all()?)
        } else {
            None
        };
        let opts = RenderOptions {
            launcher: &self.launcher,
            secret_style: style,
            secret_values: values.as_ref(),
        };
        servers
            .iter()
            .map(|(name, server)| {
                Ok((
                    name.clone(),
                    render::render_entry(client, name, server, &opts)?,
                ))
            })
            .collect()
    }

    /// Plans writing `entries` into the client's file: the structured diff against what the
    /// file holds and the unified diff, redacted. Only entries the deploy record owns are
    /// removed. Writes nothing.
    pub fn plan_file(
        &self,
        client: &str,
        profile: &str,
        entries: BTreeMap<String, Value>,
        adoptable: &BTreeSet<String>,
    ) -> Result<FileDiff> {
        let def = self.profile_client(client, profile)?;
        let def = &*def;
        let path = self.target_path(client, profile)?;
        let target = writer::resolve(&path, true)?;
        let text = writer::read_text(&target.real_path)?;
        let record = self.deploy_record(client, profile)?;
        let merged = merge_entries(
            def,
            &path,
            text.as_deref().unwrap_or_default(),
            &entries,
            &record.owned,
            adoptable,
        )?;
        let now = deploy::FileNow {
            path: &path,
            target: &target,
            text: text.as_deref(),
        };
        self.file_diff(
            def,
            (client, profile),
            &now,
            &merged.text,
            merged.servers,
            merged.notes,
            &[merged.current, entries],
            true,
        )
    }

    /// Diffs the draft against the client's file.
    pub fn diff(&self, client: &str, profile: &str) -> Result<FileDiff> {
        let draft = self.draft(client, profile)?;
        let def = self.client(client)?;
        let entries = self.render_entries(def, &draft.servers, SecretStyle::AsConfigured)?;
        let adoptable = draft
            .servers
            .iter()
            .filter(|(_, s)| s.origin == Origin::Imported)
            .map(|(n, _)| n.clone())
            .collect();
        let mut plan = self.plan_file(client, profile, entries, &adoptable)?;
        plan.notes
            .extend(render::client_env_notes(def, &draft.servers));
        Ok(plan)
    }
}
