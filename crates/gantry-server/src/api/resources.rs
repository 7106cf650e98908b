//! The read routes: specs from the config in force, app from the store (on the blocking
//! pool), shaped like Kargo's resources where Kargo has one.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use gantry_api::kargo::{FreightCollection, StageStatus};
use gantry_store::{
    EventQuery, FreightQuery, FreightRecord, PromotionQuery, PromotionRecord, kinds,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::auth::Actor;
use super::error::Problem;
use crate::{Config, Handle};

/// Runs a store read on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    app: &ApiState,
    read: impl FnOnce(&Handle) -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    let handle = app.handle.clone();
    tokio::task::spawn_blocking(move || read(&handle)).await?
}

pub(crate) fn project_missing(project: &str) -> Problem {
    Problem::not_found(format!("project {project} not found"))
}

fn check_project(config: &Config, project: &str) -> Result<(), Problem> {
    config
        .project(project)
        .map(|_| ())
        .ok_or_else(|| project_missing(project))
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Projects

fn project_json(
    config: &Config,
    name: &str,
    freight_count: u64,
    receivers: Option<Vec<Value>>,
) -> Value {
    let Some(index) = config.project(name) else {
        return Value::Null;
    };
    let mut value = json!({
        "name": name,
        "warehouses": index.warehouses.keys().collect::<Vec<_>>(),
        "stages": index.stages.keys().collect::<Vec<_>>(),
        "promotionTasks": index.tasks.keys().collect::<Vec<_>>(),
        "promotionPolicies": to_value(&index.policies),
        "freightCount": freight_count,
    });
    if let Some(receivers) = receivers {
        value["webhookReceivers"] = Value::Array(receivers);
    }
    value
}

pub(crate) async fn list_projects(State(app): State<ApiState>) -> Result<Json<Value>, Problem> {
    blocking(&app, |handle| {
        let config = handle.config();
        let counts = handle.store().read(|r| {
            config
                .projects
                .keys()
                .map(|name| Ok((name.clone(), r.freight_count(name)?)))
                .collect::<Result<BTreeMap<_, _>, _>>()
        })?;
        let items: Vec<Value> = config
            .projects
            .keys()
            .map(|name| project_json(&config, name, counts.get(name).copied().unwrap_or(0), None))
            .collect();
        Ok(Json(json!({ "items": items })))
    })
    .await
}

pub(crate) async fn get_project(
    State(app): State<ApiState>,
    Path(project): Path<String>,
    actor: Option<Extension<Actor>>,
) -> Result<Json<Value>, Problem> {
    let authorised = actor.is_some();
    blocking(&app, move |handle| {
        let config = handle.config();
        check_project(&config, &project)?;
        let count = handle.store().read(|r| r.freight_count(&project))?;
        // Receiver paths embed a secret: only token holders see them.
        let receivers = authorised.then(|| super::webhooks::describe(&config, &project));
        Ok(Json(project_json(&config, &project, count, receivers)))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Warehouses

pub(crate) async fn list_warehouses(
    State(app): State<ApiState>,
    Path(project): Path<String>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        let config = handle.config();
        check_project(&config, &project)?;
        let statuses: BTreeMap<String, _> = handle
            .store()
            .read(|r| r.warehouse_statuses(&project))?
            .into_iter()
            .collect();
        let items: Vec<Value> = config
            .warehouses(&project)
            .map(|(name, warehouse)| {
                json!({
                    "project": project,
                    "name": name,
                    "spec": to_value(&warehouse.spec),
                    "status": statuses.get(name).map_or_else(|| json!({}), to_value),
                })
            })
            .collect();
        Ok(Json(json!({ "items": items })))
    })
    .await
}

pub(crate) async fn get_warehouse(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        let config = handle.config();
        check_project(&config, &project)?;
        let warehouse = config.warehouse(&project, &name).ok_or_else(|| {
            Problem::not_found(format!("warehouse {name} not found in project {project}"))
        })?;
        let status = handle
            .store()
            .read(|r| r.warehouse_status(&project, &name))?;
        Ok(Json(json!({
            "project": project,
            "name": name,
            "spec": to_value(&warehouse.spec),
            "status": status.as_ref().map_or_else(|| json!({}), to_value),
        })))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Freight

/// A stored Freight as Kargo shows it: status inside, namespace and creation time in metadata.
pub(crate) fn freight_json(project: &str, record: FreightRecord) -> Value {
    let created = record.created_at.clone();
    let mut freight = record.into_kargo();
    freight.metadata.namespace = Some(project.to_owned());
    if freight.metadata.creation_timestamp.is_none() {
        freight.metadata.creation_timestamp = Some(created);
    }
    to_value(&freight)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FreightParams {
    warehouse: Option<String>,
    /// Currently in this Stage.
    stage: Option<String>,
    verified_in: Option<String>,
    approved_for: Option<String>,
    limit: Option<usize>,
}

pub(crate) async fn list_freight(
    State(app): State<ApiState>,
    Path(project): Path<String>,
    Query(params): Query<FreightParams>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        check_project(&handle.config(), &project)?;
        let query = FreightQuery {
            warehouse: params.warehouse,
            currently_in: params.stage,
            verified_in: params.verified_in,
            approved_for: params.approved_for,
            limit: params.limit,
        };
        let items: Vec<Value> = handle
            .store()
            .read(|r| r.list_freight(&project, &query))?
            .into_iter()
            .map(|record| freight_json(&project, record))
            .collect();
        Ok(Json(json!({ "items": items })))
    })
    .await
}

pub(crate) fn freight_missing(project: &str, name: &str) -> Problem {
    Problem::not_found(format!("freight {name} not found in project {project}"))
}

pub(crate) async fn get_freight(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        check_project(&handle.config(), &project)?;
        let record = handle
            .store()
            .find_freight(&project, &name)?
            .ok_or_else(|| freight_missing(&project, &name))?;
        Ok(Json(freight_json(&project, record)))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Stages

fn stage_json(
    config: &Config,
    project: &str,
    name: &str,
    status: Option<&StageStatus>,
    freight: &BTreeMap<String, FreightRecord>,
) -> Value {
    let Some(stage) = config.stage(project, name) else {
        return Value::Null;
    };
    let current: Vec<Value> = status
        .and_then(StageStatus::current_freight)
        .map(|collection| {
            collection
                .items
                .values()
                .map(|item| {
                    freight.get(&item.name).map_or_else(
                        || json!({ "metadata": { "name": item.name } }),
                        |record| freight_json(project, record.clone()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "project": project,
        "name": name,
        "controlFlow": crate::controller::promotion::is_control_flow(stage),
        "spec": to_value(&stage.spec),
        "status": status.map_or_else(|| json!({}), to_value),
        "currentFreight": current,
    })
}

/// The Freight the given statuses hold now, by id.
fn current_records(
    reader: gantry_store::Reader<'_>,
    project: &str,
    statuses: &[&StageStatus],
) -> Result<BTreeMap<String, FreightRecord>, gantry_store::StoreError> {
    let mut found = BTreeMap::new();
    for status in statuses {
        for item in status
            .current_freight()
            .iter()
            .flat_map(|c| c.items.values())
        {
            if found.contains_key(&item.name) {
                continue;
            }
            if let Some(record) = reader.freight(project, &item.name)? {
                found.insert(item.name.clone(), record);
            }
        }
    }
    Ok(found)
}

pub(crate) async fn list_stages(
    State(app): State<ApiState>,
    Path(project): Path<String>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        let config = handle.config();
        check_project(&config, &project)?;
        let (statuses, freight) = handle.store().read(|r| {
            let statuses: BTreeMap<String, StageStatus> =
                r.stage_statuses(&project)?.into_iter().collect();
            let refs: Vec<&StageStatus> = statuses.values().collect();
            let freight = current_records(*r, &project, &refs)?;
            Ok((statuses, freight))
        })?;
        let items: Vec<Value> = config
            .stages(&project)
            .map(|(name, _)| stage_json(&config, &project, name, statuses.get(name), &freight))
            .collect();
        Ok(Json(json!({ "items": items })))
    })
    .await
}

fn stage_missing(project: &str, name: &str) -> Problem {
    Problem::not_found(format!("stage {name} not found in project {project}"))
}

pub(crate) fn check_stage(config: &Config, project: &str, name: &str) -> Result<(), Problem> {
    check_project(config, project)?;
    config
        .stage(project, name)
        .map(|_| ())
        .ok_or_else(|| stage_missing(project, name))
}

pub(crate) async fn get_stage(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        let config = handle.config();
        check_stage(&config, &project, &name)?;
        let (status, freight) = handle.store().read(|r| {
            let status = r.stage_status(&project, &name)?;
            let freight = current_records(*r, &project, &status.iter().collect::<Vec<_>>())?;
            Ok((status, freight))
        })?;
        Ok(Json(stage_json(
            &config,
            &project,
            &name,
            status.as_ref(),
            &freight,
        )))
    })
    .await
}

pub(crate) async fn explain(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        let explanation = crate::explain::explain_stage(handle, &project, &name)?;
        Ok(Json(to_value(&explanation)))
    })
    .await
}

/// One entry of a Stage's Freight history.
fn history_entry(
    collection: &FreightCollection,
    index: usize,
    freight: &BTreeMap<String, FreightRecord>,
    succeeded: &[gantry_store::Event],
    stage: &str,
) -> Value {
    let items: Vec<Value> = collection
        .items
        .values()
        .map(|item| {
            let alias = freight
                .get(&item.name)
                .and_then(|record| record.freight.alias.clone());
            // The newest successful Promotion of this Freight into this Stage.
            let promoted = succeeded.iter().find(|event| {
                event.details.get("stage").and_then(Value::as_str) == Some(stage)
                    && event.details.get("freight").and_then(Value::as_str)
                        == Some(item.name.as_str())
            });
            json!({
                "freight": item.name,
                "alias": alias,
                "origin": format!("{}/{}", item.origin.kind, item.origin.name),
                "images": to_value(&item.images),
                "commits": to_value(&item.commits),
                "charts": to_value(&item.charts),
                "promotion": promoted.and_then(|e| e.details.get("promotion")).cloned(),
                "promotedAt": promoted.map(|e| e.time.clone()),
                "promotedBy": promoted.and_then(|e| e.actor.clone()),
                "gitCommits": promoted
                    .and_then(|e| e.details.get("commits"))
                    .cloned()
                    .unwrap_or_else(|| json!([])),
            })
        })
        .collect();
    json!({
        "current": index == 0,
        "id": collection.id,
        "items": items,
        "verification": collection.verification_history.first().map(|v| v.phase.clone()),
    })
}

pub(crate) async fn stage_history(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        check_stage(&handle.config(), &project, &name)?;
        let (status, freight, succeeded) = handle.store().read(|r| {
            let status = r.stage_status(&project, &name)?.unwrap_or_default();
            let mut freight = BTreeMap::new();
            for item in status.freight_history.iter().flat_map(|c| c.items.values()) {
                if let Some(record) = r.freight(&project, &item.name)? {
                    freight.insert(item.name.clone(), record);
                }
            }
            let succeeded = r.events(&EventQuery {
                project: Some(project.clone()),
                kind: Some(kinds::PROMOTION_SUCCEEDED.to_owned()),
                newest_first: true,
                limit: Some(1000),
                ..EventQuery::default()
            })?;
            Ok((status, freight, succeeded))
        })?;
        let items: Vec<Value> = status
            .freight_history
            .iter()
            .enumerate()
            .map(|(i, collection)| history_entry(collection, i, &freight, &succeeded, &name))
            .collect();
        Ok(Json(
            json!({ "project": project, "stage": name, "items": items }),
        ))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Promotions

/// The step kind (`uses`) of a step alias, from a stored Promotion spec.
pub(crate) fn step_kind(spec: &Value, alias: &str) -> Option<String> {
    spec.get("steps")?
        .as_array()?
        .iter()
        .find(|step| step.get("as").and_then(Value::as_str) == Some(alias))?
        .get("uses")?
        .as_str()
        .map(str::to_owned)
}

/// A Promotion with its steps (kind, status, times, message), without the internal spec.
pub(crate) fn promotion_json(record: &PromotionRecord) -> Value {
    let planned: Vec<(String, String)> = record
        .spec
        .get("steps")
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .filter_map(|step| {
                    Some((
                        step.get("as")?.as_str()?.to_owned(),
                        step.get("uses")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let steps: Vec<Value> = planned
        .iter()
        .map(|(alias, uses)| {
            let meta = record.status.step(alias);
            json!({
                "alias": alias,
                "uses": uses,
                "status": meta.and_then(|m| m.status).map(gantry_engine::StepStatus::as_str),
                "startedAt": meta.and_then(|m| m.started_at.clone()),
                "finishedAt": meta.and_then(|m| m.finished_at.clone()),
                "message": meta.and_then(|m| m.message.clone()),
                "errorCount": meta.map_or(0, |m| m.error_count),
            })
        })
        .collect();
    json!({
        "project": record.project,
        "name": record.name,
        "stage": record.stage,
        "freight": record.freight,
        "actor": record.actor,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "status": to_value(&record.status),
        "steps": steps,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromotionParams {
    stage: Option<String>,
    freight: Option<String>,
    #[serde(default)]
    unfinished: bool,
    limit: Option<usize>,
}

async fn promotions(
    app: &ApiState,
    project: String,
    params: PromotionParams,
) -> Result<Json<Value>, Problem> {
    blocking(app, move |handle| {
        let config = handle.config();
        check_project(&config, &project)?;
        if let Some(stage) = &params.stage {
            check_stage(&config, &project, stage)?;
        }
        let store = handle.store();
        // A Freight alias is as good as its id.
        let freight = match params.freight {
            Some(name) => Some(
                store
                    .find_freight(&project, &name)?
                    .map_or(name, |record| record.id().to_owned()),
            ),
            None => None,
        };
        let query = PromotionQuery {
            stage: params.stage,
            freight,
            unfinished: params.unfinished,
            limit: params.limit,
        };
        let items: Vec<Value> = store
            .list_promotions(&project, &query)?
            .iter()
            .map(promotion_json)
            .collect();
        Ok(Json(json!({ "items": items })))
    })
    .await
}

pub(crate) async fn list_promotions(
    State(app): State<ApiState>,
    Path(project): Path<String>,
    Query(params): Query<PromotionParams>,
) -> Result<Json<Value>, Problem> {
    promotions(&app, project, params).await
}

pub(crate) async fn stage_promotions(
    State(app): State<ApiState>,
    Path((project, stage)): Path<(String, String)>,
    Query(mut params): Query<PromotionParams>,
) -> Result<Json<Value>, Problem> {
    params.stage = Some(stage);
    promotions(&app, project, params).await
}

pub(crate) async fn get_promotion(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        check_project(&handle.config(), &project)?;
        let record = handle.store().promotion(&project, &name)?.ok_or_else(|| {
            Problem::not_found(format!("promotion {name} not found in project {project}"))
        })?;
        Ok(Json(promotion_json(&record)))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Events

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventParams {
    project: Option<String>,
    kind: Option<String>,
    subject: Option<String>,
    after: Option<i64>,
    before: Option<i64>,
    limit: Option<usize>,
    #[serde(default)]
    newest_first: bool,
}

/// At most this many events per answer.
const EVENT_PAGE: usize = 1000;

pub(crate) async fn list_events(
    State(app): State<ApiState>,
    Query(params): Query<EventParams>,
) -> Result<Json<Value>, Problem> {
    blocking(&app, move |handle| {
        let query = EventQuery {
            project: params.project,
            kind: params.kind,
            subject: params.subject,
            after: params.after,
            before: params.before,
            limit: Some(params.limit.unwrap_or(EVENT_PAGE).min(EVENT_PAGE)),
            newest_first: params.newest_first,
        };
        let items = handle.store().events(&query)?;
        Ok(Json(json!({ "items": to_value(&items) })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_kinds_are_read_from_the_stored_spec_by_alias() {
        let spec = json!({"steps": [
            {"uses": "git-clone", "as": "step-1"},
            {"uses": "git-push", "as": "task-1::push"},
        ]});
        assert_eq!(
            step_kind(&spec, "task-1::push").as_deref(),
            Some("git-push")
        );
        assert_eq!(step_kind(&spec, "nope"), None);
        assert_eq!(step_kind(&json!({}), "step-1"), None);
    }
}
