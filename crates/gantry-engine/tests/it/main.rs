//! The orchestrator against a scripted runner: Kargo's skip, retry, timeout, output and phase
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]
//! rules, and resuming from persisted state.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gantry_api::kargo::{PromotionStep, PromotionTaskSpec};
use gantry_engine::{
    Clock, Event, Next, Orchestrator, Phase, PromotionContext, PromotionData, PromotionStatus,
    StepError, StepInfo, StepRequest, StepResult, StepRunner, StepStatus, TaskSource, Var, inflate,
};
use serde_json::{Value, json};

struct ManualClock(Cell<SystemTime>);

impl ManualClock {
    fn new() -> Self {
        Self(Cell::new(UNIX_EPOCH + Duration::from_hours(500_000)))
    }
    fn advance(&self, by: Duration) {
        self.0.set(self.0.get() + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.0.get()
    }
}

/// Step kinds:
/// - `echo`: succeeds with its config as output
/// - `fail`: terminal failure, outputs `{partial: true}`
/// - `flaky`: retryable error until it has been called `config.failures` times
/// - `wait`: Running until called `config.polls` times
/// - `boom`: panics
/// - `compose-output`: echo with task output propagation
/// - `slow`: Running forever; default timeout 1m
#[derive(Default)]
struct Runner {
    calls: RefCell<Vec<String>>,
    counts: RefCell<BTreeMap<String, u64>>,
}

impl StepRunner for Runner {
    fn info(&self, kind: &str) -> Option<StepInfo> {
        let mut info = StepInfo::default();
        match kind {
            "echo" | "fail" | "flaky" | "wait" | "boom" => {}
            "compose-output" => info.task_output_propagation = true,
            "slow" => info.default_timeout = Some(Duration::from_mins(1)),
            _ => return None,
        }
        Some(info)
    }

    fn run(&self, request: &StepRequest<'_>) -> Result<StepResult, StepError> {
        self.calls.borrow_mut().push(request.alias.to_owned());
        let count = {
            let mut counts = self.counts.borrow_mut();
            let count = counts.entry(request.alias.to_owned()).or_default();
            *count += 1;
            *count
        };
        let output = match &request.config {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        match request.kind {
            "echo" | "compose-output" => Ok(StepResult::succeeded(output)),
            "fail" => Err(StepError::failed("it failed")
                .with_output(json!({"partial": true}).as_object().unwrap().clone())),
            "flaky" => {
                if count <= request.config["failures"].as_u64().unwrap_or(0) {
                    Err(StepError::retryable(format!("transient {count}")))
                } else {
                    Ok(StepResult::succeeded(output))
                }
            }
            "wait" => {
                if count < request.config["polls"].as_u64().unwrap_or(0) {
                    Ok(StepResult::running(Some(Duration::from_secs(1))))
                } else {
                    Ok(StepResult::succeeded(output))
                }
            }
            "slow" => Ok(StepResult::running(None)),
            "boom" => panic!("kaboom"),
            _ => unreachable!(),
        }
    }
}

struct NoTasks(BTreeMap<String, PromotionTaskSpec>);

impl TaskSource for NoTasks {
    fn promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec> {
        self.0.get(name)
    }
}

fn from_yaml<T: serde::de::DeserializeOwned>(yaml: &str) -> T {
    let json = gantry_api::yaml::parse_stream(yaml).0[0].root.to_json();
    serde_json::from_value(json).unwrap()
}

struct Run {
    status: PromotionStatus,
    events: Vec<String>,
}

fn context() -> PromotionContext {
    PromotionContext {
        project: "demo".into(),
        stage: "dev".into(),
        promotion: "dev.01.abc".into(),
        ..PromotionContext::default()
    }
}

fn run_yaml(yaml: &str, tasks: &[(&str, &str)], runner: &Runner, clock: &ManualClock) -> Run {
    let template: Vec<PromotionStep> = from_yaml(yaml);
    let tasks = NoTasks(
        tasks
            .iter()
            .map(|(name, spec)| ((*name).to_owned(), from_yaml(spec)))
            .collect(),
    );
    let steps = inflate(&[], &template, &tasks).unwrap();
    let vars = vec![Var {
        name: "env".into(),
        value: "dev".into(),
    }];
    let context = context();
    let data = PromotionData::default();
    let mut orchestrator = Orchestrator::new(&steps, &vars, &context, &data, runner, clock);
    orchestrator.min_poll = Duration::from_secs(1);
    let mut status = PromotionStatus::default();
    let mut events = Vec::new();
    for _ in 0..50 {
        let mut observer = |event: &Event<'_>, _: &PromotionStatus| {
            events.push(describe(event));
            Ok(())
        };
        match orchestrator.run(&mut status, &mut observer).unwrap() {
            Next::Done => break,
            Next::RetryAfter(wait) => clock.advance(wait),
        }
    }
    Run { status, events }
}

fn describe(event: &Event<'_>) -> String {
    match event {
        Event::StepStarted { alias, .. } => format!("start {alias}"),
        Event::StepWaiting { alias, message } => {
            format!("wait {alias} {}", message.unwrap_or(""))
        }
        Event::StepFinished {
            alias,
            status,
            message,
        } => format!("{status} {alias} {}", message.unwrap_or(""))
            .trim_end()
            .to_owned(),
        Event::Finished { phase } => format!("phase {phase}"),
    }
}

fn statuses(status: &PromotionStatus) -> Vec<String> {
    status
        .step_execution_metadata
        .iter()
        .map(|m| format!("{}={}", m.alias, m.status.map_or("-", StepStatus::as_str)))
        .collect()
}

#[test]
fn outputs_vars_and_task_outputs_flow_between_steps() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: echo\n  as: first\n  config:\n    value: ${{ vars.env }}-1\n- task:\n    name: t\n  as: t\n- uses: echo\n  config:\n    fromTask: ${{ outputs['t::inner'].value }}\n    stage: ${{ ctx.stage }}\n",
        &[(
            "t",
            "vars:\n- name: suffix\n  value: x\nsteps:\n- uses: echo\n  as: inner\n  vars:\n  - name: local\n    value: ${{ outputs.first.value }}\n  config:\n    value: ${{ vars.local + vars.suffix }}\n- uses: echo\n  config:\n    sibling: ${{ task.outputs.inner.value }}\n",
        )],
        &runner,
        &clock,
    );
    assert_eq!(run.status.phase, Phase::Succeeded, "{:?}", run.events);
    assert_eq!(run.status.state["t::inner"], json!({"value": "dev-1x"}));
    assert_eq!(run.status.state["t::step-2"], json!({"sibling": "dev-1x"}));
    assert_eq!(
        run.status.state["step-3"],
        json!({"fromTask": "dev-1x", "stage": "dev"})
    );
    assert!(run.status.finished_at.is_some());
}

#[test]
fn a_failure_skips_later_steps_unless_they_ask_to_run() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: fail\n  as: bad\n- uses: echo\n  as: skipped\n- uses: echo\n  as: cleanup\n  if: ${{ always() }}\n- uses: echo\n  as: on-failure\n  if: ${{ failure() }}\n- uses: echo\n  as: status\n  if: ${{ status('bad') == 'Failed' }}\n",
        &[],
        &runner,
        &clock,
    );
    assert_eq!(
        statuses(&run.status),
        [
            "bad=Failed",
            "skipped=Skipped",
            "cleanup=Succeeded",
            "on-failure=Succeeded",
            "status=Succeeded"
        ]
    );
    assert_eq!(run.status.phase, Phase::Failed);
    assert_eq!(
        run.status.message.as_deref(),
        Some("step \"bad\" failed: it failed")
    );
    assert_eq!(run.status.state["bad"], json!({"partial": true}));
}

#[test]
fn continue_on_error_keeps_later_steps_and_the_phase_green() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: fail\n  continueOnError: true\n- uses: echo\n",
        &[],
        &runner,
        &clock,
    );
    assert_eq!(statuses(&run.status), ["step-1=Failed", "step-2=Succeeded"]);
    assert_eq!(run.status.phase, Phase::Succeeded);
}

#[test]
fn a_non_boolean_if_errors_the_step_and_execution_goes_on() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: echo\n  if: ${{ 'yes' + 'no' }}\n- uses: echo\n  if: ${{ true }}\n- uses: echo\n  if: ${{ false }}\n",
        &[],
        &runner,
        &clock,
    );
    assert_eq!(
        statuses(&run.status),
        ["step-1=Errored", "step-2=Succeeded", "step-3=Skipped"]
    );
    assert_eq!(
        run.status.step_execution_metadata[0].message.as_deref(),
        Some("if: expression must evaluate to a boolean, got string (yesno)")
    );
    assert_eq!(run.status.phase, Phase::Errored);
}

#[test]
fn unknown_kinds_bad_config_and_panics_are_errors_not_crashes() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: nope\n- uses: echo\n  if: ${{ always() }}\n  config:\n    x: ${{ missing.field }}\n- uses: boom\n  if: ${{ always() }}\n",
        &[],
        &runner,
        &clock,
    );
    let messages: Vec<_> = run
        .status
        .step_execution_metadata
        .iter()
        .map(|m| m.message.clone().unwrap_or_default())
        .collect();
    assert_eq!(messages[0], "step kind \"nope\" is not registered");
    assert!(messages[1].starts_with("config.x: "), "{}", messages[1]);
    assert_eq!(
        messages[2],
        "an unrecoverable error occurred: step panicked: kaboom"
    );
    assert_eq!(run.status.phase, Phase::Errored);
}

#[test]
fn retryable_errors_are_retried_up_to_the_threshold() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: flaky\n  as: a\n  retry:\n    errorThreshold: 3\n  config:\n    failures: 2\n- uses: flaky\n  as: b\n  retry:\n    errorThreshold: 2\n  config:\n    failures: 5\n- uses: flaky\n  as: c\n  if: ${{ always() }}\n  config:\n    failures: 1\n",
        &[],
        &runner,
        &clock,
    );
    assert_eq!(
        statuses(&run.status),
        ["a=Succeeded", "b=Errored", "c=Errored"]
    );
    assert_eq!(run.status.step_execution_metadata[0].error_count, 2);
    assert_eq!(
        run.status.step_execution_metadata[1].message.as_deref(),
        Some("transient 2 (after 2 attempts)")
    );
    assert_eq!(
        run.status.step_execution_metadata[2].message.as_deref(),
        Some("transient 1")
    );
    assert!(run.events.contains(&"wait a transient 1".to_owned()));
}

#[test]
fn running_steps_are_polled_and_time_out() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- uses: wait\n  config:\n    polls: 3\n- uses: slow\n",
        &[],
        &runner,
        &clock,
    );
    assert_eq!(
        statuses(&run.status),
        ["step-1=Succeeded", "step-2=Errored"]
    );
    assert_eq!(runner.counts.borrow()["step-1"], 3);
    assert_eq!(
        run.status.step_execution_metadata[1].message.as_deref(),
        Some("step timed out after 1m0s")
    );
}

#[test]
fn compose_output_propagates_to_the_task_namespace() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let run = run_yaml(
        "- task:\n    name: t\n- uses: echo\n  config:\n    got: ${{ outputs['task-1'].answer }}\n",
        &[(
            "t",
            "steps:\n- uses: compose-output\n  config:\n    answer: 42\n",
        )],
        &runner,
        &clock,
    );
    assert_eq!(run.status.state["task-1"], json!({"answer": 42}));
    assert_eq!(run.status.state["step-2"], json!({"got": 42}));
}

#[test]
fn a_restart_resumes_at_the_step_in_progress_and_never_reruns_finished_steps() {
    let yaml = "- uses: echo\n  as: clone\n  config:\n    n: 1\n- uses: echo\n  as: commit\n  config:\n    n: ${{ outputs.clone.n + 1 }}\n- uses: echo\n  as: push\n  config:\n    n: ${{ outputs.commit.n + 1 }}\n";
    let template: Vec<PromotionStep> = from_yaml(yaml);
    let steps = inflate(&[], &template, &NoTasks(BTreeMap::new())).unwrap();
    let context = context();
    let data = PromotionData::default();
    let clock = ManualClock::new();
    for crash_after in 1..=3 {
        // First process: persists after every change, "dies" after `crash_after` finished steps.
        let runner = Runner::default();
        let orchestrator = Orchestrator::new(&steps, &[], &context, &data, &runner, &clock);
        let mut persisted = String::new();
        let mut finished = 0;
        let mut status = PromotionStatus::default();
        let result = orchestrator.run(
            &mut status,
            &mut |event: &Event<'_>, s: &PromotionStatus| {
                persisted = serde_json::to_string(s).unwrap();
                if matches!(event, Event::StepFinished { .. }) {
                    finished += 1;
                    if finished == crash_after {
                        return Err("killed".to_owned());
                    }
                }
                Ok(())
            },
        );
        assert!(result.is_err());
        // Second process: loads what was persisted and carries on.
        let runner2 = Runner::default();
        let orchestrator = Orchestrator::new(&steps, &[], &context, &data, &runner2, &clock);
        let mut status: PromotionStatus = serde_json::from_str(&persisted).unwrap();
        let next = orchestrator
            .run(
                &mut status,
                &mut |_: &Event<'_>, _: &PromotionStatus| Ok(()),
            )
            .unwrap();
        assert_eq!(next, Next::Done);
        assert_eq!(status.phase, Phase::Succeeded);
        assert_eq!(status.state["push"], json!({"n": 3}));
        let mut all_calls = runner.calls.borrow().clone();
        all_calls.extend(runner2.calls.borrow().iter().cloned());
        assert_eq!(
            all_calls,
            ["clone", "commit", "push"],
            "crash after {crash_after}"
        );
    }
}

#[test]
fn abort_marks_the_running_step_and_the_phase() {
    let runner = Runner::default();
    let clock = ManualClock::new();
    let template: Vec<PromotionStep> = from_yaml("- uses: slow\n- uses: echo\n");
    let steps = inflate(&[], &template, &NoTasks(BTreeMap::new())).unwrap();
    let context = context();
    let data = PromotionData::default();
    let orchestrator = Orchestrator::new(&steps, &[], &context, &data, &runner, &clock);
    let mut status = PromotionStatus::default();
    let next = orchestrator
        .run(
            &mut status,
            &mut |_: &Event<'_>, _: &PromotionStatus| Ok(()),
        )
        .unwrap();
    assert!(matches!(next, Next::RetryAfter(_)));
    gantry_engine::abort(&mut status, &clock, "aborted by alice");
    assert_eq!(status.phase, Phase::Aborted);
    assert_eq!(statuses(&status), ["step-1=Aborted"]);
    let next = orchestrator
        .run(
            &mut status,
            &mut |_: &Event<'_>, _: &PromotionStatus| Ok(()),
        )
        .unwrap();
    assert_eq!(next, Next::Done);
}
