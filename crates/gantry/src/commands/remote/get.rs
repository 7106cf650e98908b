//! `gantry get projects|warehouses|freight|stages|promotions [NAME] [-n PROJECT] [-o ...]`.

use serde_json::{Value, json};

use super::{
    Client, Output, RemoteError, age, artifacts, freight_label, items, run_remote, segment, short,
    table, text,
};
use crate::cli::{GetArgs, GetResource};
use crate::commands::ExitStatus;

pub(crate) fn run(args: &GetArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| get(client, args))
}

/// One resource as a one-item list, so that tables and `-o` read the same either way.
#[expect(
    clippy::needless_pass_by_value,
    reason = "called on answers that are not needed after"
)]
fn single(value: Value) -> Value {
    json!({ "items": [value] })
}

fn get(client: &Client, args: &GetArgs) -> Result<Output, RemoteError> {
    let name = args.name.as_deref().map(segment);
    let project = || -> Result<String, RemoteError> {
        Ok(format!(
            "/projects/{}",
            segment(&client.project(&args.server)?)
        ))
    };
    let (value, table) = match args.resource {
        GetResource::Projects => {
            let value = match &name {
                Some(name) => single(client.get(&format!("/projects/{name}"))?),
                None => client.get("/projects")?,
            };
            let table = projects(&value);
            (value, table)
        }
        GetResource::Warehouses => {
            let base = project()?;
            let value = match &name {
                Some(name) => single(client.get(&format!("{base}/warehouses/{name}"))?),
                None => client.get(&format!("{base}/warehouses"))?,
            };
            let table = warehouses(&value);
            (value, table)
        }
        GetResource::Freight => {
            let base = project()?;
            let value = if let Some(name) = &name {
                single(client.get(&format!("{base}/freight/{name}"))?)
            } else {
                let mut query = Vec::new();
                if let Some(warehouse) = &args.warehouse {
                    query.push(format!("warehouse={}", segment(warehouse)));
                }
                if let Some(stage) = &args.stage {
                    query.push(format!("stage={}", segment(stage)));
                }
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", query.join("&"))
                };
                client.get(&format!("{base}/freight{query}"))?
            };
            let table = freight(&value);
            (value, table)
        }
        GetResource::Stages => {
            let base = project()?;
            let value = match &name {
                Some(name) => single(client.get(&format!("{base}/stages/{name}"))?),
                None => client.get(&format!("{base}/stages"))?,
            };
            let table = stages(&value);
            (value, table)
        }
        GetResource::Promotions => {
            let base = project()?;
            let value = match (&name, &args.stage) {
                (Some(name), _) => single(client.get(&format!("{base}/promotions/{name}"))?),
                (None, Some(stage)) => {
                    client.get(&format!("{base}/stages/{}/promotions", segment(stage)))?
                }
                (None, None) => client.get(&format!("{base}/promotions"))?,
            };
            let table = promotions(&value);
            (value, table)
        }
    };
    Ok(Output { value, table })
}

fn projects(value: &Value) -> String {
    let rows: Vec<Vec<String>> = items(value)
        .iter()
        .map(|project| {
            let count = |key: &str| {
                project
                    .get(key)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
                    .to_string()
            };
            vec![
                text(project, "/name"),
                count("warehouses"),
                count("stages"),
                text(project, "/freightCount"),
            ]
        })
        .collect();
    table(&["NAME", "WAREHOUSES", "STAGES", "FREIGHT"], &rows)
}

/// The status of a condition type (`True`, `False`), or "".
fn condition(status: &Value, kind: &str) -> String {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        })
        .map(|c| text(c, "/status"))
        .unwrap_or_default()
}

fn warehouses(value: &Value) -> String {
    let rows: Vec<Vec<String>> = items(value)
        .iter()
        .map(|warehouse| {
            let subscriptions = warehouse
                .pointer("/spec/subscriptions")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let status = warehouse.get("status").cloned().unwrap_or_default();
            vec![
                text(warehouse, "/name"),
                subscriptions.to_string(),
                condition(&status, "Healthy"),
                short(&text(&status, "/lastFreightID")),
                text(&status, "/discoveredArtifacts/discoveredAt"),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "SUBSCRIPTIONS",
            "HEALTHY",
            "LAST FREIGHT",
            "DISCOVERED",
        ],
        &rows,
    )
}

fn freight(value: &Value) -> String {
    let rows: Vec<Vec<String>> = items(value)
        .iter()
        .map(|freight| {
            let stages = freight
                .pointer("/status/currentlyIn")
                .and_then(Value::as_object)
                .map(|stages| stages.keys().cloned().collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            vec![
                text(freight, "/metadata/name"),
                text(freight, "/alias"),
                format!(
                    "{}/{}",
                    text(freight, "/origin/kind"),
                    text(freight, "/origin/name")
                ),
                artifacts(freight),
                stages,
                age(&text(freight, "/metadata/creationTimestamp")),
            ]
        })
        .collect();
    table(
        &["NAME", "ALIAS", "ORIGIN", "ARTIFACTS", "IN STAGES", "AGE"],
        &rows,
    )
}

fn stages(value: &Value) -> String {
    let rows: Vec<Vec<String>> = items(value)
        .iter()
        .map(|stage| {
            let current: Vec<String> = stage
                .get("currentFreight")
                .and_then(Value::as_array)
                .map(|list| list.iter().map(freight_label).collect())
                .unwrap_or_default();
            let kind = if stage.get("controlFlow") == Some(&Value::Bool(true)) {
                "control-flow"
            } else {
                "promotion"
            };
            let auto = match stage.pointer("/status/autoPromotionEnabled") {
                Some(Value::Bool(true)) => "on",
                _ => "off",
            };
            let (promotion, phase) = match stage.pointer("/status/currentPromotion") {
                Some(current) if !current.is_null() => {
                    (text(current, "/name"), "Running".to_owned())
                }
                _ => (
                    text(stage, "/status/lastPromotion/name"),
                    text(stage, "/status/lastPromotion/status/phase"),
                ),
            };
            // The Freight's alias when there is one, else Kargo's summary (`0/1 Fulfilled`,
            // `N/A` for control-flow Stages).
            let current = if current.is_empty() {
                text(stage, "/status/freightSummary")
            } else {
                current.join(",")
            };
            let status = stage.get("status").cloned().unwrap_or_default();
            vec![
                text(stage, "/name"),
                kind.to_owned(),
                current,
                condition(&status, "Ready"),
                text(&status, "/health/status"),
                auto.to_owned(),
                promotion,
                phase,
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "KIND",
            "CURRENT FREIGHT",
            "READY",
            "HEALTH",
            "AUTO",
            "LAST PROMOTION",
            "PHASE",
        ],
        &rows,
    )
}

fn promotions(value: &Value) -> String {
    let rows: Vec<Vec<String>> = items(value)
        .iter()
        .map(|promotion| {
            vec![
                text(promotion, "/name"),
                text(promotion, "/stage"),
                short(&text(promotion, "/freight")),
                text(promotion, "/status/phase"),
                text(promotion, "/actor"),
                age(&text(promotion, "/createdAt")),
            ]
        })
        .collect();
    table(&["NAME", "STAGE", "FREIGHT", "PHASE", "BY", "AGE"], &rows)
}
