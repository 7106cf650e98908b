//! `toml-update`: sets values in a Toml file by key, keeping every other byte (see
//! [`crate::edit::toml_update`] for the exact rules). Output: `commitMessage`.

use gantry_engine::{StepError, StepResult};

use crate::edit::toml_update;
use crate::registry::{Step, StepContext};
use crate::update_file::{Editor, run};

/// The `toml-update` step.
pub struct TomlUpdate;

impl Step for TomlUpdate {
    fn kind(&self) -> &'static str {
        "toml-update"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        run(
            context,
            &Editor {
                edit: toml_update::toml_update,
                message: toml_update::commit_message,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn updates_values_keeping_comments() {
        let harness = Harness::new();
        harness.write("c.toml", "# config\n[image]\ntag = \"v1\" # pinned\n");
        harness
            .run(
                "toml-update",
                json!({"path": "c.toml", "updates": [{"key": "image.tag", "value": "v2"}]}),
            )
            .unwrap();
        let text = harness.read("c.toml");
        assert!(text.starts_with("# config\n[image]\ntag = "), "{text}");
        assert!(text.contains("v2") && text.contains("# pinned"), "{text}");
    }
}
