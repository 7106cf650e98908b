//! Why a Stage holds what it holds, in plain words (for `gantry explain stage`): the same rules
//! the controller applies ([`gantry_core::stage::auto_promotion`]), asked of the stored state,
//! plus the Stage's queue and the verification of its current Freight.
//!
//! Synchronous (it reads the store): call [`explain_stage`] from `spawn_blocking`.

use std::collections::BTreeSet;
use std::time::SystemTime;

use gantry_core::stage::{AutoPromotion, StageFacts, applicable_policy, auto_promotion};
use gantry_store::{FreightQuery, PromotionQuery};
use serde::Serialize;

use crate::controller::promotion::is_control_flow;
use crate::controller::stage::{all_facts, facts};
use crate::{ApiError, Handle};

/// One requested origin of a Stage, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginExplanation {
    /// `Warehouse/<name>`.
    pub origin: String,
    /// The newest Freight of the origin (`alias (id7)`), if it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Whether auto-promotion would promote now (`reason` then names the Freight).
    pub would_promote: bool,
    /// In words: why nothing happens, or what auto-promotion is about to do.
    pub reason: String,
}

/// A Stage, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageExplanation {
    /// The Project.
    pub project: String,
    /// The Stage.
    pub stage: String,
    /// The Stage has no steps: Freight passes through it.
    pub control_flow: bool,
    /// A promotion policy enables auto-promotion for it.
    pub auto_promotion: bool,
    /// The Freight it holds now (`alias (id7)`, one per origin).
    pub current: Vec<String>,
    /// The verification of what it holds: `Successful`, or `Error: <why>`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// Unfinished Promotions in the order they run (the running one first).
    pub queue: Vec<String>,
    /// Auto-promotion holds by origin, with the Freight promoted by hand.
    pub holds: Vec<String>,
    /// Per requested origin.
    pub origins: Vec<OriginExplanation>,
}

/// Explains a Stage from the current config and the store (blocking).
pub fn explain_stage(
    handle: &Handle,
    project: &str,
    stage_name: &str,
) -> Result<StageExplanation, ApiError> {
    let config = handle.config();
    if config.project(project).is_none() {
        return Err(ApiError::not_found(format!("project {project} not found")));
    }
    let Some(stage) = config.stage(project, stage_name) else {
        return Err(ApiError::not_found(format!(
            "stage {stage_name} not found in project {project}"
        )));
    };
    let now = SystemTime::now();
    let (records, status, promotions, queue) = handle
        .store()
        .read(|r| {
            Ok((
                r.list_freight(project, &FreightQuery::default())?,
                r.stage_status(project, stage_name)?.unwrap_or_default(),
                r.list_promotions(
                    project,
                    &PromotionQuery {
                        stage: Some(stage_name.to_owned()),
                        limit: Some(200),
                        ..PromotionQuery::default()
                    },
                )?,
                r.promotion_queue(project, stage_name)?,
            ))
        })
        .map_err(|error| ApiError::internal(&error))?;
    let freight = all_facts(&records);
    let promotion_facts: Vec<_> = promotions
        .iter()
        .map(|p| gantry_core::stage::PromotionFacts {
            name: p.name.clone(),
            freight: p.freight.clone(),
            phase: p.status.phase.to_string(),
            message: p.status.message.clone(),
        })
        .collect();
    let holds: BTreeSet<String> = status.auto_promotion_holds.keys().cloned().collect();
    let policies = config.policies(project);
    let display = |id: &str| {
        records
            .iter()
            .find(|r| r.id() == id)
            .map_or_else(|| id.chars().take(7).collect(), |r| facts(r).display())
    };
    let origins = stage
        .spec
        .requested_freight
        .iter()
        .map(|request| {
            let mut of_origin: Vec<_> = freight
                .iter()
                .filter(|f| f.origin == request.origin)
                .collect();
            gantry_core::stage::newest_first(&mut of_origin);
            let decision = auto_promotion(
                StageFacts {
                    stage,
                    policies,
                    freight: &freight,
                    promotions: &promotion_facts,
                    holds: &holds,
                    now,
                },
                request,
            );
            let (would_promote, reason) = match decision {
                AutoPromotion::Promote(id) => (
                    true,
                    format!("auto-promotion is about to promote {}", display(&id)),
                ),
                AutoPromotion::Wait(reason) => (false, reason.to_string()),
            };
            OriginExplanation {
                origin: format!("{}/{}", request.origin.kind, request.origin.name),
                newest: of_origin.first().map(|f| f.display()),
                would_promote,
                reason,
            }
        })
        .collect();
    let current = status
        .current_freight()
        .map(|c| c.items.values().map(|item| display(&item.name)).collect())
        .unwrap_or_default();
    let verification = status
        .current_freight()
        .and_then(|c| c.verification_history.first())
        .map(|v| match &v.message {
            Some(message) => format!("{}: {message}", v.phase),
            None => v.phase.clone(),
        });
    Ok(StageExplanation {
        project: project.to_owned(),
        stage: stage_name.to_owned(),
        control_flow: is_control_flow(stage),
        auto_promotion: applicable_policy(policies, stage)
            .is_some_and(|p| p.auto_promotion_enabled),
        current,
        verification,
        queue: queue
            .iter()
            .map(|p| {
                format!(
                    "{} ({}, freight {})",
                    p.name,
                    p.status.phase,
                    display(&p.freight)
                )
            })
            .collect(),
        holds: status
            .auto_promotion_holds
            .iter()
            .map(|(origin, hold)| {
                format!("{origin}: {} promoted by hand", display(&hold.freight_name))
            })
            .collect(),
        origins,
    })
}
