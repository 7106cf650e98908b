//! `gantry validate PATH...`: load a pipeline and report every finding.

use std::io::Write;

use anyhow::Context;
use std::collections::BTreeMap;

use gantry_api::diagnostic::{CHECKS, NOT_A_RESOURCE, Severity, UNKNOWN_KIND};
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::lint;

use super::ExitStatus;
use crate::cli::{Format, ValidateArgs};
use crate::output;

pub(crate) fn run(args: &ValidateArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.list_checks {
        for check in CHECKS {
            writeln!(
                out,
                "{}  {:<8} {:<26} {}",
                check.code,
                check.severity.as_str(),
                check.name,
                check.summary
            )?;
        }
        return Ok(ExitStatus::Success);
    }
    let options = LoadOptions {
        default_namespace: args.namespace.clone(),
    };
    let set = ResourceSet::load_paths(&args.paths, options);
    let mut report = lint::validate(&set);
    report.diagnostics.extend(gantry_graph::lint::check(&set));
    gantry_api::diagnostic::sort_and_dedup(&mut report.diagnostics);
    match args.format {
        Format::Json => {
            let list = output::json(&report.diagnostics);
            serde_json::to_writer_pretty(&mut out, &list).context("writing JSON")?;
            writeln!(out)?;
        }
        Format::Human => {
            let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
            for diagnostic in &report.diagnostics {
                let is_skip = [NOT_A_RESOURCE.code, UNKNOWN_KIND.code].contains(&diagnostic.code());
                if is_skip && !args.show_skipped {
                    continue;
                }
                write!(out, "{}", output::human(diagnostic, color))?;
            }
            if !args.show_skipped {
                for item in &set.skipped {
                    *skipped.entry(item.kind.clone()).or_default() += 1;
                }
                let not_resources = report
                    .diagnostics
                    .iter()
                    .filter(|d| d.code() == NOT_A_RESOURCE.code)
                    .count();
                if not_resources > 0 {
                    skipped.insert("non-resource documents".to_owned(), not_resources);
                }
                if !skipped.is_empty() {
                    let list: Vec<String> = skipped
                        .iter()
                        .map(|(kind, n)| format!("{kind} ×{n}"))
                        .collect();
                    writeln!(
                        out,
                        "skipped (not read by gantry): {}; --show-skipped lists them",
                        list.join(", ")
                    )?;
                }
            }
            writeln!(
                out,
                "{}",
                output::summary(
                    report.count(Severity::Error),
                    report.count(Severity::Warning),
                    report.count(Severity::Note),
                    set.resources.len(),
                    set.files.len(),
                )
            )?;
        }
    }
    out.flush()?;
    Ok(if report.has_errors() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
