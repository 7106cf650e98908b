//! `gantry graph render --rgd FILE --instance FILE [-o yaml|json]`: the manifests Kro would
//! apply for an instance, in apply order, on stdout; pending fields and skipped resources on
//! stderr; errors as snippets at their `file:line:col` (in the RGD or in the instance).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use gantry_api::path::value_span;
use gantry_api::yaml::{Node, parse_stream};
use gantry_graph::render::{RenderOptions, render};
use serde_json::Value;

use crate::cli::{GraphRenderArgs, ManifestFormat};
use crate::commands::ExitStatus;
use crate::output;

pub(crate) fn run(args: &GraphRenderArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let Some((resource, rgd)) = super::load_rgd(&args.rgd, args.name.as_deref(), color)? else {
        return Ok(ExitStatus::Failure);
    };
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let Some((instance_text, instance_root)) =
        load_instance(&args.instance, &rgd.spec.schema.kind, &mut err, color)?
    else {
        return Ok(ExitStatus::Failure);
    };
    let options = RenderOptions {
        default_namespace: args.namespace.clone(),
        kro_version: args.kro_version.clone(),
    };
    let rendered = match render(&rgd, &instance_root.to_json(), &options) {
        Ok(rendered) => rendered,
        Err(errors) => {
            let (in_instance, in_rgd): (Vec<_>, Vec<_>) = errors
                .into_iter()
                .partition(gantry_graph::Error::in_instance);
            let name = args.instance.display().to_string();
            for error in &in_instance {
                let span = value_span(&instance_root, error.path());
                let message = format!("{error} (at {})", error.path());
                write!(
                    err,
                    "{}",
                    output::snippet(
                        &name,
                        &instance_text,
                        span.start..span.end,
                        &message,
                        None,
                        color
                    )
                )?;
            }
            if in_rgd.is_empty() {
                writeln!(
                    err,
                    "{} error{} in {name}",
                    in_instance.len(),
                    if in_instance.len() == 1 { "" } else { "s" }
                )?;
            } else {
                drop(err);
                super::report(&resource, &in_rgd, color)?;
            }
            return Ok(ExitStatus::Failure);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        ManifestFormat::Yaml => {
            for (i, manifest) in rendered.manifests.iter().enumerate() {
                if i > 0 {
                    writeln!(out, "---")?;
                }
                let label = manifest.index.map_or_else(
                    || manifest.id.clone(),
                    |index| format!("{}[{index}]", manifest.id),
                );
                for pending in rendered.pending.iter().filter(|p| p.resource == label) {
                    writeln!(out, "# pending {}: {}", pending.path, pending.reason)?;
                }
                write!(out, "{}", gantry_api::emit::to_yaml(&manifest.object))?;
            }
        }
        ManifestFormat::Json => {
            let list: Vec<&Value> = rendered.manifests.iter().map(|m| &m.object).collect();
            serde_json::to_writer_pretty(&mut out, &list).context("writing JSON")?;
            writeln!(out)?;
        }
    }
    for skipped in &rendered.skipped {
        writeln!(err, "skipped {}: {}", skipped.id, skipped.reason)?;
    }
    for external in &rendered.external {
        writeln!(
            err,
            "external {external}: read from the cluster, not rendered"
        )?;
    }
    for pruned in &rendered.pruned {
        writeln!(
            err,
            "pruned {pruned}: not in the schema (the API server drops it)"
        )?;
    }
    for pending in &rendered.pending {
        let (line, column) = resource.location(&pending.source).line_col();
        let what = if pending.path.0.is_empty() {
            "(whole resource)".to_owned()
        } else {
            pending.path.to_string()
        };
        writeln!(
            err,
            "pending {} {what}: {} ({}:{line}:{column}: {})",
            pending.resource,
            pending.reason,
            resource.file.name(),
            pending.expression
        )?;
    }
    Ok(ExitStatus::Success)
}

/// Reads the instance file: the document of the RGD's kind (or the only document).
fn load_instance(
    path: &Path,
    kind: &str,
    err: &mut impl Write,
    color: bool,
) -> anyhow::Result<Option<(String, Node)>> {
    let shown = path.display().to_string();
    let text = match fs_err::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            return Ok(None);
        }
    };
    let (documents, error) = parse_stream(&text);
    if let Some(error) = error {
        write!(
            err,
            "{}",
            output::snippet(
                &shown,
                &text,
                error.span.start..error.span.end,
                &error.message,
                None,
                color
            )
        )?;
        return Ok(None);
    }
    let mut matching: Vec<Node> = documents
        .iter()
        .filter(|document| document.root.get("kind").and_then(Node::as_str) == Some(kind))
        .map(|document| document.root.clone())
        .collect();
    if matching.is_empty() && documents.len() == 1 {
        matching.push(documents[0].root.clone());
    }
    match matching.len() {
        1 => Ok(matching.pop().map(|root| (text, root))),
        0 => {
            writeln!(err, "error: {shown} holds no {kind} instance")?;
            Ok(None)
        }
        n => {
            writeln!(
                err,
                "error: {shown} holds {n} {kind} instances; keep one per file"
            )?;
            Ok(None)
        }
    }
}
