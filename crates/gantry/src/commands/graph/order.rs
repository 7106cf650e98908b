//! `gantry graph order --rgd FILE [-o json]`: resources in apply order (dependencies first,
//! otherwise as declared) and the deletion layers (dependents first; one layer's resources go
//! together).

use std::io::Write;

use anyhow::Context;
use gantry_graph::Graph;
use gantry_graph::graph::NodeKind;
use serde_json::json;

use crate::cli::{Format, GraphOrderArgs};
use crate::commands::ExitStatus;

pub(crate) fn run(args: &GraphOrderArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let Some((resource, rgd)) = super::load_rgd(&args.rgd, args.name.as_deref(), color)? else {
        return Ok(ExitStatus::Failure);
    };
    let graph = match Graph::build(&rgd) {
        Ok(graph) => graph,
        Err(errors) => {
            let errors: Vec<gantry_graph::Error> = errors.into_iter().map(Into::into).collect();
            super::report(&resource, &errors, color)?;
            return Ok(ExitStatus::Failure);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let order = graph.topological_order();
    let layers = graph.deletion_layers();
    let apply_orders = graph.apply_orders();
    match args.output {
        Format::Json => {
            let resources: Vec<_> = order
                .iter()
                .filter_map(|id| graph.node(id))
                .map(|node| {
                    json!({
                        "id": node.id,
                        "apiVersion": node.api_version,
                        "kind": node.object_kind,
                        "external": node.kind == NodeKind::ExternalRef,
                        "conditional": !node.include_when.is_empty(),
                        "collection": !node.for_each.is_empty(),
                        "dependencies": node.dependencies,
                        "applyOrder": apply_orders.get(&node.id),
                    })
                })
                .collect();
            let value = json!({
                "name": resource.name,
                "topologicalOrder": order,
                "resources": resources,
                "deletionLayers": layers,
            });
            serde_json::to_writer_pretty(&mut out, &value).context("writing JSON")?;
            writeln!(out)?;
        }
        Format::Human => {
            let width = order.iter().map(String::len).max().unwrap_or(0);
            writeln!(out, "apply order ({}):", resource.display_name())?;
            for (i, id) in order.iter().enumerate() {
                let Some(node) = graph.node(id) else { continue };
                let mut notes = Vec::new();
                if node.kind == NodeKind::ExternalRef {
                    notes.push("external, read only".to_owned());
                }
                if !node.include_when.is_empty() {
                    notes.push("conditional".to_owned());
                }
                if !node.for_each.is_empty() {
                    notes.push("collection".to_owned());
                }
                if !node.dependencies.is_empty() {
                    notes.push(format!("after {}", node.dependencies.join(", ")));
                }
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", notes.join("; "))
                };
                writeln!(
                    out,
                    "  {:>2}. {id:<width$}  {}{notes}",
                    i + 1,
                    node.object_kind
                )?;
            }
            writeln!(out, "deletion layers (first deleted first):")?;
            for (i, layer) in layers.iter().enumerate() {
                writeln!(out, "  {:>2}. {}", i + 1, layer.join(", "))?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
