//! `gantry describe stage|freight|promotion|warehouse NAME`: one resource as `Key: value`
//! lines with indented sections, like `kubectl describe` (or the API's JSON/YAML with `-o`).

use std::fmt::Write as _;

use serde_json::Value;

use super::{
    Client, Output, RemoteError, age, artifacts, freight_label, run_remote, segment, short, table,
    text,
};
use crate::cli::{DescribeArgs, DescribeKind};
use crate::commands::ExitStatus;

pub(crate) fn run(args: &DescribeArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| describe(client, args))
}

fn describe(client: &Client, args: &DescribeArgs) -> Result<Output, RemoteError> {
    let base = format!("/projects/{}", segment(&client.project(&args.server)?));
    let name = segment(&args.name);
    let (value, table) = match args.kind {
        DescribeKind::Stage => {
            let stage = client.get(&format!("{base}/stages/{name}"))?;
            let history = client.get(&format!("{base}/stages/{name}/history"))?;
            let text = stage_text(&stage, &history);
            (stage, text)
        }
        DescribeKind::Freight => {
            let freight = client.get(&format!("{base}/freight/{name}"))?;
            let text = freight_text(&freight);
            (freight, text)
        }
        DescribeKind::Promotion => {
            let promotion = client.get(&format!("{base}/promotions/{name}"))?;
            let text = promotion_text(&promotion);
            (promotion, text)
        }
        DescribeKind::Warehouse => {
            let warehouse = client.get(&format!("{base}/warehouses/{name}"))?;
            let text = warehouse_text(&warehouse);
            (warehouse, text)
        }
    };
    Ok(Output { value, table })
}

/// `Key:` padded to a common width, then the value (`<none>` when empty).
fn field(out: &mut String, key: &str, value: &str) {
    let value = if value.is_empty() { "<none>" } else { value };
    let _ = writeln!(out, "{:<20}{value}", format!("{key}:"));
}

/// A section of indented lines.
fn section(out: &mut String, title: &str, body: &str) {
    let _ = writeln!(out, "{title}:");
    if body.trim().is_empty() {
        out.push_str("  <none>\n");
        return;
    }
    for line in body.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

fn stage_text(stage: &Value, history: &Value) -> String {
    let mut out = String::new();
    field(&mut out, "Name", &text(stage, "/name"));
    field(&mut out, "Project", &text(stage, "/project"));
    let kind = if stage.get("controlFlow") == Some(&Value::Bool(true)) {
        "control-flow (no steps: freight passes through)"
    } else {
        "promotion steps"
    };
    field(&mut out, "Kind", kind);
    let auto = match stage.pointer("/status/autoPromotionEnabled") {
        Some(Value::Bool(true)) => "on",
        _ => "off",
    };
    field(&mut out, "Auto-promotion", auto);
    let current: Vec<String> = stage
        .get("currentFreight")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|f| format!("{} {}", freight_label(f), artifacts(f)))
                .collect()
        })
        .unwrap_or_default();
    field(&mut out, "Current freight", &current.join("; "));
    field(
        &mut out,
        "Freight summary",
        &text(stage, "/status/freightSummary"),
    );
    let ready = stage
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|list| list.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            let reason = text(c, "/reason");
            if reason.is_empty() {
                text(c, "/status")
            } else {
                format!("{} ({reason})", text(c, "/status"))
            }
        })
        .unwrap_or_default();
    field(&mut out, "Ready", &ready);
    let mut health = text(stage, "/status/health/status");
    if let Some(issues) = stage
        .pointer("/status/health/issues")
        .and_then(Value::as_array)
        .filter(|issues| !issues.is_empty())
    {
        let issues: Vec<&str> = issues.iter().filter_map(Value::as_str).collect();
        let _ = write!(health, ": {}", issues.join("; "));
    }
    field(&mut out, "Health", &health);
    let verification = stage
        .pointer("/status/freightHistory/0/verificationHistory/0/phase")
        .and_then(Value::as_str)
        .unwrap_or_default();
    field(&mut out, "Verification", verification);
    let promotion = |pointer: &str| {
        stage.pointer(pointer).filter(|p| !p.is_null()).map(|p| {
            let phase = text(p, "/status/phase");
            if phase.is_empty() {
                text(p, "/name")
            } else {
                format!("{} ({phase})", text(p, "/name"))
            }
        })
    };
    field(
        &mut out,
        "Current promotion",
        &promotion("/status/currentPromotion").unwrap_or_default(),
    );
    field(
        &mut out,
        "Last promotion",
        &promotion("/status/lastPromotion").unwrap_or_default(),
    );
    let requested: Vec<Vec<String>> = stage
        .pointer("/spec/requestedFreight")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|request| {
                    let mut sources = Vec::new();
                    if request.pointer("/sources/direct") == Some(&Value::Bool(true)) {
                        sources.push("direct".to_owned());
                    }
                    if let Some(upstream) =
                        request.pointer("/sources/stages").and_then(Value::as_array)
                    {
                        sources.extend(
                            upstream
                                .iter()
                                .filter_map(Value::as_str)
                                .map(|s| format!("after {s}")),
                        );
                    }
                    vec![
                        format!(
                            "{}/{}",
                            text(request, "/origin/kind"),
                            text(request, "/origin/name")
                        ),
                        sources.join(", "),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    section(
        &mut out,
        "Requested freight",
        &table(&["ORIGIN", "SOURCES"], &requested),
    );
    section(&mut out, "Conditions", &conditions_table(stage));
    section(&mut out, "History", &history_table(history));
    out
}

/// `status.conditions` as a table.
fn conditions_table(resource: &Value) -> String {
    let rows: Vec<Vec<String>> = resource
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|conditions| {
            conditions
                .iter()
                .map(|c| {
                    vec![
                        text(c, "/type"),
                        text(c, "/status"),
                        text(c, "/reason"),
                        text(c, "/message"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(&["TYPE", "STATUS", "REASON", "MESSAGE"], &rows)
}

/// A Stage's history as a table (also `gantry history stage`).
pub(crate) fn history_table(history: &Value) -> String {
    let mut rows = Vec::new();
    for entry in super::items(history) {
        let current = if entry.get("current") == Some(&Value::Bool(true)) {
            "*"
        } else {
            ""
        };
        for item in entry
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // Several steps report the same commit (git-commit, then git-push).
            let mut commits: Vec<String> = Vec::new();
            for commit in item
                .get("gitCommits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = short(&text(commit, "/commit"));
                if !commits.contains(&id) {
                    commits.push(id);
                }
            }
            rows.push(vec![
                current.to_owned(),
                text(item, "/alias"),
                short(&text(item, "/freight")),
                artifacts(item),
                text(item, "/promotion"),
                age(&text(item, "/promotedAt")),
                commits.join(","),
            ]);
        }
    }
    let text = table(
        &[
            "",
            "ALIAS",
            "FREIGHT",
            "ARTIFACTS",
            "PROMOTION",
            "AGE",
            "COMMITS",
        ],
        &rows,
    );
    // An empty "current" column reads better as blank than as <none>.
    let mut out = String::new();
    for line in text.lines() {
        let line = line.strip_prefix("<none>").map_or_else(
            || line.to_owned(),
            |rest| format!("{}{rest}", " ".repeat("<none>".len())),
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn freight_text(freight: &Value) -> String {
    let mut out = String::new();
    field(&mut out, "Name", &text(freight, "/metadata/name"));
    field(&mut out, "Alias", &text(freight, "/alias"));
    field(&mut out, "Project", &text(freight, "/metadata/namespace"));
    field(
        &mut out,
        "Origin",
        &format!(
            "{}/{}",
            text(freight, "/origin/kind"),
            text(freight, "/origin/name")
        ),
    );
    field(
        &mut out,
        "Created",
        &text(freight, "/metadata/creationTimestamp"),
    );
    let mut rows = Vec::new();
    let list = |key: &str| {
        freight
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for image in list("images") {
        rows.push(vec![
            "image".to_owned(),
            text(&image, "/repoURL"),
            text(&image, "/tag"),
            text(&image, "/digest"),
        ]);
    }
    for commit in list("commits") {
        rows.push(vec![
            "git".to_owned(),
            text(&commit, "/repoURL"),
            text(&commit, "/tag"),
            text(&commit, "/id"),
        ]);
    }
    for chart in list("charts") {
        rows.push(vec![
            "chart".to_owned(),
            format!("{} {}", text(&chart, "/repoURL"), text(&chart, "/name")),
            text(&chart, "/version"),
            String::new(),
        ]);
    }
    section(
        &mut out,
        "Artifacts",
        &table(&["KIND", "REPOSITORY", "TAG", "ID"], &rows),
    );
    let keys = |pointer: &str| {
        freight
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|map| map.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    field(&mut out, "Currently in", &keys("/status/currentlyIn"));
    field(&mut out, "Verified in", &keys("/status/verifiedIn"));
    field(&mut out, "Approved for", &keys("/status/approvedFor"));
    out
}

fn promotion_text(promotion: &Value) -> String {
    let mut out = String::new();
    field(&mut out, "Name", &text(promotion, "/name"));
    field(&mut out, "Project", &text(promotion, "/project"));
    field(&mut out, "Stage", &text(promotion, "/stage"));
    field(&mut out, "Freight", &text(promotion, "/freight"));
    field(&mut out, "Phase", &text(promotion, "/status/phase"));
    field(&mut out, "Message", &text(promotion, "/status/message"));
    field(&mut out, "Created by", &text(promotion, "/actor"));
    field(&mut out, "Created", &text(promotion, "/createdAt"));
    field(&mut out, "Finished", &text(promotion, "/status/finishedAt"));
    let rows: Vec<Vec<String>> = promotion
        .get("steps")
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .map(|step| {
                    vec![
                        text(step, "/alias"),
                        text(step, "/uses"),
                        text(step, "/status"),
                        duration(&text(step, "/startedAt"), &text(step, "/finishedAt")),
                        text(step, "/message"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    section(
        &mut out,
        "Steps",
        &table(&["STEP", "USES", "STATUS", "DURATION", "MESSAGE"], &rows),
    );
    let commits: Vec<String> = promotion
        .pointer("/status/state")
        .and_then(Value::as_object)
        .map(|state| {
            state
                .iter()
                .filter_map(|(alias, output)| {
                    let commit = output.get("commit")?.as_str()?;
                    Some(format!("{alias}: {commit}"))
                })
                .collect()
        })
        .unwrap_or_default();
    section(&mut out, "Commits", &commits.join("\n"));
    out
}

/// `3s` between two RFC 3339 times ("" when either is missing).
fn duration(start: &str, end: &str) -> String {
    let (Some(start), Some(end)) = (
        gantry_api::time::parse_rfc3339(start),
        gantry_api::time::parse_rfc3339(end),
    ) else {
        return String::new();
    };
    end.duration_since(start)
        .map(|d| format!("{}s", d.as_secs()))
        .unwrap_or_default()
}

fn warehouse_text(warehouse: &Value) -> String {
    let mut out = String::new();
    field(&mut out, "Name", &text(warehouse, "/name"));
    field(&mut out, "Project", &text(warehouse, "/project"));
    field(&mut out, "Interval", &text(warehouse, "/spec/interval"));
    field(
        &mut out,
        "Last freight",
        &text(warehouse, "/status/lastFreightID"),
    );
    field(
        &mut out,
        "Discovered",
        &text(warehouse, "/status/discoveredArtifacts/discoveredAt"),
    );
    section(&mut out, "Conditions", &conditions_table(warehouse));
    let subscriptions: Vec<Vec<String>> = warehouse
        .pointer("/spec/subscriptions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| s.as_object())
                .flat_map(|s| {
                    s.iter()
                        .filter(|(_, v)| v.is_object())
                        .map(|(kind, v)| vec![kind.clone(), text(v, "/repoURL")])
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    section(
        &mut out,
        "Subscriptions",
        &table(&["KIND", "REPOSITORY"], &subscriptions),
    );
    out
}
