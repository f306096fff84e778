//! `mcp-orch team init|rotate|show`: the team's root of trust, on the operator's machine
//! (docs/TEAM.md). The root keys' private files stay under `<home>/team/keys/`; the roots
//! themselves go to the store every replica reads.

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::Duration;

use super::Ctx;
use crate::core::code::Code;
use crate::core::orchestrator::{RootPlan, TeamStatus};
use crate::core::tokens::parse_duration;

/// Team subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create the team's root: root keys, a threshold, and this machine's signing key as the
    /// key that signs releases.
    #[command(after_help = "Examples:
  mcp-orch keys init && mcp-orch team init
  mcp-orch team init --root-keys 3 --threshold 2 --expires 1y --snapshot-ttl 24h
Give developers the fingerprint it prints: `mcp-orch remote add … --root FINGERPRINT`.")]
    Init {
        #[command(flatten)]
        root: RootArgs,
        /// How many root keys to create.
        #[arg(long, default_value_t = 1, value_name = "N")]
        root_keys: usize,
        /// How many root keys must sign a root.
        #[arg(long, default_value_t = 1, value_name = "K")]
        threshold: usize,
    },
    /// Sign the next root: after `keys rotate` (the new signing key is added), to renew the
    /// expiry, or with --new-root-keys to replace the root keys (signed by the old ones).
    #[command(after_help = "Examples:
  mcp-orch keys rotate && mcp-orch team rotate
  mcp-orch team rotate --new-root-keys 3 --threshold 2")]
    Rotate {
        #[command(flatten)]
        root: RootArgs,
        /// Replace the root keys with this many new ones.
        #[arg(long, value_name = "N")]
        new_root_keys: Option<usize>,
        /// How many root keys must sign (default: as now).
        #[arg(long, value_name = "K")]
        threshold: Option<usize>,
    },
    /// Show the team's current root and its fingerprint.
    Show,
}

/// What every root says about time.
#[derive(Debug, clap::Args)]
pub struct RootArgs {
    /// How long the root is valid.
    #[arg(long, default_value = "1y", value_name = "DURATION")]
    expires: String,
    /// How long a snapshot stays fresh once signed (machines refuse older ones).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    snapshot_ttl: String,
}

impl RootArgs {
    fn plan(
        &self,
        new_root_keys: Option<usize>,
        threshold: Option<usize>,
    ) -> anyhow::Result<RootPlan> {
        let finite = |text: &str, field: &str| -> anyhow::Result<Duration> {
            parse_duration(text)?.ok_or_else(|| {
                crate::core::Error::invalid(
                    Code::InvalidDuration,
                    field,
                    format!("`{text}`: team metadata always expires"),
                    "give a duration such as 1y or 24h",
                )
                .into()
            })
        };
        Ok(RootPlan {
            new_root_keys,
            threshold,
            expires_in: finite(&self.expires, "expires")?,
            snapshot_ttl: finite(&self.snapshot_ttl, "snapshot_ttl")?,
        })
    }
}

/// Runs a team subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let actor = orch.local_actor("cli");
    let status = match cmd {
        Command::Init {
            root,
            root_keys,
            threshold,
        } => orch.team_init(&root.plan(Some(root_keys), Some(threshold))?, &actor)?,
        Command::Rotate {
            root,
            new_root_keys,
            threshold,
        } => orch.team_rotate(&root.plan(new_root_keys, threshold)?, &actor)?,
        Command::Show => orch.team_status()?,
    };
    if ctx.json {
        ctx.print_json(&status)?;
    } else {
        ctx.print(&status_text(&status))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn status_text(s: &TeamStatus) -> String {
    let ids = |keys: &[crate::core::keys::PublicKeyFile]| {
        keys.iter()
            .map(|k| k.key_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    let _ = writeln!(out, "team root v{}", s.root.version);
    let _ = writeln!(out, "  fingerprint   {}", s.fingerprint);
    let _ = writeln!(
        out,
        "  root keys     {} (threshold {}; held here: {})",
        ids(&s.root.root_keys),
        s.root.threshold,
        if s.held_root_keys.is_empty() {
            "none".to_owned()
        } else {
            s.held_root_keys.join(", ")
        }
    );
    let _ = writeln!(out, "  release keys  {}", ids(&s.root.release_keys));
    let _ = writeln!(out, "  expires       {}", s.root.expires.to_rfc3339());
    let _ = writeln!(
        out,
        "  snapshots     fresh for {} s",
        s.root.snapshot_ttl_secs
    );
    let _ = writeln!(
        out,
        "Developers add this server with: mcp-orch remote add NAME URL --token TOKEN --root {}",
        &s.fingerprint[..16]
    );
    out
}
