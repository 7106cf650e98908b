//! `compose-output`: its config becomes its output. Inside a task, the keys also land under the
//! task's alias, so a template can read `outputs.<task>.<key>`.

use gantry_engine::{StepError, StepInfo, StepResult};

use crate::registry::{Step, StepContext};

/// The `compose-output` step.
pub struct ComposeOutput;

impl Step for ComposeOutput {
    fn kind(&self) -> &'static str {
        "compose-output"
    }

    fn info(&self) -> StepInfo {
        StepInfo {
            task_output_propagation: true,
            ..StepInfo::default()
        }
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        match &context.request.config {
            serde_json::Value::Object(map) => Ok(StepResult::succeeded(map.clone())),
            _ => Err(StepError::failed(
                "invalid config: expected an object of outputs",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn the_config_is_the_output() {
        let harness = Harness::new();
        let result = harness
            .run("compose-output", json!({"a": 1, "b": {"c": "d"}}))
            .unwrap();
        assert_eq!(json!(result.output), json!({"a": 1, "b": {"c": "d"}}));
        assert!(harness.info("compose-output").task_output_propagation);
    }
}
