//! The resumable step runner (Kargo's local orchestrator).
//!
//! [`Orchestrator::run`] starts at `status.current_step` and runs steps until the Promotion ends
//! or a step must be looked at again later (it is `Running`, or hit a retryable error below its
//! threshold); it then returns [`Next::RetryAfter`]. Calling `run` again continues.
//!
//! Guarantees:
//! - The observer sees every change (a step started, retried, finished; the Promotion ended)
//!   *before* the next step starts, so persisting there means a restarted process resumes at the
//!   step it was in, with the outputs of every finished step.
//! - A step's outputs are stored under its alias even when it fails.
//! - A panicking step ends as `Errored` with the panic message; the orchestrator does not unwind.
//!
//! Assumptions: `steps` is the same inflated list on every call for one Promotion.
//!
//! Caveats: a step interrupted by a crash is run again from its start, so steps must be
//! idempotent (the git steps are: a repeated commit finds nothing to commit, a repeated push
//! finds the remote up to date).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use gantry_api::time::{format_go_duration, format_rfc3339, parse_rfc3339};
use gantry_expr::{Config, Host, Template, Value};

use crate::env::{StepHost, ctx, environment, evaluate_vars};
use crate::inflate::{Step, Var};
use crate::status::{Phase, PromotionStatus, StepExecutionMetadata, StepStatus};
use crate::step::{
    Clock, PromotionContext, StepError, StepInfo, StepRequest, StepResult, StepRunner,
};

/// What the caller should do after [`Orchestrator::run`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The Promotion has ended; `status.phase` says how.
    Done,
    /// Call `run` again after this long.
    RetryAfter(Duration),
}

/// A change the observer is told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A step started (or restarted after a crash).
    StepStarted {
        /// Its alias.
        alias: &'a str,
        /// Its kind.
        kind: &'a str,
    },
    /// A step hit a retryable error below its threshold, or is still running.
    StepWaiting {
        /// Its alias.
        alias: &'a str,
        /// Why.
        message: Option<&'a str>,
    },
    /// A step finished.
    StepFinished {
        /// Its alias.
        alias: &'a str,
        /// How.
        status: StepStatus,
        /// Why, when it did not succeed.
        message: Option<&'a str>,
    },
    /// The Promotion ended.
    Finished {
        /// How.
        phase: Phase,
    },
}

/// Sees every change; typically persists the status. An error stops the run before anything
/// else happens (the state could not be saved, so nothing more may be done).
pub trait Observer {
    /// Called after `status` changed.
    fn changed(&mut self, event: &Event<'_>, status: &PromotionStatus) -> Result<(), String>;
}

impl<F> Observer for F
where
    F: FnMut(&Event<'_>, &PromotionStatus) -> Result<(), String>,
{
    fn changed(&mut self, event: &Event<'_>, status: &PromotionStatus) -> Result<(), String> {
        self(event, status)
    }
}

/// The observer refused a change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to record promotion progress: {0}")]
pub struct ObserverError(pub String);

/// Runs a Promotion's steps.
pub struct Orchestrator<'a> {
    /// The inflated steps.
    pub steps: &'a [Step],
    /// The Promotion's vars (Stage vars, then template vars).
    pub vars: &'a [Var],
    /// The Promotion.
    pub context: &'a PromotionContext,
    /// Freight and project data.
    pub data: &'a dyn Host,
    /// The step implementations.
    pub runner: &'a dyn StepRunner,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// Shortest wait before looking at a `Running` step again (Kargo: 10 s).
    pub min_poll: Duration,
    /// Wait when a `Running` step suggests none (Kargo: 5 min).
    pub default_poll: Duration,
    /// First wait after a retryable error (doubles per error, capped at a minute).
    pub retry_backoff: Duration,
}

impl<'a> Orchestrator<'a> {
    /// An orchestrator with Kargo's waits.
    pub fn new(
        steps: &'a [Step],
        vars: &'a [Var],
        context: &'a PromotionContext,
        data: &'a dyn Host,
        runner: &'a dyn StepRunner,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            steps,
            vars,
            context,
            data,
            runner,
            clock,
            min_poll: Duration::from_secs(10),
            default_poll: Duration::from_mins(5),
            retry_backoff: Duration::from_secs(1),
        }
    }

    /// Runs steps from `status.current_step` on. See the module docs for the contract.
    pub fn run(
        &self,
        status: &mut PromotionStatus,
        observer: &mut dyn Observer,
    ) -> Result<Next, ObserverError> {
        if status.phase.is_terminal() {
            return Ok(Next::Done);
        }
        if status.phase == Phase::Pending {
            status.phase = Phase::Running;
            status.started_at = Some(self.now());
        }
        while status.current_step < self.steps.len() {
            let step = &self.steps[status.current_step];
            if let Some(wait) = self.run_step(step, status, observer)? {
                return Ok(Next::RetryAfter(wait));
            }
            status.current_step += 1;
        }
        self.finish(status);
        let phase = status.phase;
        notify(observer, &Event::Finished { phase }, status)?;
        Ok(Next::Done)
    }

    fn now(&self) -> String {
        format_rfc3339(self.clock.now())
    }

    /// Runs one step; `Some(wait)` when it has to be looked at again.
    fn run_step(
        &self,
        step: &Step,
        status: &mut PromotionStatus,
        observer: &mut dyn Observer,
    ) -> Result<Option<Duration>, ObserverError> {
        let existing = status
            .step_execution_metadata
            .iter()
            .position(|meta| meta.alias == step.alias);
        let index = existing.unwrap_or_else(|| {
            status.step_execution_metadata.push(StepExecutionMetadata {
                alias: step.alias.clone(),
                continue_on_error: step.continue_on_error,
                ..StepExecutionMetadata::default()
            });
            status.step_execution_metadata.len() - 1
        });
        let meta = &status.step_execution_metadata[index];
        if meta.finished_at.is_some() {
            return Ok(None);
        }
        let first_start = meta.started_at.is_none();
        if first_start {
            let now = self.now();
            status.step_execution_metadata[index].started_at = Some(now);
            status.step_execution_metadata[index].status = Some(StepStatus::Running);
        }
        notify(
            observer,
            &Event::StepStarted {
                alias: &step.alias,
                kind: &step.uses,
            },
            status,
        )?;

        let host = StepHost::new(self.data, &step.alias, status);
        let context = ctx(self.context, Some(&step.alias));
        let mut vars = BTreeMap::new();
        let outputs = Some((&*status, step.namespace()));
        let prepared = evaluate_vars(self.vars, &mut vars, &context, None, &host)
            .and_then(|()| evaluate_vars(&step.vars, &mut vars, &context, outputs, &host))
            .map(|()| environment(&context, &vars, outputs));
        let env = match prepared {
            Ok(env) => env,
            Err(message) => {
                return self.finish_step(
                    step,
                    index,
                    status,
                    observer,
                    StepStatus::Errored,
                    Some(message),
                );
            }
        };

        if first_start {
            match Self::skip(step, status, &env, &host) {
                Ok(false) => {}
                Ok(true) => {
                    return self.finish_step(
                        step,
                        index,
                        status,
                        observer,
                        StepStatus::Skipped,
                        None,
                    );
                }
                Err(message) => {
                    return self.finish_step(
                        step,
                        index,
                        status,
                        observer,
                        StepStatus::Errored,
                        Some(message),
                    );
                }
            }
        }

        let Some(info) = self.runner.info(&step.uses) else {
            let message = format!("step kind {:?} is not registered", step.uses);
            return self.finish_step(
                step,
                index,
                status,
                observer,
                StepStatus::Errored,
                Some(message),
            );
        };

        let config = match render_config(step, &env, &host) {
            Ok(config) => config,
            Err(message) => {
                return self.finish_step(
                    step,
                    index,
                    status,
                    observer,
                    StepStatus::Errored,
                    Some(message),
                );
            }
        };

        let started_at = status.step_execution_metadata[index]
            .started_at
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or_else(|| self.clock.now());
        let request = StepRequest {
            kind: &step.uses,
            alias: &step.alias,
            config,
            context: self.context,
            data: self.data,
            started_at,
            error_count: status.step_execution_metadata[index].error_count,
        };
        let outcome =
            catch_unwind(AssertUnwindSafe(|| self.runner.run(&request))).unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                Err(StepError::terminal(format!("step panicked: {message}")))
            });
        drop(host);
        self.settle(step, &info, index, started_at, outcome, status, observer)
    }

    fn skip(
        step: &Step,
        status: &PromotionStatus,
        env: &Value,
        host: &dyn Host,
    ) -> Result<bool, String> {
        let Some(condition) = &step.condition else {
            let failed = status.step_execution_metadata.iter().any(|meta| {
                meta.alias != step.alias
                    && !meta.continue_on_error
                    && meta.status.is_some_and(StepStatus::is_failure)
            });
            return Ok(failed);
        };
        let template = Template::compile(condition).map_err(|e| format!("if: {}", e.message))?;
        match template
            .render(env, host)
            .map_err(|e| format!("if: {}", e.message))?
        {
            Value::Bool(run) => Ok(!run),
            other => Err(format!(
                "if: expression must evaluate to a boolean, got {} ({})",
                other.type_name(),
                other.to_go_string()
            )),
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the pieces are distinct"
    )]
    fn settle(
        &self,
        step: &Step,
        info: &StepInfo,
        index: usize,
        started_at: SystemTime,
        outcome: Result<StepResult, StepError>,
        status: &mut PromotionStatus,
        observer: &mut dyn Observer,
    ) -> Result<Option<Duration>, ObserverError> {
        let (output, result) = match outcome {
            Ok(mut result) => (std::mem::take(&mut result.output), Ok(result)),
            Err(mut error) => (std::mem::take(&mut error.output), Err(error)),
        };
        Self::store_output(step, info, output, status);
        let timeout = step
            .timeout
            .or(info.default_timeout)
            .filter(|t| !t.is_zero());
        let elapsed = self
            .clock
            .now()
            .duration_since(started_at)
            .unwrap_or_default();
        let timed_out = |wait: Duration| -> Result<Duration, String> {
            match timeout {
                Some(limit) if elapsed >= limit => Err(format!(
                    "step timed out after {}",
                    format_go_duration(limit)
                )),
                Some(limit) => Ok(wait.min(limit.saturating_sub(elapsed))),
                None => Ok(wait),
            }
        };
        match result {
            Ok(result) => match result.status {
                StepStatus::Succeeded | StepStatus::Skipped => {
                    if let Some(check) = result.health_check {
                        status.health_checks.push(check);
                    }
                    self.finish_step(step, index, status, observer, result.status, result.message)
                }
                StepStatus::Running => {
                    let wait = result
                        .retry_after
                        .unwrap_or(self.default_poll)
                        .max(self.min_poll);
                    match timed_out(wait) {
                        Ok(wait) => {
                            status.step_execution_metadata[index]
                                .message
                                .clone_from(&result.message);
                            notify(
                                observer,
                                &Event::StepWaiting {
                                    alias: &step.alias,
                                    message: result.message.as_deref(),
                                },
                                status,
                            )?;
                            Ok(Some(wait))
                        }
                        Err(message) => self.finish_step(
                            step,
                            index,
                            status,
                            observer,
                            StepStatus::Errored,
                            Some(message),
                        ),
                    }
                }
                other => self.finish_step(step, index, status, observer, other, result.message),
            },
            Err(error) if error.terminal => {
                let message = if error.status == StepStatus::Failed {
                    error.message
                } else {
                    format!("an unrecoverable error occurred: {}", error.message)
                };
                self.finish_step(step, index, status, observer, error.status, Some(message))
            }
            Err(error) => {
                let meta = &mut status.step_execution_metadata[index];
                meta.error_count += 1;
                let threshold = step
                    .error_threshold
                    .unwrap_or(info.default_error_threshold)
                    .max(1);
                if meta.error_count >= threshold {
                    let message = if threshold > 1 {
                        format!("{} (after {} attempts)", error.message, meta.error_count)
                    } else {
                        error.message
                    };
                    return self.finish_step(
                        step,
                        index,
                        status,
                        observer,
                        error.status,
                        Some(message),
                    );
                }
                let exponent = meta.error_count.saturating_sub(1).min(16);
                let wait = self
                    .retry_backoff
                    .saturating_mul(1 << exponent)
                    .min(Duration::from_mins(1));
                match timed_out(wait) {
                    Ok(wait) => {
                        meta.message = Some(error.message.clone());
                        notify(
                            observer,
                            &Event::StepWaiting {
                                alias: &step.alias,
                                message: Some(&error.message),
                            },
                            status,
                        )?;
                        Ok(Some(wait))
                    }
                    Err(message) => self.finish_step(
                        step,
                        index,
                        status,
                        observer,
                        StepStatus::Errored,
                        Some(format!("{message}; last error: {}", error.message)),
                    ),
                }
            }
        }
    }

    fn store_output(
        step: &Step,
        info: &StepInfo,
        output: serde_json::Map<String, serde_json::Value>,
        status: &mut PromotionStatus,
    ) {
        if let Some(namespace) = step.namespace().filter(|_| info.task_output_propagation) {
            {
                let entry = status
                    .state
                    .entry(namespace.to_owned())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                if let serde_json::Value::Object(existing) = entry {
                    existing.extend(output.clone());
                }
            }
        }
        status
            .state
            .insert(step.alias.clone(), serde_json::Value::Object(output));
    }

    fn finish_step(
        &self,
        step: &Step,
        index: usize,
        status: &mut PromotionStatus,
        observer: &mut dyn Observer,
        step_status: StepStatus,
        message: Option<String>,
    ) -> Result<Option<Duration>, ObserverError> {
        let meta = &mut status.step_execution_metadata[index];
        meta.status = Some(step_status);
        meta.finished_at = Some(format_rfc3339(self.clock.now()));
        meta.message = message;
        let message = meta.message.clone();
        status.current_step = index.max(status.current_step);
        notify(
            observer,
            &Event::StepFinished {
                alias: &step.alias,
                status: step_status,
                message: message.as_deref(),
            },
            status,
        )?;
        Ok(None)
    }

    fn finish(&self, status: &mut PromotionStatus) {
        let worst = status
            .step_execution_metadata
            .iter()
            .filter(|meta| !meta.continue_on_error)
            .filter_map(|meta| meta.status.map(|s| (s, meta)))
            .max_by_key(|(s, _)| s.severity());
        status.phase = match worst.map(|(s, _)| s) {
            None | Some(StepStatus::Succeeded | StepStatus::Skipped) => Phase::Succeeded,
            Some(StepStatus::Aborted) => Phase::Aborted,
            Some(StepStatus::Failed) => Phase::Failed,
            Some(_) => Phase::Errored,
        };
        status.message = match worst {
            Some((s, meta)) if s.is_failure() => Some(format!(
                "step {:?} {}: {}",
                meta.alias,
                s.as_str().to_lowercase(),
                meta.message.as_deref().unwrap_or("no message")
            )),
            _ => None,
        };
        status.finished_at = Some(self.now());
    }
}

fn notify(
    observer: &mut dyn Observer,
    event: &Event<'_>,
    status: &PromotionStatus,
) -> Result<(), ObserverError> {
    observer.changed(event, status).map_err(ObserverError)
}

fn render_config(step: &Step, env: &Value, host: &dyn Host) -> Result<serde_json::Value, String> {
    let Some(config) = &step.config else {
        return Ok(serde_json::Value::Null);
    };
    let compiled = Config::compile(config).map_err(|e| format!("config.{e}"))?;
    let rendered = compiled
        .render(env, host)
        .map_err(|e| format!("config.{e}"))?;
    rendered.to_json().map_err(|e| format!("config: {e}"))
}

/// Aborts a Promotion: the step in progress becomes `Aborted`, the phase `Aborted`.
pub fn abort(status: &mut PromotionStatus, clock: &dyn Clock, reason: &str) {
    if status.phase.is_terminal() {
        return;
    }
    let now = format_rfc3339(clock.now());
    if let Some(meta) = status
        .step_execution_metadata
        .iter_mut()
        .find(|meta| meta.started_at.is_some() && meta.finished_at.is_none())
    {
        meta.status = Some(StepStatus::Aborted);
        meta.finished_at = Some(now.clone());
        meta.message = Some(reason.to_owned());
    }
    status.phase = Phase::Aborted;
    status.message = Some(reason.to_owned());
    status.finished_at = Some(now);
}
