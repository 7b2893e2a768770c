//! Start-up against a server, as `weave.init` does it: `GET /server_info`, then W&B
//! GraphQL at `$WANDB_BASE_URL/graphql` to make sure the project exists (`project`, then
//! `upsertModel` when it does not), and `viewer` for the default entity of a project
//! given without one.
//!
//! The sink runs [`start`] on the exporter's worker thread before its first write, so the
//! application never waits on it; a server that is down makes it fail with a retryable
//! error and the calls wait. [`default_entity`] is the one request `init` itself makes
//! (and only for a project named without its entity).

use super::client::{Body, Failure, FailureKind, HttpClient};
use super::config::ServerConfig;
use super::routes::{PROJECTS_INFO, SERVER_INFO};
use serde_json::{json, Value};

const PROJECT_QUERY: &str = "query Project($name: String!, $entityName: String!) {\n    project(name: $name, entityName: $entityName) {\n        name\n    }\n}";
const UPSERT_PROJECT_MUTATION: &str = "mutation UpsertModel($name: String!, $id: String, $entity: String!, $description: String, $repo: String) {\n    upsertModel(input: { id: $id, name: $name, entityName: $entity, description: $description, repo: $repo }) {\n        model {\n            name\n            description\n        }\n    }\n}";
const VIEWER_QUERY: &str = "query DefaultEntity {\n    viewer {\n        username\n        defaultEntity {\n            name\n        }\n    }\n}";

/// What `GET /server_info` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The trace server's version, when it says.
    pub trace_server_version: Option<String>,
}

/// Why start-up failed.
#[derive(Debug, Clone)]
pub(crate) struct StartupError {
    /// True when trying again later may work (the server is down or busy).
    pub(crate) retryable: bool,
    /// What went wrong.
    pub(crate) message: String,
}

impl From<Failure> for StartupError {
    fn from(f: Failure) -> StartupError {
        StartupError { retryable: f.kind == FailureKind::Retryable, message: f.message }
    }
}

/// `GET /server_info`, then (when `config.ensure_project`) the project check and
/// creation. A trace server without `/server_info` is accepted.
pub(crate) fn start(client: &HttpClient, config: &ServerConfig, project_id: &str) -> Result<ServerInfo, StartupError> {
    let info = match client.get(SERVER_INFO) {
        Ok(response) => server_info_of(&response.json()),
        Err(f) if f.kind == FailureKind::NotFound => ServerInfo::default(),
        Err(f) => return Err(f.into()),
    };
    if config.ensure_project {
        let (entity, project) = project_id.split_once('/').unwrap_or(("", project_id));
        ensure_project_exists(client, config, entity, project)?;
    }
    Ok(info)
}

/// What `/server_info` says.
pub(crate) fn server_info_of(body: &Value) -> ServerInfo {
    ServerInfo { trace_server_version: body.get("trace_server_version").and_then(Value::as_str).map(str::to_string) }
}

/// Asks W&B whether the project exists and creates it when it does not.
pub(crate) fn ensure_project_exists(
    client: &HttpClient,
    config: &ServerConfig,
    entity: &str,
    project: &str,
) -> Result<(), StartupError> {
    let found = graphql(client, config, PROJECT_QUERY, json!({"name": project, "entityName": entity}))?;
    if found.get("project").is_some_and(|p| !p.is_null()) {
        return Ok(());
    }
    let created = graphql(
        client,
        config,
        UPSERT_PROJECT_MUTATION,
        json!({"name": project, "entity": entity, "description": null, "id": null, "repo": null}),
    )?;
    if created.pointer("/upsertModel/model").is_some_and(|m| !m.is_null()) {
        Ok(())
    } else {
        Err(StartupError { retryable: false, message: format!("W&B did not create the project {entity}/{project}") })
    }
}

/// The default entity of the key's user (`viewer.defaultEntity.name`, else its username).
pub fn default_entity(config: &ServerConfig) -> Result<String, String> {
    let mut config = config.clone();
    config.request_retries = 1;
    let client = HttpClient::new(&config)?;
    let data = graphql(&client, &config, VIEWER_QUERY, json!({})).map_err(|e| e.message)?;
    entity_of_viewer(&data)
}

/// The default entity in the `data` of the viewer query.
pub(crate) fn entity_of_viewer(data: &Value) -> Result<String, String> {
    let viewer = data
        .get("viewer")
        .filter(|v| !v.is_null())
        .ok_or_else(|| "W&B did not say who the API key belongs to (is WANDB_API_KEY right?)".to_string())?;
    viewer
        .pointer("/defaultEntity/name")
        .and_then(Value::as_str)
        .or_else(|| viewer.get("username").and_then(Value::as_str))
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "W&B gave no default entity for the API key's user".to_string())
}

/// One GraphQL request; returns `data`. GraphQL errors are permanent failures.
fn graphql(client: &HttpClient, config: &ServerConfig, query: &str, variables: Value) -> Result<Value, StartupError> {
    let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))
        .map_err(|e| StartupError { retryable: false, message: format!("could not encode a GraphQL request: {e}") })?;
    let response = client.send(&config.graphql_url(), "POST", &Body::Json(&body), &[])?;
    graphql_data(response.json(), &config.graphql_url())
}

/// The `data` of a GraphQL response, or its errors as a permanent failure.
pub(crate) fn graphql_data(parsed: Value, url: &str) -> Result<Value, StartupError> {
    if let Some(errors) = parsed.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        let messages: Vec<&str> = errors.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).collect();
        return Err(StartupError {
            retryable: false,
            message: format!("W&B GraphQL at {url}: {}", messages.join("; ")),
        });
    }
    Ok(parsed.get("data").cloned().unwrap_or(Value::Null))
}

/// The project's internal id (`POST /service/projects_info`), which the server writes the
/// refs inside objects and table rows with before digesting them. `Ok(None)` when the
/// server does not say (no such route, or no entry for the project).
pub(crate) fn internal_project_id(client: &HttpClient, project_id: &str) -> Result<Option<String>, Failure> {
    let body = json!({"project_ids": [project_id]});
    let bytes = serde_json::to_vec(&body).map_err(|e| Failure::local(e.to_string()))?;
    let response = match client.post_json(PROJECTS_INFO, &bytes, &[]) {
        Ok(response) => response,
        Err(f) if f.kind == FailureKind::NotFound => return Ok(None),
        Err(f) => return Err(f),
    };
    let answer = response.json();
    let entries = answer.as_array().or_else(|| answer.get("projects").and_then(Value::as_array));
    Ok(entries.into_iter().flatten().find_map(|entry| {
        let external = entry.get("external_project_id").and_then(Value::as_str);
        let internal = entry.get("internal_project_id").and_then(Value::as_str)?;
        (external.is_none() || external == Some(project_id)).then(|| internal.to_string())
    }))
}
