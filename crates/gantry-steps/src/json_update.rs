//! `json-update`: sets values in a Json file by key, keeping every other byte (see
//! [`crate::edit::json_update`] for the exact rules). Output: `commitMessage`.

use gantry_engine::{StepError, StepResult};

use crate::edit::json_update;
use crate::registry::{Step, StepContext};
use crate::update_file::{Editor, run};

/// The `json-update` step.
pub struct JsonUpdate;

impl Step for JsonUpdate {
    fn kind(&self) -> &'static str {
        "json-update"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        run(
            context,
            &Editor {
                edit: json_update::json_update,
                message: json_update::commit_message,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn sets_and_creates_keys_keeping_the_layout() {
        let harness = Harness::new();
        harness.write("a.json", "{\n  \"image\": {\n    \"tag\": \"v1\"\n  }\n}\n");
        let result = harness
            .run(
                "json-update",
                json!({"path": "a.json", "updates": [{"key": "image.tag", "value": "v2"}]}),
            )
            .unwrap();
        assert_eq!(
            harness.read("a.json"),
            "{\n  \"image\": {\n    \"tag\": \"v2\"\n  }\n}\n"
        );
        assert!(
            result.output["commitMessage"]
                .as_str()
                .unwrap()
                .starts_with("Updated a.json")
        );
    }
}
