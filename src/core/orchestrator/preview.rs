//! Previewing an add without storing anything, and renaming a draft server (façade part).
//! The TUI's add form checks a candidate on every keystroke with exactly the checks
//! `add_server` makes, so a form that validates is a form that adds.

use crate::core::code::Code;
use std::collections::{BTreeMap, BTreeSet};

use super::{AddServer, Orchestrator, build_server, check_env_name, resolve_params};
use crate::core::draft::{Draft, DraftServer, EnvValue};
use crate::core::error::{Error, Result};
use crate::core::validate;

impl Orchestrator {
    /// The server [`Orchestrator::add_server`] would add for `req`, and its name, with the same
    /// checks (name, parameters, env vars, secrets) but without touching the draft or the
    /// secret store. Secrets given with a value count as present.
    pub fn preview_server(&self, req: &AddServer) -> Result<(String, DraftServer)> {
        self.check_target(&req.client, &req.profile)?;
        let entry = self.server(&req.server_id)?;
        let name = req.name.clone().unwrap_or_else(|| entry.id.clone());
        if !validate::is_valid_server_name(&name) {
            return Err(Error::invalid(
                Code::InvalidServerName,
                "name",
                format!("`{name}` is not a valid server name"),
                "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
            ));
        }
        let params = resolve_params(entry, &req.params, &self.env)?;
        let mut env: BTreeMap<String, EnvValue> = BTreeMap::new();
        for (key, value) in &req.env {
            check_env_name(key)?;
            let value = if entry.env_var(key).is_some_and(|e| e.secret) {
                EnvValue::Secret {
                    secret: key.clone(),
                }
            } else {
                EnvValue::Plain(value.clone())
            };
            env.insert(key.clone(), value);
        }
        let stored: BTreeSet<String> = self.secrets.names()?.into_iter().collect();
        for (key, value) in &req.secrets {
            check_env_name(key)?;
            if value.is_none() && !stored.contains(key) {
                return Err(Error::invalid(
                    Code::MissingSecret,
                    format!("secret.{key}"),
                    format!("no value was given for secret `{key}` and none is stored"),
                    format!("type a value for {key}, or run `mcp-orch secrets set {key}`"),
                ));
            }
            env.insert(
                key.clone(),
                EnvValue::Secret {
                    secret: key.clone(),
                },
            );
        }
        for var in &entry.env {
            if env.contains_key(&var.name) {
                continue;
            }
            if let Some(default) = &var.default {
                env.insert(var.name.clone(), EnvValue::Plain(default.clone()));
            } else if var.secret && stored.contains(&var.name) {
                env.insert(
                    var.name.clone(),
                    EnvValue::Secret {
                        secret: var.name.clone(),
                    },
                );
            } else if var.required {
                return Err(Error::invalid(
                    Code::MissingRequiredEnv,
                    format!("env.{}", var.name),
                    format!("`{}` needs env var `{}`", entry.id, var.name),
                    format!("give a value for {}", var.name),
                ));
            }
        }
        let server = build_server(entry, &params, env)?;
        Ok((name, server))
    }

    /// Renames a server in a draft. Fails when `to` is not a valid name or is taken.
    pub fn rename_server(
        &self,
        client: &str,
        profile: &str,
        from: &str,
        to: &str,
    ) -> Result<Draft> {
        self.check_target(client, profile)?;
        if !validate::is_valid_server_name(to) {
            return Err(Error::invalid(
                Code::InvalidServerName,
                "name",
                format!("`{to}` is not a valid server name"),
                "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
            ));
        }
        let ((), draft) = self.drafts.update(client, profile, self.now(), |draft| {
            if from != to && draft.servers.contains_key(to) {
                return Err(Error::invalid(
                    Code::DuplicateName,
                    "name",
                    format!("the draft already has a server named `{to}`"),
                    "choose another name",
                ));
            }
            let server = draft
                .servers
                .remove(from)
                .ok_or_else(|| Error::NotInDraft {
                    client: client.to_owned(),
                    profile: profile.to_owned(),
                    name: from.to_owned(),
                })?;
            draft.servers.insert(to.to_owned(), server);
            Ok(())
        })?;
        Ok(draft)
    }
}
