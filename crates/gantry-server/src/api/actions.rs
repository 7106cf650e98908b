//! The mutating routes. Each one goes through a [`crate::Command`] (via [`crate::Handle`]):
//! the controller decides and writes; these handlers only check the request and translate the
//! answer.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::auth::Actor;
use super::error::Problem;
use super::resources::{blocking, check_stage, freight_missing, project_missing};
use crate::Command;

/// A JSON body that fails with a 400 of ours instead of axum's plain-text rejection.
fn body<T: serde::de::DeserializeOwned + Default>(
    payload: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, Problem> {
    match payload {
        Ok(Json(value)) => Ok(value),
        // An empty body means "no fields".
        Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        Err(rejection) => Err(Problem::bad_request(rejection.body_text())),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PromoteBody {
    freight: Option<String>,
    freight_alias: Option<String>,
}

/// `POST /projects/{p}/stages/{s}/promotions`.
pub(crate) async fn promote(
    State(app): State<ApiState>,
    Path((project, stage)): Path<(String, String)>,
    Extension(actor): Extension<Actor>,
    payload: Result<Json<PromoteBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let request = body(payload)?;
    let freight = match (request.freight, request.freight_alias) {
        (Some(id), None) => id,
        (None, Some(alias)) => {
            // An alias must name a Freight by its alias, not by its id.
            let (p, a) = (project.clone(), alias.clone());
            let found = blocking(&app, move |handle| {
                Ok(handle.store().freight_by_alias(&p, &a)?)
            })
            .await?;
            if found.is_none() {
                return Err(freight_missing(&project, &alias));
            }
            alias
        }
        _ => {
            return Err(Problem::bad_request(
                "give exactly one of `freight` (id) and `freightAlias`",
            ));
        }
    };
    let name = app
        .handle
        .promote(&project, &stage, &freight, &actor.0)
        .await?;
    Ok(created(json!({
        "project": project,
        "stage": stage,
        "promotion": name,
    })))
}

fn created(value: Value) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ApproveBody {
    stage: Option<String>,
}

/// `POST /projects/{p}/freight/{f}/approve` `{"stage": S}`.
pub(crate) async fn approve(
    State(app): State<ApiState>,
    Path((project, freight)): Path<(String, String)>,
    Extension(actor): Extension<Actor>,
    payload: Result<Json<ApproveBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, Problem> {
    let Some(stage) = body(payload)?.stage else {
        return Err(Problem::bad_request("`stage` is required"));
    };
    app.handle
        .approve(&project, &stage, &freight, &actor.0)
        .await?;
    Ok(Json(json!({
        "msg": format!("approved freight {freight} for stage {stage}"),
    })))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RefreshParams {
    #[serde(default)]
    wait: bool,
}

/// `POST /projects/{p}/warehouses/{w}/refresh[?wait=true]`.
pub(crate) async fn refresh(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
    Query(params): Query<RefreshParams>,
) -> Result<Response, Problem> {
    let config = app.handle.config();
    if config.project(&project).is_none() {
        return Err(project_missing(&project));
    }
    if config.warehouse(&project, &name).is_none() {
        return Err(Problem::not_found(format!(
            "warehouse {name} not found in project {project}"
        )));
    }
    app.metrics.refreshed("api", 1);
    if params.wait {
        let outcome = app.handle.refresh_warehouse(&project, &name).await?;
        return Ok(Json(serde_json::to_value(&outcome).unwrap_or_default()).into_response());
    }
    app.handle
        .send(Command::RefreshWarehouse {
            project,
            name: name.clone(),
            reply: None,
            pushed: Vec::new(),
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "msg": format!("refresh of warehouse {name} requested") })),
    )
        .into_response())
}

/// `POST /projects/{p}/promotions/{name}/abort`.
pub(crate) async fn abort(
    State(app): State<ApiState>,
    Path((project, name)): Path<(String, String)>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Value>, Problem> {
    app.handle
        .abort_promotion(&project, &name, &actor.0)
        .await?;
    Ok(Json(json!({ "msg": format!("promotion {name} aborted") })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RollbackBody {
    /// The Freight (id or alias) to go back to; default: the one before the current one.
    to: Option<String>,
}

/// Which Freight a rollback promotes: `to` when it is in the Stage's history (and not what the
/// Stage holds now), else the newest Freight of the history that the Stage does not hold now.
fn rollback_target(
    history: &[gantry_api::kargo::FreightCollection],
    to: Option<&gantry_store::FreightRecord>,
    stage: &str,
) -> Result<String, Problem> {
    let current: Vec<&str> = history
        .first()
        .map(|c| c.items.values().map(|item| item.name.as_str()).collect())
        .unwrap_or_default();
    if history.is_empty() {
        return Err(Problem::invalid(format!(
            "stage {stage} has no freight history to roll back to"
        )));
    }
    let earlier = history
        .iter()
        .skip(1)
        .flat_map(|c| c.items.values())
        .map(|item| item.name.as_str());
    match to {
        Some(record) => {
            let id = record.id();
            if current.contains(&id) {
                return Err(Problem::invalid(format!(
                    "stage {stage} holds freight {} already",
                    display(record)
                )));
            }
            if !history
                .iter()
                .flat_map(|c| c.items.values())
                .any(|item| item.name == id)
            {
                return Err(Problem::invalid(format!(
                    "freight {} is not in the history of stage {stage}; promote it instead",
                    display(record)
                )));
            }
            Ok(id.to_owned())
        }
        None => earlier
            .into_iter()
            .find(|name| !current.contains(name))
            .map(str::to_owned)
            .ok_or_else(|| {
                Problem::invalid(format!(
                    "stage {stage} has held no other freight to roll back to"
                ))
            }),
    }
}

fn display(record: &gantry_store::FreightRecord) -> String {
    record
        .freight
        .alias
        .clone()
        .unwrap_or_else(|| record.id().to_owned())
}

/// `POST /projects/{p}/stages/{s}/rollback` `{"to"?}`: re-promotes an earlier Freight.
pub(crate) async fn rollback(
    State(app): State<ApiState>,
    Path((project, stage)): Path<(String, String)>,
    Extension(actor): Extension<Actor>,
    payload: Result<Json<RollbackBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let request = body(payload)?;
    let (p, s) = (project.clone(), stage.clone());
    let target = blocking(&app, move |handle| {
        check_stage(&handle.config(), &p, &s)?;
        let status = handle.store().stage_status(&p, &s)?.unwrap_or_default();
        let to = match &request.to {
            Some(name) => Some(
                handle
                    .store()
                    .find_freight(&p, name)?
                    .ok_or_else(|| freight_missing(&p, name))?,
            ),
            None => None,
        };
        rollback_target(&status.freight_history, to.as_ref(), &s)
    })
    .await?;
    let name = app
        .handle
        .promote(&project, &stage, &target, &actor.0)
        .await?;
    Ok(created(json!({
        "project": project,
        "stage": stage,
        "freight": target,
        "promotion": name,
    })))
}

#[cfg(test)]
mod tests {
    use gantry_api::kargo::{FreightCollection, FreightOrigin, FreightReference};

    use super::*;

    fn collection(names: &[&str]) -> FreightCollection {
        gantry_store::freight_collection(names.iter().map(|name| FreightReference {
            name: (*name).to_owned(),
            origin: FreightOrigin {
                kind: "Warehouse".into(),
                name: "app".into(),
            },
            ..FreightReference::default()
        }))
    }

    #[test]
    fn a_rollback_without_a_target_picks_the_newest_other_freight_of_the_history() {
        let history = vec![
            collection(&["c"]),
            collection(&["c"]),
            collection(&["b"]),
            collection(&["a"]),
        ];
        assert_eq!(rollback_target(&history, None, "dev").unwrap(), "b");
        let only = vec![collection(&["c"])];
        let error = rollback_target(&only, None, "dev").unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error.message.contains("no other freight"),
            "{}",
            error.message
        );
        assert!(rollback_target(&[], None, "dev").is_err());
    }
}
