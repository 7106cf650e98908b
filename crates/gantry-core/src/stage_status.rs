//! The derived part of a Stage's status — `conditions`, `freightSummary` and `health` — as a
//! pure function of what the status already records (current Freight and its verifications,
//! current and last Promotion) and of a few facts from the spec. Kargo's rules, summarised:
//!
//! | condition | from | value |
//! |---|---|---|
//! | `Promoting` | `currentPromotion` | `True` `ActivePromotion` while one runs; absent otherwise |
//! | `Healthy` | `lastPromotion`, its health checks | `Unknown` `NoFreight` before any Promotion; `Unknown` `Promoting` while one runs; `Unknown` `LastPromotion<Phase>` after one that did not succeed; `True` `Healthy` when it succeeded and registered no health checks; `Unknown` when it registered checks gantry cannot run (Argo CD) |
//! | `Verified` | the current Freight's verification history | `True` `Verified` once one attempt succeeded; else from the newest attempt (`False` `VerificationError` / `VerificationFailed` / `VerificationAborted`, `Unknown` `VerificationPending` / `VerificationRunning` / `VerificationInconclusive`); `Unknown` `WaitingForVerification` before any; `Unknown` `NoFreight` without Freight |
//! | `Ready` | the others, in order | `False` with `Promoting`'s reason while promoting; `False` `LastPromotion<Phase>` with its message when the last Promotion did not succeed; `False` with `Healthy`'s reason unless healthy; `False` with `Verified`'s reason unless verified; else `True` `Verified` |
//!
//! `freightSummary` is the Freight's name when the Stage requests one origin and holds Freight
//! for it, else `n/m Fulfilled`. A control-flow Stage (no steps) has only `Ready` `True` and the
//! summary `N/A`, as in Kargo. A condition's `lastTransitionTime` changes only when its status
//! does.

use std::time::SystemTime;

use gantry_api::kargo::{Condition, FreightCollection, Health, StageStatus};
use gantry_api::time::format_rfc3339;

/// `Health.status` / condition values.
const HEALTHY: &str = "Healthy";
const UNKNOWN: &str = "Unknown";

/// What the rules need besides the stored status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusFacts<'a> {
    /// How many origins the Stage requests (`requestedFreight` entries).
    pub requested: usize,
    /// A Stage without promotion steps: Freight passes through it.
    pub control_flow: bool,
    /// The kinds (`uses`) of the health checks the last Promotion registered, when it
    /// succeeded (`argocd` for each `argocd-update`).
    pub health_checks: &'a [String],
}

/// The derived fields, before transition times are kept or set.
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    /// The conditions, sorted by type; `last_transition_time` is `None` here.
    pub conditions: Vec<Condition>,
    /// `freightSummary`.
    pub freight_summary: String,
    /// `health` (`None` before any Promotion and on control-flow Stages).
    pub health: Option<Health>,
}

/// `freightSummary`: the Freight's name when one origin is requested and fulfilled, else
/// `n/m Fulfilled`.
pub fn freight_summary(requested: usize, current: Option<&FreightCollection>) -> String {
    let Some(current) = current else {
        return format!("0/{requested} Fulfilled");
    };
    if requested == 1
        && current.items.len() == 1
        && let Some(only) = current.items.values().next()
    {
        return only.name.clone();
    }
    format!("{}/{requested} Fulfilled", current.items.len())
}

fn condition(type_: &str, status: &str, reason: &str, message: impl Into<String>) -> Condition {
    let message = message.into();
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: (!message.is_empty()).then_some(message),
        last_transition_time: None,
        observed_generation: None,
    }
}

/// Computes the derived fields from `status` and `facts`.
pub fn derive(status: &StageStatus, facts: StatusFacts<'_>) -> Derived {
    if facts.control_flow {
        return Derived {
            conditions: vec![condition("Ready", "True", "Ready", "")],
            freight_summary: "N/A".to_owned(),
            health: None,
        };
    }
    let current = status.current_freight();
    let promoting = status.current_promotion.as_ref().map(|promotion| {
        let phase = promotion
            .status
            .as_ref()
            .map_or("Running", |s| s.phase.as_str());
        condition(
            "Promoting",
            "True",
            "ActivePromotion",
            format!("Promotion {:?} is currently {phase}", promotion.name),
        )
    });
    let (healthy, health) = health(status, facts.health_checks);
    let verified = verified(current);
    let last_failed = status
        .last_promotion
        .as_ref()
        .and_then(|last| last.status.as_ref())
        .filter(|s| is_terminal(&s.phase) && s.phase != "Succeeded");
    let ready = if let Some(promoting) = &promoting {
        Condition {
            type_: "Ready".to_owned(),
            status: "False".to_owned(),
            ..promoting.clone()
        }
    } else if let Some(last) = last_failed {
        condition(
            "Ready",
            "False",
            &format!("LastPromotion{}", last.phase),
            last.message.clone().unwrap_or_default(),
        )
    } else if healthy.status != "True" {
        Condition {
            type_: "Ready".to_owned(),
            status: "False".to_owned(),
            ..healthy.clone()
        }
    } else if verified.status != "True" {
        Condition {
            type_: "Ready".to_owned(),
            status: "False".to_owned(),
            ..verified.clone()
        }
    } else {
        Condition {
            type_: "Ready".to_owned(),
            ..verified.clone()
        }
    };
    let mut conditions: Vec<Condition> = [Some(healthy), promoting, Some(ready), Some(verified)]
        .into_iter()
        .flatten()
        .collect();
    conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    Derived {
        conditions,
        freight_summary: freight_summary(facts.requested, current),
        health,
    }
}

fn is_terminal(phase: &str) -> bool {
    matches!(phase, "Succeeded" | "Failed" | "Errored" | "Aborted")
}

/// The `Healthy` condition and `health` (Kargo's `assessHealth`).
fn health(status: &StageStatus, checks: &[String]) -> (Condition, Option<Health>) {
    let unknown = |reason: &str, message: String| {
        (
            condition("Healthy", UNKNOWN, reason, message.clone()),
            Some(Health {
                status: UNKNOWN.to_owned(),
                issues: vec![message],
                ..Health::default()
            }),
        )
    };
    if let Some(current) = &status.current_promotion {
        return unknown(
            "Promoting",
            format!(
                "Promotion {:?} is running: health is assessed when it ends",
                current.name
            ),
        );
    }
    let Some(last) = &status.last_promotion else {
        return (
            condition(
                "Healthy",
                UNKNOWN,
                "NoFreight",
                "Stage has no current Freight",
            ),
            None,
        );
    };
    let phase = last.status.as_ref().map_or("", |s| s.phase.as_str());
    if phase != "Succeeded" {
        return unknown(
            &format!("LastPromotion{phase}"),
            "Cannot assess health because last Promotion did not succeed".to_owned(),
        );
    }
    if !checks.is_empty() {
        let kinds: std::collections::BTreeSet<&str> = checks.iter().map(String::as_str).collect();
        let kinds: Vec<&str> = kinds.into_iter().collect();
        return unknown(
            UNKNOWN,
            format!(
                "cannot assess {} health check(s) ({}): gantry serve has no Argo CD connection yet",
                checks.len(),
                kinds.join(", ")
            ),
        );
    }
    (
        condition(
            "Healthy",
            "True",
            HEALTHY,
            "Stage is healthy (performed 0 health checks)",
        ),
        Some(Health {
            status: HEALTHY.to_owned(),
            ..Health::default()
        }),
    )
}

/// The `Verified` condition of the current Freight.
fn verified(current: Option<&FreightCollection>) -> Condition {
    let Some(current) = current else {
        return condition(
            "Verified",
            UNKNOWN,
            "NoFreight",
            "Stage has no current Freight to verify",
        );
    };
    let history = &current.verification_history;
    if history.iter().any(|v| v.phase == "Successful") {
        return condition("Verified", "True", "Verified", "Freight has been verified");
    }
    let Some(last) = history.first() else {
        return condition(
            "Verified",
            UNKNOWN,
            "WaitingForVerification",
            "Waiting for verification to be performed after successful promotion",
        );
    };
    let message = last.message.clone().unwrap_or_default();
    match last.phase.as_str() {
        "Pending" => condition(
            "Verified",
            UNKNOWN,
            "VerificationPending",
            "Freight is pending verification",
        ),
        "Running" => condition(
            "Verified",
            UNKNOWN,
            "VerificationRunning",
            "Freight is currently being verified",
        ),
        phase @ ("Failed" | "Error" | "Aborted") => condition(
            "Verified",
            "False",
            &format!("Verification{phase}"),
            message,
        ),
        "Inconclusive" => condition("Verified", UNKNOWN, "VerificationInconclusive", message),
        other => condition(
            "Verified",
            UNKNOWN,
            "UnknownVerificationPhase",
            format!("Freight verification is in an unknown phase: {other}"),
        ),
    }
}

/// Writes `derived` into `status`, keeping each condition's `lastTransitionTime` when its status
/// did not change (else `now`); whether anything changed.
pub fn apply(status: &mut StageStatus, derived: Derived, now: SystemTime) -> bool {
    let conditions: Vec<Condition> = derived
        .conditions
        .into_iter()
        .map(|mut new| {
            new.last_transition_time = status
                .conditions
                .iter()
                .find(|old| old.type_ == new.type_ && old.status == new.status)
                .and_then(|old| old.last_transition_time.clone())
                .or_else(|| Some(format_rfc3339(now)));
            new
        })
        .collect();
    let summary = Some(derived.freight_summary);
    let changed = status.conditions != conditions
        || status.freight_summary != summary
        || status.health != derived.health;
    status.conditions = conditions;
    status.freight_summary = summary;
    status.health = derived.health;
    changed
}

/// [`derive`] then [`apply`]: brings the derived fields of `status` up to date; whether
/// anything changed.
pub fn refresh(status: &mut StageStatus, facts: StatusFacts<'_>, now: SystemTime) -> bool {
    let derived = derive(status, facts);
    apply(status, derived, now)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gantry_api::kargo::{
        FreightOrigin, FreightReference, PromotionReference, PromotionReferenceStatus,
        VerificationInfo,
    };

    use super::*;

    fn collection(names: &[&str], verifications: &[(&str, Option<&str>)]) -> FreightCollection {
        FreightCollection {
            id: names.join(","),
            items: names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    (
                        format!("Warehouse/w{i}"),
                        FreightReference {
                            name: (*name).to_owned(),
                            origin: FreightOrigin {
                                kind: "Warehouse".into(),
                                name: format!("w{i}"),
                            },
                            ..FreightReference::default()
                        },
                    )
                })
                .collect(),
            verification_history: verifications
                .iter()
                .map(|(phase, message)| VerificationInfo {
                    id: "v".into(),
                    phase: (*phase).to_owned(),
                    message: message.map(str::to_owned),
                    ..VerificationInfo::default()
                })
                .collect(),
        }
    }

    fn promotion(name: &str, phase: &str, message: Option<&str>) -> PromotionReference {
        PromotionReference {
            name: name.into(),
            status: Some(PromotionReferenceStatus {
                phase: phase.into(),
                message: message.map(str::to_owned),
            }),
            ..PromotionReference::default()
        }
    }

    const ONE: StatusFacts<'static> = StatusFacts {
        requested: 1,
        control_flow: false,
        health_checks: &[],
    };

    /// `type status reason` of each condition, in order.
    fn summary(derived: &Derived) -> Vec<String> {
        derived
            .conditions
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.type_,
                    c.status,
                    c.reason.as_deref().unwrap_or("")
                )
            })
            .collect()
    }

    fn ready(derived: &Derived) -> &Condition {
        derived
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap()
    }

    #[test]
    fn the_freight_summary_is_the_name_for_one_fulfilled_origin_else_a_count() {
        assert_eq!(freight_summary(1, None), "0/1 Fulfilled");
        assert_eq!(freight_summary(1, Some(&collection(&["f1"], &[]))), "f1");
        assert_eq!(
            freight_summary(2, Some(&collection(&["f1"], &[]))),
            "1/2 Fulfilled"
        );
        assert_eq!(
            freight_summary(2, Some(&collection(&["f1", "f2"], &[]))),
            "2/2 Fulfilled"
        );
    }

    #[test]
    fn a_stage_without_freight_is_not_ready_for_lack_of_freight() {
        let derived = derive(&StageStatus::default(), ONE);
        assert_eq!(
            summary(&derived),
            [
                "Healthy Unknown NoFreight",
                "Ready False NoFreight",
                "Verified Unknown NoFreight"
            ]
        );
        assert_eq!(
            ready(&derived).message.as_deref(),
            Some("Stage has no current Freight")
        );
        assert_eq!(derived.health, None);
        assert_eq!(derived.freight_summary, "0/1 Fulfilled");
    }

    #[test]
    fn a_running_promotion_makes_the_stage_promoting_with_unknown_health() {
        let status = StageStatus {
            freight_history: vec![collection(&["f1"], &[("Successful", None)])],
            current_promotion: Some(promotion("prod.01.f2", "Running", None)),
            last_promotion: Some(promotion("prod.00.f1", "Succeeded", None)),
            ..StageStatus::default()
        };
        let derived = derive(&status, ONE);
        assert_eq!(
            summary(&derived),
            [
                "Healthy Unknown Promoting",
                "Promoting True ActivePromotion",
                "Ready False ActivePromotion",
                "Verified True Verified"
            ]
        );
        assert_eq!(
            ready(&derived).message.as_deref(),
            Some("Promotion \"prod.01.f2\" is currently Running")
        );
        assert_eq!(derived.health.unwrap().status, "Unknown");
        assert_eq!(derived.freight_summary, "f1");
    }

    #[test]
    fn a_verified_stage_after_a_successful_promotion_without_health_checks_is_ready() {
        let status = StageStatus {
            freight_history: vec![collection(&["f1"], &[("Successful", None)])],
            last_promotion: Some(promotion("dev.00.f1", "Succeeded", None)),
            ..StageStatus::default()
        };
        let derived = derive(&status, ONE);
        assert_eq!(
            summary(&derived),
            [
                "Healthy True Healthy",
                "Ready True Verified",
                "Verified True Verified"
            ]
        );
        assert_eq!(derived.health.unwrap().status, "Healthy");
    }

    #[test]
    fn a_successful_promotion_waits_for_verification_before_ready() {
        let status = StageStatus {
            freight_history: vec![collection(&["f1"], &[])],
            last_promotion: Some(promotion("dev.00.f1", "Succeeded", None)),
            ..StageStatus::default()
        };
        let derived = derive(&status, ONE);
        assert_eq!(
            summary(&derived),
            [
                "Healthy True Healthy",
                "Ready False WaitingForVerification",
                "Verified Unknown WaitingForVerification"
            ]
        );
    }

    #[test]
    fn a_failed_last_promotion_makes_the_stage_not_ready_with_its_message() {
        let status = StageStatus {
            freight_history: vec![collection(&["f1"], &[("Successful", None)])],
            last_promotion: Some(promotion(
                "dev.01.f2",
                "Failed",
                Some("step \"step-4\" failed: pushes are frozen"),
            )),
            ..StageStatus::default()
        };
        let derived = derive(&status, ONE);
        assert_eq!(
            summary(&derived),
            [
                "Healthy Unknown LastPromotionFailed",
                "Ready False LastPromotionFailed",
                "Verified True Verified"
            ]
        );
        assert_eq!(
            ready(&derived).message.as_deref(),
            Some("step \"step-4\" failed: pushes are frozen")
        );
        let health = derived.health.unwrap();
        assert_eq!(health.status, "Unknown");
        assert_eq!(
            health.issues,
            ["Cannot assess health because last Promotion did not succeed"]
        );
        assert_eq!(derived.freight_summary, "f1", "the stage keeps its freight");
    }

    #[test]
    fn an_errored_verification_is_verified_false_and_not_ready() {
        let status = StageStatus {
            freight_history: vec![collection(
                &["f1"],
                &[("Error", Some("AnalysisTemplates are not supported yet"))],
            )],
            last_promotion: Some(promotion("prod.00.f1", "Succeeded", None)),
            ..StageStatus::default()
        };
        let derived = derive(&status, ONE);
        assert_eq!(
            summary(&derived),
            [
                "Healthy True Healthy",
                "Ready False VerificationError",
                "Verified False VerificationError"
            ]
        );
        assert_eq!(
            ready(&derived).message.as_deref(),
            Some("AnalysisTemplates are not supported yet")
        );
    }

    #[test]
    fn verification_phases_map_to_kargo_reasons() {
        for (phase, expected) in [
            ("Pending", "Verified Unknown VerificationPending"),
            ("Running", "Verified Unknown VerificationRunning"),
            ("Failed", "Verified False VerificationFailed"),
            ("Aborted", "Verified False VerificationAborted"),
            ("Inconclusive", "Verified Unknown VerificationInconclusive"),
            ("Weird", "Verified Unknown UnknownVerificationPhase"),
        ] {
            let status = StageStatus {
                freight_history: vec![collection(&["f1"], &[(phase, None)])],
                ..StageStatus::default()
            };
            let derived = derive(&status, ONE);
            assert!(summary(&derived).contains(&expected.to_owned()), "{phase}");
        }
        // One success among the attempts is enough.
        let status = StageStatus {
            freight_history: vec![collection(
                &["f1"],
                &[("Failed", None), ("Successful", None)],
            )],
            ..StageStatus::default()
        };
        assert!(summary(&derive(&status, ONE)).contains(&"Verified True Verified".to_owned()));
    }

    #[test]
    fn health_checks_gantry_cannot_run_leave_health_unknown_not_healthy() {
        let status = StageStatus {
            freight_history: vec![collection(&["f1"], &[("Successful", None)])],
            last_promotion: Some(promotion("dev.00.f1", "Succeeded", None)),
            ..StageStatus::default()
        };
        let checks = ["argocd".to_owned(), "argocd".to_owned()];
        let derived = derive(
            &status,
            StatusFacts {
                health_checks: &checks,
                ..ONE
            },
        );
        assert_eq!(
            summary(&derived),
            [
                "Healthy Unknown Unknown",
                "Ready False Unknown",
                "Verified True Verified"
            ]
        );
        let health = derived.health.unwrap();
        assert_eq!(health.status, "Unknown");
        assert_eq!(
            health.issues,
            [
                "cannot assess 2 health check(s) (argocd): gantry serve has no Argo CD connection yet"
            ]
        );
    }

    #[test]
    fn a_control_flow_stage_is_ready_with_no_summary() {
        let derived = derive(
            &StageStatus::default(),
            StatusFacts {
                control_flow: true,
                ..ONE
            },
        );
        assert_eq!(summary(&derived), ["Ready True Ready"]);
        assert_eq!(derived.freight_summary, "N/A");
        assert_eq!(derived.health, None);
    }

    #[test]
    fn transition_times_change_only_when_a_condition_status_flips() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let t1 = t0 + Duration::from_mins(1);
        let t2 = t1 + Duration::from_mins(1);
        let mut status = StageStatus::default();
        assert!(refresh(&mut status, ONE, t0));
        assert!(!refresh(&mut status, ONE, t1), "nothing changed");
        let time = |status: &StageStatus, kind: &str| {
            status
                .conditions
                .iter()
                .find(|c| c.type_ == kind)
                .and_then(|c| c.last_transition_time.clone())
                .unwrap()
        };
        assert_eq!(time(&status, "Ready"), format_rfc3339(t0));

        // A promotion starts: Ready stays False (new reason, same time), Promoting appears.
        status.current_promotion = Some(promotion("dev.00.f1", "Running", None));
        assert!(refresh(&mut status, ONE, t1));
        assert_eq!(time(&status, "Ready"), format_rfc3339(t0));
        assert_eq!(time(&status, "Promoting"), format_rfc3339(t1));
        assert_eq!(
            ready(&Derived {
                conditions: status.conditions.clone(),
                freight_summary: String::new(),
                health: None
            })
            .reason
            .as_deref(),
            Some("ActivePromotion")
        );

        // It succeeds and the Freight is verified: Ready flips to True at t2.
        status.current_promotion = None;
        status.last_promotion = Some(promotion("dev.00.f1", "Succeeded", None));
        status.freight_history = vec![collection(&["f1"], &[("Successful", None)])];
        assert!(refresh(&mut status, ONE, t2));
        assert_eq!(time(&status, "Ready"), format_rfc3339(t2));
        assert!(status.conditions.iter().all(|c| c.type_ != "Promoting"));
        assert_eq!(status.freight_summary.as_deref(), Some("f1"));
        assert_eq!(status.health.as_ref().unwrap().status, "Healthy");
    }
}
