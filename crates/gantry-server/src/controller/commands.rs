//! The [`Command`]s, carried out on the controller task: refresh, promote, approve, abort.
//!
//! Promote checks what Kargo's Promotion webhook checks: the Project, Stage and Freight exist,
//! the Stage has steps, and the Freight is available to the Stage (requested from its
//! Warehouse, and approved, direct, or verified and soaked upstream). A manual Promotion into a
//! Stage with auto-promotion records a hold (other Freight than the candidate) or lifts one
//! (the candidate), applied when it ends.

use std::sync::Arc;
use std::time::SystemTime;

use gantry_core::stage::{Candidate, applicable_policy, availability, candidate};
use gantry_store::{FreightQuery, NewEvent, StoreError, kinds};
use tokio::sync::oneshot;

use super::promotion::{self, HoldIntent, is_control_flow};
use super::stage::{all_facts, facts};
use super::{AbortRequest, Context, Controller};
use crate::{ApiError, ChangeKind, Command};

impl Controller {
    /// Carries out one command and answers it.
    pub(super) async fn handle(&mut self, command: Command) {
        match command {
            Command::RefreshWarehouse {
                project,
                name,
                reply,
                pushed,
            } => {
                let key = (project.clone(), name.clone());
                match self.warehouses.get(&key) {
                    Some(task) => {
                        self.context.prefetch_for(&project, &name);
                        let _ = task.refresh.send(super::RefreshRequest { reply, pushed });
                    }
                    None => {
                        if let Some(reply) = reply {
                            let _ = reply.send(Err(ApiError::not_found(format!(
                                "warehouse {name} not found in project {project}"
                            ))));
                        }
                    }
                }
            }
            Command::Promote {
                project,
                stage,
                freight,
                actor,
                reply,
            } => {
                let context = Arc::clone(&self.context);
                let (p, s) = (project.clone(), stage.clone());
                let result = tokio::task::spawn_blocking(move || {
                    promote(&context, &p, &s, &freight, &actor)
                })
                .await
                .unwrap_or_else(|error| Err(ApiError::internal(&error)));
                if result.is_ok() {
                    self.wake(&project, &stage);
                }
                let _ = reply.send(result);
            }
            Command::Approve {
                project,
                stage,
                freight,
                actor,
                reply,
            } => {
                let context = Arc::clone(&self.context);
                let p = project.clone();
                let result = tokio::task::spawn_blocking(move || {
                    approve(&context, &p, &stage, &freight, &actor)
                })
                .await
                .unwrap_or_else(|error| Err(ApiError::internal(&error)));
                if result.is_ok() {
                    self.dirty.insert(project);
                }
                let _ = reply.send(result);
            }
            Command::AbortPromotion {
                project,
                name,
                actor,
                reply,
            } => self.abort(project, name, actor, reply).await,
        }
    }

    async fn abort(
        &mut self,
        project: String,
        name: String,
        actor: String,
        reply: oneshot::Sender<Result<(), ApiError>>,
    ) {
        let store = self.context.store.clone();
        let (p, n) = (project.clone(), name.clone());
        let found = tokio::task::spawn_blocking(move || store.promotion(&p, &n)).await;
        let record = match found {
            Ok(Ok(Some(record))) => record,
            Ok(Ok(None)) => {
                let _ = reply.send(Err(ApiError::not_found(format!(
                    "promotion {name} not found in project {project}"
                ))));
                return;
            }
            Ok(Err(error)) => {
                let _ = reply.send(Err(ApiError::internal(&error)));
                return;
            }
            Err(error) => {
                let _ = reply.send(Err(ApiError::internal(&error)));
                return;
            }
        };
        if record.status.phase.is_terminal() {
            let _ = reply.send(Err(ApiError::conflict(format!(
                "promotion {name} already ended ({})",
                record.status.phase
            ))));
            return;
        }
        tracing::info!(project, promotion = name, actor, "abort requested");
        // A pending Promotion ends here and now (unless its worker started it meanwhile: the
        // store serialises the two).
        let context = Arc::clone(&self.context);
        let (p, n, a) = (project.clone(), name.clone(), actor.clone());
        let now =
            tokio::task::spawn_blocking(move || promotion::abort_if_pending(&context, &p, &n, &a))
                .await;
        match now {
            Ok(Ok(true)) => {
                let _ = reply.send(Ok(()));
                self.dirty.insert(project);
                return;
            }
            Ok(Ok(false)) => {}
            Ok(Err(error)) => {
                let _ = reply.send(Err(ApiError::internal(&error)));
                return;
            }
            Err(error) => {
                let _ = reply.send(Err(ApiError::internal(&error)));
                return;
            }
        }
        // Running: its worker ends it after the step in progress and answers.
        let key = (project.clone(), name.clone());
        self.context
            .aborts()
            .entry(key.clone())
            .or_insert_with(|| AbortRequest {
                actor,
                replies: Vec::new(),
            })
            .replies
            .push(reply);
        // The worker answers waiters after the end is committed; if it ended before this abort
        // was registered, nobody would: look again.
        let store = self.context.store.clone();
        let (p, n) = (project.clone(), name.clone());
        if let Ok(Ok(Some(record))) =
            tokio::task::spawn_blocking(move || store.promotion(&p, &n)).await
            && record.status.phase.is_terminal()
        {
            if let Some(abort) = self.context.aborts().remove(&key) {
                for reply in abort.replies {
                    let _ = reply.send(Err(ApiError::conflict(format!(
                        "promotion {name} ended {} before the abort took effect",
                        record.status.phase
                    ))));
                }
            }
            return;
        }
        let stage_key = (project.clone(), record.stage.clone());
        if self
            .workers
            .get(&stage_key)
            .is_some_and(|worker| !worker.task.is_finished())
        {
            self.wake(&project, &record.stage);
        } else {
            // No worker owns the Stage any more (it left the config): end it here.
            let context = Arc::clone(&self.context);
            tokio::spawn(async move {
                promotion::abort_orphan(&context, record, "aborted by request").await;
            });
        }
    }
}

fn store_error(error: &StoreError) -> ApiError {
    ApiError::internal(error)
}

/// Validates and queues a manual Promotion (blocking).
fn promote(
    context: &Context,
    project: &str,
    stage_name: &str,
    freight: &str,
    actor: &str,
) -> Result<String, ApiError> {
    let config = context.config();
    if config.project(project).is_none() {
        return Err(ApiError::not_found(format!("project {project} not found")));
    }
    let Some(stage) = config.stage(project, stage_name) else {
        return Err(ApiError::not_found(format!(
            "stage {stage_name} not found in project {project}"
        )));
    };
    if is_control_flow(stage) {
        return Err(promotion::CreateError::ControlFlow {
            stage: stage_name.to_owned(),
        }
        .into());
    }
    let (target, all) = context
        .store
        .read(|r| {
            Ok((
                r.find_freight(project, freight)?,
                r.list_freight(project, &FreightQuery::default())?,
            ))
        })
        .map_err(|error| store_error(&error))?;
    let Some(target) = target else {
        return Err(ApiError::not_found(format!(
            "freight {freight} not found in project {project}"
        )));
    };
    let now = SystemTime::now();
    let Some(request) = stage
        .spec
        .requested_freight
        .iter()
        .find(|r| r.origin == target.freight.origin)
    else {
        return Err(ApiError::invalid(format!(
            "Freight is not available to this Stage: stage {stage_name} does not request freight from {} {}",
            target.freight.origin.kind, target.freight.origin.name
        )));
    };
    let target_facts = facts(&target);
    if let Err(why) = availability(stage_name, request, &target_facts, now) {
        return Err(ApiError::invalid(format!(
            "Freight is not available to this Stage: {why}"
        )));
    }
    let auto = applicable_policy(config.policies(project), stage)
        .is_some_and(|policy| policy.auto_promotion_enabled);
    let hold = auto.then(|| {
        let origin = format!("{}/{}", request.origin.kind, request.origin.name);
        let facts = all_facts(&all);
        match candidate(stage_name, request, &facts, now) {
            Candidate::Freight(best) if best.name == target_facts.name => {
                HoldIntent::Resume { origin }
            }
            _ => HoldIntent::Hold { origin },
        }
    });
    let record = promotion::create(
        context,
        &config,
        project,
        stage_name,
        &target,
        Some(actor),
        hold,
    )?;
    Ok(record.name)
}

/// Approves a Freight for a Stage (blocking).
fn approve(
    context: &Context,
    project: &str,
    stage: &str,
    freight: &str,
    actor: &str,
) -> Result<(), ApiError> {
    let config = context.config();
    if config.project(project).is_none() {
        return Err(ApiError::not_found(format!("project {project} not found")));
    }
    if config.stage(project, stage).is_none() {
        return Err(ApiError::not_found(format!(
            "stage {stage} not found in project {project}"
        )));
    }
    let found = context
        .store
        .read(|r| r.find_freight(project, freight))
        .map_err(|error| store_error(&error))?;
    let Some(record) = found else {
        return Err(ApiError::not_found(format!(
            "freight {freight} not found in project {project}"
        )));
    };
    let id = record.id().to_owned();
    let shown = record
        .freight
        .alias
        .clone()
        .unwrap_or_else(|| id.chars().take(7).collect());
    let event = context
        .store
        .write(|tx| {
            tx.approve_freight(project, &id, stage, SystemTime::now())?;
            let mut details = serde_json::Map::new();
            details.insert("stage".into(), stage.into());
            details.insert("freight".into(), id.clone().into());
            tx.append_event(
                &NewEvent::new(
                    kinds::FREIGHT_APPROVED,
                    format!("freight/{id}"),
                    format!("freight {shown} approved for stage {stage}"),
                )
                .project(project)
                .actor(actor)
                .details(details.into()),
            )
        })
        .map_err(|error| store_error(&error))?;
    tracing::info!(project, stage, freight = %id, actor, "freight approved");
    context.emit(ChangeKind::Freight, project, &id, Some(event.id));
    Ok(())
}
