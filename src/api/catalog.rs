//! The server catalog: search and one server in full.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::core::catalog::{
    EnvSpec, HeaderSpec, PackageRef, ParamSpec, ServerEntry, Source, Transport,
};
use crate::core::code::Code;
use crate::core::search::Query;
use crate::core::{Error, Orchestrator, Result};

/// One catalog server in a list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerSummary {
    /// Catalog id.
    pub server_id: String,
    /// Display name.
    pub display_name: String,
    /// One line.
    pub description: String,
    /// `stdio`, `http` or `sse`.
    pub transport: Transport,
    /// Tags.
    pub tags: Vec<String>,
    /// The package a stdio server is installed from.
    pub package: Option<PackageRef>,
    /// `bundled`, `registry` or `user`.
    pub source: Source,
    /// Whether it takes parameters.
    pub has_parameters: bool,
    /// Whether it needs environment variables.
    pub requires_env: bool,
}

impl ServerSummary {
    /// The summary of a catalog entry.
    pub fn of(entry: &ServerEntry) -> Self {
        Self {
            server_id: entry.id.clone(),
            display_name: entry.name.clone(),
            description: entry.description.clone(),
            transport: entry.transport,
            tags: entry.tags.clone(),
            package: entry.package.clone(),
            source: entry.source,
            has_parameters: !entry.params.is_empty(),
            requires_env: entry.env.iter().any(|e| e.required),
        }
    }
}

/// `servers search --json`, `list_available_servers`, `GET /v1/servers`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerList {
    /// Matches, best first.
    pub servers: Vec<ServerSummary>,
    /// How many are listed.
    pub count: usize,
    /// How many matched (more than `count` when a limit cut the list).
    pub total: usize,
    /// Matches of the text per transport, whatever the transport filter.
    pub transport_counts: BTreeMap<Transport, usize>,
    /// The transports there are.
    pub available_transports: Vec<Transport>,
    /// The fuzzy text.
    pub search_query: String,
    /// The transport filter.
    pub transport_filter: Option<Transport>,
    /// The tag filter.
    pub tag: Option<String>,
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Fuzzy text (empty: everything).
    pub text: String,
    /// `stdio`, `http` or `sse`, as typed.
    pub transport: Option<String>,
    /// A tag.
    pub tag: Option<String>,
    /// List at most this many.
    pub limit: Option<usize>,
}

/// Searches the catalog.
pub fn search_servers(orch: &Orchestrator, search: &Search) -> Result<ServerList> {
    let transport = search
        .transport
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<Transport>().map_err(|_| {
                Error::invalid(
                    Code::InvalidTransport,
                    "transport_filter",
                    format!("unknown transport `{}`", crate::core::error::echo(t)),
                    "use stdio, http or sse",
                )
            })
        })
        .transpose()?;
    let tag = search.tag.clone().filter(|t| !t.trim().is_empty());
    // One search over the text and tag: its counts per transport show what the other
    // transports would offer, and the transport filter keeps the ranking's order.
    let matches = orch.search(&Query {
        text: search.text.clone(),
        transport: None,
        tag: tag.clone(),
    });
    let mut transport_counts: BTreeMap<Transport, usize> =
        Transport::ALL.iter().map(|t| (*t, 0)).collect();
    for (e, _) in &matches {
        *transport_counts.entry(e.transport).or_default() += 1;
    }
    let hits: Vec<&ServerEntry> = matches
        .iter()
        .map(|(e, _)| *e)
        .filter(|e| transport.is_none_or(|t| e.transport == t))
        .collect();
    let servers: Vec<ServerSummary> = hits
        .iter()
        .take(search.limit.unwrap_or(usize::MAX))
        .map(|e| ServerSummary::of(e))
        .collect();
    Ok(ServerList {
        count: servers.len(),
        total: hits.len(),
        servers,
        transport_counts,
        available_transports: Transport::ALL.to_vec(),
        search_query: search.text.clone(),
        transport_filter: transport,
        tag,
    })
}

/// How a server is reached.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerTransport {
    /// `stdio`, `http` or `sse`.
    #[serde(rename = "type")]
    pub kind: Transport,
    /// The command (stdio).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments, with `{param}` placeholders (stdio).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// The URL template (http, sse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers sent (http, sse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<HeaderSpec>>,
}

/// A server's environment variables.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnvVars {
    /// Needed to start.
    pub required: Vec<EnvSpec>,
    /// Optional.
    pub optional: Vec<EnvSpec>,
}

/// A tool call that adds the server.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UsageExample {
    /// `add_server_to_config`.
    pub tool: String,
    /// Its arguments, placeholders in angle brackets.
    pub arguments: Map<String, Value>,
}

/// `servers show --json`, `describe_server`, `GET /v1/servers/{server_id}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerDetail {
    /// Catalog id.
    pub server_id: String,
    /// Display name.
    pub display_name: String,
    /// One line.
    pub description: String,
    /// How it is reached.
    pub transport: ServerTransport,
    /// Typed placeholders of its args, URL and headers.
    pub parameters: Vec<ParamSpec>,
    /// Its environment variables.
    pub env_vars: EnvVars,
    /// The package a stdio server is installed from.
    pub package: Option<PackageRef>,
    /// Documentation.
    pub documentation_url: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// `bundled`, `registry` or `user`.
    pub source: Source,
    /// The version in the registry.
    pub version: Option<String>,
    /// The name in the official MCP Registry (registry entries).
    pub registry_name: Option<String>,
    /// The registry's whole `server.json` (registry entries, from the cache).
    pub server_json: Option<Value>,
    /// How to add it.
    pub usage_example: UsageExample,
}

/// One catalog server in full, with an example of adding it.
pub fn describe_server(orch: &Orchestrator, server_id: &str) -> Result<ServerDetail> {
    let e = orch.server_details(server_id)?;
    let transport = match e.transport {
        Transport::Stdio => ServerTransport {
            kind: e.transport,
            command: e.command.clone(),
            args: Some(e.args.clone()),
            url: None,
            headers: None,
        },
        t => ServerTransport {
            kind: t,
            command: None,
            args: None,
            url: e.url.clone(),
            headers: Some(e.headers.clone()),
        },
    };
    let (required, optional): (Vec<EnvSpec>, Vec<EnvSpec>) =
        e.env.iter().cloned().partition(|v| v.required);
    let mut arguments = Map::new();
    arguments.insert("server_id".into(), json!(e.id));
    let params: Map<String, Value> = e
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none())
        .map(|p| {
            let example = p
                .example
                .clone()
                .unwrap_or_else(|| format!("<{}>", p.kind.as_str()));
            (p.name.clone(), json!(example))
        })
        .collect();
    if !params.is_empty() {
        arguments.insert("params".into(), Value::Object(params));
    }
    let env: Map<String, Value> = required
        .iter()
        .filter(|v| v.default.is_none())
        .map(|v| (v.name.clone(), json!(format!("<{}>", v.name))))
        .collect();
    if !env.is_empty() {
        arguments.insert("env_vars".into(), Value::Object(env));
    }
    Ok(ServerDetail {
        registry_name: orch.registry_name(&e.id).map(str::to_owned),
        server_id: e.id,
        display_name: e.name,
        description: e.description,
        transport,
        parameters: e.params,
        env_vars: EnvVars { required, optional },
        package: e.package,
        documentation_url: e.docs_url,
        tags: e.tags,
        source: e.source,
        version: e.version,
        server_json: e.server_json,
        usage_example: UsageExample {
            tool: "add_server_to_config".into(),
            arguments,
        },
    })
}
