//! `gantry freight id -f FILE`: the id Kargo computes for each Freight document in FILE (YAML or
//! JSON, several documents allowed), one per line.

use std::io::Write;

use anyhow::Context;
use gantry_api::kargo::Freight;
use gantry_api::path::{FieldPath, value_span};
use gantry_api::source::SourceFile;
use gantry_api::yaml::{self, Node};
use gantry_core::freight::freight_id;

use crate::cli::FreightIdArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: &FreightIdArgs) -> anyhow::Result<ExitStatus> {
    let shown = args.file.display().to_string();
    let text = match fs_err::read_to_string(&args.file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitStatus::Failure);
        }
    };
    let file = SourceFile::new(&args.file, shown.clone(), text);
    let at = |offset: usize| {
        let (line, column) = file.line_col(offset);
        format!("{shown}:{line}:{column}")
    };
    let (documents, error) = yaml::parse_stream(file.text());
    if let Some(error) = error {
        eprintln!("error: {}: {}", at(error.span.start), error.message);
        return Ok(ExitStatus::Failure);
    }
    let mut ids = Vec::new();
    for document in &documents {
        if document.root.to_json().is_null() {
            continue;
        }
        match freight(&document.root) {
            Ok(freight) => {
                if let Some(name) = freight.metadata.name.as_deref().filter(|n| !n.is_empty()) {
                    let id = freight_id(&freight);
                    if name != id {
                        eprintln!(
                            "note: {}: `metadata.name` is {name}, but the content gives {id}; Kargo replaces the name with the content id",
                            at(document.root.span.start)
                        );
                    }
                }
                ids.push(freight_id(&freight));
            }
            Err((path, message)) => {
                let span = value_span(&document.root, &path);
                eprintln!("error: {}: {message}", at(span.start));
                return Ok(ExitStatus::Failure);
            }
        }
    }
    if ids.is_empty() {
        eprintln!("error: {shown}: no Freight document found");
        return Ok(ExitStatus::Failure);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for id in ids {
        writeln!(out, "{id}").context("writing the id")?;
    }
    Ok(ExitStatus::Success)
}

/// The Freight in one document, or where and why it is not one.
fn freight(root: &Node) -> Result<Freight, (FieldPath, String)> {
    let mut json = root.to_json();
    let Some(object) = json.as_object_mut() else {
        return Err((
            FieldPath::root(),
            format!("expected a Freight mapping, found {}", root.type_name()),
        ));
    };
    match object.get("kind").and_then(|k| k.as_str()) {
        Some("Freight") | None => {}
        Some(kind) => {
            return Err((
                FieldPath::parse("kind"),
                format!("this is a {kind}, not a Freight"),
            ));
        }
    }
    if !object.contains_key("origin") {
        return Err((
            FieldPath::root(),
            "the Freight has no `origin` (`origin: {kind: Warehouse, name: <warehouse>}`), which its id depends on".to_owned(),
        ));
    }
    object
        .entry("apiVersion")
        .or_insert_with(|| "kargo.akuity.io/v1alpha1".into());
    object.entry("kind").or_insert_with(|| "Freight".into());
    if let Some(origin) = object.get_mut("origin").and_then(|o| o.as_object_mut()) {
        origin.entry("kind").or_insert_with(|| "Warehouse".into());
    }
    let freight: Freight = serde_path_to_error::deserialize(json).map_err(|error| {
        (
            FieldPath::parse(&error.path().to_string()),
            format!("`{}`: {}", error.path(), error.inner()),
        )
    })?;
    if freight.commits.is_empty()
        && freight.images.is_empty()
        && freight.charts.is_empty()
        && freight.artifacts.is_empty()
    {
        return Err((
            FieldPath::root(),
            "the Freight has no artifacts (`commits`, `images`, `charts` or `artifacts`); Kargo refuses such Freight".to_owned(),
        ));
    }
    Ok(freight)
}
