//! The contract between the orchestrator and step implementations.
//!
//! The engine is pure: it does not know how to clone a repository or edit a file. It hands each
//! step's evaluated config to a [`StepRunner`] (the built-in catalogue lives in `gantry-steps`,
//! which injects git, the work dir and HTTP into each step) and interprets what comes back.
//! Whether an error is retried is part of its type: [`StepError::terminal`] never is.

use std::time::{Duration, SystemTime};

use gantry_api::kargo::FreightOrigin;
use gantry_expr::Host;
use serde::{Deserialize, Serialize};

use crate::status::{HealthCheck, StepStatus};

/// Facts about a step kind the orchestrator needs before running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepInfo {
    /// The timeout applied when the step sets none (`argocd-update`: 5 minutes).
    pub default_timeout: Option<Duration>,
    /// Retryable errors tolerated when the step sets no `errorThreshold` (Kargo: 1).
    pub default_error_threshold: u32,
    /// Whether the step's outputs also land under its task namespace (`compose-output`).
    pub task_output_propagation: bool,
}

impl Default for StepInfo {
    fn default() -> Self {
        Self {
            default_timeout: None,
            default_error_threshold: 1,
            task_output_propagation: false,
        }
    }
}

/// The Freight a Promotion promotes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreightReference {
    /// The Freight's name (its id).
    pub name: String,
    /// Its alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Where it came from.
    pub origin: FreightOrigin,
}

/// Who, what and where: the `ctx` of expressions and what steps need to name things.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionContext {
    /// The Project (namespace).
    pub project: String,
    /// The Stage being promoted to.
    pub stage: String,
    /// The Promotion's name (`<stage>.<ULID>.<freight7>`).
    pub promotion: String,
    /// The Freight being promoted.
    pub target_freight: FreightReference,
    /// Who asked for it (empty for automatic promotions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Whether this Promotion re-promotes an earlier Freight.
    #[serde(default)]
    pub rollback: bool,
    /// The UI's base URL, when there is one.
    #[serde(default)]
    pub ui_base_url: String,
}

/// What a step gets to run.
pub struct StepRequest<'a> {
    /// The step kind.
    pub kind: &'a str,
    /// The step's alias.
    pub alias: &'a str,
    /// The evaluated config (`null` when the step has none).
    pub config: serde_json::Value,
    /// The Promotion.
    pub context: &'a PromotionContext,
    /// Freight and project data (the same the expression functions see).
    pub data: &'a dyn Host,
    /// When the step first started (for steps that wait).
    pub started_at: SystemTime,
    /// Retryable errors so far.
    pub error_count: u32,
}

/// A step's result when it did not error.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// `Succeeded`, `Skipped` or `Running` (any other status is treated as that failure).
    pub status: StepStatus,
    /// The step's outputs.
    pub output: serde_json::Map<String, serde_json::Value>,
    /// For `Running`: when to look again.
    pub retry_after: Option<Duration>,
    /// A health check to register.
    pub health_check: Option<HealthCheck>,
    /// A message worth recording.
    pub message: Option<String>,
}

impl StepResult {
    /// Succeeded with outputs.
    pub fn succeeded(output: serde_json::Map<String, serde_json::Value>) -> Self {
        Self {
            status: StepStatus::Succeeded,
            output,
            retry_after: None,
            health_check: None,
            message: None,
        }
    }

    /// Still working; look again after `retry_after` (the orchestrator's default when `None`).
    pub fn running(retry_after: Option<Duration>) -> Self {
        Self {
            status: StepStatus::Running,
            retry_after,
            ..Self::succeeded(serde_json::Map::new())
        }
    }
}

/// A step's error: terminal ones end the step at once, retryable ones count towards the threshold.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// `Failed` (the step did not achieve its goal) or `Errored` (it could not run).
    pub status: StepStatus,
    /// Never retried.
    pub terminal: bool,
    /// What went wrong, for people.
    pub message: String,
    /// Outputs produced before the error (kept in the Promotion's state).
    pub output: serde_json::Map<String, serde_json::Value>,
}

impl StepError {
    /// A terminal failure: bad config, a conflict, an explicit `fail`.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            status: StepStatus::Failed,
            terminal: true,
            message: message.into(),
            output: serde_json::Map::new(),
        }
    }

    /// A terminal error: the step cannot run at all.
    pub fn terminal(message: impl Into<String>) -> Self {
        Self {
            status: StepStatus::Errored,
            ..Self::failed(message)
        }
    }

    /// A transient error (network, timeout, rejected push): retried up to the threshold.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            status: StepStatus::Errored,
            terminal: false,
            ..Self::failed(message)
        }
    }

    /// Attaches outputs.
    #[must_use]
    pub fn with_output(mut self, output: serde_json::Map<String, serde_json::Value>) -> Self {
        self.output = output;
        self
    }
}

/// Runs steps by kind.
pub trait StepRunner {
    /// Facts about a kind; `None` when no such step is registered.
    fn info(&self, kind: &str) -> Option<StepInfo>;
    /// Runs one step. Must not block forever: long waits return `Running`.
    fn run(&self, request: &StepRequest<'_>) -> Result<StepResult, StepError>;
}

/// Where the orchestrator reads the time (a fixed clock in tests).
pub trait Clock {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
