//! `gantry semver parse [--strict] VERSION`: prints the normalised version (`v1.2` → `1.2.0`),
//! or fails.

use std::io::Write;

use anyhow::Context;
use gantry_api::semver::Version;

use crate::cli::SemverParseArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: &SemverParseArgs) -> anyhow::Result<ExitStatus> {
    match Version::parse_tag(&args.version, args.strict) {
        Ok(version) => {
            let stdout = std::io::stdout();
            writeln!(stdout.lock(), "{version}").context("writing the version")?;
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            if args.strict && Version::parse(&args.version).is_ok() {
                eprintln!(
                    "error: `{}` is not a strict semantic version ({error}); strictSemvers allows one leading `v`, then exactly MAJOR.MINOR.PATCH without leading zeros",
                    args.version
                );
            } else {
                eprintln!(
                    "error: `{}` is not a semantic version: {error}",
                    args.version
                );
            }
            Ok(ExitStatus::Failure)
        }
    }
}
