//! The seed articles' step configs satisfy the built-in step schemas (expressions are strings).

use gantry_api::resource::Object;
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::step_schemas::step_schema;

#[test]
fn every_seed_step_config_satisfies_its_schema() {
    let mut checked = Vec::new();
    for dir in ["pipeline", "pipeline-embedded", "architecture"] {
        let path = super::repo_root().join("tests/fixtures/seed").join(dir);
        let set = ResourceSet::load_paths(&[path], LoadOptions::default());
        for resource in &set.resources {
            let steps = match &resource.object {
                Object::PromotionTask(task) | Object::ClusterPromotionTask(task) => {
                    &task.spec.steps
                }
                Object::Stage(stage) => match &stage.spec.promotion_template {
                    Some(template) => &template.spec.steps,
                    None => continue,
                },
                _ => continue,
            };
            for step in steps {
                let Some(uses) = step.uses.as_deref() else {
                    continue;
                };
                let schema = step_schema(uses).unwrap_or_else(|| panic!("no schema for {uses}"));
                let config = step.config.clone().unwrap_or_default();
                let violations = schema.validate(&config);
                assert!(violations.is_empty(), "{dir} {uses}: {violations:#?}");
                checked.push(format!("{dir}/{uses}"));
            }
        }
    }
    // Three pipelines of git-clone, yaml-parse, yaml-update, git-commit, git-push, argocd-update.
    assert_eq!(checked.len(), 18, "{checked:#?}");
}

#[test]
fn a_seed_config_with_a_typo_is_reported_at_the_field() {
    let text = std::fs::read_to_string(
        super::repo_root().join("tests/fixtures/seed/pipeline/promotion-task.yaml"),
    )
    .unwrap()
    .replace("fromExpression:", "fromExpresion:");
    let set = ResourceSet::load_str("task.yaml", &text, LoadOptions::default());
    let Object::PromotionTask(task) = &set.resources[0].object else {
        panic!("not a task");
    };
    let step = &task.spec.steps[1];
    let found: Vec<String> = step_schema("yaml-parse")
        .unwrap()
        .validate(step.config.as_ref().unwrap())
        .iter()
        .map(|v| {
            v.prefixed(&gantry_api::FieldPath::parse("config"))
                .to_string()
        })
        .collect();
    assert_eq!(
        found,
        [
            "config.outputs[0].fromExpression: required property is missing",
            "config.outputs[0].fromExpresion: unknown property, did you mean `fromExpression`?",
        ]
    );
}
