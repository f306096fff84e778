//! Clients and profiles (façade part): which clients a command means, what was found of each
//! on this machine, profiles, and the file each (client, profile) deploys to.

use super::{
    ClientDef, ClientSet, ClientStatus, Code, Error, Hint, Orchestrator, Path, PathBuf, Profile,
    ResolvedPath, Result, Scope, Value, document, fsutil,
};

impl Orchestrator {
    // ---- clients and profiles -------------------------------------------------------------

    /// The clients a command names: one id, a comma-separated list, or `all`: every client
    /// with a stored draft of `profile` ([`ClientSet::Drafted`]: validate, publish, apply),
    /// with a published release of it ([`ClientSet::Published`]: deploy), or deployed or
    /// published ([`ClientSet::Tracked`]: status). Whether the client's file exists yet
    /// does not matter. Unknown ids and profiles are errors, before anything is done.
    pub fn select_clients(&self, spec: &str, profile: &str, set: ClientSet) -> Result<Vec<String>> {
        if spec.trim() != "all" {
            let ids: Vec<String> = spec
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                return Err(Error::invalid(
                    Code::InvalidArgument,
                    "client_id",
                    "no client named",
                    "name a client id, a comma-separated list, or `all`",
                ));
            }
            for id in &ids {
                self.profile(id, profile)?;
            }
            return Ok(ids);
        }
        let mut chosen = Vec::new();
        for id in self.clients.ids() {
            if self.profiles.get(&id, profile).is_err() {
                continue;
            }
            let wanted = match set {
                ClientSet::Drafted => self.drafts.exists(&id, profile),
                ClientSet::Published => self.latest_release(&id, profile)?.is_some(),
                ClientSet::Tracked => {
                    self.latest_release(&id, profile)?.is_some()
                        || self.deploy_record(&id, profile)?.deployed_at.is_some()
                }
            };
            if wanted {
                chosen.push(id);
            }
        }
        Ok(chosen)
    }

    /// Every client with its detected state.
    pub fn client_statuses(&self) -> Result<Vec<ClientStatus>> {
        self.all_clients()
            .into_iter()
            .map(|c| self.client_status(c))
            .collect()
    }

    /// One client's detected state.
    pub fn client_status(&self, client: &ClientDef) -> Result<ClientStatus> {
        let config = client.resolve_user(&self.env);
        let (server_count, error) = match (&config.path, config.exists) {
            (Some(path), true) => match self.read_entries(client, path) {
                Ok((_, entries)) => (Some(entries.len()), None),
                Err(e) => (None, Some(e.to_string())),
            },
            _ => (None, None),
        };
        Ok(ClientStatus {
            id: client.id.clone(),
            name: client.name.clone(),
            format: client.format.as_str(),
            detected: config.exists,
            config,
            server_count,
            error,
            profiles: self
                .profiles
                .list(&client.id)?
                .into_iter()
                .map(|p| p.id)
                .collect(),
            remote: client.remote.support,
            project_scope: client.has_project_scope(),
            version: client.resolved_version.clone(),
        })
    }

    /// The profiles of a client.
    pub fn profiles(&self, client: &str) -> Result<Vec<Profile>> {
        self.client(client)?;
        self.profiles.list(client)
    }

    /// A profile of a client.
    pub fn profile(&self, client: &str, profile: &str) -> Result<Profile> {
        self.client(client)?;
        self.profiles.get(client, profile)
    }

    /// Creates a profile.
    pub fn create_profile(&self, client: &str, profile: Profile) -> Result<Profile> {
        let def = self.client(client)?;
        if profile.scope == Scope::Project && !def.has_project_scope() && profile.path.is_none() {
            return Err(Error::invalid(
                Code::NoProjectScope,
                "scope",
                format!("{} has no project-scope config file", def.name),
                "use the user scope, or pin a file with --path",
            ));
        }
        if profile.scope == Scope::Local
            && (def.local_container.is_empty() || profile.project_dir.is_none())
        {
            return Err(Error::invalid(
                Code::NoProjectScope,
                "scope",
                format!(
                    "{} keeps no servers per project in its user file (local scope)",
                    def.name
                ),
                "use --project for the project's own file, or the user scope",
            ));
        }
        self.profiles.create(client, profile, self.now())
    }

    /// Deletes a profile and its draft.
    pub fn delete_profile(&self, client: &str, profile: &str) -> Result<()> {
        self.client(client)?;
        self.profiles.delete(client, profile)?;
        self.drafts.delete(client, profile)
    }

    /// The file a profile deploys to.
    pub fn target(&self, client: &str, profile: &str) -> Result<ResolvedPath> {
        let def = self.client(client)?;
        let profile = self.profiles.get(client, profile)?;
        Ok(match (&profile.path, profile.scope) {
            (Some(path), _) => {
                let path = self
                    .env
                    .expand(&path.display().to_string())
                    .unwrap_or_else(|| path.clone());
                let exists = path.is_file();
                ResolvedPath {
                    path: Some(path.clone()),
                    exists,
                    candidates: vec![crate::core::clients::Candidate { path, exists }],
                }
            }
            (None, Scope::Project) => {
                def.resolve_project(profile.project_dir.as_deref().unwrap_or(&self.env.cwd))
            }
            (None, Scope::User | Scope::Local) => def.resolve_user(&self.env),
        })
    }

    /// The client's definition as a profile's file is laid out: for a local-scope profile,
    /// the servers sit inside the project's own entry of the user file.
    pub fn profile_client(
        &self,
        client: &str,
        profile: &str,
    ) -> Result<std::borrow::Cow<'_, ClientDef>> {
        let def = self.client(client)?;
        let profile = self.profiles.get(client, profile)?;
        Ok(match (profile.scope, &profile.project_dir) {
            (Scope::Local, Some(dir)) => def
                .for_local_scope(dir)
                .map_or(std::borrow::Cow::Borrowed(def), std::borrow::Cow::Owned),
            _ => std::borrow::Cow::Borrowed(def),
        })
    }

    /// The target file, or an error when the client has no candidate path on this OS.
    pub fn target_path(&self, client: &str, profile: &str) -> Result<PathBuf> {
        self.target(client, profile)?.path.ok_or_else(|| {
            Error::invalid(
                Code::NoConfigPath,
                "client_id",
                format!("no config path is known for `{client}` on this system"),
                Hint::step(
                    format!(
                        "pin a file on a profile, or set {}",
                        self.client(client)
                            .map(ClientDef::override_var)
                            .unwrap_or_default()
                    ),
                    crate::core::next::Op::CreateProfile,
                    &[
                        ("client_id", client),
                        ("profile_id", "PROFILE"),
                        ("path", "FILE"),
                    ],
                ),
            )
        })
    }

    /// Reads a client file's text (empty when missing) and entries.
    pub fn read_entries(
        &self,
        client: &ClientDef,
        path: &Path,
    ) -> Result<(String, Vec<(String, Value)>)> {
        let bytes = fsutil::read_optional(path)?.unwrap_or_default();
        let text = String::from_utf8(bytes).map_err(|_| Error::Parse {
            path: path.to_path_buf(),
            message: "the file is not UTF-8".into(),
            code: Code::ConfigParseError,
        })?;
        let doc = document::open(client, &text, path)?;
        Ok((text, doc.entries()))
    }

    // ---- drafts ---------------------------------------------------------------------------

    pub(super) fn check_target(&self, client: &str, profile: &str) -> Result<()> {
        self.client(client)?;
        self.profiles.get(client, profile).map(|_| ())
    }

    /// Every existing file of every client (or one), with the first profile that targets it.
    pub(super) fn client_files(
        &self,
        client: Option<&str>,
    ) -> Result<Vec<(ClientDef, String, PathBuf)>> {
        let clients: Vec<&ClientDef> = match client {
            Some(id) => vec![self.client(id)?],
            None => self.all_clients(),
        };
        let mut files = Vec::new();
        for def in clients {
            // A local-scope profile reads the user file at another container: one visit per
            // file and container.
            let mut seen = std::collections::BTreeSet::new();
            for profile in self.profiles.list(&def.id)? {
                if let Ok(resolved) = self.target(&def.id, &profile.id)
                    && let Some(path) = resolved.path.filter(|_| resolved.exists)
                    && let Ok(laid_out) = self.profile_client(&def.id, &profile.id)
                    && seen.insert((path.clone(), laid_out.container.clone()))
                {
                    files.push((laid_out.into_owned(), profile.id, path));
                }
            }
        }
        Ok(files)
    }
}
