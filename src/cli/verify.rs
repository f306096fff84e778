//! `mcp-orch verify ARTIFACT_ID`.

use crate::core::code::Code;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::Ctx;
use crate::core::{self, ErrorKind};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks every release of the artifact: the signature over the exact stored envelope
with the trusted key it names, and that the payload still hashes to the artifact id.
Exits 0 when every release verifies, 1 otherwise; the error code says why
(SIGNATURE_INVALID, ARTIFACT_TAMPERED, UNTRUSTED_KEY, ARTIFACT_NOT_FOUND, ...).

Examples:
  mcp-orch verify 4aff2339
  mcp-orch verify 4aff2339 --json"
)]
pub struct Args {
    /// Artifact id, or a unique prefix of at least 8 hex digits.
    pub artifact_id: String,
}

/// Runs `verify`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let id = orch.resolve_artifact(&args.artifact_id)?;
    let releases = orch.releases_of(&id)?;
    if releases.is_empty() {
        return Err(core::Error::invalid(
            Code::ArtifactNotFound,
            "artifact_id",
            format!("artifact {id} has no release, so nothing signed to verify"),
            "publish it with `mcp-orch publish --client C`",
        )
        .into());
    }
    let mut rows = Vec::new();
    let mut first_error: Option<core::Error> = None;
    let mut internal = false;
    let mut text = String::new();
    for r in &releases {
        let outcome = orch.verify_release(r);
        let mut row = json!({
            "client_id": r.client_id(),
            "profile_id": r.profile_id(),
            "version": r.version(),
            "key_id": r.key_id,
            "ok": outcome.is_ok(),
            "error": Value::Null,
        });
        let label = format!(
            "{}/{} version {}",
            r.client_id(),
            r.profile_id(),
            r.version()
        );
        match outcome {
            Ok(_) => {
                let _ = writeln!(text, "{label}: ok (signed by key {})", r.key_id);
            }
            Err(e) => {
                let _ = writeln!(text, "{label}: FAILED [{}] {e}", e.code());
                row["error"] = serde_json::to_value(super::output::error_body(&e))?;
                internal |= e.kind() == ErrorKind::Internal;
                first_error.get_or_insert(e);
            }
        }
        rows.push(row);
    }
    if ctx.json {
        let mut doc = json!({
            "artifact_id": id,
            "ok": first_error.is_none(),
            "releases": rows,
        });
        if let Some(e) = &first_error {
            doc["error"] = serde_json::to_value(super::output::error_body(e))?;
        }
        ctx.print_json(&doc)?;
    } else {
        ctx.print(&format!("artifact {id}\n{text}"))?;
        if let Some(e) = &first_error {
            let _ = writeln!(
                std::io::stderr().lock(),
                "error[{}]: {e}\n  hint: {}",
                e.code(),
                crate::api::next::render(&e.hint(), crate::api::next::Face::Cli)
            );
        }
    }
    Ok(match (first_error, internal) {
        (None, _) => ExitCode::SUCCESS,
        (Some(_), false) => ExitCode::from(1),
        (Some(_), true) => ExitCode::from(2),
    })
}
