//! `gantry graph ...`: Kro ResourceGraphDefinitions offline.

pub(crate) mod crd;
pub(crate) mod order;
pub(crate) mod render;

use std::io::Write;
use std::path::Path;

use gantry_api::kro::ResourceGraphDefinition;
use gantry_api::{LoadOptions, Object, Resource, ResourceSet, Severity};

use crate::output;

/// Loads `path` and picks its RGD (the one named `name`, or the only one). Problems are
/// printed on stderr and turn into `None`.
pub(crate) fn load_rgd(
    path: &Path,
    name: Option<&str>,
    color: bool,
) -> anyhow::Result<Option<(Resource, ResourceGraphDefinition)>> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let set = ResourceSet::load_paths(&[path], LoadOptions::default());
    let mut failed = false;
    for diagnostic in &set.diagnostics {
        if diagnostic.severity == Severity::Error {
            write!(err, "{}", output::human(diagnostic, color))?;
            failed = true;
        }
    }
    if failed {
        return Ok(None);
    }
    let rgds: Vec<&Resource> = set
        .resources
        .iter()
        .filter(|resource| matches!(resource.object, Object::ResourceGraphDefinition(_)))
        .filter(|resource| name.is_none_or(|name| resource.name == name))
        .collect();
    let shown = path.display();
    let resource = match rgds.as_slice() {
        [one] => *one,
        [] => {
            match name {
                Some(name) => writeln!(
                    err,
                    "error: {shown} holds no ResourceGraphDefinition named {name:?}"
                )?,
                None => writeln!(err, "error: {shown} holds no ResourceGraphDefinition")?,
            }
            return Ok(None);
        }
        several => {
            let names: Vec<&str> = several.iter().map(|r| r.name.as_str()).collect();
            writeln!(
                err,
                "error: {shown} holds {} ResourceGraphDefinitions ({}); choose one with --name",
                several.len(),
                names.join(", ")
            )?;
            return Ok(None);
        }
    };
    let Object::ResourceGraphDefinition(rgd) = &resource.object else {
        unreachable!("filtered on the kind above");
    };
    Ok(Some((resource.clone(), rgd.clone())))
}

/// Prints each error as a snippet at its file position.
pub(crate) fn report(
    resource: &Resource,
    errors: &[gantry_graph::Error],
    color: bool,
) -> anyhow::Result<()> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let text = resource.file.redacted_text();
    for error in errors {
        let location = gantry_graph::locate(resource, error);
        let message = format!("{error} (at {})", error.path());
        write!(
            err,
            "{}",
            output::snippet(
                resource.file.name(),
                &text,
                location.span.start..location.span.end,
                &message,
                None,
                color,
            )
        )?;
    }
    writeln!(
        err,
        "{} error{} in {}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        resource.display_name()
    )?;
    Ok(())
}
