//! Promotion policies: which Stage a policy applies to.
//!
//! Kargo evaluates `ProjectConfig.spec.promotionPolicies` in order and the first match wins; no
//! match means auto-promotion is off. A policy selects by exact `stage` name (deprecated), or by
//! `stageSelector`: a name that is exact, `regex:`/`regexp:` (RE2, unanchored) or `glob:`, and
//! label requirements; all given parts must match.

use std::collections::BTreeMap;

use gantry_api::kargo::PromotionPolicy;
use regex::Regex;

use crate::glob;

/// Whether a selector name is a pattern (not an exact name).
pub fn is_pattern(name: &str) -> bool {
    name.starts_with("regex:") || name.starts_with("regexp:") || name.starts_with("glob:")
}

/// Whether a selector name matches a Stage name. An invalid regex matches nothing.
pub fn name_matches(selector: &str, stage: &str) -> bool {
    if let Some(pattern) = selector
        .strip_prefix("regex:")
        .or_else(|| selector.strip_prefix("regexp:"))
    {
        return Regex::new(pattern).is_ok_and(|regex| regex.is_match(stage));
    }
    if let Some(pattern) = selector.strip_prefix("glob:") {
        return glob::matches(pattern, stage);
    }
    selector == stage
}

/// Whether `policy` applies to the Stage named `stage` with `labels`.
pub fn matches(policy: &PromotionPolicy, stage: &str, labels: &BTreeMap<String, String>) -> bool {
    if let Some(name) = &policy.stage {
        return name == stage;
    }
    let Some(selector) = &policy.stage_selector else {
        return false;
    };
    selector
        .name
        .as_deref()
        .is_none_or(|name| name_matches(name, stage))
        && selector.label_selector().matches(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_api::kargo::PromotionPolicySelector;

    #[test]
    fn selectors_match_by_name_pattern_and_labels() {
        assert!(
            name_matches("regex:dev", "frontend-dev-stage"),
            "regexes are unanchored"
        );
        assert!(!name_matches("regex:^dev", "frontend-dev-stage"));
        assert!(name_matches("glob:*-dev-*", "frontend-dev-stage"));
        assert!(!name_matches("regex:(", "x"));
        let mut labels = BTreeMap::new();
        labels.insert("tier".to_owned(), "web".to_owned());
        let policy = PromotionPolicy {
            stage_selector: Some(PromotionPolicySelector {
                name: Some("glob:front*".into()),
                match_labels: labels.clone(),
                ..Default::default()
            }),
            auto_promotion_enabled: true,
            ..Default::default()
        };
        assert!(matches(&policy, "frontend", &labels));
        assert!(!matches(&policy, "frontend", &BTreeMap::new()));
        assert!(!matches(&policy, "backend", &labels));
    }
}
