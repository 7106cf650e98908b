//! `gantry validate PATH...`: load a pipeline and report every finding.

use std::io::Write;

use anyhow::Context;
use gantry_api::diagnostic::{CHECKS, Severity};
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
    let report = lint::validate(&set);
    match args.format {
        Format::Json => {
            let list = output::json(&report.diagnostics);
            serde_json::to_writer_pretty(&mut out, &list).context("writing JSON")?;
            writeln!(out)?;
        }
        Format::Human => {
            for diagnostic in &report.diagnostics {
                write!(out, "{}", output::human(diagnostic, color))?;
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
