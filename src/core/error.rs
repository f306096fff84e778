//! The one error type of the core. Every variant carries a stable code (shared by the CLI,
//! the MCP tools and the HTTP API), names the bad input and says what to do next.

use std::path::PathBuf;

use serde::Serialize;

use crate::core::code::{Category, Code};
use crate::core::diagnostic::Diagnostic;
use crate::core::next::{Hint, Op, Step};

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A client id that the registry does not know.
    #[error("unknown client `{id}`")]
    UnknownClient {
        /// The id that was given.
        id: String,
        /// Known ids, for the hint.
        known: Vec<String>,
    },
    /// A server id that the catalog does not know.
    #[error("unknown server `{id}`: it is not in the catalog")]
    UnknownServer {
        /// The id that was given.
        id: String,
        /// Close matches, for the hint.
        suggestions: Vec<String>,
    },
    /// A profile that does not exist for the client.
    #[error("unknown profile `{profile}` for client `{client}`")]
    UnknownProfile {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
    },
    /// A profile that already exists.
    #[error("profile `{profile}` already exists for client `{client}`")]
    ProfileExists {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
    },
    /// A named server that is not in the draft.
    #[error("server `{name}` is not in the draft for {client}/{profile}")]
    NotInDraft {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// Server name.
        name: String,
    },
    /// Bad input from the user, with a stable code and the field it concerns.
    #[error("{message}")]
    Invalid {
        /// Stable error code, e.g. `MISSING_REQUIRED_PARAM`.
        code: Code,
        /// The input that was bad (flag, parameter or JSON path).
        field: String,
        /// What was wrong.
        message: String,
        /// What to do next.
        hint: Hint,
    },
    /// The draft failed validation.
    #[error("the draft for {client}/{profile} is not valid: {} error(s)", count_errors(.diagnostics))]
    ValidationFailed {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
    /// A file that exists but cannot be parsed.
    #[error("cannot parse {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column when known.
        message: String,
        /// Stable code: `CONFIG_PARSE_ERROR` for client files, `DATA_FILE_ERROR` for our own files.
        code: Code,
    },
    /// The plan that was confirmed is no longer what applying would do: a publish chose
    /// another artifact, or the file changed. Nothing was written.
    #[error(
        "stale plan, nothing was written: the artifact or the file of {client}/{profile} changed since plan {confirmed} was shown"
    )]
    PlanStale {
        /// Client id.
        client: String,
        /// Profile id.
        profile: String,
        /// The plan id that was confirmed.
        confirmed: String,
        /// The fresh plan, to show and confirm instead (`null` when it cannot be made).
        fresh: Box<serde_json::Value>,
    },
    /// Several inputs are wrong at once: every problem, each with its code and field. The
    /// first one gives the code, field and hint; `details.problems` lists them all.
    #[error("{} (and {} more problem(s) in `details.problems`)", .0[0], .0.len() - 1)]
    Fields(Vec<Error>),
    /// An I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An invariant of our own data was broken (a bug or a corrupted state directory).
    #[error("internal error: {0}")]
    Internal(String),
}

/// An input as echoed back in an error message: at most 64 characters, so a hostile or
/// mistaken megabyte is not repeated on every face.
pub fn echo(input: &str) -> String {
    const MAX: usize = 64;
    match input.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes)", &input[..cut], input.len()),
        None => input.to_owned(),
    }
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// Whether a failure is the user's to fix or ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input, unknown ids, invalid drafts: exit code 1, HTTP 4xx.
    User,
    /// I/O failures and broken invariants: exit code 2, HTTP 5xx.
    Internal,
}

/// The structured body every front-end shows for an error.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Stable code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
    /// The bad input, by its wire name (`client_id`, `profile_id`, `server_name`, ...), when
    /// one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What to do next, in the terms of the face that shows it (a command, a tool, an
    /// endpoint); embedded in an answer, the prose alone.
    pub hint: String,
    /// The steps the hint speaks of, as data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<Step>,
    /// Extra structured details (diagnostics, known ids, ...); `{}` when there are none.
    pub details: serde_json::Value,
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(
        code: Code,
        field: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<Hint>,
    ) -> Self {
        Self::Invalid {
            code,
            field: field.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// One error for `problems`: the problem itself when there is one, else [`Error::Fields`].
    /// `None` when there is none.
    pub fn of_all(mut problems: Vec<Error>) -> Option<Self> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(Self::Fields(problems)),
        }
    }

    /// Every problem this error names (itself, or those of [`Error::Fields`]).
    pub fn problems(&self) -> Vec<&Error> {
        match self {
            Self::Fields(all) => all.iter().collect(),
            one => vec![one],
        }
    }

    /// The same error again, for every job of a batch that failed as a whole.
    #[must_use]
    pub fn replicate(&self) -> Self {
        match self {
            Self::Invalid {
                code,
                field,
                message,
                hint,
            } => Self::Invalid {
                code: *code,
                field: field.clone(),
                message: message.clone(),
                hint: hint.clone(),
            },
            Self::Parse {
                path,
                message,
                code,
            } => Self::Parse {
                path: path.clone(),
                message: message.clone(),
                code: *code,
            },
            Self::PlanStale {
                client,
                profile,
                confirmed,
                fresh,
            } => Self::PlanStale {
                client: client.clone(),
                profile: profile.clone(),
                confirmed: confirmed.clone(),
                fresh: fresh.clone(),
            },
            Self::Fields(all) => Self::Fields(all.iter().map(Self::replicate).collect()),
            Self::Io { context, source } => Self::io(
                context.clone(),
                std::io::Error::new(source.kind(), source.to_string()),
            ),
            other => Self::Internal(other.to_string()),
        }
    }

    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The stable error code, typed: its category gives the exit code and HTTP status.
    pub fn error_code(&self) -> Code {
        match self {
            Self::UnknownClient { .. } => Code::UnknownClient,
            Self::UnknownServer { .. } => Code::UnknownServer,
            Self::UnknownProfile { .. } => Code::UnknownProfile,
            Self::ProfileExists { .. } => Code::ProfileExists,
            Self::NotInDraft { .. } => Code::ServerNotInDraft,
            Self::Invalid { code, .. } | Self::Parse { code, .. } => *code,
            Self::Fields(all) => all[0].error_code(),
            Self::ValidationFailed { .. } => Code::ValidationFailed,
            Self::PlanStale { .. } => Code::PlanStale,
            Self::Io { .. } => Code::IoError,
            Self::Internal(_) => Code::InternalError,
        }
    }

    /// Whether this is the user's to fix.
    pub fn kind(&self) -> ErrorKind {
        if self.error_code().category() == Category::Internal {
            ErrorKind::Internal
        } else {
            ErrorKind::User
        }
    }

    /// What to do next.
    pub fn hint(&self) -> Hint {
        match self {
            Self::UnknownClient { known, .. } => Hint::step(
                format!("use one of: {}", known.join(", ")),
                Op::ListClients,
                &[],
            ),
            Self::UnknownServer { suggestions, .. } if !suggestions.is_empty() => Hint::step(
                format!(
                    "did you mean {}? Search the catalog",
                    suggestions.join(", ")
                ),
                Op::SearchServers,
                &[],
            ),
            Self::UnknownServer { .. } => Hint::step("search the catalog", Op::SearchServers, &[]),
            Self::UnknownProfile { client, profile } => Hint::new(
                "create it, or list the client's profiles",
                [
                    Step::new(
                        Op::CreateProfile,
                        &[("client_id", client), ("profile_id", profile)],
                    ),
                    Step::new(Op::ListProfiles, &[("client_id", client)]),
                ],
            ),
            Self::ProfileExists { .. } => "choose another name, or use the existing profile".into(),
            Self::NotInDraft {
                client, profile, ..
            } => Hint::step(
                "list the draft's servers",
                Op::ShowDraft,
                &[("client_id", client), ("profile_id", profile)],
            ),
            Self::Invalid { hint, .. } => hint.clone(),
            Self::Fields(all) => all[0].hint(),
            Self::ValidationFailed {
                client, profile, ..
            } => Hint::step(
                "fix the errors listed, then validate again",
                Op::Validate,
                &[("client_id", client), ("profile_id", profile)],
            ),
            Self::Parse { path, .. } => format!(
                "fix the syntax of {} (it was left untouched)",
                path.display()
            )
            .into(),
            Self::PlanStale { .. } => {
                "review the fresh plan (`details.plan`) and confirm its `plan_id` instead".into()
            }
            Self::Io { .. } => "check that the path exists and is writable".into(),
            Self::Internal(_) => "this is a bug; please report it with what you ran".into(),
        }
    }

    /// The full structured body.
    pub fn body(&self) -> ErrorBody {
        let (field, details) = match self {
            Self::UnknownClient { id, known } => (
                Some("client_id".to_owned()),
                serde_json::json!({ "client": id, "known": known }),
            ),
            Self::UnknownServer { id, suggestions } => (
                Some("server_id".to_owned()),
                serde_json::json!({ "server_id": id, "suggestions": suggestions }),
            ),
            Self::UnknownProfile { client, profile } | Self::ProfileExists { client, profile } => (
                Some("profile_id".to_owned()),
                serde_json::json!({ "client": client, "profile": profile }),
            ),
            Self::NotInDraft {
                client,
                profile,
                name,
            } => (
                Some("server_name".to_owned()),
                serde_json::json!({ "client": client, "profile": profile, "name": name }),
            ),
            Self::Invalid { field, .. } => (Some(field.clone()), serde_json::json!({})),
            Self::Fields(all) => (
                all[0].body().field,
                serde_json::json!({ "problems": all.iter().map(Self::body).collect::<Vec<_>>() }),
            ),
            Self::ValidationFailed { diagnostics, .. } => {
                (None, serde_json::json!({ "diagnostics": diagnostics }))
            }
            Self::Parse { path, .. } => (None, serde_json::json!({ "path": path })),
            Self::PlanStale {
                confirmed, fresh, ..
            } => (
                Some("plan_id".to_owned()),
                serde_json::json!({ "confirmed": confirmed, "plan": fresh }),
            ),
            Self::Io { .. } | Self::Internal(_) => (None, serde_json::json!({})),
        };
        let hint = self.hint();
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
            field,
            hint: hint.text,
            next: hint.steps,
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_inputs_are_cut_at_64_characters() {
        assert_eq!(echo("short"), "short");
        let long = "é".repeat(1_000_000);
        let shown = echo(&long);
        assert!(shown.starts_with(&"é".repeat(64)));
        assert!(
            shown.ends_with("… (2000000 bytes)"),
            "{}",
            &shown[shown.len() - 30..]
        );
    }
}
