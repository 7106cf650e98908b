//! `argocd-update`: registered so that a Promotion using it fails clearly instead of silently
//! passing. Syncing Argo CD Applications comes with gantry's sync engine; until then the step
//! explains what to do (skip it in local runs with `--skip argocd-update`).

use std::time::Duration;

use gantry_engine::{StepError, StepInfo, StepResult};

use crate::registry::{Step, StepContext};

/// The `argocd-update` step.
pub struct ArgocdUpdate;

impl Step for ArgocdUpdate {
    fn kind(&self) -> &'static str {
        "argocd-update"
    }

    fn info(&self) -> StepInfo {
        StepInfo {
            default_timeout: Some(Duration::from_mins(5)),
            ..StepInfo::default()
        }
    }

    fn run(&self, _context: &StepContext<'_>) -> Result<StepResult, StepError> {
        Err(StepError::terminal(
            "argocd-update cannot run yet: gantry has no Argo CD connection (the sync engine is \
             not built); skip the step in local runs with `--skip argocd-update`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn argocd_update_fails_with_a_clear_message() {
        let harness = Harness::new();
        let error = harness
            .run("argocd-update", json!({"apps": [{"name": "x"}]}))
            .unwrap_err();
        assert!(error.terminal);
        assert!(
            error.message.contains("--skip argocd-update"),
            "{}",
            error.message
        );
    }
}
