//! Which Freight a Stage may take, and which one auto-promotion picks: Kargo's availability and
//! auto-promotion rules as pure functions over facts the server already holds.
//!
//! - [`availability`]: one Freight against one `requestedFreight` entry — approved for the Stage,
//!   direct from the Warehouse, or verified (and soaked) upstream in one (`OneOf`) or every
//!   (`All`) listed Stage.
//! - [`candidate`]: the newest available Freight of an origin (`discoveredAt`, then name, both
//!   descending), or with `MatchUpstream` the Freight currently in the single upstream Stage.
//! - [`auto_promotion`]: whether to create a Promotion for that candidate now, and if not, the
//!   reason in words — the same reasons `gantry explain stage` prints.
//!
//! Every "no" carries its reason, so nothing here answers a bare `false`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, SystemTime};

use gantry_api::kargo::{
    AvailabilityStrategy, FreightOrigin, FreightRequest, PromotionPolicy, SelectionPolicy, Stage,
};
use gantry_api::time::{format_go_duration, parse_go_duration};

use crate::policy;

/// A Freight's verification in one Stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// When verification succeeded.
    pub verified_at: SystemTime,
    /// The longest completed stay in the Stage so far.
    pub longest_soak: Duration,
}

/// What is known about one Freight: identity and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreightFacts {
    /// The Freight's id.
    pub name: String,
    /// Its alias, for messages.
    pub alias: Option<String>,
    /// The Warehouse it came from.
    pub origin: FreightOrigin,
    /// `discoveredAt`, else the creation time.
    pub discovered_at: SystemTime,
    /// Stages it is currently in, with the time it arrived.
    pub currently_in: BTreeMap<String, SystemTime>,
    /// Stages it was verified in.
    pub verified_in: BTreeMap<String, Verified>,
    /// Stages it was manually approved for.
    pub approved_for: BTreeSet<String>,
}

impl FreightFacts {
    /// `alias (id7)` or the id, for messages.
    pub fn display(&self) -> String {
        let short: String = self.name.chars().take(7).collect();
        match &self.alias {
            Some(alias) => format!("{alias} ({short})"),
            None => short,
        }
    }

    /// How long it has soaked in `stage`: the longest completed stay, or the current one if
    /// longer. Zero when it was never verified there.
    pub fn soak(&self, stage: &str, now: SystemTime) -> Duration {
        let Some(verified) = self.verified_in.get(stage) else {
            return Duration::ZERO;
        };
        let current = self
            .currently_in
            .get(stage)
            .and_then(|since| now.duration_since(*since).ok())
            .unwrap_or_default();
        verified.longest_soak.max(current)
    }
}

/// Why a Freight is available to a Stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AvailableVia {
    /// Manually approved for the Stage.
    Approved,
    /// The Stage takes Freight straight from the Warehouse.
    Direct,
    /// Verified (and soaked) in these upstream Stages.
    Upstream(Vec<String>),
}

/// Why a Freight is not available to a Stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The Stage does not request Freight from this Freight's Warehouse.
    NotRequested,
    /// Not verified in the upstream Stages it needs (all of them for `All`).
    NotVerifiedUpstream(Vec<String>),
    /// Verified upstream but not soaked long enough anywhere; the least time left.
    Soaking {
        /// The upstream Stage closest to done.
        stage: String,
        /// Time still to wait there.
        remaining: Duration,
    },
    /// `requiredSoakTime` is not a duration (validation reports it; here it blocks).
    InvalidSoakTime(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRequested => {
                write!(f, "the stage does not request freight from its warehouse")
            }
            Self::NotVerifiedUpstream(stages) => {
                write!(f, "not yet verified in {}", or_list(stages))
            }
            Self::Soaking { stage, remaining } => write!(
                f,
                "soaking in {stage}: {} left",
                format_go_duration(round_to_seconds(*remaining))
            ),
            Self::InvalidSoakTime(text) => {
                write!(f, "requiredSoakTime {text:?} is not a duration")
            }
        }
    }
}

fn round_to_seconds(duration: Duration) -> Duration {
    let extra = u64::from(duration.subsec_nanos() > 0);
    Duration::from_secs(duration.as_secs() + extra)
}

fn or_list(stages: &[String]) -> String {
    match stages {
        [] => "any upstream stage".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Whether `freight` is available to the Stage named `stage` under `request`.
pub fn availability(
    stage: &str,
    request: &FreightRequest,
    freight: &FreightFacts,
    now: SystemTime,
) -> Result<AvailableVia, Unavailable> {
    if freight.origin.kind != request.origin.kind || freight.origin.name != request.origin.name {
        return Err(Unavailable::NotRequested);
    }
    if freight.approved_for.contains(stage) {
        return Ok(AvailableVia::Approved);
    }
    if request.sources.direct {
        return Ok(AvailableVia::Direct);
    }
    let required = match request.sources.required_soak_time.as_deref() {
        None | Some("") => Duration::ZERO,
        Some(text) => {
            parse_go_duration(text).ok_or_else(|| Unavailable::InvalidSoakTime(text.to_owned()))?
        }
    };
    let upstream = &request.sources.stages;
    let mut ready = Vec::new();
    let mut unverified = Vec::new();
    let mut soaking: Option<(String, Duration)> = None;
    for name in upstream {
        if !freight.verified_in.contains_key(name) {
            unverified.push(name.clone());
            continue;
        }
        let soak = freight.soak(name, now);
        if soak >= required {
            ready.push(name.clone());
        } else {
            let remaining = required.saturating_sub(soak);
            if soaking.as_ref().is_none_or(|(_, r)| remaining < *r) {
                soaking = Some((name.clone(), remaining));
            }
        }
    }
    let satisfied = match request.sources.availability_strategy {
        AvailabilityStrategy::All => !upstream.is_empty() && ready.len() == upstream.len(),
        // `OneOf`, and anything validation would have rejected.
        _ => !ready.is_empty(),
    };
    if satisfied {
        return Ok(AvailableVia::Upstream(ready));
    }
    // For All, an unverified Stage is the blocker even if another is still soaking.
    if request.sources.availability_strategy == AvailabilityStrategy::All && !unverified.is_empty()
    {
        return Err(Unavailable::NotVerifiedUpstream(unverified));
    }
    match soaking {
        Some((stage, remaining)) => Err(Unavailable::Soaking { stage, remaining }),
        None => Err(Unavailable::NotVerifiedUpstream(unverified)),
    }
}

/// The Freight auto-promotion would pick for `request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate<'f> {
    /// This one.
    Freight(&'f FreightFacts),
    /// Nothing from this origin is available; the newest Freight of the origin and why it is
    /// not available, when there is any Freight at all.
    None(Option<(&'f FreightFacts, Unavailable)>),
    /// `MatchUpstream` needs exactly one upstream Stage.
    NotOneUpstream(usize),
    /// `MatchUpstream` found several Freight of the origin in the upstream Stage (a transient
    /// state while it is promoting).
    UpstreamAmbiguous,
}

/// Newest first: `discoveredAt` descending, ties by name descending.
pub fn newest_first(freight: &mut [&FreightFacts]) {
    freight.sort_by(|a, b| {
        b.discovered_at
            .cmp(&a.discovered_at)
            .then_with(|| b.name.cmp(&a.name))
    });
}

/// The candidate for one `requestedFreight` entry among all Freight of the Project.
pub fn candidate<'f>(
    stage: &str,
    request: &FreightRequest,
    freight: &'f [FreightFacts],
    now: SystemTime,
) -> Candidate<'f> {
    let mut of_origin: Vec<&FreightFacts> = freight
        .iter()
        .filter(|f| f.origin == request.origin)
        .collect();
    newest_first(&mut of_origin);
    if request
        .sources
        .auto_promotion_options
        .as_ref()
        .is_some_and(|o| o.selection_policy == SelectionPolicy::MatchUpstream)
    {
        let [upstream] = request.sources.stages.as_slice() else {
            return Candidate::NotOneUpstream(request.sources.stages.len());
        };
        of_origin.retain(|f| f.currently_in.contains_key(upstream));
        if of_origin.len() > 1 {
            return Candidate::UpstreamAmbiguous;
        }
    }
    let mut newest_unavailable = None;
    for facts in of_origin {
        match availability(stage, request, facts, now) {
            Ok(_) => return Candidate::Freight(facts),
            Err(reason) => {
                if newest_unavailable.is_none() {
                    newest_unavailable = Some((facts, reason));
                }
            }
        }
    }
    Candidate::None(newest_unavailable)
}

/// A Promotion as far as auto-promotion cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionFacts {
    /// Its name (`<stage>.<ULID>.<freight7>`; name order is creation order).
    pub name: String,
    /// The Freight it promotes.
    pub freight: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Errored`, `Aborted`.
    pub phase: String,
    /// Why it ended, when it failed.
    pub message: Option<String>,
}

impl PromotionFacts {
    fn terminal(&self) -> bool {
        matches!(
            self.phase.as_str(),
            "Succeeded" | "Failed" | "Errored" | "Aborted"
        )
    }
}

/// Which promotion policy applies to a Stage: the first that matches, if any.
pub fn applicable_policy<'p>(
    policies: &'p [PromotionPolicy],
    stage: &Stage,
) -> Option<&'p PromotionPolicy> {
    let name = stage.metadata.name.as_deref().unwrap_or_default();
    policies
        .iter()
        .find(|p| policy::matches(p, name, &stage.metadata.labels))
}

/// Auto-promotion's answer for one origin of a Stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoPromotion {
    /// Create a Promotion of this Freight.
    Promote(String),
    /// Do nothing, because...
    Wait(WaitReason),
}

/// Why auto-promotion does nothing for an origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// No promotion policy of the Project matches the Stage.
    NoPolicy,
    /// The matching policy has `autoPromotionEnabled: false`.
    PolicyDisabled,
    /// The Stage has no steps: Freight passes through it without Promotions.
    ControlFlowStage,
    /// Nothing is available.
    NoCandidate(Option<(String, Unavailable)>),
    /// `MatchUpstream` cannot pick (see [`Candidate`]).
    MatchUpstream(String),
    /// The candidate is already in the Stage.
    AlreadyCurrent(String),
    /// A Promotion of the candidate is queued or running.
    InFlight {
        /// The candidate.
        freight: String,
        /// The Promotion.
        promotion: String,
    },
    /// The newest Promotion of the candidate to this Stage ended without success; it is not
    /// retried automatically.
    LastFailed {
        /// The candidate.
        freight: String,
        /// The Promotion.
        promotion: String,
        /// Its phase.
        phase: String,
        /// Its message.
        message: Option<String>,
    },
    /// Someone promoted other Freight by hand; auto-promotion holds until the candidate is
    /// promoted explicitly.
    Held(String),
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPolicy => write!(
                f,
                "auto-promotion is off: no promotion policy of the project matches this stage"
            ),
            Self::PolicyDisabled => write!(
                f,
                "auto-promotion is off: the matching promotion policy does not enable it"
            ),
            Self::ControlFlowStage => write!(
                f,
                "the stage has no promotion steps: available freight passes straight through"
            ),
            Self::NoCandidate(None) => write!(f, "the warehouse has produced no freight yet"),
            Self::NoCandidate(Some((freight, why))) => {
                write!(f, "the newest freight {freight} is not available: {why}")
            }
            Self::MatchUpstream(why) => write!(f, "{why}"),
            Self::AlreadyCurrent(freight) => {
                write!(f, "the newest available freight {freight} is already here")
            }
            Self::InFlight { freight, promotion } => {
                write!(f, "promotion {promotion} of {freight} is queued or running")
            }
            Self::LastFailed {
                freight,
                promotion,
                phase,
                message,
            } => {
                write!(
                    f,
                    "the last promotion of {freight} ({promotion}) ended {phase}"
                )?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                write!(
                    f,
                    "; it is not retried automatically, promote it by hand to retry"
                )
            }
            Self::Held(freight) => write!(
                f,
                "auto-promotion is held: other freight was promoted by hand; promote {freight} to resume"
            ),
        }
    }
}

/// Inputs of [`auto_promotion`] for one Stage.
#[derive(Clone, Copy, Debug)]
pub struct StageFacts<'a> {
    /// The Stage.
    pub stage: &'a Stage,
    /// The Project's promotion policies (ProjectConfig, or the legacy Project spec).
    pub policies: &'a [PromotionPolicy],
    /// Every Freight of the Project.
    pub freight: &'a [FreightFacts],
    /// The Stage's Promotions, any order.
    pub promotions: &'a [PromotionFacts],
    /// Origins (`Warehouse/name`) with an auto-promotion hold.
    pub holds: &'a BTreeSet<String>,
    /// Now.
    pub now: SystemTime,
}

/// What auto-promotion does for `request` of the Stage.
pub fn auto_promotion(facts: StageFacts<'_>, request: &FreightRequest) -> AutoPromotion {
    use AutoPromotion::{Promote, Wait};
    let stage_name = facts.stage.metadata.name.as_deref().unwrap_or_default();
    // Without auto-promotion, the Stage holding the newest Freight already is the better news.
    let off = |reason: WaitReason| match candidate(stage_name, request, facts.freight, facts.now) {
        Candidate::Freight(f) if f.currently_in.contains_key(stage_name) => {
            WaitReason::AlreadyCurrent(f.display())
        }
        _ => reason,
    };
    let Some(policy) = applicable_policy(facts.policies, facts.stage) else {
        return Wait(off(WaitReason::NoPolicy));
    };
    if !policy.auto_promotion_enabled {
        return Wait(off(WaitReason::PolicyDisabled));
    }
    if facts
        .stage
        .spec
        .promotion_template
        .as_ref()
        .is_none_or(|t| t.spec.steps.is_empty())
    {
        return Wait(WaitReason::ControlFlowStage);
    }
    let chosen = match candidate(stage_name, request, facts.freight, facts.now) {
        Candidate::Freight(f) => f,
        Candidate::None(newest) => {
            return Wait(WaitReason::NoCandidate(
                newest.map(|(f, why)| (f.display(), why)),
            ));
        }
        Candidate::NotOneUpstream(n) => {
            return Wait(WaitReason::MatchUpstream(format!(
                "selectionPolicy MatchUpstream needs exactly one upstream stage, this request lists {n}"
            )));
        }
        Candidate::UpstreamAmbiguous => {
            return Wait(WaitReason::MatchUpstream(
                "the upstream stage holds more than one freight of this origin while it promotes; waiting"
                    .to_owned(),
            ));
        }
    };
    let origin_key = format!("{}/{}", request.origin.kind, request.origin.name);
    if facts.holds.contains(&origin_key) {
        return Wait(WaitReason::Held(chosen.display()));
    }
    if chosen.currently_in.contains_key(stage_name) {
        return Wait(WaitReason::AlreadyCurrent(chosen.display()));
    }
    let mut of_candidate: Vec<&PromotionFacts> = facts
        .promotions
        .iter()
        .filter(|p| p.freight == chosen.name)
        .collect();
    of_candidate.sort_by(|a, b| b.name.cmp(&a.name));
    if let Some(open) = of_candidate.iter().find(|p| !p.terminal()) {
        return Wait(WaitReason::InFlight {
            freight: chosen.display(),
            promotion: open.name.clone(),
        });
    }
    if let Some(last) = of_candidate.first()
        && last.phase != "Succeeded"
    {
        return Wait(WaitReason::LastFailed {
            freight: chosen.display(),
            promotion: last.name.clone(),
            phase: last.phase.clone(),
            message: last.message.clone(),
        });
    }
    Promote(chosen.name.clone())
}

#[cfg(test)]
mod tests {
    use gantry_api::kargo::{AutoPromotionOptions, FreightSources, PromotionPolicySelector};

    use super::*;

    const HOUR: Duration = Duration::from_hours(1);

    fn t(hours: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + HOUR * u32::try_from(hours).expect("small")
    }

    fn origin() -> FreightOrigin {
        FreightOrigin {
            kind: "Warehouse".to_owned(),
            name: "frontend".to_owned(),
        }
    }

    fn facts(name: &str, discovered: u64) -> FreightFacts {
        FreightFacts {
            name: name.to_owned(),
            alias: None,
            origin: origin(),
            discovered_at: t(discovered),
            currently_in: BTreeMap::new(),
            verified_in: BTreeMap::new(),
            approved_for: BTreeSet::new(),
        }
    }

    fn verified(mut f: FreightFacts, stage: &str, at: u64, longest: Duration) -> FreightFacts {
        f.verified_in.insert(
            stage.to_owned(),
            Verified {
                verified_at: t(at),
                longest_soak: longest,
            },
        );
        f
    }

    fn request(direct: bool, stages: &[&str]) -> FreightRequest {
        FreightRequest {
            origin: origin(),
            sources: FreightSources {
                direct,
                stages: stages.iter().map(|s| (*s).to_owned()).collect(),
                ..FreightSources::default()
            },
        }
    }

    #[test]
    fn direct_freight_is_available_and_other_warehouses_are_not() {
        let f = facts("a", 1);
        assert_eq!(
            availability("develop", &request(true, &[]), &f, t(2)),
            Ok(AvailableVia::Direct)
        );
        let mut other = request(true, &[]);
        other.origin.name = "backend".to_owned();
        assert_eq!(
            availability("develop", &other, &f, t(2)),
            Err(Unavailable::NotRequested)
        );
    }

    #[test]
    fn upstream_freight_needs_verification_and_soak() {
        let mut req = request(false, &["develop"]);
        req.sources.required_soak_time = Some("2h".to_owned());
        let f = facts("a", 1);
        assert_eq!(
            availability("production", &req, &f, t(5)),
            Err(Unavailable::NotVerifiedUpstream(vec!["develop".to_owned()]))
        );
        let mut f = verified(f, "develop", 3, Duration::ZERO);
        f.currently_in.insert("develop".to_owned(), t(3));
        let soaking = availability("production", &req, &f, t(4)).expect_err("1h soaked");
        assert_eq!(soaking.to_string(), "soaking in develop: 1h0m0s left");
        assert_eq!(
            availability("production", &req, &f, t(5)),
            Ok(AvailableVia::Upstream(vec!["develop".to_owned()]))
        );
        // Gone from develop, but its longest stay counts.
        f.currently_in.clear();
        f.verified_in
            .get_mut("develop")
            .expect("verified")
            .longest_soak = 3 * HOUR;
        assert!(availability("production", &req, &f, t(50)).is_ok());
    }

    #[test]
    fn all_needs_every_upstream_stage_and_one_of_needs_any() {
        let mut req = request(false, &["qa", "uat"]);
        let f = verified(facts("a", 1), "qa", 2, HOUR);
        assert!(availability("prod", &req, &f, t(3)).is_ok());
        req.sources.availability_strategy = AvailabilityStrategy::All;
        let error = availability("prod", &req, &f, t(3)).expect_err("uat missing");
        assert_eq!(error.to_string(), "not yet verified in uat");
        let f = verified(f, "uat", 2, HOUR);
        assert_eq!(
            availability("prod", &req, &f, t(3)),
            Ok(AvailableVia::Upstream(vec![
                "qa".to_owned(),
                "uat".to_owned()
            ]))
        );
    }

    #[test]
    fn approval_bypasses_verification_and_soak() {
        let mut req = request(false, &["develop"]);
        req.sources.required_soak_time = Some("100h".to_owned());
        let mut f = facts("a", 1);
        f.approved_for.insert("production".to_owned());
        assert_eq!(
            availability("production", &req, &f, t(2)),
            Ok(AvailableVia::Approved)
        );
    }

    #[test]
    fn the_candidate_is_the_newest_available_freight_ties_by_name() {
        let all = [facts("a", 1), facts("c", 3), facts("b", 3)];
        let Candidate::Freight(f) = candidate("develop", &request(true, &[]), &all, t(4)) else {
            panic!("expected a candidate");
        };
        assert_eq!(f.name, "c");
        // Upstream: only the verified one is available.
        let all = [
            verified(facts("old", 1), "develop", 2, HOUR),
            facts("new", 3),
        ];
        let Candidate::Freight(f) = candidate("prod", &request(false, &["develop"]), &all, t(4))
        else {
            panic!("expected a candidate");
        };
        assert_eq!(f.name, "old");
        let none = [facts("new", 3)];
        let Candidate::None(Some((f, why))) =
            candidate("prod", &request(false, &["develop"]), &none, t(4))
        else {
            panic!("expected no candidate");
        };
        assert_eq!(
            (f.name.as_str(), why.to_string().as_str()),
            ("new", "not yet verified in develop")
        );
    }

    #[test]
    fn match_upstream_takes_what_the_upstream_stage_has() {
        let mut req = request(false, &["develop"]);
        req.sources.auto_promotion_options = Some(AutoPromotionOptions {
            selection_policy: SelectionPolicy::MatchUpstream,
        });
        let mut older = verified(facts("older", 1), "develop", 2, HOUR);
        older.currently_in.insert("develop".to_owned(), t(2));
        let newer = verified(facts("newer", 3), "develop", 4, HOUR);
        let all = [older.clone(), newer.clone()];
        let Candidate::Freight(f) = candidate("prod", &req, &all, t(5)) else {
            panic!("expected a candidate");
        };
        assert_eq!(f.name, "older");
        let mut both = newer;
        both.currently_in.insert("develop".to_owned(), t(4));
        assert_eq!(
            candidate("prod", &req, &[older, both], t(5)),
            Candidate::UpstreamAmbiguous
        );
        req.sources.stages.push("qa".to_owned());
        assert_eq!(
            candidate("prod", &req, &[], t(5)),
            Candidate::NotOneUpstream(2)
        );
    }

    fn stage(yaml_spec: &str) -> Stage {
        let yaml = format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: develop\n  namespace: demo\n  labels: {{tier: dev}}\nspec:\n{yaml_spec}"
        );
        let json = gantry_api::yaml::parse_stream(&yaml).0[0].root.to_json();
        serde_json::from_value(json).expect("a valid Stage")
    }

    fn with_steps() -> Stage {
        stage(
            "  requestedFreight:\n  - origin: {kind: Warehouse, name: frontend}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - task: {name: promote}\n",
        )
    }

    fn enabled() -> Vec<PromotionPolicy> {
        vec![PromotionPolicy {
            stage_selector: Some(PromotionPolicySelector {
                name: Some("glob:dev*".to_owned()),
                ..PromotionPolicySelector::default()
            }),
            auto_promotion_enabled: true,
            ..PromotionPolicy::default()
        }]
    }

    fn decide(
        stage: &Stage,
        policies: &[PromotionPolicy],
        freight: &[FreightFacts],
        promotions: &[PromotionFacts],
    ) -> AutoPromotion {
        let holds = BTreeSet::new();
        auto_promotion(
            StageFacts {
                stage,
                policies,
                freight,
                promotions,
                holds: &holds,
                now: t(10),
            },
            &stage.spec.requested_freight[0],
        )
    }

    fn promotion(name: &str, freight: &str, phase: &str) -> PromotionFacts {
        PromotionFacts {
            name: name.to_owned(),
            freight: freight.to_owned(),
            phase: phase.to_owned(),
            message: Some("push rejected".to_owned()),
        }
    }

    #[test]
    fn auto_promotion_needs_an_enabling_policy_and_steps() {
        let s = with_steps();
        let freight = [facts("abcdef0123", 1)];
        assert_eq!(
            decide(&s, &[], &freight, &[]),
            AutoPromotion::Wait(WaitReason::NoPolicy)
        );
        let mut off = enabled();
        off[0].auto_promotion_enabled = false;
        assert_eq!(
            decide(&s, &off, &freight, &[]),
            AutoPromotion::Wait(WaitReason::PolicyDisabled)
        );
        // A Stage promoted by hand that holds the newest Freight says so rather than "off".
        let mut here = facts("abcdef0123", 1);
        here.currently_in.insert("develop".to_owned(), t(2));
        assert_eq!(
            decide(&s, &[], &[here], &[]),
            AutoPromotion::Wait(WaitReason::AlreadyCurrent("abcdef0".to_owned()))
        );
        let control = stage(
            "  requestedFreight:\n  - origin: {kind: Warehouse, name: frontend}\n    sources: {direct: true}\n",
        );
        assert_eq!(
            decide(&control, &enabled(), &freight, &[]),
            AutoPromotion::Wait(WaitReason::ControlFlowStage)
        );
        assert_eq!(
            decide(&s, &enabled(), &freight, &[]),
            AutoPromotion::Promote("abcdef0123".to_owned())
        );
    }

    #[test]
    fn auto_promotion_waits_for_in_flight_and_never_retries_a_failure() {
        let s = with_steps();
        let freight = [facts("abcdef0123", 1)];
        let queued = [promotion("develop.01B.abcdef0", "abcdef0123", "Pending")];
        assert_eq!(
            decide(&s, &enabled(), &freight, &queued).to_string_reason(),
            "promotion develop.01B.abcdef0 of abcdef0 is queued or running"
        );
        let failed = [
            promotion("develop.01A.abcdef0", "abcdef0123", "Succeeded"),
            promotion("develop.01B.abcdef0", "abcdef0123", "Failed"),
        ];
        assert_eq!(
            decide(&s, &enabled(), &freight, &failed).to_string_reason(),
            "the last promotion of abcdef0 (develop.01B.abcdef0) ended Failed: push rejected; it is not retried automatically, promote it by hand to retry"
        );
        let mut here = facts("abcdef0123", 1);
        here.alias = Some("brave-otter".to_owned());
        here.currently_in.insert("develop".to_owned(), t(2));
        assert_eq!(
            decide(&s, &enabled(), &[here], &[]).to_string_reason(),
            "the newest available freight brave-otter (abcdef0) is already here"
        );
        assert_eq!(
            decide(&s, &enabled(), &[], &[]).to_string_reason(),
            "the warehouse has produced no freight yet"
        );
    }

    impl AutoPromotion {
        fn to_string_reason(&self) -> String {
            match self {
                AutoPromotion::Promote(f) => format!("promote {f}"),
                AutoPromotion::Wait(reason) => reason.to_string(),
            }
        }
    }
}
