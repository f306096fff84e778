//! The MCP handler: tools, resources and prompts over the core façade, with resource
//! subscriptions, list-changed notifications, logging and progress. It knows nothing of the
//! transport: stdio ([`super::stdio`]) and the HTTP transport build one [`OrchServer`] per
//! session over the same [`SharedCore`] and [`Watcher`].
//!
//! Notifications come from the [`Watcher`], which sees every change in the state directory
//! whoever made it (this server, the CLI, the TUI, another server). Sessions that began with
//! `initialize` (protocol up to 2025-11-25) get `notifications/resources/updated` for the URIs
//! they subscribed to and `notifications/resources/list_changed`; 2026-07-28 sessions get the
//! same through `subscriptions/listen`.

// MCP logging is deprecated in 2026-07-28 but still part of the 2025 revisions we serve.
#![allow(deprecated)]

pub mod answers;
pub mod prompts;
pub mod resources;
pub mod tools;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam,
    PaginatedRequestParams, ProgressNotificationParam, ProgressToken, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ResourceContents, ResourceUpdatedNotificationParam,
    ServerCapabilities, ServerConfig, SetLevelRequestParams, SubscribeRequestParams,
    SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::core::events::{DomainEvent, StateSnapshot};
use crate::core::tokens::Scope;
use crate::core::{self, ErrorKind};
use crate::server::activity::Activity;
use crate::server::watch::{POLL_INTERVAL, SharedCore, Subscription, Update, Watcher};

/// The logger name in `notifications/message`.
const LOGGER: &str = "mcp-orch";

const INSTRUCTIONS: &str = "mcp-orch manages the MCP server configuration of AI clients \
(Claude Desktop, Claude Code, Cursor, VS Code, ...). Workflow: list_clients → \
list_available_servers / describe_server → add_server_to_config → validate_config → \
diff_config. Changes go into a draft per client and profile; the client's file changes only \
on deploy. Failed tools return {code, message, details, hint}.";

/// The structured body of a failed tool or resource: `{code, message, field?, hint, next?,
/// details}`, the CLI's and the REST API's body with the hint spelled as tool calls.
pub fn error_body(e: &core::Error) -> Value {
    serde_json::to_value(crate::api::next::error_body(e, crate::api::next::Face::Mcp))
        .unwrap_or_default()
}

fn level_rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// The first revision whose sessions get no `notifications/message` unless they ask.
const OPT_IN_LOGGING_SINCE: &str = "2026-07-28";

/// Per-session state.
struct Session {
    /// URIs subscribed with `resources/subscribe`.
    subscriptions: Mutex<BTreeSet<String>>,
    /// The minimum level of `notifications/message` set by `logging/setLevel`; `None` until
    /// then.
    log_level: Mutex<Option<LoggingLevel>>,
    /// Whether the notification forwarder of a legacy session runs.
    forwarding: AtomicBool,
    /// A receiver and baseline taken when a `subscriptions/listen` request was accepted, for
    /// the `listen` call that follows, so that no change after the acknowledgment is missed.
    pending_listen: Mutex<Option<Subscription>>,
}

/// The MCP server of one session.
#[derive(Clone)]
pub struct OrchServer {
    core: Arc<SharedCore>,
    watcher: Arc<Watcher>,
    session: Arc<Session>,
    /// The scope of the credentials that opened the session (HTTP+SSE), when fixed.
    scope: Option<Scope>,
    /// Where tool calls are recorded (the HTTP server's recent requests).
    activity: Option<Arc<Activity>>,
    /// Answers of the catalog-only tools, shared by the sessions of a server.
    answers: Arc<answers::CatalogAnswers>,
}

impl OrchServer {
    /// A server for a new session.
    pub fn new(core: Arc<SharedCore>, watcher: Arc<Watcher>) -> Self {
        Self {
            core,
            watcher,
            session: Arc::new(Session {
                subscriptions: Mutex::new(BTreeSet::new()),
                log_level: Mutex::new(None),
                forwarding: AtomicBool::new(false),
                pending_listen: Mutex::new(None),
            }),
            scope: None,
            activity: None,
            answers: Arc::default(),
        }
    }

    /// Shares the answers of the catalog-only tools with the other sessions of a server.
    #[must_use]
    pub fn with_answers(mut self, answers: Arc<answers::CatalogAnswers>) -> Self {
        self.answers = answers;
        self
    }

    /// Records every tool call in `activity`.
    #[must_use]
    pub fn with_activity(mut self, activity: Arc<Activity>) -> Self {
        self.activity = Some(activity);
        self
    }

    /// Limits the session to what `scope` allows (for transports where the credentials are
    /// checked once per session).
    #[must_use]
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The scope of the caller: fixed for the session, or the one the HTTP layer attached to
    /// the request. `None` over stdio, where the local user may do everything.
    fn caller_scope(&self, ctx: &RequestContext<RoleServer>) -> Option<Scope> {
        self.scope.or_else(|| {
            ctx.extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Scope>().copied())
        })
    }

    /// Who the audit log names for a call: the token (or API key) over HTTP, as the REST API
    /// records it; over stdio, the client that opened the session.
    fn caller_actor(ctx: &RequestContext<RoleServer>) -> String {
        let principal = ctx
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| {
                parts
                    .extensions
                    .get::<crate::server::http::auth::Principal>()
            });
        match principal {
            Some(p) => p.actor(),
            None => ctx.peer.peer_info().map_or_else(
                || "mcp:stdio".to_owned(),
                |i| format!("mcp:stdio:{}", i.client_info.name),
            ),
        }
    }

    fn subscriptions(&self) -> Vec<String> {
        self.session
            .subscriptions
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The least level of `notifications/message` a session wants: what it set with
    /// `logging/setLevel`, else `info` up to 2025-11-25 (where the server may choose) and
    /// nothing from 2026-07-28 on, where logging is opt-in per request (`_meta`) and sessions
    /// have no `setLevel`.
    fn session_level(&self, peer: &Peer<RoleServer>) -> Option<LoggingLevel> {
        let set = self.session.log_level.lock().ok().and_then(|l| *l);
        let opted_out_by_default = peer
            .peer_info()
            .is_some_and(|i| i.protocol_version.as_str() >= OPT_IN_LOGGING_SINCE);
        set.or((!opted_out_by_default).then_some(LoggingLevel::Info))
    }

    /// Sends a log message related to a request, when the client wants that level: sessions
    /// through `logging/setLevel` (or the default above), 2026-07-28 requests through their
    /// `_meta`.
    async fn log_for(&self, ctx: &RequestContext<RoleServer>, level: LoggingLevel, data: Value) {
        let wanted = ctx.meta.log_level().or_else(|| {
            ctx.peer
                .peer_info()
                .is_some()
                .then(|| self.session_level(&ctx.peer))
                .flatten()
        });
        if wanted.is_some_and(|w| level_rank(level) >= level_rank(w)) {
            let _ = ctx
                .peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(level, data).with_logger(LOGGER),
                )
                .await;
        }
    }

    /// The JSON of `capabilities://server`.
    pub fn capabilities_json(&self) -> Value {
        json!({
            "name": "mcp-orch",
            "version": env!("CARGO_PKG_VERSION"),
            "tools": tools::TOOLS.iter().map(|t| t.name).collect::<Vec<_>>(),
            "resources": resources::STATIC.iter().map(|r| r.0).collect::<Vec<_>>(),
            "resource_templates": resources::TEMPLATES.iter().map(|r| r.0).collect::<Vec<_>>(),
            "prompts": prompts::PROMPTS.iter().map(|p| p.0).collect::<Vec<_>>(),
            "notifications": {
                "resources_updated": true,
                "resources_list_changed": true,
                "cross_process": true,
                "poll_interval_ms": u64::try_from(POLL_INTERVAL.as_millis()).unwrap_or(u64::MAX),
                "logging": true,
                "progress": true,
            },
            "error_shape": ["code", "message", "details", "hint"],
            "state_dir": self.core.get().home(),
        })
    }

    /// Starts forwarding watcher updates to a legacy session as notifications.
    fn start_forwarder(&self, peer: Peer<RoleServer>) {
        if self.session.forwarding.swap(true, Ordering::SeqCst) {
            return;
        }
        let (mut rx, baseline) = self.watcher.subscribe();
        let this = self.clone();
        let mut listed = resources::listed_uris(&baseline);
        tokio::spawn(async move {
            loop {
                let update = match rx.recv().await {
                    Ok(update) => update,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                if peer.is_transport_closed() {
                    break;
                }
                if this.forward(&peer, &update, &mut listed).await.is_err() {
                    break;
                }
            }
        });
    }

    async fn forward(
        &self,
        peer: &Peer<RoleServer>,
        update: &Update,
        listed: &mut Vec<String>,
    ) -> Result<(), rmcp::service::ServiceError> {
        for uri in stale_uris(&self.subscriptions(), &update.events) {
            peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                .await?;
        }
        if list_changed(update, listed) {
            peer.notify_resource_list_changed().await?;
        }
        if self
            .session_level(peer)
            .is_some_and(|w| level_rank(LoggingLevel::Info) >= level_rank(w))
        {
            for event in &update.events {
                let data = json!({ "message": "state changed", "event": event });
                peer.notify_logging_message(
                    LoggingMessageNotificationParam::new(LoggingLevel::Info, data)
                        .with_logger(LOGGER),
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Whether an update changes the resource list: the listed URIs differ (a draft, release or
/// deployment appeared or went away), or the catalog behind `server://{server_id}` changed.
fn list_changed(update: &Update, listed: &mut Vec<String>) -> bool {
    let now = resources::listed_uris(&update.snapshot);
    let differs = now != *listed;
    *listed = now;
    differs
        || update
            .events
            .iter()
            .any(|e| matches!(e, DomainEvent::CatalogChanged))
}

/// The subscribed URIs that `events` make stale.
fn stale_uris(subscribed: &[String], events: &[DomainEvent]) -> Vec<String> {
    subscribed
        .iter()
        .filter(|uri| {
            resources::parse(uri)
                .is_some_and(|parsed| events.iter().any(|e| resources::affects(e, &parsed)))
        })
        .cloned()
        .collect()
}

fn resource_error(uri: &str, e: &core::Error) -> McpError {
    let data = Some(error_body(e));
    if e.kind() == ErrorKind::User {
        McpError::resource_not_found(format!("{uri}: {e}"), data)
    } else {
        McpError::internal_error(format!("{uri}: {e}"), data)
    }
}

async fn progress(
    ctx: &RequestContext<RoleServer>,
    token: Option<&ProgressToken>,
    step: f64,
    message: &str,
) {
    if let Some(token) = token {
        let mut param = ProgressNotificationParam::new(token.clone(), step).with_total(2.0);
        param.message = Some(message.to_owned());
        let _ = ctx.peer.notify_progress(param).await;
    }
}

/// How long the user has to answer a deploy confirmation.
const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_mins(5);

/// The tools that change client files and so need confirmation.
const CONFIRMED_TOOLS: &[&str] = &[
    "deploy_config",
    "rollback_config",
    "apply_config",
    "undeploy_config",
];

/// The form of a deploy confirmation asked through elicitation.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Confirmation {
    /// Write the client's config file now?
    confirm: bool,
}

rmcp::elicit_safe!(Confirmation);

/// What asking the user for a deploy confirmation gave.
enum Asked {
    /// No question was asked (an explicit `confirm`, another tool, or no elicitation).
    Skipped,
    /// The user confirmed the plan with this id.
    Accepted(Value),
    /// The user declined or cancelled; the dry-run plan.
    Refused(Value),
    /// Planning failed.
    Failed(core::Error),
}

impl OrchServer {
    /// Runs a tool call: scope check, confirmation, the tool, logging.
    async fn run_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let Some(spec) = tools::spec(&name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool `{name}`"),
                Some(json!({ "known": tools::TOOLS.iter().map(|t| t.name).collect::<Vec<_>>() })),
            ));
        };
        if let Some(have) = self.caller_scope(&context) {
            let needed = tools::required_scope(spec);
            if !have.allows(needed) {
                return Ok(CallToolResult::structured_error(json!({
                    "code": crate::core::code::Code::InsufficientScope.as_str(),
                    "message": format!("`{name}` needs the `{}` scope; the credentials have `{}`", needed.as_str(), have.as_str()),
                    "details": { "tool": name, "needed": needed, "granted": have },
                    "hint": format!("use a token created with `mcp-orch token create --scope {}`", needed.as_str()),
                }))
                .into());
            }
        }
        let mut args = request.arguments.unwrap_or_default();
        let token = context.meta.get_progress_token();
        let orch = self.core.get();
        // A kept answer, unless the caller wants progress notifications (it gets them).
        let keepable = tools::reads_only_the_catalog(&name) && token.is_none();
        if keepable && let Some(answer) = self.answers.get(orch.id(), &name, &args) {
            return Ok(answer.into());
        }
        let kept_args = keepable.then(|| args.clone());
        progress(&context, token.as_ref(), 0.0, &format!("{name}: started")).await;
        let actor = Self::caller_actor(&context);
        let run = |args| {
            tools::call(&orch, &name, args, &actor).unwrap_or_else(|| {
                Err(core::Error::Internal(format!(
                    "tool `{name}` has no handler"
                )))
            })
        };
        let outcome = if spec.effect == tools::Effect::Execute {
            // Boxed: a probe's future is large, and every session's handler would carry it.
            // Dropped, with the servers it started, when the request is cancelled: by the
            // client (`notifications/cancelled`), or by rmcp when the HTTP request behind it
            // is abandoned (it timed out with 408, or the client went away).
            tokio::select! {
                outcome = Box::pin(tools::call_async(&orch, &name, args)) => outcome,
                () = context.ct.cancelled() => {
                    tracing::debug!(tool = %name, "request cancelled: tool stopped");
                    return Err(McpError::internal_error("the request was cancelled", None));
                }
            }
        } else {
            match self.ask_confirmation(&context, &name, &args, &run).await {
                Asked::Skipped => run(args),
                Asked::Accepted(plan_id) => {
                    // Exactly the plan the user saw, or PLAN_STALE.
                    args.insert("confirm".into(), Value::Bool(true));
                    args.insert("plan_id".into(), plan_id);
                    run(args).map(|mut v| {
                        v["confirmed_by"] = json!("elicitation");
                        v
                    })
                }
                Asked::Refused(mut plan) => {
                    plan["status"] = json!("cancelled");
                    Ok(plan)
                }
                Asked::Failed(e) => Err(e),
            }
        };
        progress(&context, token.as_ref(), 2.0, &format!("{name}: done")).await;
        let result = match outcome {
            Ok(value) => {
                if spec.mutates {
                    self.watcher.poke();
                    self.log_for(
                        &context,
                        LoggingLevel::Info,
                        json!({ "message": format!("{name} succeeded"), "tool": name }),
                    )
                    .await;
                }
                let answer = CallToolResult::structured(value);
                if let Some(args) = &kept_args {
                    self.answers.put(orch.id(), &name, args, &answer);
                }
                answer
            }
            Err(e) => {
                let body = error_body(&e);
                tracing::debug!(tool = %name, code = e.code(), "tool failed: {e}");
                self.log_for(
                    &context,
                    if e.kind() == ErrorKind::User {
                        LoggingLevel::Warning
                    } else {
                        LoggingLevel::Error
                    },
                    json!({ "message": format!("{name} failed"), "tool": name, "error": body }),
                )
                .await;
                CallToolResult::structured_error(body)
            }
        };
        Ok(result.into())
    }

    /// For deploy and rollback without an explicit `confirm`, shows the plan to the user through
    /// elicitation when the client supports it (sessions before 2026-07-28, which still allow
    /// server-to-client requests) and returns the answer.
    async fn ask_confirmation(
        &self,
        ctx: &RequestContext<RoleServer>,
        name: &str,
        args: &rmcp::model::JsonObject,
        run: &impl Fn(rmcp::model::JsonObject) -> tools::Outcome,
    ) -> Asked {
        let explicit = args.get("confirm").is_some_and(|v| !v.is_null());
        let legacy = ctx
            .protocol_version()
            .is_none_or(|v| v.as_str() < rmcp::model::ProtocolVersion::V_2026_07_28.as_str());
        let can_elicit = ctx
            .client_capabilities()
            .is_some_and(|c| c.elicitation.is_some());
        if !CONFIRMED_TOOLS.contains(&name) || explicit || !legacy || !can_elicit {
            return Asked::Skipped;
        }
        let plan = match run(args.clone()) {
            Ok(plan) => plan,
            Err(e) => return Asked::Failed(e),
        };
        let message = confirmation_message(name, &plan);
        match ctx
            .peer
            .elicit_with_timeout::<Confirmation>(message, Some(CONFIRM_TIMEOUT))
            .await
        {
            Ok(Some(Confirmation { confirm: true })) => Asked::Accepted(plan["plan_id"].clone()),
            Ok(_)
            | Err(
                rmcp::service::ElicitationError::UserDeclined
                | rmcp::service::ElicitationError::UserCancelled,
            ) => Asked::Refused(plan),
            Err(e) => {
                tracing::warn!("asking for confirmation failed: {e}");
                Asked::Skipped
            }
        }
    }
}

/// The question shown to the user before a deploy or rollback: what changes in which file.
fn confirmation_message(name: &str, plan: &Value) -> String {
    const MAX_DIFF: usize = 4000;
    let verb = match name {
        "rollback_config" => "Roll back to",
        "undeploy_config" => "Remove mcp-orch's servers of",
        "apply_config" if plan["publishes"] == Value::Bool(true) => "Publish the draft and deploy",
        "apply_config" => "Apply",
        _ => "Deploy",
    };
    let list = |key: &str| {
        plan["plan"]["diff"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .or_else(|| v["server_id"].as_str())
                            .unwrap_or("?")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let mut diff = plan["plan"]["unified_diff"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if diff.len() > MAX_DIFF {
        let mut cut = MAX_DIFF;
        while !diff.is_char_boundary(cut) {
            cut -= 1;
        }
        diff.truncate(cut);
        diff.push_str("\n…");
    }
    let version = plan["version"]
        .as_u64()
        .map_or_else(String::new, |v| format!("v{v} of "));
    format!(
        "{verb} {version}{}/{} into {}?\nadd: [{}]  change: [{}]  remove: [{}]\n\n{diff}",
        plan["client_id"].as_str().unwrap_or_default(),
        plan["profile_id"].as_str().unwrap_or_default(),
        plan["config_path"].as_str().unwrap_or_default(),
        list("servers_added"),
        list("servers_modified"),
        list("servers_removed"),
    )
}

impl ServerHandler for OrchServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_prompts()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_resources_list_changed()
            .enable_tools()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("mcp-orch", env!("CARGO_PKG_VERSION")).with_title("mcp-orch"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.start_forwarder(context.peer);
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if let Ok(mut level) = self.session.log_level.lock() {
            *level = Some(request.level);
        }
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(activity) = self.activity.clone() else {
            return self.run_tool(request, context).await;
        };
        let started = std::time::Instant::now();
        let what = format!("tools/call {}", request.name);
        let response = self.run_tool(request, context).await;
        activity.record(what, &tool_outcome(&response), started.elapsed());
        response
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let snapshot = StateSnapshot::take(&self.core.get());
        Ok(ListResourcesResult::with_all_items(resources::list(
            &snapshot,
        )))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let Some(parsed) = resources::parse(&uri) else {
            return Err(McpError::resource_not_found(
                format!("no resource at `{uri}`"),
                Some(json!({ "uri": uri })),
            ));
        };
        let orch = self.core.get();
        let value = resources::read(&orch, &parsed, &self.capabilities_json())
            .map_err(|e| resource_error(&uri, &e))?;
        let text = serde_json::to_string_pretty(&value)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type(resources::MIME_JSON),
        ])
        .into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if resources::parse(&request.uri).is_none() {
            return Err(McpError::resource_not_found(
                format!("no resource at `{}`", request.uri),
                Some(json!({ "uri": request.uri })),
            ));
        }
        if let Ok(mut subs) = self.session.subscriptions.lock() {
            subs.insert(request.uri);
        }
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if let Ok(mut subs) = self.session.subscriptions.lock() {
            subs.remove(&request.uri);
        }
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        if let Ok(mut pending) = self.session.pending_listen.lock() {
            *pending = Some(self.watcher.subscribe());
        }
        let mut accepted = requested.clone();
        accepted.tools_list_changed = None;
        accepted.prompts_list_changed = None;
        accepted.resource_subscriptions = requested.resource_subscriptions.as_ref().map(|uris| {
            uris.iter()
                .filter(|u| resources::parse(u).is_some())
                .cloned()
                .collect()
        });
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let pending = self
            .session
            .pending_listen
            .lock()
            .ok()
            .and_then(|mut p| p.take());
        let (mut rx, baseline) = pending.unwrap_or_else(|| self.watcher.subscribe());
        let subscribed = context
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let wants_list = context.accepted().resources_list_changed == Some(true);
        let mut listed = resources::listed_uris(&baseline);
        loop {
            let update = tokio::select! {
                () = context.cancelled() => return Ok(()),
                update = rx.recv() => match update {
                    Ok(update) => update,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                },
            };
            for uri in stale_uris(&subscribed, &update.events) {
                if context.sink().notify_resource_updated(uri).await.is_err() {
                    return Ok(());
                }
            }
            if list_changed(&update, &mut listed)
                && wants_list
                && context.sink().notify_resource_list_changed().await.is_err()
            {
                return Ok(());
            }
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let args: std::collections::BTreeMap<String, String> = request
            .arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        let orch = self.core.get();
        match prompts::get(&orch, &request.name, &args) {
            None => Err(McpError::invalid_params(
                format!("unknown prompt `{}`", request.name),
                Some(json!({ "known": prompts::PROMPTS.iter().map(|p| p.0).collect::<Vec<_>>() })),
            )),
            Some(Err(e)) => Err(McpError::invalid_params(
                e.to_string(),
                Some(error_body(&e)),
            )),
            Some(Ok(result)) => Ok(result.into()),
        }
    }
}

/// How a tool call ended, for the recent requests: `ok`, the error code of a failed tool, or
/// the JSON-RPC error code.
fn tool_outcome(response: &Result<CallToolResponse, McpError>) -> String {
    match response {
        Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => result
            .structured_content
            .as_ref()
            .and_then(|v| v["code"].as_str())
            .unwrap_or("error")
            .to_owned(),
        Ok(CallToolResponse::Complete(_)) => "ok".to_owned(),
        Ok(CallToolResponse::InputRequired(_)) => "input required".to_owned(),
        Ok(CallToolResponse::Task(_)) => "task".to_owned(),
        Ok(_) => "answered".to_owned(),
        Err(e) => format!("error {}", e.code.0),
    }
}
