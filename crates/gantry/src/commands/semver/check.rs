//! `gantry semver check --constraint C VERSION`: prints `true` or `false`.

use std::io::Write;

use anyhow::Context;
use gantry_api::semver::{Constraint, Version};

use crate::cli::SemverCheckArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: &SemverCheckArgs) -> anyhow::Result<ExitStatus> {
    let constraint = match Constraint::parse(&args.constraint) {
        Ok(constraint) => constraint,
        Err(error) => {
            eprintln!("error: --constraint `{}`: {error}", args.constraint);
            return Ok(ExitStatus::Failure);
        }
    };
    let version = match Version::parse(&args.version) {
        Ok(version) => version,
        Err(error) => {
            eprintln!(
                "error: `{}` is not a semantic version: {error}",
                args.version
            );
            return Ok(ExitStatus::Failure);
        }
    };
    let stdout = std::io::stdout();
    writeln!(stdout.lock(), "{}", constraint.matches(&version)).context("writing the result")?;
    Ok(ExitStatus::Success)
}
