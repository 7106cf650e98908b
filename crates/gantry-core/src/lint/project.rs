//! Project-level checks: a Project per namespace with Stages, ProjectConfig naming, and which
//! Stages promotion policies enable for auto-promotion.

use gantry_api::diagnostic::{self, Diagnostic};
use gantry_api::kargo::{PromotionPolicy, Stage};
use gantry_api::{FieldPath, Resource, suggest};

use super::index::{Index, Namespace};
use crate::policy;

pub(crate) fn check(index: &Index<'_>, out: &mut Vec<Diagnostic>) {
    for (namespace_name, namespace) in &index.namespaces {
        for (resource, _) in &namespace.project_configs {
            if resource.name != *namespace_name {
                out.push(
                    Diagnostic::new(
                        &diagnostic::PROJECT_CONFIG_NAME,
                        format!(
                            "ProjectConfig `{}` is ignored: a ProjectConfig must be named after its project `{namespace_name}`",
                            resource.name
                        ),
                    )
                    .at_location(Some(resource.name_location()))
                    .help(format!("rename it to `{namespace_name}`")),
                );
            }
        }
        if namespace.stages.is_empty() {
            continue;
        }
        let Some((project_resource, project)) = index.projects.get(namespace_name).copied() else {
            let (first, _) = namespace.stages[0];
            let count = namespace.stages.len();
            let stages = if count == 1 {
                format!("Stage `{}`", first.name)
            } else {
                format!("{count} Stages")
            };
            out.push(
                Diagnostic::new(
                    &diagnostic::NO_PROJECT,
                    format!(
                        "namespace `{namespace_name}` has {stages} but no Project: nothing in this namespace will ever be promoted"
                    ),
                )
                .at_location(Some(first.name_location()))
                .label("never promoted")
                .help(format!(
                    "declare the project (it owns the namespace):\n\napiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: {namespace_name}"
                )),
            );
            continue;
        };
        let mut policies: Vec<(&Resource, FieldPath, &PromotionPolicy)> = Vec::new();
        for (resource, config) in &namespace.project_configs {
            if resource.name == *namespace_name {
                for (i, policy) in config.spec.promotion_policies.iter().enumerate() {
                    policies.push((
                        resource,
                        FieldPath::parse("spec.promotionPolicies").index(i),
                        policy,
                    ));
                }
            }
        }
        if let Some(spec) = &project.spec {
            for (i, policy) in spec.promotion_policies.iter().enumerate() {
                policies.push((
                    project_resource,
                    FieldPath::parse("spec.promotionPolicies").index(i),
                    policy,
                ));
            }
        }
        unmatched_policies(namespace, &policies, out);
        for (stage_resource, stage) in &namespace.stages {
            if !has_steps(stage) {
                continue;
            }
            manual_promotion(namespace_name, stage_resource, &policies, out);
        }
    }
}

fn has_steps(stage: &Stage) -> bool {
    stage
        .spec
        .promotion_template
        .as_ref()
        .is_some_and(|template| !template.spec.steps.is_empty())
}

fn manual_promotion(
    namespace: &str,
    stage: &Resource,
    policies: &[(&Resource, FieldPath, &PromotionPolicy)],
    out: &mut Vec<Diagnostic>,
) {
    let matched = policies
        .iter()
        .find(|(_, _, policy)| policy::matches(policy, &stage.name, &stage.metadata().labels));
    match matched {
        Some((_, _, policy)) if policy.auto_promotion_enabled => {}
        Some((resource, path, _)) => out.push(
            Diagnostic::new(
                &diagnostic::MANUAL_PROMOTION,
                format!(
                    "promotion to Stage `{}` is manual: the first matching promotion policy leaves auto-promotion off",
                    stage.name
                ),
            )
            .at_location(Some(stage.name_location()))
            .related(resource.location(path), "this policy matches first"),
        ),
        None => out.push(
            Diagnostic::new(
                &diagnostic::MANUAL_PROMOTION,
                format!(
                    "promotion to Stage `{}` is manual: no promotion policy enables auto-promotion",
                    stage.name
                ),
            )
            .at_location(Some(stage.name_location()))
            .help(format!(
                "to promote new Freight automatically, add a ProjectConfig:\n\napiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata:\n  name: {namespace}\n  namespace: {namespace}\nspec:\n  promotionPolicies:\n  - stageSelector:\n      name: {}\n    autoPromotionEnabled: true",
                stage.name
            )),
        ),
    }
}

fn unmatched_policies(
    namespace: &Namespace<'_>,
    policies: &[(&Resource, FieldPath, &PromotionPolicy)],
    out: &mut Vec<Diagnostic>,
) {
    for (resource, path, policy) in policies {
        let (name, name_path) = match (&policy.stage, &policy.stage_selector) {
            (Some(name), _) => (name.as_str(), path.key("stage")),
            (None, Some(selector)) => match &selector.name {
                Some(name) if !policy::is_pattern(name) => {
                    (name.as_str(), path.key("stageSelector").key("name"))
                }
                _ => continue,
            },
            (None, None) => continue,
        };
        if namespace.stage(name).is_some() {
            continue;
        }
        let mut diagnostic = Diagnostic::new(
            &diagnostic::POLICY_MATCHES_NOTHING,
            format!("promotion policy names Stage `{name}`, which does not exist in this project"),
        )
        .at_location(Some(resource.location(&name_path)))
        .label("no such Stage");
        if let Some(candidate) =
            suggest::similar(name, namespace.stages.iter().map(|(r, _)| r.name.as_str()))
        {
            diagnostic.set_help(format!("did you mean `{candidate}`?"));
        }
        out.push(diagnostic);
    }
}
