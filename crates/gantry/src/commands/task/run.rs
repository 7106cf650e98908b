//! `gantry task run -f FILE... --stage NAME [--freight ID|FILE] [--var k=v]... [--dry-run]`:
//! a Stage's whole promotion, run locally from manifests, resumable.
//!
//! State is saved after every step change to `<data-dir>/promotions/<name>.json`; running again
//! with `--promotion <name>` resumes where it stopped (finished steps are not run again). The
//! work dir `<data-dir>/work/<name>` is removed when the promotion ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use gantry_api::diagnostic::Severity;
use gantry_api::kargo::{ExpressionVariable, Freight};
use gantry_api::resource::Object;
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::credentials::CredentialStore;
use gantry_engine::name::{promotion_name, ulid};
use gantry_engine::{
    Event, FreightReference, Next, Orchestrator, Phase, PromotionContext, PromotionStatus, Step,
    StepStatus, SystemClock, Var, inflate,
};
use serde::{Deserialize, Serialize};

use crate::cli::TaskRunArgs;
use crate::commands::ExitStatus;
use crate::commands::step::run::{build_registry, load_freight_file};
use crate::output;

/// Everything needed to resume a promotion, saved after every change.
#[derive(Serialize, Deserialize)]
struct Saved {
    context: PromotionContext,
    vars: Vec<Var>,
    steps: Vec<Step>,
    freight: Vec<Freight>,
    status: PromotionStatus,
}

pub(crate) fn data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("gantry");
    }
    std::env::var_os("HOME").map_or_else(
        || PathBuf::from(".gantry"),
        |home| PathBuf::from(home).join(".local/share/gantry"),
    )
}

/// Replaces `path` atomically (write, then rename): a killed process leaves either the old or
/// the new state, never half of one. No fsync: this guards against process crashes, which is
/// what resuming is for; surviving power loss would cost a disk flush per step.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    fs_err::write(&tmp, bytes)?;
    fs_err::rename(&tmp, path)
}

fn parse_var(text: &str) -> anyhow::Result<ExpressionVariable> {
    let Some((name, value)) = text.split_once('=') else {
        bail!("--var {text:?} must be NAME=VALUE");
    };
    Ok(ExpressionVariable {
        name: name.to_owned(),
        value: Some(value.to_owned()),
    })
}

pub(crate) fn credentials(
    set: &ResourceSet,
    err: &mut dyn Write,
) -> anyhow::Result<CredentialStore> {
    let (store, problems) = gantry_steps::resources::credentials(set, None);
    for problem in problems {
        writeln!(err, "warning: {problem}")?;
    }
    Ok(store)
}

/// Picks the Freight to promote: `--freight` (a file, or the name or alias of a Freight among the
/// manifests), else the only Freight among the manifests for each requested origin.
fn select_freight(
    args: &TaskRunArgs,
    set: &ResourceSet,
    namespace: &str,
    origins: &[String],
) -> anyhow::Result<Vec<Freight>> {
    let loaded: Vec<&Freight> = set
        .resources
        .iter()
        .filter(|r| r.namespace.as_deref() == Some(namespace))
        .filter_map(|r| match &r.object {
            Object::Freight(freight) => Some(freight),
            _ => None,
        })
        .collect();
    let mut chosen: Vec<Freight> = Vec::new();
    for spec in &args.freight {
        let path = Path::new(spec);
        if path.is_file() {
            chosen.extend(load_freight_file(path)?);
            continue;
        }
        let found = loaded.iter().find(|f| {
            f.metadata.name.as_deref() == Some(spec.as_str()) || f.alias.as_deref() == Some(spec)
        });
        match found {
            Some(freight) => chosen.push((*freight).clone()),
            None => bail!(
                "--freight {spec:?} is neither a file nor the name or alias of a Freight among the manifests"
            ),
        }
    }
    if chosen.is_empty() {
        for origin in origins {
            let candidates: Vec<&&Freight> =
                loaded.iter().filter(|f| &f.origin.name == origin).collect();
            match candidates.as_slice() {
                [one] => chosen.push((**one).clone()),
                [] => bail!(
                    "no Freight for origin Warehouse/{origin}; pass --freight FILE (a Freight manifest) or the name of a Freight among the manifests"
                ),
                _ => bail!(
                    "{} Freight for origin Warehouse/{origin} among the manifests; choose one with --freight NAME",
                    candidates.len()
                ),
            }
        }
    }
    for freight in &mut chosen {
        let id = gantry_core::freight::freight_id(freight);
        if freight.metadata.name.as_deref().is_none_or(str::is_empty) {
            freight.metadata.name = Some(id);
        }
    }
    if chosen.is_empty() {
        bail!("the Stage requests no Freight; pass --freight FILE");
    }
    Ok(chosen)
}

pub(crate) fn run(args: &TaskRunArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let set = ResourceSet::load_paths(
        &args.files,
        LoadOptions {
            default_namespace: args.namespace.clone(),
        },
    );
    let report = gantry_core::lint::validate(&set);
    if report.has_errors() {
        for diagnostic in report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            write!(err, "{}", output::human(diagnostic, color))?;
        }
        writeln!(
            err,
            "error: the manifests have {} error(s); fix them (see `gantry validate`) before running a promotion",
            report.count(Severity::Error)
        )?;
        return Ok(ExitStatus::Failure);
    }
    let data_dir = data_dir(args.data_dir.as_deref());
    let promotions_dir = data_dir.join("promotions");
    fs_err::create_dir_all(&promotions_dir)?;

    let saved = match &args.promotion {
        Some(name) if promotions_dir.join(format!("{name}.json")).exists() => {
            let text = fs_err::read_to_string(promotions_dir.join(format!("{name}.json")))?;
            let saved: Saved = serde_json::from_str(&text)
                .with_context(|| format!("reading the saved state of promotion {name}"))?;
            writeln!(
                err,
                "resuming promotion {name} at step {}",
                saved.status.current_step + 1
            )?;
            saved
        }
        _ => match new_promotion(args, &set, &mut err)? {
            Some(saved) => saved,
            None => return Ok(ExitStatus::Failure),
        },
    };
    execute(args, &set, &data_dir, saved, &mut err)
}

fn new_promotion(
    args: &TaskRunArgs,
    set: &ResourceSet,
    err: &mut dyn Write,
) -> anyhow::Result<Option<Saved>> {
    let stages: Vec<_> = set
        .resources
        .iter()
        .filter_map(|r| match &r.object {
            Object::Stage(stage) if r.name == args.stage => Some((r, stage)),
            _ => None,
        })
        .collect();
    let (resource, stage) = match stages.as_slice() {
        [one] => *one,
        [] => {
            let names: Vec<&str> = set
                .resources
                .iter()
                .filter(|r| matches!(r.object, Object::Stage(_)))
                .map(|r| r.name.as_str())
                .collect();
            writeln!(
                err,
                "error: no Stage named {:?} in the manifests",
                args.stage
            )?;
            if let Some(similar) = gantry_api::suggest::similar(&args.stage, names.iter().copied())
            {
                writeln!(err, "hint: did you mean {similar:?}?")?;
            } else if !names.is_empty() {
                writeln!(err, "hint: Stages found: {}", names.join(", "))?;
            }
            return Ok(None);
        }
        _ => {
            writeln!(
                err,
                "error: several Stages are named {:?}; pass -n NAMESPACE",
                args.stage
            )?;
            return Ok(None);
        }
    };
    let namespace = resource.namespace.clone().unwrap_or_default();
    let Some(template) = &stage.spec.promotion_template else {
        writeln!(
            err,
            "error: Stage {} has no promotionTemplate: it has nothing to run",
            resource.name
        )?;
        return Ok(None);
    };
    let mut promotion_vars = stage.spec.vars.clone();
    promotion_vars.extend(template.spec.vars.iter().cloned());
    for var in &args.vars {
        promotion_vars.push(parse_var(var)?);
    }
    let tasks = gantry_steps::resources::Tasks {
        namespace: &namespace,
        set,
    };
    let steps = match inflate(&promotion_vars, &template.spec.steps, &tasks) {
        Ok(steps) => steps,
        Err(error) => {
            writeln!(err, "error: Stage {}: {error}", resource.name)?;
            return Ok(None);
        }
    };
    let origins: Vec<String> = stage
        .spec
        .requested_freight
        .iter()
        .map(|r| r.origin.name.clone())
        .collect();
    let freight = select_freight(args, set, &namespace, &origins)?;
    let target = &freight[0];
    let target_name = target.metadata.name.clone().unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let random = (u128::from(std::process::id()) << 64)
        | (u128::from(now.subsec_nanos()) << 32)
        | u128::from(std::hash::BuildHasher::hash_one(
            &std::collections::hash_map::RandomState::new(),
            now,
        ));
    let name = args.promotion.clone().unwrap_or_else(|| {
        promotion_name(
            &resource.name,
            &ulid(u64::try_from(now.as_millis()).unwrap_or(u64::MAX), random),
            &target_name,
        )
    });
    let context = PromotionContext {
        project: namespace,
        stage: resource.name.clone(),
        promotion: name,
        target_freight: FreightReference {
            name: target_name,
            alias: target.alias.clone(),
            origin: target.origin.clone(),
        },
        actor: std::env::var("USER").ok().map(|u| format!("local:{u}")),
        rollback: false,
        ui_base_url: String::new(),
    };
    Ok(Some(Saved {
        context,
        vars: gantry_engine::inflate::vars(&promotion_vars),
        steps,
        freight,
        status: PromotionStatus::default(),
    }))
}

fn execute(
    args: &TaskRunArgs,
    set: &ResourceSet,
    data_dir: &Path,
    mut saved: Saved,
    err: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let name = saved.context.promotion.clone();
    let state_path = data_dir.join("promotions").join(format!("{name}.json"));
    let work_dir = data_dir.join("work").join(&name);
    writeln!(
        err,
        "promotion {name}: Freight {} to Stage {}/{} ({} steps){}",
        &saved
            .context
            .target_freight
            .name
            .get(..7)
            .unwrap_or_default(),
        saved.context.project,
        saved.context.stage,
        saved.steps.len(),
        if args.dry_run {
            ", dry run: nothing is pushed"
        } else {
            ""
        }
    )?;
    let mut data = gantry_steps::resources::promotion_data(set, &saved.context.project);
    data.freight.clone_from(&saved.freight);
    if let Some(stage) = set.resources.iter().find_map(|r| match &r.object {
        Object::Stage(stage) if r.name == saved.context.stage => Some(stage),
        _ => None,
    }) {
        data.requested_freight
            .clone_from(&stage.spec.requested_freight);
    }
    let credentials = credentials(set, err)?;
    let registry = build_registry(
        data_dir,
        &work_dir,
        credentials,
        args.dry_run,
        args.skip.clone(),
    )?;
    let clock = SystemClock;
    let orchestrator = Orchestrator::new(
        &saved.steps,
        &saved.vars,
        &saved.context,
        &data,
        &registry,
        &clock,
    );
    let abort_after = std::env::var("GANTRY_DEBUG_ABORT_AFTER_STEP").ok();
    let mut status = std::mem::take(&mut saved.status);
    let started = Instant::now();
    let mut step_started = Instant::now();
    loop {
        let mut observer = |event: &Event<'_>, status: &PromotionStatus| -> Result<(), String> {
            let snapshot = Saved {
                context: saved.context.clone(),
                vars: saved.vars.clone(),
                steps: saved.steps.clone(),
                freight: saved.freight.clone(),
                status: status.clone(),
            };
            let bytes = serde_json::to_vec_pretty(&snapshot).map_err(|e| e.to_string())?;
            write_atomic(&state_path, &bytes).map_err(|e| e.to_string())?;
            let line = match event {
                Event::StepStarted { alias, kind } => {
                    step_started = Instant::now();
                    format!("  ▸ {alias} ({kind})")
                }
                Event::StepWaiting { alias, message } => {
                    format!("  … {alias}: {}", message.unwrap_or("waiting"))
                }
                Event::StepFinished {
                    alias,
                    status,
                    message,
                } => {
                    let mark = match status {
                        StepStatus::Succeeded => "✓",
                        StepStatus::Skipped => "–",
                        _ => "✗",
                    };
                    let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
                    format!(
                        "  {mark} {alias} {status} in {:.2}s{detail}",
                        step_started.elapsed().as_secs_f64()
                    )
                }
                Event::Finished { phase } => format!(
                    "promotion {phase} in {:.2}s",
                    started.elapsed().as_secs_f64()
                ),
            };
            let _ = writeln!(std::io::stderr(), "{line}");
            if let (Event::StepFinished { alias, .. }, Some(target)) = (event, &abort_after)
                && alias == target
            {
                std::process::abort();
            }
            Ok(())
        };
        match orchestrator.run(&mut status, &mut observer) {
            Ok(Next::Done) => break,
            Ok(Next::RetryAfter(wait)) => {
                writeln!(
                    err,
                    "  waiting {:.1}s before looking again",
                    wait.as_secs_f64()
                )?;
                std::thread::sleep(wait);
            }
            Err(error) => {
                bail!("{error}; the promotion can be resumed with --promotion {name}");
            }
        }
    }
    if status.phase.is_terminal()
        && let Err(error) = registry.services().cleanup()
    {
        writeln!(
            err,
            "warning: could not remove the work dir {}: {error}",
            work_dir.display()
        )?;
    }
    // Dry-run diffs and a final summary go to stdout.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (alias, value) in &status.state {
        if let Some(diff) = value.get("diff").and_then(|d| d.as_str()) {
            writeln!(out, "# {alias}: diff that would be pushed")?;
            write!(out, "{diff}")?;
        }
    }
    if args.output_json {
        let summary = serde_json::json!({
            "promotion": name,
            "phase": status.phase,
            "message": status.message,
            "steps": status.step_execution_metadata,
            "state": status.state,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    }
    if status.phase == Phase::Succeeded {
        Ok(ExitStatus::Success)
    } else {
        if let Some(message) = &status.message {
            writeln!(err, "error: {message}")?;
        }
        Ok(ExitStatus::Failure)
    }
}
