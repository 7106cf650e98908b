//! Evaluating a Project's Stages after something changed: verification of what a Stage just
//! received, control-flow Stages passing Freight through, and auto-promotion. Runs on the
//! blocking pool, one Project at a time, called by the controller only.
//!
//! One pass, per Stage (by name):
//! 0. status: the derived fields (conditions, `freightSummary`, health) are brought up to date
//!    when stale (`super::status`; a verification below settles them in its own transaction);
//! 1. soak: when Freight waits for `requiredSoakTime`, remember when to look again;
//! 2. control-flow Stage (no steps): every available Freight not yet verified there is marked
//!    verified at once;
//! 3. otherwise, verification of the current Freight when it has none yet and no Promotion
//!    runs: no `verification` → `Successful` at once (the Freight becomes verified there);
//!    `verification` present → `Error` "AnalysisTemplates are not supported yet" (never
//!    silently passed);
//! 4. auto-promotion (`gantry_core::stage::auto_promotion`) for every requested origin; a
//!    `Promote` creates a Promotion and wakes the Stage's worker.
//!
//! Passes repeat while a verification made Freight available further down, so a chain of
//! Stages settles in one evaluation.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use gantry_api::kargo::{FreightRequest, StageStatus, VerificationInfo};
use gantry_api::time::{format_rfc3339, parse_go_duration, parse_rfc3339};
use gantry_core::stage::{
    AutoPromotion, FreightFacts, PromotionFacts, StageFacts, Unavailable, Verified,
    applicable_policy, auto_promotion, availability,
};
use gantry_store::{FreightQuery, FreightRecord, NewEvent, PromotionQuery, StoreError, kinds};

use super::Context;
use super::promotion::{self, is_control_flow};
use crate::ChangeKind;
use crate::config::Config;

/// The message of a verification gantry cannot run.
pub(crate) const ANALYSIS_UNSUPPORTED: &str = "AnalysisTemplates are not supported yet";

/// How many Promotions of a Stage auto-promotion looks at (newest first).
const PROMOTIONS_CONSIDERED: usize = 200;

/// What an evaluation asks of the controller.
#[derive(Debug, Default)]
pub(crate) struct Evaluation {
    /// Stages whose worker has something new (a Promotion, a verification).
    pub(crate) wake: BTreeSet<String>,
    /// Evaluate again after this long (the shortest soak time left).
    pub(crate) recheck_after: Option<Duration>,
}

/// Evaluates every Stage of a Project.
pub(crate) fn evaluate(context: &Context, project: &str) -> Result<Evaluation, StoreError> {
    let config = context.config();
    let mut evaluation = Evaluation::default();
    let Some(index) = config.project(project) else {
        return Ok(evaluation);
    };
    for _ in 0..=index.stages.len() {
        evaluation.recheck_after = None;
        if !pass(context, &config, project, &mut evaluation)? {
            break;
        }
    }
    Ok(evaluation)
}

/// What the store says about a Freight, for the pure rules.
pub(crate) fn facts(record: &FreightRecord) -> FreightFacts {
    let parse = |text: Option<&str>| text.and_then(parse_rfc3339);
    let discovered = parse(record.freight.discovered_at.as_deref())
        .or_else(|| parse(Some(&record.created_at)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    FreightFacts {
        name: record.id().to_owned(),
        alias: record.freight.alias.clone(),
        origin: record.freight.origin.clone(),
        discovered_at: discovered,
        currently_in: record
            .status
            .currently_in
            .iter()
            .map(|(stage, current)| {
                (
                    stage.clone(),
                    parse(current.since.as_deref()).unwrap_or_else(SystemTime::now),
                )
            })
            .collect(),
        verified_in: record
            .status
            .verified_in
            .iter()
            .map(|(stage, verified)| {
                (
                    stage.clone(),
                    Verified {
                        verified_at: parse(verified.verified_at.as_deref())
                            .unwrap_or(SystemTime::UNIX_EPOCH),
                        longest_soak: verified
                            .longest_soak
                            .as_deref()
                            .and_then(parse_go_duration)
                            .unwrap_or_default(),
                    },
                )
            })
            .collect(),
        approved_for: record.status.approved_for.keys().cloned().collect(),
    }
}

/// One Freight's facts for each record.
pub(crate) fn all_facts(records: &[FreightRecord]) -> Vec<FreightFacts> {
    records.iter().map(facts).collect()
}

/// The Stage's Promotions as auto-promotion sees them.
pub(crate) fn promotion_facts(
    context: &Context,
    project: &str,
    stage: &str,
) -> Result<Vec<PromotionFacts>, StoreError> {
    Ok(context
        .store
        .list_promotions(
            project,
            &PromotionQuery {
                stage: Some(stage.to_owned()),
                limit: Some(PROMOTIONS_CONSIDERED),
                ..PromotionQuery::default()
            },
        )?
        .into_iter()
        .map(|p| PromotionFacts {
            name: p.name,
            freight: p.freight,
            phase: p.status.phase.to_string(),
            message: p.status.message,
        })
        .collect())
}

/// One pass over the Stages; whether it verified anything (so another pass may find more).
fn pass(
    context: &Context,
    config: &Config,
    project: &str,
    evaluation: &mut Evaluation,
) -> Result<bool, StoreError> {
    let now = SystemTime::now();
    let (records, statuses) = context.store.read(|r| {
        Ok((
            r.list_freight(project, &FreightQuery::default())?,
            r.stage_statuses(project)?,
        ))
    })?;
    let facts = all_facts(&records);
    let statuses: BTreeMap<String, StageStatus> = statuses.into_iter().collect();
    let by_id: BTreeMap<&str, &FreightRecord> = records.iter().map(|r| (r.id(), r)).collect();
    let policies = config.policies(project);
    let mut verified_any = false;
    for (name, stage) in config.stages(project) {
        if super::status::settle_if_stale(
            &context.store,
            config,
            project,
            name,
            statuses.get(name),
        )? {
            context.emit(ChangeKind::Stage, project, name, None);
        }
        let status = statuses.get(name).cloned().unwrap_or_default();
        for request in &stage.spec.requested_freight {
            soak_recheck(name, request, &facts, now, evaluation);
        }
        if is_control_flow(stage) {
            verified_any |= pass_through(
                context,
                project,
                name,
                &stage.spec.requested_freight,
                &facts,
                now,
            )?;
            continue;
        }
        if let Some(current) = status.current_freight()
            && current.verification_history.is_empty()
            && status.current_promotion.is_none()
        {
            verify(
                context,
                config,
                project,
                name,
                stage.spec.verification.is_some(),
                now,
            )?;
            evaluation.wake.insert(name.to_owned());
            verified_any = true;
        }
        let enabled = applicable_policy(policies, stage).is_some_and(|p| p.auto_promotion_enabled);
        if status.auto_promotion_enabled != enabled {
            context.store.update_stage_status(project, name, |status| {
                status.auto_promotion_enabled = enabled;
                if !enabled {
                    // Kargo: holds are cleared when auto-promotion is turned off.
                    status.auto_promotion_holds.clear();
                }
            })?;
            context.emit(ChangeKind::Stage, project, name, None);
        }
        if !enabled {
            continue;
        }
        let mut promotions = promotion_facts(context, project, name)?;
        let holds: BTreeSet<String> = status.auto_promotion_holds.keys().cloned().collect();
        for request in &stage.spec.requested_freight {
            let decision = auto_promotion(
                StageFacts {
                    stage,
                    policies,
                    freight: &facts,
                    promotions: &promotions,
                    holds: &holds,
                    now,
                },
                request,
            );
            match decision {
                AutoPromotion::Promote(freight) => {
                    let Some(target) = by_id.get(freight.as_str()) else {
                        continue;
                    };
                    match promotion::create(context, config, project, name, target, None, None) {
                        Ok(record) => {
                            promotions.push(PromotionFacts {
                                name: record.name,
                                freight,
                                phase: "Pending".to_owned(),
                                message: None,
                            });
                            evaluation.wake.insert(name.to_owned());
                        }
                        Err(promotion::CreateError::Store(error)) => return Err(error),
                        Err(error) => {
                            tracing::warn!(
                                project,
                                stage = name,
                                "auto-promotion cannot create a promotion: {error}"
                            );
                        }
                    }
                }
                AutoPromotion::Wait(reason) => {
                    tracing::trace!(project, stage = name, origin = %request.origin.name, "auto-promotion waits: {reason}");
                }
            }
        }
    }
    Ok(verified_any)
}

/// Remembers the shortest soak time left among Freight verified upstream but not soaked.
fn soak_recheck(
    stage: &str,
    request: &FreightRequest,
    facts: &[FreightFacts],
    now: SystemTime,
    evaluation: &mut Evaluation,
) {
    for freight in facts.iter().filter(|f| f.origin == request.origin) {
        if let Err(Unavailable::Soaking { remaining, .. }) =
            availability(stage, request, freight, now)
        {
            // A little past the moment, so that the soak has surely elapsed.
            let at = remaining + Duration::from_millis(50);
            evaluation.recheck_after = Some(evaluation.recheck_after.map_or(at, |old| old.min(at)));
        }
    }
}

/// A control-flow Stage: marks every available Freight verified there; whether it marked any.
fn pass_through(
    context: &Context,
    project: &str,
    stage: &str,
    requests: &[FreightRequest],
    facts: &[FreightFacts],
    now: SystemTime,
) -> Result<bool, StoreError> {
    let mut marked = false;
    for request in requests {
        for freight in facts.iter().filter(|f| f.origin == request.origin) {
            if freight.verified_in.contains_key(stage)
                || availability(stage, request, freight, now).is_err()
            {
                continue;
            }
            let event = context.store.write(|tx| {
                tx.mark_freight_verified(project, &freight.name, stage, now)?;
                let mut details = serde_json::Map::new();
                details.insert("stage".into(), stage.into());
                details.insert("freight".into(), freight.name.clone().into());
                tx.append_event(
                    &NewEvent::new(
                        kinds::FREIGHT_VERIFICATION_SUCCEEDED,
                        format!("freight/{}", freight.name),
                        format!(
                            "freight {} passed through control-flow stage {stage}",
                            freight.display()
                        ),
                    )
                    .project(project)
                    .details(details.into()),
                )
            })?;
            tracing::info!(project, stage, freight = %freight.name, "freight passed through a control-flow stage");
            context.emit(ChangeKind::Freight, project, &freight.name, Some(event.id));
            marked = true;
        }
    }
    Ok(marked)
}

/// A unique enough id for a verification attempt (a ULID).
fn verification_id(now: SystemTime) -> String {
    use std::hash::BuildHasher;
    let millis = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let state = std::collections::hash_map::RandomState::new();
    let random = u128::from(state.hash_one(1u8)) << 64 | u128::from(state.hash_one(2u8));
    gantry_engine::name::ulid(millis, random).to_lowercase()
}

/// Records the verification of the Stage's current Freight.
fn verify(
    context: &Context,
    config: &Config,
    project: &str,
    stage: &str,
    has_analysis: bool,
    now: SystemTime,
) -> Result<(), StoreError> {
    let at = format_rfc3339(now);
    let info = VerificationInfo {
        id: verification_id(now),
        actor: None,
        start_time: Some(at.clone()),
        phase: if has_analysis { "Error" } else { "Successful" }.to_owned(),
        message: has_analysis.then(|| ANALYSIS_UNSUPPORTED.to_owned()),
        analysis_run: None,
        finish_time: Some(at),
    };
    let (status, event) = context.store.write(|tx| {
        let mut status = tx.record_verification(project, stage, info, now)?;
        if let Some(settled) = super::status::settle(tx, config, project, stage, now)? {
            status = settled;
        }
        let names: Vec<String> = status
            .current_freight()
            .map(|c| c.items.values().map(|i| i.name.clone()).collect())
            .unwrap_or_default();
        let (kind, message) = if has_analysis {
            (
                kinds::FREIGHT_VERIFICATION_FAILED,
                format!("verification in stage {stage} errored: {ANALYSIS_UNSUPPORTED}"),
            )
        } else {
            (
                kinds::FREIGHT_VERIFICATION_SUCCEEDED,
                format!("freight verified in stage {stage}"),
            )
        };
        let mut details = serde_json::Map::new();
        details.insert("stage".into(), stage.into());
        details.insert("freight".into(), names.clone().into());
        let event = tx.append_event(
            &NewEvent::new(kind, format!("stage/{stage}"), message)
                .project(project)
                .details(details.into()),
        )?;
        Ok::<_, StoreError>((status, event))
    })?;
    if has_analysis {
        tracing::warn!(
            project,
            stage,
            "verification errored: {ANALYSIS_UNSUPPORTED}"
        );
    } else {
        tracing::info!(project, stage, "freight verified");
    }
    context.emit(ChangeKind::Stage, project, stage, Some(event.id));
    if let Some(current) = status.current_freight() {
        for item in current.items.values() {
            context.emit(ChangeKind::Freight, project, &item.name, None);
        }
    }
    Ok(())
}
