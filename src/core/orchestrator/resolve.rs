//! The one resolver (façade part): a catalog entry plus what the user gave becomes a draft
//! server, with every field problem at once. `add_server`, `preview_server` (the TUI's add
//! form, on every keystroke) and the probe of a catalog entry all call it, so their rules and
//! hints cannot drift apart. Renaming a draft server checks the name by the same rules. Fields carry their wire names: `server_name`, `params.NAME`,
//! `env_vars.NAME`.

use std::collections::BTreeMap;

use super::{AddServer, Orchestrator, build_server, check_env_name, resolve_params};
use crate::core::catalog::ServerEntry;
use crate::core::code::Code;
use crate::core::draft::{Draft, DraftServer, EnvValue};
use crate::core::error::{Error, Result, echo};
use crate::core::next::{Hint, Op};
use crate::core::secrets;
use crate::core::validate;

/// A draft server resolved from a catalog entry and the user's input; nothing stored yet.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Its name in the draft.
    pub name: String,
    /// The server.
    pub server: DraftServer,
    /// Secret values given, to store when the server is added: scoped key and value.
    pub pending_secrets: Vec<(String, String)>,
    /// Required env vars that have no value (only when resolving with [`Missing::Allow`]).
    pub missing_env: Vec<String>,
}

/// What a required env var with no value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A problem (`MISSING_REQUIRED_ENV`): adding and previewing.
    Refuse,
    /// Noted in [`Resolved::missing_env`]: a probe reports it as the server's failure.
    Allow,
}

/// The error for a name the draft already has.
pub(super) fn duplicate_name(name: &str) -> Error {
    Error::invalid(
        Code::DuplicateName,
        "server_name",
        format!("the draft already has a server named `{}`", echo(name)),
        Hint::new(
            "choose another name, or remove the one there first",
            [
                crate::core::next::Step::new(
                    Op::Give,
                    &[("field", "server_name"), ("example", "NAME")],
                ),
                crate::core::next::Step::new(Op::RemoveServer, &[("server_name", name)]),
            ],
        ),
    )
}

fn invalid_name(name: &str) -> Error {
    Error::invalid(
        Code::InvalidServerName,
        "server_name",
        format!("`{}` is not a valid server name", echo(name)),
        "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit",
    )
}

impl Orchestrator {
    /// The server [`Orchestrator::add_server`] would add for `req`, and its name, with every
    /// check it makes (name, a name the draft has, parameters, env vars, secrets) but without
    /// touching the draft or the secret store.
    pub fn preview_server(&self, req: &AddServer) -> Result<(String, DraftServer)> {
        let resolved = self.resolve_server(req, Missing::Refuse)?;
        if self
            .draft(&req.client, &req.profile)?
            .servers
            .contains_key(&resolved.name)
        {
            return Err(duplicate_name(&resolved.name));
        }
        Ok((resolved.name, resolved.server))
    }

    /// Resolves `req` into a draft server: the first problem is the error's code, field and
    /// hint, every problem is in `details.problems` ([`Error::Fields`]).
    pub fn resolve_server(&self, req: &AddServer, missing: Missing) -> Result<Resolved> {
        if !req.client.is_empty() {
            self.check_target(&req.client, &req.profile)?;
        }
        let entry = self.server(&req.server_id)?;
        let mut problems = Vec::new();
        let name = req.name.clone().unwrap_or_else(|| entry.id.clone());
        if !validate::is_valid_server_name(&name) {
            problems.push(invalid_name(&name));
        }
        let params = resolve_params(entry, &req.params, &self.env, &mut problems);
        let (env, pending_secrets, missing_env) =
            self.resolve_env(entry, req, missing, &mut problems)?;
        if let Some(error) = Error::of_all(problems) {
            return Err(error);
        }
        let mut server = build_server(entry, &params, env)?;
        server.secret_delivery = req.secret_delivery;
        Ok(Resolved {
            name,
            server,
            pending_secrets,
            missing_env,
        })
    }

    /// The env of `req`'s server: plain values, secrets (given, stored for the target, or
    /// shared), defaults; a required one without any is a problem or, with
    /// [`Missing::Allow`], noted.
    #[allow(clippy::type_complexity)] // three results of one pass
    fn resolve_env(
        &self,
        entry: &ServerEntry,
        req: &AddServer,
        missing: Missing,
        problems: &mut Vec<Error>,
    ) -> Result<(
        BTreeMap<String, EnvValue>,
        Vec<(String, String)>,
        Vec<String>,
    )> {
        let mut env = BTreeMap::new();
        let mut pending = Vec::new();
        let mut missing_env = Vec::new();
        // One read of the store for every lookup below.
        let stored = self.secrets.all()?;
        let stored_key =
            |var: &str| secrets::stored_key_in(&stored, &req.client, &req.profile, var);
        let scoped = |var: &str| secrets::scoped_key(&req.client, &req.profile, var);
        let reference = |key: String| EnvValue::Secret { secret: key };
        let valid_name = |key: &str, problems: &mut Vec<Error>| match check_env_name(key) {
            Ok(()) => true,
            Err(e) => {
                problems.push(e);
                false
            }
        };
        for (key, value) in &req.env {
            if !valid_name(key, problems) {
                continue;
            }
            if entry.env_var(key).is_some_and(|e| e.secret) {
                pending.push((scoped(key), value.clone()));
                env.insert(key.clone(), reference(scoped(key)));
            } else {
                env.insert(key.clone(), EnvValue::Plain(value.clone()));
            }
        }
        for (key, value) in &req.secrets {
            if !valid_name(key, problems) {
                continue;
            }
            match (value, stored_key(key)) {
                (Some(v), _) => {
                    pending.push((scoped(key), v.clone()));
                    env.insert(key.clone(), reference(scoped(key)));
                }
                (None, Some(stored)) => {
                    env.insert(key.clone(), reference(stored));
                }
                (None, None) => problems.push(Error::invalid(
                    Code::MissingSecret,
                    format!("env_vars.{key}"),
                    format!(
                        "no value was given for secret `{key}` and none is stored for {}/{}",
                        req.client, req.profile
                    ),
                    Hint::new(
                        "give its value, or store it",
                        [
                            crate::core::next::Step::new(
                                Op::Give,
                                &[("field", &format!("env_vars.{key}")), ("secret", "true")],
                            ),
                            crate::core::next::Step::new(
                                Op::SetSecret,
                                &[
                                    ("name", key),
                                    ("client_id", &req.client),
                                    ("profile_id", &req.profile),
                                ],
                            ),
                        ],
                    ),
                )),
            }
        }
        for (var, shared) in &req.shared_secrets {
            if !valid_name(var, problems) {
                continue;
            }
            secrets::check_secret_name(shared)?;
            if stored.contains_key(shared) {
                env.insert(var.clone(), reference(shared.clone()));
            } else {
                problems.push(Error::invalid(
                    Code::MissingSecret,
                    format!("shared_secret.{var}"),
                    format!("there is no shared secret named `{shared}`"),
                    Hint::step("store it first", Op::SetSecret, &[("name", shared)]),
                ));
            }
        }
        for var in &entry.env {
            if env.contains_key(&var.name) {
                continue;
            }
            let stored_as = var.secret.then(|| stored_key(&var.name)).flatten();
            if let Some(default) = &var.default {
                env.insert(var.name.clone(), EnvValue::Plain(default.clone()));
            } else if let Some(key) = stored_as {
                env.insert(var.name.clone(), reference(key));
            } else if var.required && missing == Missing::Allow {
                missing_env.push(var.name.clone());
            } else if var.required {
                let described = if var.description.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", var.description)
                };
                let field = format!("env_vars.{}", var.name);
                problems.push(Error::invalid(
                    Code::MissingRequiredEnv,
                    field.clone(),
                    format!("`{}` needs env var `{}`{described}", entry.id, var.name),
                    if var.secret {
                        Hint::give_secret("give it", &var.name)
                    } else {
                        Hint::give("give it", &field, "VALUE")
                    },
                ));
            }
        }
        Ok((env, pending, missing_env))
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
            return Err(invalid_name(to));
        }
        let ((), draft) = self.update_draft(client, profile, |draft| {
            if from != to && draft.servers.contains_key(to) {
                return Err(super::resolve::duplicate_name(to));
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
