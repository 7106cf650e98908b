//! `gantry explain stage S`: in plain words, why the newest Freight is or is not in a Stage
//! (from the server's own rules: policies, availability upstream, soak time, the queue, holds,
//! failed auto-promotions, verification).

use std::fmt::Write as _;

use serde_json::Value;

use super::{Output, run_remote, segment, text};
use crate::cli::NamedArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: &NamedArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let value = client.get(&format!(
            "/projects/{project}/stages/{}/explain",
            segment(&args.name)
        ))?;
        let table = explanation(&value);
        Ok(Output { value, table })
    })
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The explanation as text.
pub(crate) fn explanation(value: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Stage {} (project {})",
        text(value, "/stage"),
        text(value, "/project")
    );
    let flag = |key: &str| value.get(key) == Some(&Value::Bool(true));
    let mut facts = vec![if flag("autoPromotion") {
        "auto-promotion on"
    } else {
        "auto-promotion off"
    }];
    if flag("controlFlow") {
        facts.push("control-flow stage (no steps)");
    }
    let _ = writeln!(out, "  {}", facts.join("; "));
    let current = strings(value, "current");
    let _ = writeln!(
        out,
        "  holds: {}",
        if current.is_empty() {
            "nothing yet".to_owned()
        } else {
            current.join(", ")
        }
    );
    let verification = text(value, "/verification");
    if !verification.is_empty() {
        let _ = writeln!(out, "  verification: {verification}");
    }
    for queued in strings(value, "queue") {
        let _ = writeln!(out, "  queued: {queued}");
    }
    for hold in strings(value, "holds") {
        let _ = writeln!(out, "  auto-promotion hold: {hold}");
    }
    for origin in value
        .get("origins")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let newest = text(origin, "/newest");
        let _ = writeln!(
            out,
            "{}: newest freight {}",
            text(origin, "/origin"),
            if newest.is_empty() {
                "none yet".to_owned()
            } else {
                newest
            }
        );
        let _ = writeln!(out, "  {}", text(origin, "/reason"));
    }
    out
}
