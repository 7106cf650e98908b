//! Task inflation: turning a Stage's promotion template into the flat list of steps a Promotion
//! runs, the way Kargo does when a Promotion is created.
//!
//! ```text
//! template steps            inflated steps
//! - uses: git-clone    ──►  step-1            (alias defaulted to step-<i+1>)
//! - task: promote      ──►  task-2::step-1    (alias A = `as` or task-<i+1>,
//!     (PromotionTask)       task-2::commit     inner alias A::(`as` or step-<j+1>))
//! ```
//!
//! Task variables resolve at inflation: a task var whose name the Promotion already sets (non-empty)
//! is left to the Promotion's `vars`; otherwise the task's default applies; otherwise the task
//! reference step's own `vars` must provide it, else inflation fails with
//! `missing value for variable "x"`. Inflated step vars are `task vars ++ reference vars ++ step vars`.

use std::time::Duration;

use gantry_api::kargo::{ExpressionVariable, PromotionStep, PromotionTaskSpec};
use gantry_api::time::parse_go_duration;
use serde::{Deserialize, Serialize};

/// Where inflation finds PromotionTasks and ClusterPromotionTasks.
pub trait TaskSource {
    /// A PromotionTask of the Promotion's Project, by name.
    fn promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec>;
    /// A ClusterPromotionTask, by name.
    fn cluster_promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec> {
        let _ = name;
        None
    }
}

/// One variable: a name and a template value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Var {
    /// The name under `vars`.
    pub name: String,
    /// The template (`${{ }}` allowed).
    pub value: String,
}

/// A step ready to run: what a Promotion's `spec.steps[]` holds after inflation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The step kind (`uses`).
    pub uses: String,
    /// The unique alias (`step-1`, `task-2::commit`).
    #[serde(rename = "as")]
    pub alias: String,
    /// The `if` template, when set.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Whether a failure of this step is ignored for the outcome.
    #[serde(default)]
    pub continue_on_error: bool,
    /// `retry.timeout`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// `retry.errorThreshold`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_threshold: Option<u32>,
    /// Step variables, in evaluation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<Var>,
    /// The config, unevaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

impl Step {
    /// The task namespace of an inflated task step (`task-2` for `task-2::commit`).
    pub fn namespace(&self) -> Option<&str> {
        self.alias.split_once("::").map(|(namespace, _)| namespace)
    }
}

/// Why a template could not be inflated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// A step has neither `uses` nor `task`, or both.
    #[error("step {index} must set exactly one of `uses` and `task`")]
    StepKind {
        /// 1-based step position.
        index: usize,
    },
    /// The referenced task does not exist.
    #[error("{kind} {name:?} not found")]
    TaskNotFound {
        /// `PromotionTask` or `ClusterPromotionTask`.
        kind: String,
        /// Its name.
        name: String,
    },
    /// A task step references another task.
    #[error("{kind} {name:?} step {index} references a task; tasks cannot be nested")]
    NestedTask {
        /// `PromotionTask` or `ClusterPromotionTask`.
        kind: String,
        /// The task's name.
        name: String,
        /// 1-based step position in the task.
        index: usize,
    },
    /// A task var has no value anywhere.
    #[error("missing value for variable {name:?}")]
    MissingVariable {
        /// The variable.
        name: String,
    },
    /// Two steps share an alias.
    #[error("step alias {alias:?} is used more than once")]
    DuplicateAlias {
        /// The alias.
        alias: String,
    },
    /// `retry.timeout` is not a Go duration, or `errorThreshold` is not positive.
    #[error("step {alias:?}: invalid retry {field} {value:?}")]
    Retry {
        /// The step.
        alias: String,
        /// `timeout` or `errorThreshold`.
        field: &'static str,
        /// What was given.
        value: String,
    },
}

/// Inflates template steps. `promotion_vars` are the Stage's `spec.vars` followed by the template's.
pub fn inflate(
    promotion_vars: &[ExpressionVariable],
    steps: &[PromotionStep],
    tasks: &dyn TaskSource,
) -> Result<Vec<Step>, InflateError> {
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match (&step.uses, &step.task) {
            (Some(uses), None) => {
                let alias = step
                    .alias
                    .clone()
                    .unwrap_or_else(|| format!("step-{}", i + 1));
                out.push(single(step, uses, alias, vars(&step.vars))?);
            }
            (None, Some(reference)) => {
                let kind = reference.kind.as_deref().unwrap_or("PromotionTask");
                let task = if kind == "ClusterPromotionTask" {
                    tasks.cluster_promotion_task(&reference.name)
                } else {
                    tasks.promotion_task(&reference.name)
                };
                let task = task.ok_or_else(|| InflateError::TaskNotFound {
                    kind: kind.to_owned(),
                    name: reference.name.clone(),
                })?;
                let namespace = step
                    .alias
                    .clone()
                    .unwrap_or_else(|| format!("task-{}", i + 1));
                let task_vars = task_vars(&task.vars, promotion_vars, &step.vars)?;
                for (j, inner) in task.steps.iter().enumerate() {
                    let Some(uses) = inner.uses.as_ref().filter(|_| inner.task.is_none()) else {
                        return Err(InflateError::NestedTask {
                            kind: kind.to_owned(),
                            name: reference.name.clone(),
                            index: j + 1,
                        });
                    };
                    let inner_alias = inner
                        .alias
                        .clone()
                        .unwrap_or_else(|| format!("step-{}", j + 1));
                    let mut step_vars = task_vars.clone();
                    step_vars.extend(vars(&step.vars));
                    step_vars.extend(vars(&inner.vars));
                    out.push(single(
                        inner,
                        uses,
                        format!("{namespace}::{inner_alias}"),
                        step_vars,
                    )?);
                }
            }
            _ => return Err(InflateError::StepKind { index: i + 1 }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for step in &out {
        if !seen.insert(step.alias.as_str()) {
            return Err(InflateError::DuplicateAlias {
                alias: step.alias.clone(),
            });
        }
    }
    Ok(out)
}

fn single(
    step: &PromotionStep,
    uses: &str,
    alias: String,
    vars: Vec<Var>,
) -> Result<Step, InflateError> {
    let retry = step.retry.as_ref();
    let timeout = match retry.and_then(|r| r.timeout.as_deref()) {
        None => None,
        Some(text) => Some(parse_go_duration(text).ok_or_else(|| InflateError::Retry {
            alias: alias.clone(),
            field: "timeout",
            value: text.to_owned(),
        })?),
    };
    let error_threshold =
        match retry.and_then(|r| r.error_threshold) {
            None => None,
            Some(n) => Some(u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                InflateError::Retry {
                    alias: alias.clone(),
                    field: "errorThreshold",
                    value: n.to_string(),
                }
            })?),
        };
    Ok(Step {
        uses: uses.to_owned(),
        alias,
        condition: step.condition.clone(),
        continue_on_error: step.continue_on_error,
        timeout,
        error_threshold,
        vars,
        config: step.config.clone(),
    })
}

/// Variables with a value (a var without one contributes nothing).
pub fn vars(list: &[ExpressionVariable]) -> Vec<Var> {
    list.iter()
        .filter_map(|v| {
            v.value.as_ref().map(|value| Var {
                name: v.name.clone(),
                value: value.clone(),
            })
        })
        .collect()
}

fn task_vars(
    declared: &[ExpressionVariable],
    promotion_vars: &[ExpressionVariable],
    reference_vars: &[ExpressionVariable],
) -> Result<Vec<Var>, InflateError> {
    let set = |list: &[ExpressionVariable], name: &str| {
        list.iter()
            .any(|v| v.name == name && v.value.as_deref().is_some_and(|s| !s.is_empty()))
    };
    let mut out = Vec::new();
    for var in declared {
        if set(promotion_vars, &var.name) {
            continue;
        }
        match var.value.as_deref() {
            Some(value) if !value.is_empty() => out.push(Var {
                name: var.name.clone(),
                value: value.to_owned(),
            }),
            _ if set(reference_vars, &var.name) => {}
            _ => {
                return Err(InflateError::MissingVariable {
                    name: var.name.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    struct Tasks(BTreeMap<String, PromotionTaskSpec>);

    impl TaskSource for Tasks {
        fn promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec> {
            self.0.get(name)
        }
    }

    fn steps(yaml: &str) -> Vec<PromotionStep> {
        let json = gantry_api::yaml::parse_stream(yaml).0[0].root.to_json();
        serde_json::from_value(json).unwrap()
    }

    fn task(yaml: &str) -> PromotionTaskSpec {
        let json = gantry_api::yaml::parse_stream(yaml).0[0].root.to_json();
        serde_json::from_value(json).unwrap()
    }

    fn var(name: &str, value: Option<&str>) -> ExpressionVariable {
        ExpressionVariable {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    fn tasks() -> Tasks {
        let promote = task(
            "vars:\n- name: repo\n  value: https://git.example/repo.git\n- name: path\n- name: env\n  value: dev\nsteps:\n- uses: git-clone\n- uses: yaml-update\n  as: update\n  vars:\n  - name: local\n    value: x\n",
        );
        Tasks(BTreeMap::from([("promote".to_owned(), promote)]))
    }

    #[test]
    fn aliases_default_to_positions_and_task_steps_are_namespaced() {
        let template = steps(
            "- uses: git-clone\n- task:\n    name: promote\n  vars:\n  - name: path\n    value: a.yaml\n- uses: git-push\n  as: push\n",
        );
        let inflated = inflate(&[], &template, &tasks()).unwrap();
        let aliases: Vec<_> = inflated.iter().map(|s| s.alias.as_str()).collect();
        assert_eq!(
            aliases,
            ["step-1", "task-2::step-1", "task-2::update", "push"]
        );
        assert_eq!(inflated[1].namespace(), Some("task-2"));
        assert_eq!(inflated[0].namespace(), None);
    }

    #[test]
    fn task_vars_are_defaults_then_reference_vars_then_step_vars() {
        let template = steps(
            "- task:\n    name: promote\n  as: p\n  vars:\n  - name: path\n    value: a.yaml\n",
        );
        let inflated = inflate(&[], &template, &tasks()).unwrap();
        let names: Vec<_> = inflated[1]
            .vars
            .iter()
            .map(|v| format!("{}={}", v.name, v.value))
            .collect();
        assert_eq!(
            names,
            [
                "repo=https://git.example/repo.git",
                "env=dev",
                "path=a.yaml",
                "local=x"
            ]
        );
    }

    #[test]
    fn a_promotion_var_hides_the_task_default() {
        let template = steps("- task:\n    name: promote\n");
        let inflated = inflate(
            &[var("path", Some("b.yaml")), var("env", Some("prod"))],
            &template,
            &tasks(),
        )
        .unwrap();
        let names: Vec<_> = inflated[0].vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["repo"]);
    }

    #[test]
    fn a_task_var_without_any_value_fails_inflation() {
        let template = steps("- task:\n    name: promote\n");
        let err = inflate(&[var("path", Some(""))], &template, &tasks()).unwrap_err();
        assert_eq!(err.to_string(), "missing value for variable \"path\"");
    }

    #[test]
    fn unknown_tasks_duplicate_aliases_and_bad_retries_are_errors() {
        let err = inflate(&[], &steps("- task:\n    name: nope\n"), &tasks()).unwrap_err();
        assert_eq!(err.to_string(), "PromotionTask \"nope\" not found");
        let err = inflate(
            &[],
            &steps("- task:\n    name: nope\n    kind: ClusterPromotionTask\n"),
            &tasks(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "ClusterPromotionTask \"nope\" not found");
        let err = inflate(
            &[],
            &steps("- uses: a\n  as: x\n- uses: b\n  as: x\n"),
            &tasks(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "step alias \"x\" is used more than once");
        let err = inflate(
            &[],
            &steps("- uses: a\n  retry:\n    timeout: 5x\n"),
            &tasks(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "step \"step-1\": invalid retry timeout \"5x\""
        );
        let err = inflate(&[], &steps("- {}\n"), &tasks()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step 1 must set exactly one of `uses` and `task`"
        );
    }

    #[test]
    fn retry_settings_are_parsed() {
        let inflated = inflate(
            &[],
            &steps("- uses: http\n  retry:\n    timeout: 1m30s\n    errorThreshold: 3\n"),
            &tasks(),
        )
        .unwrap();
        assert_eq!(inflated[0].timeout, Some(Duration::from_secs(90)));
        assert_eq!(inflated[0].error_threshold, Some(3));
    }
}
