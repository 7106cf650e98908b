//! `gantry select-tags --strategy SemVer|Lexical [--constraint C] [--strict-semvers BOOL]
//! [--allow-regex R]... [--ignore-regex R]... [--limit N]`: tags on stdin, one per line; the
//! tags a Warehouse subscription with these settings would pick, best first, on stdout.

use std::io::{BufRead, Write};

use anyhow::Context;
use gantry_core::selection::{SelectionError, SemverRule, TagFilter, TagOrder, TagSelector};

use crate::cli::{SelectTagsArgs, TagStrategy};
use crate::commands::ExitStatus;

pub(crate) fn run(args: &SelectTagsArgs) -> anyhow::Result<ExitStatus> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let selector = match selector(args, &mut err)? {
        Ok(selector) => selector,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(ExitStatus::Failure);
        }
    };
    let mut tags = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading tags from standard input")?;
        let tag = line.trim();
        if !tag.is_empty() {
            tags.push(tag.to_owned());
        }
    }
    let selected = selector.select(&tags);
    let limit = args
        .limit
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for tag in selected.into_iter().take(limit) {
        writeln!(out, "{tag}").context("writing the selected tags")?;
    }
    Ok(ExitStatus::Success)
}

/// The selector, or a message for the user when a regex or the constraint is invalid.
fn selector(
    args: &SelectTagsArgs,
    err: &mut impl Write,
) -> anyhow::Result<Result<TagSelector, String>> {
    let filter = match TagFilter::new(&args.allow_regexes, &args.ignore_regexes) {
        Ok(filter) => filter,
        Err(SelectionError::InvalidRegex {
            field,
            pattern,
            source,
            ..
        }) => {
            let flag = if field == "ignoreTagsRegexes" {
                "--ignore-regex"
            } else {
                "--allow-regex"
            };
            let reason = source.to_string();
            let reason = reason.lines().last().unwrap_or_default().trim();
            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
            return Ok(Err(format!("invalid {flag} `{pattern}`: {reason}")));
        }
        Err(other) => return Ok(Err(other.to_string())),
    };
    let order = match args.strategy {
        TagStrategy::Lexical => {
            if args.constraint.as_deref().is_some_and(|c| !c.is_empty()) {
                writeln!(
                    err,
                    "warning: --constraint is ignored by the Lexical strategy (as in Kargo)"
                )?;
            }
            TagOrder::Lexical
        }
        TagStrategy::SemVer => {
            match SemverRule::from_field(
                "constraint",
                args.constraint.as_deref(),
                args.strict_semvers,
            ) {
                Ok(rule) => TagOrder::SemVer(rule),
                Err(SelectionError::InvalidConstraint { source, .. }) => {
                    return Ok(Err(format!(
                        "--constraint `{}`: {source}",
                        args.constraint.as_deref().unwrap_or_default()
                    )));
                }
                Err(other) => return Ok(Err(other.to_string())),
            }
        }
    };
    Ok(Ok(TagSelector { filter, order }))
}
