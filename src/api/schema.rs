//! The JSON Schemas of the wire types, from their one `JsonSchema` derive: the MCP tools'
//! `outputSchema` and the components of `/openapi.json` are both made from it, so a type, its
//! MCP schema and its `OpenAPI` schema cannot disagree.

use std::borrow::Cow;

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value};

use super::{
    AuditPage, ClientList, DeployOutcome, DraftChange, DraftCleared, DraftView, FilePlan,
    HealthReport, ImportOutcome, KeyInitialized, ProfileList, Published, PullReport, PulledRelease,
    ReleaseDetail, ReleaseList, RemoteList, RootList, ServerDetail, ServerList, Signed,
    StatusReport, TeamStatus, Validation,
};
use crate::core::audit::VerifyReport;
use crate::core::error::ErrorBody;

/// Names the wire types once: `$m!(Type, ...)` for every answer type.
macro_rules! for_each_wire_type {
    ($m:ident) => {
        $m!(
            AuditPage,
            ClientList,
            DeployOutcome,
            DraftChange,
            DraftCleared,
            DraftView,
            ErrorBody,
            FilePlan,
            HealthReport,
            ImportOutcome,
            KeyInitialized,
            ProfileList,
            PullReport,
            PulledRelease,
            Published,
            ReleaseDetail,
            ReleaseList,
            RemoteList,
            RootList,
            ServerDetail,
            ServerList,
            Signed,
            StatusReport,
            TeamStatus,
            Validation,
            VerifyReport
        );
    };
}

/// Lets the REST handlers name a wire type as a response body: utoipa refers to the
/// component by the JSON Schema's name, and [`components`] fills it in.
macro_rules! openapi_bridge {
    ($($t:ty),*) => {$(
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::Object::new().into()
            }
        }
        impl utoipa::ToSchema for $t {
            fn name() -> Cow<'static, str> {
                <$t as JsonSchema>::schema_name()
            }
        }
    )*};
}
for_each_wire_type!(openapi_bridge);

/// The `outputSchema` of an MCP tool that answers `T`: the tool's result is `T`, or on a tool
/// error (`isError: true`) the error body, so clients that check every `structuredContent`
/// against the schema accept both.
pub fn tool_output<T: JsonSchema>() -> Map<String, Value> {
    #[derive(JsonSchema)]
    #[serde(untagged)]
    #[allow(dead_code)] // only its schema is used
    enum Answer<T> {
        Ok(T),
        Err(ErrorBody),
    }
    let schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Answer<T>>();
    let mut object = match schema.to_value() {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    object.remove("title");
    object.remove("$schema");
    object.insert("type".into(), Value::String("object".into()));
    let mut value = Value::Object(object);
    drop_numeric_formats(&mut value);
    match value {
        Value::Object(object) => object,
        _ => Map::new(),
    }
}

/// Removes schemars' Rust-specific number formats (`uint`, `uint64`, `int32`, `double`, ...),
/// which JSON Schema validators warn about and which say nothing `minimum` does not.
fn drop_numeric_formats(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let numeric = object
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| {
                    f.starts_with("uint") || f.starts_with("int") || f == "double" || f == "float"
                });
            if numeric {
                object.remove("format");
            }
            object.values_mut().for_each(drop_numeric_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_numeric_formats),
        _ => {}
    }
}

/// Every wire type's name and JSON Schema (2020-12, references to
/// `#/components/schemas/NAME`), with the types they use: the `components.schemas` of
/// `/openapi.json`.
pub fn components() -> Map<String, Value> {
    let mut generator = SchemaGenerator::new(
        SchemaSettings::draft2020_12()
            .for_serialize()
            .with(|s| s.definitions_path = "/components/schemas/".into()),
    );
    macro_rules! add {
        ($($t:ty),*) => {$( generator.subschema_for::<$t>(); )*};
    }
    for_each_wire_type!(add);
    let mut definitions = Value::Object(generator.take_definitions(true));
    drop_numeric_formats(&mut definitions);
    match definitions {
        Value::Object(definitions) => definitions,
        _ => Map::new(),
    }
}

/// The names of the answer types, as `components` and the docs use them.
pub fn answer_types() -> Vec<String> {
    let mut names = Vec::new();
    macro_rules! name {
        ($($t:ty),*) => {$( names.push(<$t as JsonSchema>::schema_name().into_owned()); )*};
    }
    for_each_wire_type!(name);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/CLI.md or docs/HTTP.md names every answer type, and every component of
    /// `/openapi.json` that the types make is there.
    #[test]
    fn the_docs_name_every_answer_type() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let docs: String = ["docs/CLI.md", "docs/HTTP.md"]
            .iter()
            .map(|p| std::fs::read_to_string(root.join(p)).unwrap())
            .collect();
        let components = components();
        for name in answer_types() {
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/CLI.md and docs/HTTP.md do not name `{name}`"
            );
            assert!(components.contains_key(&name), "no component {name}");
        }
    }

    /// Every tool's `outputSchema` is an object schema that refuses an empty object.
    #[test]
    fn output_schemas_are_objects() {
        let schema = tool_output::<super::super::StatusReport>();
        assert_eq!(schema.get("type"), Some(&Value::String("object".into())));
        assert!(schema.get("anyOf").is_some_and(Value::is_array));
    }
}
