//! `yaml-parse`: reads a YAML file (the first document) and exposes values as outputs.

use gantry_engine::{StepError, StepResult};

use crate::registry::{Step, StepContext};

/// The `yaml-parse` step.
pub struct YamlParse;

/// The first document of a YAML text as JSON.
pub(crate) fn parse_yaml(text: &str) -> Result<serde_json::Value, String> {
    let (documents, error) = gantry_api::yaml::parse_stream(text);
    if let Some(error) = error {
        let line = text[..error.span.start.min(text.len())]
            .matches('\n')
            .count()
            + 1;
        return Err(format!("line {line}: {}", error.message));
    }
    documents
        .first()
        .map(|d| d.root.to_json())
        .ok_or_else(|| "no document".to_owned())
}

impl Step for YamlParse {
    fn kind(&self) -> &'static str {
        "yaml-parse"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        crate::parse_outputs::run(context, "YAML", parse_yaml)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn outputs_are_expressions_over_the_document() {
        let harness = Harness::new();
        harness.write(
            "repo/app.yaml",
            "# comment\nspec:\n  values:\n    deployment:\n      tag: 1.2.3 # current\n  replicas: 2\n",
        );
        let result = harness
            .run(
                "yaml-parse",
                json!({"path": "repo/app.yaml", "outputs": [
                    {"name": "tag", "fromExpression": "spec.values.deployment.tag"},
                    {"name": "more", "fromExpression": "spec.replicas + 1"},
                ]}),
            )
            .unwrap();
        assert_eq!(json!(result.output), json!({"tag": "1.2.3", "more": 3}));
    }

    #[test]
    fn missing_empty_and_invalid_files_fail_clearly() {
        let harness = Harness::new();
        let config =
            |path: &str| json!({"path": path, "outputs": [{"name": "a", "fromExpression": "a"}]});
        let error = harness.run("yaml-parse", config("nope.yaml")).unwrap_err();
        assert_eq!(error.message, "failed to read nope.yaml: no such file");
        harness.write("empty.yaml", "\n");
        let error = harness.run("yaml-parse", config("empty.yaml")).unwrap_err();
        assert_eq!(error.message, "empty.yaml is empty");
        harness.write("bad.yaml", "a: [1\n");
        let error = harness.run("yaml-parse", config("bad.yaml")).unwrap_err();
        assert!(
            error
                .message
                .starts_with("bad.yaml is not valid YAML: line "),
            "{}",
            error.message
        );
        let error = harness
            .run("yaml-parse", config("../outside.yaml"))
            .unwrap_err();
        assert!(error.message.contains("outside.yaml"), "{}", error.message);
    }
}
