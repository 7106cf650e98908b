//! `yaml-update`: sets values in a Yaml file by key, keeping every other byte (see
//! [`crate::edit::yaml_update`] for the exact rules). Output: `commitMessage`.

use gantry_engine::{StepError, StepResult};

use crate::edit::yaml_update;
use crate::registry::{Step, StepContext};
use crate::update_file::{Editor, run};

/// The `yaml-update` step.
pub struct YamlUpdate;

impl Step for YamlUpdate {
    fn kind(&self) -> &'static str {
        "yaml-update"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        run(
            context,
            &Editor {
                edit: yaml_update::yaml_update,
                message: yaml_update::commit_message,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn updates_the_scalar_in_place_and_reports_a_commit_message() {
        let harness = Harness::new();
        harness.write(
            "repo/app.yaml",
            "# keep me\nspec:\n  values:\n    deployment:\n      tag: 1.0.0 # current\n      replicas: 2\n",
        );
        let result = harness
            .run(
                "yaml-update",
                json!({"path": "./repo/app.yaml", "updates": [{"key": "spec.values.deployment.tag", "value": "1.1.0"}]}),
            )
            .unwrap();
        assert_eq!(
            harness.read("repo/app.yaml"),
            "# keep me\nspec:\n  values:\n    deployment:\n      tag: 1.1.0 # current\n      replicas: 2\n"
        );
        assert_eq!(
            json!(result.output),
            json!({"commitMessage": "Updated ./repo/app.yaml\n\n- spec.values.deployment.tag: 1.1.0"})
        );
    }

    #[test]
    fn a_missing_key_fails_without_touching_the_file() {
        let harness = Harness::new();
        harness.write("a.yaml", "a: 1\n");
        let error = harness
            .run(
                "yaml-update",
                json!({"path": "a.yaml", "updates": [{"key": "b.c", "value": 2}]}),
            )
            .unwrap_err();
        assert!(error.message.starts_with("a.yaml: "), "{}", error.message);
        assert!(error.message.contains("b.c"), "{}", error.message);
        assert_eq!(harness.read("a.yaml"), "a: 1\n");
    }
}
