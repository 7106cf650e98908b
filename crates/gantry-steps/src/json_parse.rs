//! `json-parse`: reads a JSON file and exposes values as outputs.

use gantry_engine::{StepError, StepResult};

use crate::registry::{Step, StepContext};

/// The `json-parse` step.
pub struct JsonParse;

impl Step for JsonParse {
    fn kind(&self) -> &'static str {
        "json-parse"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        crate::parse_outputs::run(context, "JSON", |text| {
            serde_json::from_str(text).map_err(|e| e.to_string())
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
        harness.write("a.json", r#"{"image": {"tag": "v2"}, "list": [1, 2, 3]}"#);
        let result = harness
            .run(
                "json-parse",
                json!({"path": "a.json", "outputs": [
                    {"name": "tag", "fromExpression": "image.tag"},
                    {"name": "n", "fromExpression": "len(list)"},
                ]}),
            )
            .unwrap();
        assert_eq!(json!(result.output), json!({"tag": "v2", "n": 3}));
        harness.write("bad.json", "{");
        let error = harness
            .run(
                "json-parse",
                json!({"path": "bad.json", "outputs": [{"name": "a", "fromExpression": "a"}]}),
            )
            .unwrap_err();
        assert!(
            error.message.starts_with("bad.json is not valid JSON: "),
            "{}",
            error.message
        );
    }
}
