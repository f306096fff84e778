//! The MCP resources, with the original project's URIs: the static ones, the per-target ones
//! for targets that have state (from a [`StateSnapshot`]), the URI templates, reading, and which
//! URIs a [`DomainEvent`] makes stale.

use rmcp::model::{Resource, ResourceTemplate};
use serde_json::{Value, json};

use crate::api;
use crate::core::events::{DomainEvent, StateSnapshot};
use crate::core::{self, Error, Orchestrator};

/// JSON, the type of every resource.
pub const MIME_JSON: &str = "application/json";

/// The resources that always exist: URI, name, description.
pub const STATIC: &[(&str, &str, &str)] = &[
    (
        "capabilities://server",
        "server-capabilities",
        "What this server offers: tools, resources, templates, prompts and notifications.",
    ),
    (
        "capabilities://clients",
        "client-capabilities",
        "Every known client: file format, where its file is, remote support, limits and profiles.",
    ),
    (
        "server://registry",
        "server-registry",
        "The whole server catalog, every entry in full.",
    ),
];

/// The URI templates: template, name, description.
pub const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "server://{server_id}",
        "server",
        "One catalog entry in full.",
    ),
    (
        "config://{client_id}/{profile_id}/draft",
        "draft",
        "The draft of a client and profile, and its servers rendered in the client's spelling.",
    ),
    (
        "config://{client_id}/{profile_id}/latest",
        "latest",
        "The latest published release of a client and profile, verified, with its payload.",
    ),
    (
        "config://{client_id}/{profile_id}/deployed",
        "deployed",
        "What is deployed for a client and profile, and its drift against the file on disk.",
    ),
    (
        "audit://{client_id}/{profile_id}",
        "audit",
        "The audit records of a client and profile (publish, deploy, rollback, restore).",
    ),
];

/// The per-target resource kinds of `config://`.
const TARGET_KINDS: &[&str] = &["draft", "latest", "deployed"];

fn target_resource(uri: String, name: String, description: String) -> Resource {
    Resource::new(uri, name)
        .with_description(description)
        .with_mime_type(MIME_JSON)
}

/// Every concrete resource: the static ones plus, per (client, profile), its draft, its latest
/// release, its deployment and its audit records where they exist.
pub fn list(snapshot: &StateSnapshot) -> Vec<Resource> {
    let mut out: Vec<Resource> = STATIC
        .iter()
        .map(|(uri, name, description)| {
            Resource::new(*uri, *name)
                .with_description(*description)
                .with_mime_type(MIME_JSON)
        })
        .collect();
    for (client, profile) in snapshot.drafts() {
        out.push(target_resource(
            format!("config://{client}/{profile}/draft"),
            format!("draft {client}/{profile}"),
            format!("The draft of {client}/{profile}."),
        ));
    }
    for (client, profile) in snapshot.released() {
        out.push(target_resource(
            format!("config://{client}/{profile}/latest"),
            format!("latest {client}/{profile}"),
            format!("The latest release of {client}/{profile}."),
        ));
    }
    for (client, profile) in snapshot.deployed() {
        out.push(target_resource(
            format!("config://{client}/{profile}/deployed"),
            format!("deployed {client}/{profile}"),
            format!("The deployment of {client}/{profile}."),
        ));
    }
    let audited: std::collections::BTreeSet<(&str, &str)> =
        snapshot.released().chain(snapshot.deployed()).collect();
    for (client, profile) in audited {
        out.push(target_resource(
            format!("audit://{client}/{profile}"),
            format!("audit {client}/{profile}"),
            format!("The audit records of {client}/{profile}."),
        ));
    }
    out
}

/// The URIs [`list`] would return, for detecting list changes.
pub fn listed_uris(snapshot: &StateSnapshot) -> Vec<String> {
    list(snapshot).into_iter().map(|r| r.uri).collect()
}

/// The `resources/templates/list` entries.
pub fn templates() -> Vec<ResourceTemplate> {
    TEMPLATES
        .iter()
        .map(|(template, name, description)| {
            ResourceTemplate::new(*template, *name)
                .with_description(*description)
                .with_mime_type(MIME_JSON)
        })
        .collect()
}

/// A parsed resource URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `capabilities://server`.
    ServerCapabilities,
    /// `capabilities://clients`.
    ClientCapabilities,
    /// `server://registry`.
    Registry,
    /// `server://{server_id}`.
    Server(String),
    /// `config://{client_id}/{profile_id}/{kind}`.
    Config {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// `draft`, `latest` or `deployed`.
        kind: String,
    },
    /// `audit://{client_id}/{profile_id}`.
    Audit {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
    },
}

/// Parses a URI; `None` when it names no resource of this server.
pub fn parse(uri: &str) -> Option<Uri> {
    let (scheme, rest) = uri.split_once("://")?;
    match (scheme, rest) {
        ("capabilities", "server") => Some(Uri::ServerCapabilities),
        ("capabilities", "clients") => Some(Uri::ClientCapabilities),
        ("server", "registry") => Some(Uri::Registry),
        ("server", id) if !id.is_empty() && !id.contains('/') => Some(Uri::Server(id.to_owned())),
        ("config", path) => {
            let mut parts = path.split('/');
            let (Some(client), Some(profile), Some(kind), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            (!client.is_empty() && !profile.is_empty() && TARGET_KINDS.contains(&kind)).then(|| {
                Uri::Config {
                    client: client.to_owned(),
                    profile: profile.to_owned(),
                    kind: kind.to_owned(),
                }
            })
        }
        ("audit", path) => {
            let (client, profile) = path.split_once('/')?;
            (!client.is_empty() && !profile.is_empty() && !profile.contains('/')).then(|| {
                Uri::Audit {
                    client: client.to_owned(),
                    profile: profile.to_owned(),
                }
            })
        }
        _ => None,
    }
}

/// Whether `event` makes the resource at `uri` stale.
pub fn affects(event: &DomainEvent, uri: &Uri) -> bool {
    match uri {
        Uri::ServerCapabilities => false,
        Uri::ClientCapabilities => matches!(
            event,
            DomainEvent::ClientsChanged | DomainEvent::ProfilesChanged
        ),
        Uri::Registry | Uri::Server(_) => matches!(event, DomainEvent::CatalogChanged),
        Uri::Config {
            client: c,
            profile: p,
            kind,
        } => match event {
            DomainEvent::DraftChanged {
                client, profile, ..
            } => client == c && profile == p && kind == "draft",
            DomainEvent::Published { client, profile } => {
                client == c && profile == p && (kind == "latest" || kind == "deployed")
            }
            DomainEvent::Deployed {
                client, profile, ..
            }
            | DomainEvent::ClientFileChanged {
                client, profile, ..
            } => client == c && profile == p && kind == "deployed",
            // Verification of releases depends on the trust store.
            DomainEvent::KeysChanged => kind == "latest",
            // The rendered payload depends on the catalog and the client registry.
            DomainEvent::CatalogChanged | DomainEvent::ClientsChanged => kind == "draft",
            _ => false,
        },
        Uri::Audit { .. } => matches!(event, DomainEvent::AuditAppended),
    }
}

/// Reads a resource as JSON.
pub fn read(orch: &Orchestrator, uri: &Uri, server_capabilities: &Value) -> core::Result<Value> {
    match uri {
        Uri::ServerCapabilities => Ok(server_capabilities.clone()),
        Uri::ClientCapabilities => client_capabilities(orch),
        Uri::Registry => {
            let entries = orch.catalog().entries();
            let mut transport_counts = std::collections::BTreeMap::new();
            for e in entries {
                *transport_counts.entry(e.transport).or_insert(0_usize) += 1;
            }
            Ok(json!({
                "servers": entries,
                "count": entries.len(),
                "transport_counts": transport_counts,
            }))
        }
        Uri::Server(id) => serde_json::to_value(orch.server(id)?)
            .map_err(|e| Error::Internal(format!("serialising {id}: {e}"))),
        Uri::Config {
            client,
            profile,
            kind,
        } => match kind.as_str() {
            "latest" => latest(orch, client, profile),
            "deployed" => deployed(orch, client, profile),
            _ => draft(orch, client, profile),
        },
        Uri::Audit { client, profile } => {
            orch.profile(client, profile)?;
            let records = orch.audit_records(&crate::core::audit::Filter {
                client: Some(client.clone()),
                profile: Some(profile.clone()),
                ..Default::default()
            })?;
            Ok(json!({
                "client_id": client,
                "profile_id": profile,
                "records": records,
                "count": records.len(),
            }))
        }
    }
}

fn latest(orch: &Orchestrator, client: &str, profile: &str) -> core::Result<Value> {
    api::to_json(&api::releases::get_release(orch, client, profile, None)?)
}

fn deployed(orch: &Orchestrator, client: &str, profile: &str) -> core::Result<Value> {
    orch.profile(client, profile)?;
    let status = orch.target_status(client, profile)?;
    let record = orch.deploy_record(client, profile)?;
    let mut v = serde_json::to_value(&status)
        .map_err(|e| Error::Internal(format!("serialising a status: {e}")))?;
    v["owned"] = json!(record.owned);
    v["drift_detected"] = json!(status.drift == crate::core::orchestrator::DriftState::Drifted);
    Ok(v)
}

fn client_capabilities(orch: &Orchestrator) -> core::Result<Value> {
    let mut clients = Vec::new();
    for c in orch.clients().all() {
        let profiles: Vec<String> = orch.profiles(&c.id)?.into_iter().map(|p| p.id).collect();
        clients.push(json!({
            "client_id": c.id,
            "display_name": c.name,
            "config_format": c.format,
            "config_location": c.resolve_user(orch.env()).path,
            "supports": {
                "environment_variables": !c.stdio.env.is_empty(),
                "command_args": !c.stdio.args.is_empty() || c.stdio.command_style != crate::core::clients::CommandStyle::String,
                "remote_servers": c.remote.support,
                "project_scope": c.has_project_scope(),
                "env_references": !c.env_reference.is_empty(),
            },
            "limitations": c.limits,
            "restart_hint": c.restart_hint,
            "documentation_url": c.docs_url,
            "notes": c.notes,
            "profiles": profiles,
            "user_defined": c.user_defined,
        }));
    }
    Ok(json!({ "clients": clients, "count": clients.len() }))
}

fn draft(orch: &Orchestrator, client: &str, profile: &str) -> core::Result<Value> {
    // The draft as every face shows it, with the original resource's `payload` (the rendered
    // entries) and `payload_error`.
    let view = api::drafts::view_draft(orch, client, profile)?;
    let mut v = api::to_json(&view)?;
    v["payload"] = match &view.render_error {
        None => json!(view.mcp_servers),
        Some(error) => {
            v["payload_error"] = json!(error);
            Value::Null
        }
    };
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str) -> Uri {
        Uri::Config {
            client: "cursor".into(),
            profile: "default".into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn parses_every_uri_form() {
        assert_eq!(
            parse("capabilities://server"),
            Some(Uri::ServerCapabilities)
        );
        assert_eq!(
            parse("capabilities://clients"),
            Some(Uri::ClientCapabilities)
        );
        assert_eq!(parse("server://registry"), Some(Uri::Registry));
        assert_eq!(parse("server://github"), Some(Uri::Server("github".into())));
        assert_eq!(
            parse("config://cursor/default/draft"),
            Some(config("draft"))
        );
        assert_eq!(
            parse("config://cursor/default/latest"),
            Some(config("latest"))
        );
        assert_eq!(
            parse("config://cursor/default/deployed"),
            Some(config("deployed"))
        );
        assert_eq!(
            parse("audit://cursor/default"),
            Some(Uri::Audit {
                client: "cursor".into(),
                profile: "default".into()
            })
        );
        for bad in [
            "config://cursor/default/other",
            "config://cursor/draft",
            "config://cursor/default/draft/x",
            "server://a/b",
            "server://",
            "audit://cursor",
            "audit://cursor/a/b",
            "capabilities://nope",
            "nothing",
            "file:///etc/passwd",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn events_map_to_the_resources_they_make_stale() {
        let draft = DomainEvent::DraftChanged {
            client: "cursor".into(),
            profile: "default".into(),
            exists: true,
        };
        let published = DomainEvent::Published {
            client: "cursor".into(),
            profile: "default".into(),
        };
        let deployed = DomainEvent::Deployed {
            client: "cursor".into(),
            profile: "default".into(),
            exists: true,
        };
        let other = DomainEvent::DraftChanged {
            client: "vscode".into(),
            profile: "default".into(),
            exists: true,
        };
        assert!(affects(&draft, &config("draft")));
        assert!(!affects(&draft, &config("latest")));
        assert!(!affects(&other, &config("draft")));
        assert!(affects(&published, &config("latest")));
        assert!(affects(&published, &config("deployed")));
        assert!(!affects(&published, &config("draft")));
        assert!(affects(&deployed, &config("deployed")));
        assert!(affects(&DomainEvent::CatalogChanged, &Uri::Registry));
        assert!(affects(
            &DomainEvent::CatalogChanged,
            &Uri::Server("x".into())
        ));
        assert!(affects(
            &DomainEvent::ProfilesChanged,
            &Uri::ClientCapabilities
        ));
        assert!(affects(
            &DomainEvent::AuditAppended,
            &Uri::Audit {
                client: "cursor".into(),
                profile: "default".into()
            }
        ));
        assert!(!affects(&DomainEvent::SecretsChanged, &config("draft")));
        assert!(!affects(&draft, &Uri::ServerCapabilities));
    }

    #[test]
    fn every_template_names_a_parsable_uri() {
        for (template, _, _) in TEMPLATES {
            let uri = template
                .replace("{server_id}", "github")
                .replace("{client_id}", "cursor")
                .replace("{profile_id}", "default");
            assert!(parse(&uri).is_some(), "{uri}");
        }
        for (uri, _, _) in STATIC {
            assert!(parse(uri).is_some(), "{uri}");
        }
    }
}
