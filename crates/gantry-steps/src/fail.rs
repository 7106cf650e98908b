//! `fail`: always fails, terminally, with its message.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::registry::{Step, StepContext};

/// The `fail` step.
pub struct Fail;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    message: Option<String>,
}

impl Step for Fail {
    fn kind(&self) -> &'static str {
        "fail"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        Err(StepError::failed(
            config
                .message
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "failed on request (fail step)".to_owned()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use gantry_engine::StepStatus;
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn fail_fails_terminally_with_its_message() {
        let harness = Harness::new();
        let error = harness
            .run("fail", json!({"message": "not today"}))
            .unwrap_err();
        assert_eq!(error.message, "not today");
        assert!(error.terminal);
        assert_eq!(error.status, StepStatus::Failed);
        let error = harness.run("fail", json!(null)).unwrap_err();
        assert_eq!(error.message, "failed on request (fail step)");
    }
}
