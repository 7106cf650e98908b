//! What `yaml-update`, `json-update` and `toml-update` share: read the file at `path`, apply
//! `updates[]{key, value}` with a format-preserving editor, write it back, and output the
//! `commitMessage` that `git-commit` can use.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::edit::{EditError, Edited, Update};
use crate::registry::{StepContext, output};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    path: String,
    updates: Vec<UpdateConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateConfig {
    key: String,
    value: serde_json::Value,
}

/// An editor and its commit message builder.
pub(crate) struct Editor {
    pub(crate) edit: fn(&str, &[Update]) -> Result<Edited, EditError>,
    pub(crate) message: fn(&str, &[Update]) -> String,
}

pub(crate) fn edit_error(path: &str, error: &EditError) -> StepError {
    let hint = error
        .hint()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default();
    StepError::failed(format!("{path}: {error}{hint}"))
}

/// Writes `text` to `path` through a temporary file, so a crash never leaves half a file.
pub(crate) fn write_file(path: &std::path::Path, text: &str, shown: &str) -> Result<(), StepError> {
    let failed =
        |e: std::io::Error| StepError::failed(format!("failed to write {shown}: {}", e.kind()));
    let tmp = path.with_file_name(format!(
        ".{}.gantry-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let permissions = fs_err::metadata(path).ok().map(|m| m.permissions());
    fs_err::write(&tmp, text).map_err(failed)?;
    if let Some(permissions) = permissions {
        fs_err::set_permissions(&tmp, permissions).map_err(failed)?;
    }
    fs_err::rename(&tmp, path).map_err(failed)
}

pub(crate) fn run(context: &StepContext<'_>, editor: &Editor) -> Result<StepResult, StepError> {
    let config: Config = context.config()?;
    let updates: Vec<Update> = config
        .updates
        .into_iter()
        .map(|u| Update::new(u.key, u.value))
        .collect();
    let path = context.write_path(&config.path)?;
    let text = fs_err::read_to_string(&path).map_err(|e| {
        StepError::failed(format!(
            "failed to read {}: {}",
            config.path,
            crate::parse_outputs::io_reason(&e)
        ))
    })?;
    let edited = (editor.edit)(&text, &updates).map_err(|e| edit_error(&config.path, &e))?;
    if edited.text != text {
        write_file(&path, &edited.text, &config.path)?;
    }
    Ok(StepResult::succeeded(output([(
        "commitMessage",
        (editor.message)(&config.path, &updates).into(),
    )])))
}
