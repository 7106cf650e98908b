//! `delete`: removes files or directories in the work dir: exactly one of `path` and `paths`,
//! optionally globs (`pathsAreGlobs`), and with `strict` a missing path or a glob without
//! matches is a failure.

use std::path::PathBuf;

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::registry::{Step, StepContext};

/// The `delete` step.
pub struct Delete;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    paths_are_globs: bool,
    #[serde(default)]
    strict: bool,
}

fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Expands one glob against the work dir, segment by segment.
fn expand(context: &StepContext<'_>, pattern: &str) -> Result<Vec<String>, StepError> {
    let mut found = vec![String::new()];
    for segment in pattern.split('/').filter(|s| !s.is_empty() && *s != ".") {
        let mut next = Vec::new();
        for base in &found {
            if !has_glob(segment) {
                let candidate = if base.is_empty() {
                    segment.to_owned()
                } else {
                    format!("{base}/{segment}")
                };
                if context.path(&candidate)?.symlink_metadata().is_ok() {
                    next.push(candidate);
                }
                continue;
            }
            let dir = context.path(if base.is_empty() { "." } else { base })?;
            let Ok(entries) = fs_err::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| gantry_core::glob::matches(segment, name))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|name| {
                if base.is_empty() {
                    name
                } else {
                    format!("{base}/{name}")
                }
            }));
        }
        found = next;
    }
    Ok(found.into_iter().filter(|p| !p.is_empty()).collect())
}

impl Step for Delete {
    fn kind(&self) -> &'static str {
        "delete"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let patterns = match (config.path, config.paths) {
            (Some(path), None) => vec![path],
            (None, Some(paths)) => paths,
            _ => {
                return Err(StepError::failed(
                    "invalid config: set exactly one of `path` and `paths`",
                ));
            }
        };
        let mut targets: Vec<(String, PathBuf)> = Vec::new();
        for pattern in &patterns {
            if config.paths_are_globs {
                let matched = expand(context, pattern)?;
                if matched.is_empty() && config.strict {
                    return Err(StepError::failed(format!("no files match {pattern:?}")));
                }
                for relative in matched {
                    let path = context.write_path(&relative)?;
                    targets.push((relative, path));
                }
            } else {
                let path = context.write_path(pattern)?;
                if path.symlink_metadata().is_err() {
                    if config.strict {
                        return Err(StepError::failed(format!(
                            "{pattern}: no such file or directory"
                        )));
                    }
                    continue;
                }
                targets.push((pattern.clone(), path));
            }
        }
        for (relative, path) in targets {
            let result = match path.symlink_metadata() {
                Ok(meta) if meta.is_dir() => fs_err::remove_dir_all(&path),
                Ok(_) => fs_err::remove_file(&path),
                Err(_) => continue,
            };
            result.map_err(|e| {
                StepError::failed(format!("failed to delete {relative}: {}", e.kind()))
            })?;
        }
        Ok(StepResult::succeeded(serde_json::Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn deletes_paths_and_globs() {
        let harness = Harness::new();
        harness.write("a/x.yaml", "");
        harness.write("a/y.yaml", "");
        harness.write("a/z.txt", "");
        harness.write("b/c/d", "");
        harness
            .run(
                "delete",
                json!({"paths": ["a/*.yaml"], "pathsAreGlobs": true}),
            )
            .unwrap();
        assert!(!harness.dir().join("a/x.yaml").exists());
        assert!(harness.dir().join("a/z.txt").exists());
        harness.run("delete", json!({"path": "b"})).unwrap();
        assert!(!harness.dir().join("b").exists());
        harness.run("delete", json!({"path": "missing"})).unwrap();
    }

    #[test]
    fn strict_fails_on_missing_paths_and_empty_globs() {
        let harness = Harness::new();
        let error = harness
            .run("delete", json!({"path": "missing", "strict": true}))
            .unwrap_err();
        assert_eq!(error.message, "missing: no such file or directory");
        let error = harness
            .run(
                "delete",
                json!({"paths": ["*.none"], "pathsAreGlobs": true, "strict": true}),
            )
            .unwrap_err();
        assert_eq!(error.message, "no files match \"*.none\"");
        let error = harness.run("delete", json!({"path": "../x"})).unwrap_err();
        assert!(error.message.contains("../x"), "{}", error.message);
    }
}
