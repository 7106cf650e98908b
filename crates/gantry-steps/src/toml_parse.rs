//! `toml-parse`: reads a TOML file and exposes values as outputs.

use gantry_engine::{StepError, StepResult};

use crate::registry::{Step, StepContext};

/// The `toml-parse` step.
pub struct TomlParse;

impl Step for TomlParse {
    fn kind(&self) -> &'static str {
        "toml-parse"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        crate::parse_outputs::run(context, "TOML", |text| {
            crate::edit::toml_update::toml_parse(text).map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn outputs_are_expressions_over_the_document() {
        let harness = Harness::new();
        harness.write("c.toml", "[image]\ntag = \"v3\"\nreplicas = 2\n");
        let result = harness
            .run(
                "toml-parse",
                json!({"path": "c.toml", "outputs": [{"name": "tag", "fromExpression": "image.tag"}, {"name": "n", "fromExpression": "image.replicas * 2"}]}),
            )
            .unwrap();
        assert_eq!(json!(result.output), json!({"tag": "v3", "n": 4}));
    }
}
