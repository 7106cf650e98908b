//! A Promotion's progress as plain serde data, shaped like Kargo's `Promotion.status`, so that the
//! caller can persist it after every change and a restarted process resumes where it stopped.

use serde::{Deserialize, Serialize};

/// A Promotion's phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Created, not started.
    #[default]
    Pending,
    /// Steps are running (or waiting to be retried).
    Running,
    /// Every counted step succeeded or was skipped.
    Succeeded,
    /// A counted step failed.
    Failed,
    /// A counted step errored.
    Errored,
    /// Aborted by a user.
    Aborted,
}

impl Phase {
    /// Whether the Promotion has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Errored | Self::Aborted
        )
    }

    /// The phase as Kargo spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Errored => "Errored",
            Self::Aborted => "Aborted",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepStatus {
    /// Done and fine.
    Succeeded,
    /// Not run (its `if` was false, or an earlier step failed).
    Skipped,
    /// Started and not finished (waiting on something, or to be retried).
    Running,
    /// Stopped by an abort.
    Aborted,
    /// Did not achieve its goal.
    Failed,
    /// Could not run.
    Errored,
}

impl StepStatus {
    /// Kargo's severity order: Succeeded < Skipped < Running < Aborted < Failed < Errored.
    pub fn severity(self) -> u8 {
        match self {
            Self::Succeeded => 0,
            Self::Skipped => 1,
            Self::Running => 2,
            Self::Aborted => 3,
            Self::Failed => 4,
            Self::Errored => 5,
        }
    }

    /// The status as Kargo spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::Skipped => "Skipped",
            Self::Running => "Running",
            Self::Aborted => "Aborted",
            Self::Failed => "Failed",
            Self::Errored => "Errored",
        }
    }

    /// Whether this status makes later steps without `if` skip.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Errored)
    }
}

impl std::fmt::Display for StepStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step's execution record (`status.stepExecutionMetadata[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepExecutionMetadata {
    /// The step's alias.
    pub alias: String,
    /// When the step first started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the step finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Retryable errors so far.
    #[serde(default)]
    pub error_count: u32,
    /// The status, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StepStatus>,
    /// A message (the error, or why it was skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Copied from the step.
    #[serde(default)]
    pub continue_on_error: bool,
}

/// A health check a step registered (only `argocd-update` does in Kargo).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The checker kind (`argocd`).
    pub uses: String,
    /// Its input.
    #[serde(default)]
    pub config: serde_json::Value,
}

/// A Promotion's status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionStatus {
    /// The phase.
    pub phase: Phase,
    /// Why the phase is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Index of the step to run next.
    #[serde(default)]
    pub current_step: usize,
    /// One record per step reached so far.
    #[serde(default)]
    pub step_execution_metadata: Vec<StepExecutionMetadata>,
    /// Step outputs by alias (kept even when a step fails).
    #[serde(default)]
    pub state: serde_json::Map<String, serde_json::Value>,
    /// Health checks registered by steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheck>,
    /// When the first step started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the Promotion ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

impl PromotionStatus {
    /// The record of a step, by alias.
    pub fn step(&self, alias: &str) -> Option<&StepExecutionMetadata> {
        self.step_execution_metadata
            .iter()
            .find(|meta| meta.alias == alias)
    }
}
