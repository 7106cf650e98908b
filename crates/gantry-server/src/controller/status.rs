//! Keeps the derived part of each Stage's status (`conditions`, `freightSummary`, `health`;
//! rules in `gantry_core::stage_status`) in step with what it is derived from.
//!
//! [`settle`] runs inside the transaction of every write that changes those inputs — a
//! Promotion starting or ending, a verification recorded — so readers never see a status whose
//! conditions lag behind its Promotions. Each Stage evaluation calls [`settle_if_stale`] too,
//! which catches what no such write announces: the first evaluation of a new Stage, and config
//! edits (a Stage gaining an origin, becoming control-flow).

use std::time::SystemTime;

use gantry_api::kargo::StageStatus;
use gantry_core::stage_status::{StatusFacts, refresh};
use gantry_store::{Reader, Store, StoreError, Tx};

use super::promotion::is_control_flow;
use crate::config::Config;

/// The health check kinds the last Promotion registered, when it succeeded.
fn health_checks(
    reader: Reader<'_>,
    project: &str,
    status: &StageStatus,
) -> Result<Vec<String>, StoreError> {
    let Some(last) = status
        .last_promotion
        .as_ref()
        .filter(|last| last.status.as_ref().is_some_and(|s| s.phase == "Succeeded"))
    else {
        return Ok(Vec::new());
    };
    Ok(reader
        .promotion(project, &last.name)?
        .map(|record| {
            record
                .status
                .health_checks
                .into_iter()
                .map(|check| check.uses)
                .collect()
        })
        .unwrap_or_default())
}

/// The status with its derived fields brought up to date, when they were stale; `None` when
/// they are current or the Stage is not in the config.
fn updated(
    reader: Reader<'_>,
    config: &Config,
    project: &str,
    stage: &str,
    status: Option<StageStatus>,
    now: SystemTime,
) -> Result<Option<StageStatus>, StoreError> {
    let Some(spec) = config.stage(project, stage) else {
        return Ok(None);
    };
    let mut status = status.unwrap_or_default();
    let checks = health_checks(reader, project, &status)?;
    let facts = StatusFacts {
        requested: spec.spec.requested_freight.len(),
        control_flow: is_control_flow(spec),
        health_checks: &checks,
    };
    Ok(refresh(&mut status, facts, now).then_some(status))
}

/// Brings the Stage's derived status fields up to date within `tx`; the new status when it
/// changed.
pub(crate) fn settle(
    tx: &Tx<'_>,
    config: &Config,
    project: &str,
    stage: &str,
    now: SystemTime,
) -> Result<Option<StageStatus>, StoreError> {
    let reader = tx.reader();
    let stored = reader.stage_status(project, stage)?;
    let Some(status) = updated(reader, config, project, stage, stored, now)? else {
        return Ok(None);
    };
    tx.save_stage_status(project, stage, &status)?;
    Ok(Some(status))
}

/// [`settle`], but only opens a write transaction when `status` (as read earlier) shows stale
/// fields; whether it changed anything.
pub(crate) fn settle_if_stale(
    store: &Store,
    config: &Config,
    project: &str,
    stage: &str,
    status: Option<&StageStatus>,
) -> Result<bool, StoreError> {
    let now = SystemTime::now();
    let outdated = store
        .read(|r| updated(*r, config, project, stage, status.cloned(), now))?
        .is_some();
    if !outdated {
        return Ok(false);
    }
    Ok(store
        .write(|tx| settle(tx, config, project, stage, now))?
        .is_some())
}
