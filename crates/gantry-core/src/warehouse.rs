//! From discovery results to Freight: Kargo's Warehouse rules, without I/O.
//!
//! After a discovery, every subscription must have found something (else the Warehouse is not
//! healthy and no Freight is made). Freight takes element 0 (the best) of every subscription's
//! list, gets its content id ([`crate::freight::freight_id`]) and an alias, and is created only
//! when the Warehouse's `freightCreationPolicy` is `Automatic` and its `freightCreationCriteria`
//! expression (if any) is true. In that expression `imageFrom(repoURL)`, `commitFrom(repoURL)`
//! and `chartFrom(repoURL[, name])` answer from the candidate Freight.

use std::collections::BTreeMap;

use gantry_api::kargo::{
    Chart, DiscoveredArtifacts, Freight, FreightCreationPolicy, FreightOrigin, FreightRequest,
    FreightSources, GitCommit, Image, Warehouse,
};
use gantry_api::meta::ObjectMeta;
use gantry_expr::{Expression, Host, Value};

use crate::freight::freight_id;

/// The label Kargo keeps in sync with `Freight.alias`.
pub const ALIAS_LABEL: &str = "kargo.akuity.io/alias";

/// Why a Warehouse made no Freight from a discovery.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FreightBuildError {
    /// A subscription found nothing (Kargo's `NoCommitsDiscovered`, ...).
    #[error("subscription to {repo} discovered no {what}")]
    NothingDiscovered {
        /// The repository URL.
        repo: String,
        /// `commits`, `image references` or `chart versions`.
        what: &'static str,
        /// Kargo's condition reason.
        reason: &'static str,
    },
    /// The Warehouse has no subscriptions at all.
    #[error("the warehouse has no subscriptions")]
    NoSubscriptions,
}

impl FreightBuildError {
    /// The condition reason Kargo sets on the Warehouse (`Healthy=False`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NothingDiscovered { reason, .. } => reason,
            Self::NoSubscriptions => "NoSubscriptions",
        }
    }
}

/// Builds the Freight a discovery yields: element 0 of every list, the content id as its name,
/// in the Warehouse's namespace. The alias is left empty (see [`crate::alias`]).
pub fn build_freight(
    warehouse: &Warehouse,
    discovered: &DiscoveredArtifacts,
) -> Result<Freight, FreightBuildError> {
    if discovered.git.is_empty() && discovered.images.is_empty() && discovered.charts.is_empty() {
        return Err(FreightBuildError::NoSubscriptions);
    }
    let mut freight = Freight {
        api_version: "kargo.akuity.io/v1alpha1".to_owned(),
        kind: "Freight".to_owned(),
        origin: FreightOrigin {
            kind: "Warehouse".to_owned(),
            name: warehouse.metadata.name.clone().unwrap_or_default(),
        },
        discovered_at: discovered.discovered_at.clone(),
        ..Freight::default()
    };
    for result in &discovered.git {
        let commit =
            result
                .commits
                .first()
                .ok_or_else(|| FreightBuildError::NothingDiscovered {
                    repo: result.repo_url.clone(),
                    what: "commits",
                    reason: "NoCommitsDiscovered",
                })?;
        freight.commits.push(GitCommit {
            repo_url: result.repo_url.clone(),
            id: commit.id.clone(),
            branch: commit.branch.clone(),
            tag: commit.tag.clone(),
            message: commit.subject.clone(),
            author: commit.author.clone(),
            committer: commit.committer.clone(),
            subscription_name: result.subscription_name.clone(),
        });
    }
    for result in &discovered.images {
        let reference =
            result
                .references
                .first()
                .ok_or_else(|| FreightBuildError::NothingDiscovered {
                    repo: result.repo_url.clone(),
                    what: "image references",
                    reason: "NoImageReferencesDiscovered",
                })?;
        freight.images.push(Image {
            repo_url: result.repo_url.clone(),
            tag: Some(reference.tag.clone()),
            digest: Some(reference.digest.clone()),
            annotations: reference.annotations.clone(),
            subscription_name: result.subscription_name.clone(),
        });
    }
    for result in &discovered.charts {
        let version =
            result
                .versions
                .first()
                .ok_or_else(|| FreightBuildError::NothingDiscovered {
                    repo: result.repo_url.clone(),
                    what: "chart versions",
                    reason: "NoChartVersionsDiscovered",
                })?;
        freight.charts.push(Chart {
            repo_url: result.repo_url.clone(),
            name: result.name.clone(),
            version: version.clone(),
            subscription_name: result.subscription_name.clone(),
        });
    }
    freight.metadata = ObjectMeta {
        name: Some(freight_id(&freight)),
        namespace: warehouse.metadata.namespace.clone(),
        ..ObjectMeta::default()
    };
    Ok(freight)
}

/// Sets the alias field and its label together.
pub fn set_alias(freight: &mut Freight, alias: &str) {
    freight.alias = Some(alias.to_owned());
    freight
        .metadata
        .labels
        .insert(ALIAS_LABEL.to_owned(), alias.to_owned());
}

/// Whether a discovery's Freight gets created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreationDecision {
    /// Create it.
    Create,
    /// `freightCreationPolicy: Manual`: users assemble Freight themselves.
    Manual,
    /// The criteria expression was false.
    CriteriaNotMet {
        /// The expression, as written.
        expression: String,
    },
}

/// The criteria expression failed to compile or run, or did not give a boolean.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("freightCreationCriteria.expression: {message}")]
pub struct CriteriaError {
    /// What went wrong, with the byte span in the expression when known.
    pub message: String,
}

/// Applies `freightCreationPolicy` and `freightCreationCriteria` to a candidate Freight.
pub fn creation_decision(
    warehouse: &Warehouse,
    candidate: &Freight,
) -> Result<CreationDecision, CriteriaError> {
    if warehouse.spec.freight_creation_policy == FreightCreationPolicy::Manual {
        return Ok(CreationDecision::Manual);
    }
    let Some(expression) = warehouse
        .spec
        .freight_creation_criteria
        .as_ref()
        .map(|c| c.expression.trim())
        .filter(|e| !e.is_empty())
    else {
        return Ok(CreationDecision::Create);
    };
    let compiled = Expression::compile(expression).map_err(|e| CriteriaError {
        message: e.to_string(),
    })?;
    let host = CandidateHost::new(warehouse, candidate);
    let value = compiled
        .eval(&Value::map(BTreeMap::new()), &host)
        .map_err(|e| CriteriaError {
            message: e.to_string(),
        })?;
    let truth = match &value {
        Value::Bool(b) => Some(*b),
        other => parse_go_bool(&other.to_go_string()),
    };
    match truth {
        Some(true) => Ok(CreationDecision::Create),
        Some(false) => Ok(CreationDecision::CriteriaNotMet {
            expression: expression.to_owned(),
        }),
        None => Err(CriteriaError {
            message: format!(
                "must evaluate to a boolean, got {} `{}`",
                value.go_type_name(),
                value.to_go_string()
            ),
        }),
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Answers `imageFrom()` & co. from the one candidate Freight, as if a Stage requested it
/// directly from this Warehouse.
struct CandidateHost<'a> {
    warehouse: &'a Warehouse,
    freight: [Freight; 1],
    requested: [FreightRequest; 1],
}

impl<'a> CandidateHost<'a> {
    fn new(warehouse: &'a Warehouse, candidate: &Freight) -> Self {
        Self {
            warehouse,
            freight: [candidate.clone()],
            requested: [FreightRequest {
                origin: candidate.origin.clone(),
                sources: FreightSources {
                    direct: true,
                    ..FreightSources::default()
                },
            }],
        }
    }
}

impl Host for CandidateHost<'_> {
    fn freight(&self) -> &[Freight] {
        &self.freight
    }

    fn requested_freight(&self) -> &[FreightRequest] {
        &self.requested
    }

    fn warehouse(&self, name: &str) -> Result<Option<&Warehouse>, String> {
        Ok((self.warehouse.metadata.name.as_deref() == Some(name)).then_some(self.warehouse))
    }
}

#[cfg(test)]
mod tests {
    use gantry_api::kargo::{
        ChartDiscoveryResult, DiscoveredCommit, DiscoveredImageReference, GitDiscoveryResult,
        ImageDiscoveryResult,
    };

    use super::*;

    fn warehouse(extra_spec: &str) -> Warehouse {
        let yaml = format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: kargo-demo\n  namespace: demo\nspec:\n  subscriptions:\n  - image:\n      repoURL: public.ecr.aws/nginx/nginx\n  - git:\n      repoURL: https://github.com/example/repo\n{extra_spec}"
        );
        let json = gantry_api::yaml::parse_stream(&yaml).0[0].root.to_json();
        serde_json::from_value(json).expect("a valid Warehouse")
    }

    fn discovered(tag: &str) -> DiscoveredArtifacts {
        DiscoveredArtifacts {
            discovered_at: Some("2026-11-28T10:00:00Z".to_owned()),
            images: vec![ImageDiscoveryResult {
                repo_url: "public.ecr.aws/nginx/nginx".to_owned(),
                references: vec![
                    DiscoveredImageReference {
                        tag: tag.to_owned(),
                        digest: format!("sha256:{}", "0".repeat(64)),
                        ..DiscoveredImageReference::default()
                    },
                    DiscoveredImageReference {
                        tag: "1.0.0".to_owned(),
                        digest: format!("sha256:{}", "1".repeat(64)),
                        ..DiscoveredImageReference::default()
                    },
                ],
                ..ImageDiscoveryResult::default()
            }],
            git: vec![GitDiscoveryResult {
                repo_url: "https://github.com/example/repo".to_owned(),
                commits: vec![DiscoveredCommit {
                    id: "3b5c1e0c8f6f1d2a9a1b2c3d4e5f60718293a4b5".to_owned(),
                    branch: Some("main".to_owned()),
                    subject: Some("bump".to_owned()),
                    ..DiscoveredCommit::default()
                }],
                ..GitDiscoveryResult::default()
            }],
            charts: vec![],
        }
    }

    #[test]
    fn freight_takes_the_best_of_each_subscription_and_the_reference_id() {
        let freight = build_freight(&warehouse(""), &discovered("1.29.0")).expect("builds");
        // The reference's worked example: same origin and artifacts.
        assert_eq!(
            freight.metadata.name.as_deref(),
            Some("452b9784cc35f56db92d6e4c1022502464951b72")
        );
        assert_eq!(freight.metadata.namespace.as_deref(), Some("demo"));
        assert_eq!(freight.images[0].tag.as_deref(), Some("1.29.0"));
        assert_eq!(freight.commits[0].message.as_deref(), Some("bump"));
        assert_eq!(
            freight.discovered_at.as_deref(),
            Some("2026-11-28T10:00:00Z")
        );
    }

    #[test]
    fn a_subscription_that_found_nothing_makes_no_freight() {
        let mut found = discovered("1.29.0");
        found.images[0].references.clear();
        let error = build_freight(&warehouse(""), &found).expect_err("nothing found");
        assert_eq!(error.reason(), "NoImageReferencesDiscovered");
        assert_eq!(
            error.to_string(),
            "subscription to public.ecr.aws/nginx/nginx discovered no image references"
        );
        let mut found = discovered("1.29.0");
        found.charts.push(ChartDiscoveryResult {
            repo_url: "oci://ghcr.io/x/chart".to_owned(),
            ..ChartDiscoveryResult::default()
        });
        assert_eq!(
            build_freight(&warehouse(""), &found)
                .expect_err("no versions")
                .reason(),
            "NoChartVersionsDiscovered"
        );
    }

    #[test]
    fn the_alias_lives_in_the_field_and_the_label() {
        let mut freight = build_freight(&warehouse(""), &discovered("1.29.0")).expect("builds");
        set_alias(&mut freight, "brave-otter");
        assert_eq!(freight.alias.as_deref(), Some("brave-otter"));
        assert_eq!(
            freight.metadata.labels.get(ALIAS_LABEL).map(String::as_str),
            Some("brave-otter")
        );
    }

    #[test]
    fn no_criteria_means_create_and_manual_policy_means_never() {
        let candidate = build_freight(&warehouse(""), &discovered("1.29.0")).expect("builds");
        assert_eq!(
            creation_decision(&warehouse(""), &candidate),
            Ok(CreationDecision::Create)
        );
        let manual = warehouse("  freightCreationPolicy: Manual\n");
        assert_eq!(
            creation_decision(&manual, &candidate),
            Ok(CreationDecision::Manual)
        );
    }

    #[test]
    fn criteria_see_the_candidate_artifacts() {
        let wh = warehouse(
            "  freightCreationCriteria:\n    expression: imageFrom('public.ecr.aws/nginx/nginx').Tag != '1.29.0' && commitFrom('https://github.com/example/repo').ID != ''\n",
        );
        let candidate = build_freight(&wh, &discovered("1.29.0")).expect("builds");
        assert!(matches!(
            creation_decision(&wh, &candidate),
            Ok(CreationDecision::CriteriaNotMet { .. })
        ));
        let candidate = build_freight(&wh, &discovered("1.30.0")).expect("builds");
        assert_eq!(
            creation_decision(&wh, &candidate),
            Ok(CreationDecision::Create)
        );
    }

    #[test]
    fn criteria_results_are_read_like_go_parse_bool() {
        let candidate = build_freight(&warehouse(""), &discovered("1.29.0")).expect("builds");
        let with = |expression: &str| {
            warehouse(&format!(
                "  freightCreationCriteria:\n    expression: \"{expression}\"\n"
            ))
        };
        assert_eq!(
            creation_decision(&with("1"), &candidate),
            Ok(CreationDecision::Create)
        );
        assert_eq!(
            creation_decision(&with("'T'"), &candidate),
            Ok(CreationDecision::Create)
        );
        assert!(matches!(
            creation_decision(&with("'False'"), &candidate),
            Ok(CreationDecision::CriteriaNotMet { .. })
        ));
        let error = creation_decision(&with("'yes'"), &candidate).expect_err("not a bool");
        assert_eq!(
            error.to_string(),
            "freightCreationCriteria.expression: must evaluate to a boolean, got string `yes`"
        );
        let error = creation_decision(&with("1 +"), &candidate).expect_err("does not parse");
        assert!(
            error
                .to_string()
                .starts_with("freightCreationCriteria.expression: "),
            "{error}"
        );
    }
}
