//! `mcp-orch keys init|show|rotate|export|trust|untrust`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use super::Ctx;
use crate::core::fsutil;
use crate::core::keys::{KeyInfo, KeyStatus};

/// Key subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create the signing key (Ed25519; private file mode 0600 in a 0700 directory).
    #[command(after_help = "Examples:
  mcp-orch keys init
  mcp-orch keys init --regenerate     # rotate when a key exists (old artifacts stay verifiable)")]
    Init {
        /// When a key exists, rotate to a new one instead of refusing.
        #[arg(long)]
        regenerate: bool,
    },
    /// Show the signing key, the trusted keys and the rotation log.
    #[command(after_help = "Example:\n  mcp-orch keys show --json")]
    Show,
    /// Replace the signing key. The old key stays trusted, so artifacts signed with it still
    /// verify; the rotation is recorded, signed by both keys.
    #[command(after_help = "Example:\n  mcp-orch keys rotate")]
    Rotate,
    /// Print (or write) the signing key's public half, for `keys trust` on another machine.
    #[command(after_help = "Examples:
  mcp-orch keys export
  mcp-orch keys export --out team-key.json")]
    Export {
        /// Write it to this file instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Trust the public key in an exported key file (its key id is checked).
    #[command(after_help = "Example:\n  mcp-orch keys trust team-key.json")]
    Trust {
        /// A file written by `mcp-orch keys export --out FILE`.
        file: PathBuf,
    },
    /// Stop trusting a key; artifacts it signed no longer verify.
    #[command(after_help = "Example:\n  mcp-orch keys untrust 21fe31dfa154a261")]
    Untrust {
        /// Key id (see `mcp-orch keys show`).
        key_id: String,
    },
}

fn info_text(verb: &str, info: &KeyInfo) -> String {
    let mut out = format!("{verb} signing key {}\n", info.key_id);
    if let Some(from) = &info.rotated_from {
        let _ = writeln!(
            out,
            "  replaces {from} (still trusted: artifacts it signed keep verifying)"
        );
    }
    let _ = writeln!(out, "  public key:  {}", info.public_key);
    let _ = writeln!(out, "  private key: {} (mode 0600)", info.path.display());
    out
}

fn status_text(status: &KeyStatus) -> String {
    let mut out = String::new();
    match &status.current {
        Some(k) => {
            let _ = writeln!(
                out,
                "signing key: {} ({}, created {})",
                k.key_id,
                k.algorithm,
                k.created_at.to_rfc3339()
            );
            let _ = writeln!(out, "  public key:  {}", k.public_key);
            let _ = writeln!(out, "  private key: {}", k.path.display());
        }
        None => {
            let _ = writeln!(out, "no signing key (create one with `mcp-orch keys init`)");
        }
    }
    let current = status.current.as_ref().map(|k| k.key_id.as_str());
    let _ = writeln!(out, "trusted keys ({}):", status.trusted.len());
    for k in &status.trusted {
        let origin = serde_json::to_value(k.origin)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  {origin:<8} added {}{}",
            k.key_id,
            k.added_at.to_rfc3339(),
            if current == Some(k.key_id.as_str()) {
                "  (signing)"
            } else {
                ""
            }
        );
    }
    if !status.rotations.is_empty() {
        let _ = writeln!(out, "rotations:");
        for r in &status.rotations {
            let check = match r.verified {
                Some(true) => "signed by both keys",
                Some(false) => "SIGNATURES DO NOT VERIFY",
                None => "cannot check (a key is no longer trusted)",
            };
            let _ = writeln!(
                out,
                "  {} -> {} at {}  {check}",
                r.rotation.from,
                r.rotation.to,
                r.rotation.at.to_rfc3339()
            );
        }
    }
    out
}

/// Runs a keys subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::Init { regenerate } => {
            let done =
                crate::api::releases::init_keys(&orch, regenerate, &orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&done)?;
            } else {
                let verb = if done.key.rotated_from.is_some() {
                    "rotated"
                } else {
                    "created"
                };
                ctx.print(&info_text(verb, &done.key))?;
            }
        }
        Command::Show => {
            let status = orch.key_status()?;
            if ctx.json {
                ctx.print_json(&status)?;
            } else {
                ctx.print(&status_text(&status))?;
            }
        }
        Command::Rotate => {
            let info = orch.rotate_keys(&orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&json!({ "status": "rotated", "key": info }))?;
            } else {
                ctx.print(&info_text("rotated", &info))?;
            }
        }
        Command::Export { out } => {
            let file = orch.export_key()?;
            match out {
                Some(path) => {
                    let mut bytes = serde_json::to_vec_pretty(&file)?;
                    bytes.push(b'\n');
                    fsutil::atomic_write(&path, &bytes, 0o644)?;
                    if ctx.json {
                        ctx.print_json(
                            &json!({ "status": "exported", "path": path, "key": file }),
                        )?;
                    } else {
                        ctx.print(&format!(
                            "wrote public key {} to {}\n  on the other machine: mcp-orch keys trust {}",
                            file.key_id,
                            path.display(),
                            path.display()
                        ))?;
                    }
                }
                // The export is JSON either way.
                None => ctx.print_json(&file)?,
            }
        }
        Command::Trust { file } => {
            let key = orch.trust_key(&file, &orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&json!({ "status": "trusted", "key": key }))?;
            } else {
                ctx.print(&format!("trusting key {}", key.key_id))?;
            }
        }
        Command::Untrust { key_id } => {
            orch.untrust_key(&key_id, &orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&json!({ "status": "untrusted", "key_id": key_id }))?;
            } else {
                ctx.print(&format!(
                    "no longer trusting key {key_id}; artifacts it signed will not verify"
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
