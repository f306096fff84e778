//! The approved catalog (façade part): what a team server serves as its private MCP
//! Registry. Approving a catalog entry stores it as a registry `server.json` (the entry's own
//! when it came from a registry, else exported from it); deprecating or removing a name
//! changes the status of every version of it. Each change is audited.

use serde_json::{Value, json};

use super::Orchestrator;
use crate::core::approvals::{Approval, Status};
use crate::core::audit::AuditEvent;
use crate::core::code::Code;
use crate::core::error::{Error, Result};
use crate::core::registry::{export, is_valid_registry_name};
use crate::core::store::update_approvals;

/// The namespace of names given to approved entries that have no registry name of their own.
pub const LOCAL_NAMESPACE: &str = "local";

impl Orchestrator {
    /// Every approval, in the order they were made.
    ///
    /// # Errors
    /// The approvals file cannot be read.
    pub fn approvals(&self) -> Result<Vec<Approval>> {
        self.approvals.all()
    }

    /// Approves the catalog entry `server_id` for the team's registry, under `name` (default:
    /// its registry name, or `local/<id>`). Approving it again unchanged changes nothing (a
    /// deprecated or removed approval becomes active again); changed, it becomes a new version.
    ///
    /// # Errors
    /// `UNKNOWN_SERVER`, `INVALID_REGISTRY_NAME`, `NOT_REGISTRABLE` (an entry the registry
    /// format cannot express), `AUDIT_CORRUPT`.
    pub fn approve_server(
        &self,
        server_id: &str,
        name: Option<&str>,
        actor: &str,
    ) -> Result<Approval> {
        self.audited(
            |code| {
                AuditEvent::failed("registry.approve", actor, code)
                    .details(json!({ "server_id": server_id }))
            },
            || self.approve_inner(server_id, name, actor),
            |a| {
                AuditEvent::ok("registry.approve", actor).details(json!({
                    "name": a.name, "version": a.version, "server_id": a.catalog_id,
                }))
            },
        )
    }

    fn approve_inner(&self, server_id: &str, name: Option<&str>, actor: &str) -> Result<Approval> {
        let entry = self.server(server_id)?;
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) if is_valid_registry_name(n) => n.to_owned(),
            Some(n) => {
                return Err(Error::invalid(
                    Code::InvalidRegistryName,
                    "name",
                    format!("`{}` is not a registry name", crate::core::error::echo(n)),
                    "write it as namespace/name: letters, digits, dots and dashes, one slash (for example com.example/github)",
                ));
            }
            None => self
                .registry_name(&entry.id)
                .map_or_else(|| format!("{LOCAL_NAMESPACE}/{}", entry.id), str::to_owned),
        };
        let now = self.now();
        update_approvals(&*self.approvals, |approvals| {
            let versions = approvals.iter().filter(|a| a.name == name).count();
            // A registry entry is served as its publisher wrote it.
            let (version, document) =
                if let (Some(doc), Some(version)) = (&entry.server_json, &entry.version) {
                    let mut doc = doc.clone();
                    doc["name"] = json!(name);
                    (version.clone(), doc)
                } else {
                    let version = format!("1.0.{versions}");
                    let doc = export::server_json(entry, &name, &version).map_err(|why| {
                    Error::invalid(
                        Code::NotRegistrable,
                        "server_id",
                        format!("`{}` cannot be served by a registry: {why}", entry.id),
                        "approve servers that run from npm, PyPI or an OCI image, or remote ones",
                    )
                })?;
                    (version, doc)
                };
            let unversioned = without_version(&document);
            let same = approvals.iter().rposition(|a| {
                a.name == name
                    && (a.version == version || without_version(&a.server_json) == unversioned)
            });
            if let Some(at) = same {
                let a = &mut approvals[at];
                if a.status != Status::Active {
                    a.status = Status::Active;
                    a.status_message = None;
                    a.status_changed_at = Some(now);
                    a.updated_at = now;
                }
                return Ok(a.clone());
            }
            let approval = Approval {
                name: name.clone(),
                version,
                catalog_id: entry.id.clone(),
                server_json: document,
                status: Status::Active,
                status_message: None,
                status_changed_at: None,
                published_at: now,
                updated_at: now,
                approved_by: actor.to_owned(),
            };
            approvals.push(approval.clone());
            Ok(approval)
        })
    }

    /// Deprecates (with a message saying what to use instead) or removes every version of
    /// the approved `name`.
    ///
    /// # Errors
    /// `NOT_APPROVED` when nothing is approved under that name; `AUDIT_CORRUPT`.
    pub fn set_approval_status(
        &self,
        name: &str,
        status: Status,
        message: Option<&str>,
        actor: &str,
    ) -> Result<Vec<Approval>> {
        let action = match status {
            Status::Active => "registry.approve",
            Status::Deprecated => "registry.deprecate",
            Status::Deleted => "registry.remove",
        };
        let message = message.map(str::trim).filter(|m| !m.is_empty());
        self.audited(
            |code| AuditEvent::failed(action, actor, code).details(json!({ "name": name })),
            || {
                let now = self.now();
                update_approvals(&*self.approvals, |approvals| {
                    let changed: Vec<Approval> = approvals
                        .iter_mut()
                        .filter(|a| a.name == name)
                        .map(|a| {
                            a.status = status;
                            a.status_message = message.map(str::to_owned);
                            a.status_changed_at = Some(now);
                            a.updated_at = now;
                            a.clone()
                        })
                        .collect();
                    if changed.is_empty() {
                        return Err(Error::invalid(
                            Code::NotApproved,
                            "name",
                            format!(
                                "nothing is approved as `{}`",
                                crate::core::error::echo(name)
                            ),
                            "list the approved names with `mcp-orch registry approved`",
                        ));
                    }
                    Ok(changed)
                })
            },
            |changed| {
                AuditEvent::ok(action, actor)
                    .details(json!({ "name": name, "versions": changed.len(), "message": message }))
            },
        )
    }
}

fn without_version(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("version");
    }
    doc
}
