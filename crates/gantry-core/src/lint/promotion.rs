//! Promotion steps: step kinds and configs, aliases, expressions, task inflation, and the seed
//! pitfalls that only show at runtime upstream (paths outside the checkout, missing git
//! credentials, Argo CD Applications that do not authorise the Stage).
//!
//! Definition-level checks run once per step list (a Stage template or a PromotionTask).
//! Context checks run on each Stage's *inflated* step list, Kargo's way: task steps become
//! `<task alias>::<step alias>` with the Stage's vars, the task's defaults and the task step's
//! vars visible. Findings inside a shared task are reported once, at the task.

use std::collections::HashSet;

use gantry_api::diagnostic::{self, Diagnostic, Location};
use gantry_api::kargo::{self, ExpressionVariable, PromotionStep, PromotionTask, Stage};
use gantry_api::{FieldPath, Resource, redact, suggest};
use serde_json::Value;

use super::index::{Index, Namespace, Pair};
use crate::steps;
use crate::template::{self, KnownVars, Reference, STEP_VARIABLES};
use crate::url;

pub(crate) fn check(index: &Index<'_>, out: &mut Vec<Diagnostic>) {
    let mut referenced: HashSet<(Option<&str>, &str)> = HashSet::new();
    let all_tasks = index
        .namespaces
        .values()
        .flat_map(|namespace| namespace.tasks.values())
        .chain(index.cluster_tasks.values());
    for (resource, task) in all_tasks {
        let path = FieldPath::parse("spec.steps");
        definition(resource, &task.spec.steps, &path, true, out);
    }
    for (namespace_name, namespace) in &index.namespaces {
        for (resource, stage) in &namespace.stages {
            if let Some(template) = &stage.spec.promotion_template {
                let path = FieldPath::parse("spec.promotionTemplate.spec.steps");
                definition(resource, &template.spec.steps, &path, false, out);
            }
            let flat = inflate(index, namespace, resource, stage, &mut referenced, out);
            let context = Context {
                index,
                namespace_name,
                namespace,
                stage: Some(resource),
            };
            context.check(&flat, out);
        }
    }
    // Tasks no Stage uses: check them with their own defaults.
    for (namespace_name, namespace) in &index.namespaces {
        for (name, (resource, task)) in &namespace.tasks {
            if referenced.contains(&(Some(namespace_name), name)) {
                continue;
            }
            let flat = standalone(resource, task);
            let context = Context {
                index,
                namespace_name,
                namespace,
                stage: None,
            };
            context.check(&flat, out);
        }
    }
}

/// One step of an inflated list.
struct Flat<'a> {
    resource: &'a Resource,
    path: FieldPath,
    step: &'a PromotionStep,
    /// Full alias (`commit`, `task-1::update-image`).
    alias: String,
    /// The task alias when the step came from a task.
    task_alias: Option<String>,
    vars: KnownVars,
}

fn push_vars(vars: &mut KnownVars, list: &[ExpressionVariable]) {
    for var in list {
        vars.insert(
            var.name.clone(),
            Some(var.value.clone().unwrap_or_default()),
        );
    }
}

fn inflate<'a>(
    index: &Index<'a>,
    namespace: &Namespace<'a>,
    resource: &'a Resource,
    stage: &'a Stage,
    referenced: &mut HashSet<(Option<&'a str>, &'a str)>,
    out: &mut Vec<Diagnostic>,
) -> Vec<Flat<'a>> {
    let Some(template) = &stage.spec.promotion_template else {
        return Vec::new();
    };
    let mut promotion_vars = KnownVars::new();
    push_vars(&mut promotion_vars, &stage.spec.vars);
    push_vars(&mut promotion_vars, &template.spec.vars);
    let steps_path = FieldPath::parse("spec.promotionTemplate.spec.steps");
    let mut flat = Vec::new();
    for (i, step) in template.spec.steps.iter().enumerate() {
        let path = steps_path.index(i);
        if step.uses.is_some() {
            let mut vars = promotion_vars.clone();
            push_vars(&mut vars, &step.vars);
            flat.push(Flat {
                resource,
                path,
                alias: step
                    .alias
                    .clone()
                    .unwrap_or_else(|| format!("step-{}", i + 1)),
                task_alias: None,
                step,
                vars,
            });
            continue;
        }
        let Some(reference) = &step.task else {
            continue;
        };
        let Some((task_resource, task)) =
            resolve_task(index, namespace, resource, reference, &path, out)
        else {
            continue;
        };
        referenced.insert((
            task_resource.namespace.as_deref(),
            task_resource.name.as_str(),
        ));
        let task_alias = step
            .alias
            .clone()
            .unwrap_or_else(|| format!("task-{}", i + 1));
        let mut task_vars = promotion_vars.clone();
        for (v, var) in task.spec.vars.iter().enumerate() {
            let supplied = promotion_vars
                .get(&var.name)
                .is_some_and(|value| value.as_deref().is_some_and(|v| !v.is_empty()));
            if supplied {
                continue;
            }
            match var.value.as_deref() {
                Some(default) if !default.is_empty() => {
                    task_vars.insert(var.name.clone(), Some(default.to_owned()));
                }
                _ => {
                    if step.vars.iter().any(|own| own.name == var.name) {
                        continue;
                    }
                    out.push(
                        Diagnostic::new(
                            &diagnostic::MISSING_TASK_VAR,
                            format!(
                                "{} `{}` needs var `{}`, which Stage `{}` does not supply",
                                task_resource.kind, task_resource.name, var.name, resource.name
                            ),
                        )
                        .at_location(Some(resource.key_location(&path.key("task"))))
                        .label(format!("`{}` has no value", var.name))
                        .related(
                            task_resource.location(&FieldPath::parse("spec.vars").index(v).key("name")),
                            "declared here without a default",
                        )
                        .help(format!(
                            "give it a value in the Stage's `promotionTemplate.spec.vars` (or the task step's `vars`):\n\n- name: {}\n  value: <value>",
                            var.name
                        )),
                    );
                    task_vars.insert(var.name.clone(), None);
                }
            }
        }
        push_vars(&mut task_vars, &step.vars);
        for (j, task_step) in task.spec.steps.iter().enumerate() {
            let mut vars = task_vars.clone();
            push_vars(&mut vars, &task_step.vars);
            let local = task_step
                .alias
                .clone()
                .unwrap_or_else(|| format!("step-{}", j + 1));
            flat.push(Flat {
                resource: task_resource,
                path: FieldPath::parse("spec.steps").index(j),
                alias: format!("{task_alias}::{local}"),
                task_alias: Some(task_alias.clone()),
                step: task_step,
                vars,
            });
        }
    }
    flat
}

fn standalone<'a>(resource: &'a Resource, task: &'a PromotionTask) -> Vec<Flat<'a>> {
    let mut vars = KnownVars::new();
    for var in &task.spec.vars {
        let value = var.value.clone().filter(|value| !value.is_empty());
        vars.insert(var.name.clone(), value);
    }
    task.spec
        .steps
        .iter()
        .enumerate()
        .map(|(j, step)| {
            let mut step_vars = vars.clone();
            push_vars(&mut step_vars, &step.vars);
            Flat {
                resource,
                path: FieldPath::parse("spec.steps").index(j),
                alias: format!(
                    "task::{}",
                    step.alias
                        .clone()
                        .unwrap_or_else(|| format!("step-{}", j + 1))
                ),
                task_alias: Some("task".to_owned()),
                step,
                vars: step_vars,
            }
        })
        .collect()
}

fn resolve_task<'a>(
    index: &Index<'a>,
    namespace: &Namespace<'a>,
    resource: &Resource,
    reference: &kargo::PromotionTaskReference,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> Option<Pair<'a, PromotionTask>> {
    if let Some(kind) = reference
        .kind
        .as_deref()
        .filter(|kind| !["PromotionTask", "ClusterPromotionTask"].contains(kind))
    {
        let mut diagnostic = Diagnostic::new(
            &diagnostic::INVALID_ENUM,
            format!("`{kind}` is not a task kind"),
        )
        .at_location(Some(resource.location(&path.key("task").key("kind"))))
        .label("expected PromotionTask or ClusterPromotionTask");
        if let Some(candidate) = suggest::similar(kind, ["PromotionTask", "ClusterPromotionTask"]) {
            diagnostic.set_help(format!("did you mean `{candidate}`?"));
        }
        out.push(diagnostic);
        return None;
    }
    let cluster = reference.kind.as_deref() == Some("ClusterPromotionTask");
    let found = if cluster {
        index.cluster_tasks.get(reference.name.as_str()).copied()
    } else {
        namespace.tasks.get(reference.name.as_str()).copied()
    };
    if found.is_some() {
        return found;
    }
    let kind = if cluster {
        "ClusterPromotionTask"
    } else {
        "PromotionTask"
    };
    let candidates: Vec<&str> = if cluster {
        index.cluster_tasks.keys().copied().collect()
    } else {
        namespace.tasks.keys().copied().collect()
    };
    let where_ = if cluster {
        String::new()
    } else {
        format!(
            " in namespace `{}`",
            resource.namespace.as_deref().unwrap_or_default()
        )
    };
    let mut diagnostic = Diagnostic::new(
        &diagnostic::UNKNOWN_TASK,
        format!("{kind} `{}` does not exist{where_}", reference.name),
    )
    .at_location(Some(resource.location(&path.key("task").key("name"))))
    .label("no such task");
    if let Some(candidate) = suggest::similar(&reference.name, candidates.iter().copied()) {
        diagnostic.set_help(format!("did you mean `{candidate}`?"));
    } else if let [only] = candidates.as_slice() {
        diagnostic.set_help(format!(
            "the only {kind}{where_} is `{only}`; did you mean it?"
        ));
    } else if !cluster && index.cluster_tasks.contains_key(reference.name.as_str()) {
        diagnostic
            .set_help("a ClusterPromotionTask has this name: add `kind: ClusterPromotionTask`");
    } else if candidates.is_empty() {
        diagnostic.set_help(format!(
            "define a {kind} named `{}`{where_}",
            reference.name
        ));
    }
    out.push(diagnostic);
    None
}

// ---------------------------------------------------------------------------------------------
// Definition-level checks

fn definition(
    resource: &Resource,
    steps: &[PromotionStep],
    path: &FieldPath,
    in_task: bool,
    out: &mut Vec<Diagnostic>,
) {
    let mut aliases: Vec<(&str, FieldPath)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let step_path = path.index(i);
        if let Some(alias) = &step.alias {
            if let Some((_, first)) = aliases.iter().find(|(seen, _)| seen == alias) {
                out.push(
                    Diagnostic::new(
                        &diagnostic::DUPLICATE_ALIAS,
                        format!("step alias `{alias}` is used twice"),
                    )
                    .at_location(Some(resource.location(&step_path.key("as"))))
                    .label("second use")
                    .related(resource.location(&first.key("as")), "first used here")
                    .help("give each step a unique `as`, so its outputs can be told apart"),
                );
            } else {
                aliases.push((alias, step_path.clone()));
            }
        }
        if let Some(uses) = &step.uses {
            step_kind(resource, uses, step, &step_path, out);
        }
        // task.outputs inside a task: must name an earlier step of the same task.
        let earlier: Vec<String> = steps[..i]
            .iter()
            .enumerate()
            .map(|(j, s)| s.alias.clone().unwrap_or_else(|| format!("step-{}", j + 1)))
            .collect();
        for_each_template(
            step,
            &step_path,
            &mut |string, located, offset| match located {
                Reference::Unknown(root) => {
                    let mut diagnostic = Diagnostic::new(
                        &diagnostic::UNKNOWN_VARIABLE,
                        format!(
                            "`{root}` is not a variable of a promotion step; it evaluates to nil"
                        ),
                    )
                    .at_location(Some(string.location(resource, offset.0, offset.1)))
                    .label("unknown variable");
                    diagnostic.set_help(match suggest::similar(&root, STEP_VARIABLES.iter().copied()) {
                        Some(candidate) => format!("did you mean `{candidate}`?"),
                        None if root == "secrets" => "the `secrets` map was removed in Kargo v1.7: use `secret('name').key`".to_owned(),
                        None => format!(
                            "steps can read {}; artifacts come from functions such as `imageFrom(repoURL).Tag`",
                            STEP_VARIABLES.map(|v| format!("`{v}`")).join(", ")
                        ),
                    });
                    out.push(diagnostic);
                }
                Reference::TaskOutput(name) => {
                    if !in_task {
                        out.push(
                            Diagnostic::new(&diagnostic::UNKNOWN_OUTPUT, format!("`task.outputs` is only available inside a PromotionTask (read `{name}`)"))
                                .at_location(Some(string.location(resource, offset.0, offset.1)))
                                .help(format!("use `outputs['{name}']` in a Stage's steps")),
                        );
                    } else if !earlier.contains(&name) {
                        let runs_later = steps
                            .iter()
                            .any(|s| s.alias.as_deref() == Some(name.as_str()));
                        let location = string.location(resource, offset.0, offset.1);
                        out.push(unknown_output(
                            location,
                            "task.outputs",
                            &name,
                            &earlier,
                            runs_later,
                            false,
                        ));
                    }
                }
                Reference::Var(_) | Reference::Output(_) => {}
            },
        );
    }
}

/// An `outputs`/`task.outputs`/`messageFromSteps` read of an alias no earlier step has.
fn unknown_output(
    location: Location,
    accessor: &str,
    name: &str,
    earlier: &[String],
    runs_later: bool,
    namespaced_in_task: bool,
) -> Diagnostic {
    let message = if runs_later {
        format!("`{accessor}` reads step `{name}`, which runs after this step")
    } else if namespaced_in_task {
        format!(
            "`{accessor}` reads `{name}`, but inside a task steps are namespaced: use `task.outputs['{name}']`"
        )
    } else {
        format!("`{accessor}` reads step `{name}`, but no earlier step has that alias")
    };
    let mut diagnostic = Diagnostic::new(&diagnostic::UNKNOWN_OUTPUT, message)
        .at_location(Some(location))
        .label("unknown step alias");
    if let Some(candidate) = suggest::similar(name, earlier.iter().map(String::as_str)) {
        diagnostic.set_help(format!("did you mean `{candidate}`?"));
    } else if earlier.is_empty() {
        diagnostic.set_help("no step runs before this one");
    } else {
        diagnostic.set_help(format!(
            "earlier steps: {}; set `as:` on the step whose outputs you need",
            earlier.join(", ")
        ));
    }
    diagnostic
}

fn step_kind(
    resource: &Resource,
    uses: &str,
    step: &PromotionStep,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    if uses == "helm-update-image" {
        return; // reported as removed by the structural checks
    }
    let Some(kind) = steps::find(uses) else {
        let mut diagnostic = Diagnostic::new(
            &diagnostic::UNKNOWN_STEP,
            format!("`{uses}` is not a known step kind"),
        )
        .at_location(Some(resource.location(&path.key("uses"))))
        .label("unknown step");
        if steps::ENTERPRISE_STEPS.contains(&uses) {
            diagnostic.message =
                format!("`{uses}` is an Akuity Enterprise step; gantry does not run it");
        } else if let Some(candidate) =
            suggest::similar(uses, steps::STEP_KINDS.iter().map(|k| k.name))
        {
            diagnostic.set_help(format!("did you mean `{candidate}`?"));
        } else {
            diagnostic.set_help("see the README for the list of step kinds");
        }
        out.push(diagnostic);
        return;
    };
    if kind.open {
        return;
    }
    let config_path = path.key("config");
    let Some(config) = step.config.as_ref().and_then(Value::as_object) else {
        if !kind.required.is_empty() {
            out.push(
                Diagnostic::new(
                    &diagnostic::STEP_CONFIG_MISSING,
                    format!(
                        "step `{uses}` needs a config with {}",
                        kind.required.join(", ")
                    ),
                )
                .at_location(Some(resource.location(&config_path)))
                .label("no config")
                .help(format!("add `config:` with {}", kind.required.join(", "))),
            );
        }
        return;
    };
    for required in kind.required {
        if !config.contains_key(*required) {
            out.push(
                Diagnostic::new(
                    &diagnostic::STEP_CONFIG_MISSING,
                    format!("`{uses}` config is missing `{required}`"),
                )
                .at_location(Some(resource.key_location(&config_path)))
                .label(format!("`{required}` is required"))
                .help(format!("add `{required}:` under `config`")),
            );
        }
    }
    if uses == "git-commit"
        && !config.contains_key("message")
        && !config.contains_key("messageFromSteps")
    {
        out.push(
            Diagnostic::new(
                &diagnostic::STEP_CONFIG_MISSING,
                "`git-commit` config is missing `message`",
            )
            .at_location(Some(resource.key_location(&config_path)))
            .help("add `message:`, e.g. `${{ outputs['update-image'].commitMessage }}`"),
        );
    }
    if uses == "git-commit"
        && let Some(Value::Array(aliases)) = config.get("messageFromSteps")
    {
        let first = aliases.first().and_then(Value::as_str).unwrap_or("<alias>");
        out.push(
            Diagnostic::new(
                &diagnostic::DEPRECATED_FIELD,
                "`messageFromSteps` was removed in Kargo v1.5; gantry still reads it",
            )
            .at_location(Some(
                resource.key_location(&config_path.key("messageFromSteps")),
            ))
            .help(format!(
                "use `message: ${{{{ outputs['{first}'].commitMessage }}}}`"
            )),
        );
    }
    if uses == "git-clone" {
        match config.get("checkout") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if item.get("path").is_none() {
                        out.push(
                            Diagnostic::new(&diagnostic::STEP_CONFIG_MISSING, "each git-clone checkout needs a `path`")
                                .at_location(Some(resource.location(&config_path.key("checkout").index(i))))
                                .help("add `path: ./repo` (relative to the promotion's working directory)"),
                        );
                    }
                }
            }
            Some(_) => out.push(
                Diagnostic::new(
                    &diagnostic::STEP_CONFIG_MISSING,
                    "git-clone `checkout` needs at least one item",
                )
                .at_location(Some(resource.location(&config_path.key("checkout"))))
                .help("add `- {branch: main, path: ./repo}`"),
            ),
            None => {}
        }
    }
    for key in config.keys() {
        if kind.fields.contains(&key.as_str()) {
            continue;
        }
        let mut diagnostic = Diagnostic::new(
            &diagnostic::STEP_CONFIG_UNKNOWN,
            format!("`{uses}` does not read config field `{key}`"),
        )
        .at_location(Some(resource.key_location(&config_path.key(key.clone()))))
        .label("unknown field");
        if let Some(candidate) = suggest::similar(key, kind.fields.iter().copied()) {
            diagnostic.set_help(format!("did you mean `{candidate}`?"));
        } else {
            diagnostic.set_help(format!("`{uses}` reads: {}", kind.fields.join(", ")));
        }
        out.push(diagnostic);
    }
}

// ---------------------------------------------------------------------------------------------
// Walking the template strings of a step

/// A string that may hold expressions, and where it is.
struct TemplateString<'a> {
    path: FieldPath,
    value: &'a str,
}

impl TemplateString<'_> {
    /// The location of bytes `offset..offset+len` of the string in the source.
    fn location(&self, resource: &Resource, offset: usize, len: usize) -> Location {
        super::expressions::value_location(
            resource,
            resource.span(&self.path),
            self.value,
            offset,
            len,
        )
    }
}

/// Calls `visit` for every reference in the step's config strings, var values and `if`, with
/// the (offset, length) of the reference in the string. Strings that do not parse are skipped
/// (the expression checks report them).
fn for_each_template<'s>(
    step: &'s PromotionStep,
    path: &FieldPath,
    visit: &mut dyn FnMut(TemplateString<'s>, Reference, (usize, usize)),
) {
    let mut strings: Vec<TemplateString<'s>> = Vec::new();
    if let Some(condition) = &step.condition {
        strings.push(TemplateString {
            path: path.key("if"),
            value: condition,
        });
    }
    for (i, var) in step.vars.iter().enumerate() {
        if let Some(value) = &var.value {
            strings.push(TemplateString {
                path: path.key("vars").index(i).key("value"),
                value,
            });
        }
    }
    if let Some(config) = &step.config {
        collect_strings(config, &path.key("config"), &mut strings);
    }
    for string in strings {
        let Some(found) = template::references(string.value) else {
            continue;
        };
        for located in found {
            visit(
                TemplateString {
                    path: string.path.clone(),
                    value: string.value,
                },
                located.reference,
                (located.offset, located.len),
            );
        }
    }
}

fn collect_strings<'s>(value: &'s Value, path: &FieldPath, out: &mut Vec<TemplateString<'s>>) {
    match value {
        Value::String(text) => out.push(TemplateString {
            path: path.clone(),
            value: text,
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, &path.index(i), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                collect_strings(item, &path.key(key.clone()), out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Context checks on an inflated list

struct Context<'a, 'b> {
    index: &'b Index<'a>,
    namespace_name: &'a str,
    namespace: &'b Namespace<'a>,
    /// The Stage whose promotion this is (`None` for a task nobody references).
    stage: Option<&'a Resource>,
}

impl Context<'_, '_> {
    fn check(&self, flat: &[Flat<'_>], out: &mut Vec<Diagnostic>) {
        let mut checkouts: Vec<(Vec<String>, Location)> = Vec::new();
        let mut unknown_checkout = false;
        let mut produced: Vec<Vec<String>> = Vec::new();
        for (k, current) in flat.iter().enumerate() {
            let earlier: Vec<&Flat<'_>> = flat[..k].iter().collect();
            self.expressions(current, &earlier, flat, out);
            let Some(uses) = current.step.uses.as_deref() else {
                continue;
            };
            let config = current.step.config.as_ref();
            let get = |key: &str| config.and_then(|c| c.get(key)).and_then(Value::as_str);
            let resolve = |text: &str| template::resolve(text, &current.vars);
            if steps::find(uses).is_some_and(|kind| kind.path_in_checkout)
                && let Some(path) = get("path")
                && let Some(resolved) = resolve(path)
            {
                let components = normalize(&resolved);
                let inside = checkouts
                    .iter()
                    .any(|(checkout, _)| components.starts_with(checkout))
                    || produced.iter().any(|prefix| components.starts_with(prefix));
                if !inside && !unknown_checkout {
                    out.push(self.outside_checkout(current, uses, &resolved, &checkouts));
                }
            }
            if uses == "git-clone" {
                self.git_clone(current, out);
                let items = config
                    .and_then(|c| c.get("checkout"))
                    .and_then(Value::as_array);
                for (i, item) in items.into_iter().flatten().enumerate() {
                    let Some(path) = item.get("path").and_then(Value::as_str) else {
                        continue;
                    };
                    match resolve(path) {
                        Some(resolved) => checkouts.push((
                            normalize(&resolved),
                            current.resource.location(
                                &current
                                    .path
                                    .key("config")
                                    .key("checkout")
                                    .index(i)
                                    .key("path"),
                            ),
                        )),
                        None => unknown_checkout = true,
                    }
                }
            }
            for field in steps::PRODUCED_PATH_FIELDS {
                if let Some(resolved) = get(field).and_then(&resolve) {
                    produced.push(normalize(&resolved));
                }
            }
            if uses == "file-write"
                && let Some(resolved) = get("path").and_then(resolve)
            {
                produced.push(normalize(&resolved));
            }
            if uses == "argocd-update" {
                self.argocd_update(current, out);
            }
        }
    }

    fn outside_checkout(
        &self,
        current: &Flat<'_>,
        uses: &str,
        resolved: &str,
        checkouts: &[(Vec<String>, Location)],
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(
            &diagnostic::PATH_OUTSIDE_CHECKOUT,
            format!("`{uses}` path `{resolved}` is not inside any git-clone checkout"),
        )
        .at_location(Some(
            current
                .resource
                .location(&current.path.key("config").key("path")),
        ))
        .label("the file will not be found");
        if checkouts.is_empty() {
            diagnostic.set_help("add a `git-clone` step before this one; its `checkout[].path` is where the repository's files appear");
        } else {
            let shown: Vec<String> = checkouts
                .iter()
                .map(|(components, _)| format!("./{}", components.join("/")))
                .collect();
            diagnostic.set_help(format!(
                "earlier git-clone steps check out to {}; start the path with one of them",
                shown.join(", ")
            ));
            for (_, location) in checkouts {
                diagnostic.related.push(diagnostic::Related {
                    location: location.clone(),
                    message: "checkout path".to_owned(),
                });
            }
        }
        if let Some(stage) = self
            .stage
            .filter(|stage| !std::ptr::eq(*stage, current.resource))
        {
            diagnostic.related.push(diagnostic::Related {
                location: stage.name_location(),
                message: format!("when promoting Stage `{}`", stage.name),
            });
        }
        diagnostic
    }

    fn expressions(
        &self,
        current: &Flat<'_>,
        earlier: &[&Flat<'_>],
        all: &[Flat<'_>],
        out: &mut Vec<Diagnostic>,
    ) {
        let resource = current.resource;
        let mut earlier_aliases: Vec<String> = earlier.iter().map(|f| f.alias.clone()).collect();
        // compose-output in a task also publishes its outputs under the task alias.
        for flat in earlier {
            if flat.step.uses.as_deref() == Some("compose-output")
                && let Some(task_alias) = &flat.task_alias
            {
                earlier_aliases.push(task_alias.clone());
            }
        }
        let check_output =
            |name: &str| -> bool { earlier_aliases.iter().any(|alias| alias == name) };
        let var_names: Vec<&str> = current.vars.keys().map(String::as_str).collect();
        let in_stage = self.stage.is_some();
        let mut found: Vec<Diagnostic> = Vec::new();
        for_each_template(
            current.step,
            &current.path,
            &mut |string, located, offset| match located {
                Reference::Var(name) if in_stage && !current.vars.contains_key(&name) => {
                    let mut diagnostic = Diagnostic::new(
                        &diagnostic::UNDEFINED_VAR,
                        format!("`vars.{name}` is not defined"),
                    )
                    .at_location(Some(string.location(resource, offset.0, offset.1)))
                    .label("undefined var (evaluates to nil)");
                    if let Some(candidate) = suggest::similar(&name, var_names.iter().copied()) {
                        diagnostic.set_help(format!("did you mean `vars.{candidate}`?"));
                    } else if var_names.is_empty() {
                        diagnostic.set_help(format!(
                            "define it under `vars:` (- name: {name}\n  value: ...)"
                        ));
                    } else {
                        let mut names = var_names.clone();
                        names.sort_unstable();
                        diagnostic.set_help(format!("defined vars: {}", names.join(", ")));
                    }
                    found.push(diagnostic);
                }
                Reference::Output(name) if !check_output(&name) => {
                    let runs_later = all.iter().any(|flat| flat.alias == name);
                    let namespaced = current.task_alias.is_some()
                        && all.iter().any(|f| f.alias.ends_with(&format!("::{name}")));
                    let location = string.location(resource, offset.0, offset.1);
                    found.push(unknown_output(
                        location,
                        "outputs",
                        &name,
                        &earlier_aliases,
                        runs_later,
                        namespaced,
                    ));
                }
                _ => {}
            },
        );
        // messageFromSteps names aliases too.
        if let Some(Value::Array(aliases)) = current
            .step
            .config
            .as_ref()
            .and_then(|c| c.get("messageFromSteps"))
        {
            for (i, alias) in aliases.iter().enumerate() {
                let Some(alias) = alias.as_str() else {
                    continue;
                };
                if !check_output(alias) {
                    let path = current.path.key("config").key("messageFromSteps").index(i);
                    let runs_later = all.iter().any(|flat| flat.alias == alias);
                    found.push(unknown_output(
                        resource.location(&path),
                        "messageFromSteps",
                        alias,
                        &earlier_aliases,
                        runs_later,
                        false,
                    ));
                }
            }
        }
        out.extend(found);
    }

    fn git_clone(&self, current: &Flat<'_>, out: &mut Vec<Diagnostic>) {
        let Some(repo) = current
            .step
            .config
            .as_ref()
            .and_then(|c| c.get("repoURL"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let Some(resolved) = template::resolve(repo, &current.vars) else {
            return;
        };
        if !(resolved.starts_with("https://") || resolved.starts_with("http://")) {
            return;
        }
        let location = current
            .resource
            .location(&current.path.key("config").key("repoURL"));
        if redact::has_credentials(&resolved) {
            out.push(
                Diagnostic::new(&diagnostic::TOKEN_IN_URL, format!("a credential is written inside the repository URL `{}`", redact::url(&resolved)))
                    .at_location(Some(location))
                    .label("token in URL")
                    .help("it is copied into every Promotion and can leak through logs; put it in a Secret labelled `kargo.akuity.io/cred-type: git` with keys repoURL, username and password"),
            );
            return;
        }
        if self.has_git_credentials(&resolved) {
            return;
        }
        out.push(
            Diagnostic::new(
                &diagnostic::GIT_NO_CREDENTIALS,
                format!("no git credentials for `{resolved}` in namespace `{}`: cloning a private repository or pushing will fail", self.namespace_name),
            )
            .at_location(Some(location))
            .label("no credential Secret matches")
            .help(format!(
                "add a Secret in namespace `{}`:\n\napiVersion: v1\nkind: Secret\nmetadata:\n  name: gitops-repo\n  namespace: {}\n  labels:\n    kargo.akuity.io/cred-type: git\nstringData:\n  repoURL: {resolved}\n  username: <user>\n  password: <token>",
                self.namespace_name, self.namespace_name
            )),
        );
    }

    fn has_git_credentials(&self, repo: &str) -> bool {
        let wanted = url::normalize_git(repo);
        self.namespace.secrets.iter().any(|(_, secret)| {
            if secret
                .metadata
                .labels
                .get(kargo::LABEL_CRED_TYPE)
                .map(String::as_str)
                != Some("git")
            {
                return false;
            }
            let is_regex = secret.value("repoURLIsRegex").is_some_and(|v| v == "true");
            if let Some(pattern) = secret.value("repoURLPattern") {
                return regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(repo));
            }
            match secret.value("repoURL") {
                Some(url) if is_regex => regex::Regex::new(&url).is_ok_and(|re| re.is_match(repo)),
                Some(url) => url::normalize_git(&url) == wanted,
                None => false,
            }
        })
    }

    fn argocd_update(&self, current: &Flat<'_>, out: &mut Vec<Diagnostic>) {
        let Some(stage) = self.stage else {
            return;
        };
        let apps = current
            .step
            .config
            .as_ref()
            .and_then(|c| c.get("apps"))
            .and_then(Value::as_array);
        for (i, app) in apps.into_iter().flatten().enumerate() {
            let Some(name) = app
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| template::resolve(n, &current.vars))
            else {
                continue;
            };
            let namespace = match app.get("namespace").and_then(Value::as_str) {
                Some(ns) => match template::resolve(ns, &current.vars) {
                    Some(ns) => ns,
                    None => continue,
                },
                None => "argocd".to_owned(),
            };
            let Some((app_resource, application)) = self
                .index
                .namespace(&namespace)
                .and_then(|ns| ns.applications.get(name.as_str()).copied())
            else {
                continue;
            };
            let wanted = format!("{}:{}", self.namespace_name, stage.name);
            let annotation = application
                .metadata
                .annotations
                .get(kargo::ANNOTATION_AUTHORIZED_STAGE);
            let problem = match annotation {
                None => Some(format!(
                    "Argo CD Application `{namespace}/{name}` does not allow Stage `{wanted}` to update it: it has no `{}` annotation",
                    kargo::ANNOTATION_AUTHORIZED_STAGE
                )),
                Some(value) if value.contains('*') => Some(format!(
                    "Argo CD Application `{namespace}/{name}` uses a glob in `{}`, which is no longer supported",
                    kargo::ANNOTATION_AUTHORIZED_STAGE
                )),
                Some(value) => {
                    let entries: Vec<&str> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|e| !e.is_empty())
                        .collect();
                    let malformed = entries.iter().find(|entry| {
                        entry
                            .split_once(':')
                            .is_none_or(|(p, s)| p.trim().is_empty() || s.trim().is_empty())
                    });
                    if let Some(entry) = malformed {
                        Some(format!(
                            "Argo CD Application `{namespace}/{name}`: authorized Stage `{entry}` is not in the form <project>:<stage>"
                        ))
                    } else if entries.iter().any(|entry| {
                        entry.split_once(':').is_some_and(|(p, s)| {
                            p.trim() == self.namespace_name && s.trim() == stage.name
                        })
                    }) {
                        None
                    } else {
                        Some(format!(
                            "Argo CD Application `{namespace}/{name}` authorizes `{value}`, not Stage `{wanted}`"
                        ))
                    }
                }
            };
            let Some(message) = problem else { continue };
            let mut diagnostic = Diagnostic::new(&diagnostic::ARGOCD_UNAUTHORIZED, message)
                .at_location(Some(current.resource.location(
                    &current.path.key("config").key("apps").index(i).key("name"),
                )))
                .label("argocd-update will be refused")
                .related(app_resource.name_location(), "Application defined here")
                .help(format!(
                    "add to the Application's metadata:\n\n  annotations:\n    {}: {wanted}",
                    kargo::ANNOTATION_AUTHORIZED_STAGE
                ));
            if !std::ptr::eq(stage, current.resource) {
                diagnostic.related.push(diagnostic::Related {
                    location: stage.name_location(),
                    message: format!("when promoting Stage `{}`", stage.name),
                });
            }
            out.push(diagnostic);
        }
    }
}

/// Path components, normalised lexically (`./a//b/../c` → `a/c`).
fn normalize(path: &str) -> Vec<String> {
    let mut components: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            other => components.push(other.to_owned()),
        }
    }
    components
}
