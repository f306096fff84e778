//! Answers of the tools that read only the catalog, kept per loaded catalog. The catalog does
//! not change while an orchestrator is loaded (a change on disk loads a new one, with a new
//! id), and `list_available_servers` is both the most frequent call and the largest answer
//! (38 KB for the bundled catalog): building it and its text block once saves most of the
//! server's work for it.

use std::collections::HashMap;
use std::sync::Mutex;

use rmcp::model::{CallToolResult, JsonObject};

/// Answers kept at most; past that the store starts over (arguments are the client's choice).
const MAX_ANSWERS: usize = 256;

/// The store, shared by every session of a server.
#[derive(Debug, Default)]
pub struct CatalogAnswers {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    orchestrator: u64,
    answers: HashMap<(String, String), CallToolResult>,
}

impl CatalogAnswers {
    /// The answer kept for `tool` with `args` under orchestrator `id`.
    pub fn get(&self, id: u64, tool: &str, args: &JsonObject) -> Option<CallToolResult> {
        let kept = self.kept.lock().ok()?;
        if kept.orchestrator != id {
            return None;
        }
        kept.answers.get(&key(tool, args)).cloned()
    }

    /// Keeps an answer (dropping those of an earlier orchestrator).
    pub fn put(&self, id: u64, tool: &str, args: &JsonObject, answer: &CallToolResult) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept.orchestrator != id || kept.answers.len() >= MAX_ANSWERS {
            kept.orchestrator = id;
            kept.answers.clear();
        }
        kept.answers.insert(key(tool, args), answer.clone());
    }
}

fn key(tool: &str, args: &JsonObject) -> (String, String) {
    (
        tool.to_owned(),
        serde_json::to_string(args).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answers_are_kept_per_orchestrator_and_arguments() {
        let answers = CatalogAnswers::default();
        let args = json!({"search_query": "git"}).as_object().unwrap().clone();
        let other = json!({"search_query": "fs"}).as_object().unwrap().clone();
        let answer = CallToolResult::structured(json!({"count": 1}));
        answers.put(1, "list_available_servers", &args, &answer);
        assert_eq!(
            answers.get(1, "list_available_servers", &args),
            Some(answer.clone())
        );
        assert_eq!(answers.get(1, "list_available_servers", &other), None);
        assert_eq!(answers.get(1, "describe_server", &args), None);
        assert_eq!(
            answers.get(2, "list_available_servers", &args),
            None,
            "a reloaded catalog"
        );
        answers.put(2, "list_available_servers", &other, &answer);
        assert_eq!(answers.get(1, "list_available_servers", &args), None);
    }
}
