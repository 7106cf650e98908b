//! `file-write`: writes a file in the work dir.
//!
//! The path is confined to the work dir (no `..` escape, no symlink redirection, nothing under
//! `.git/`); permissions default to `0600` and may not be executable, special or
//! world-writable; an existing file is only replaced with `overwrite: true`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::registry::{Step, StepContext};

/// The `file-write` step.
pub struct FileWrite;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    path: String,
    contents: String,
    #[serde(default)]
    permissions: Option<String>,
    #[serde(default)]
    overwrite: bool,
}

fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .map_err(|_| format!("permissions {text:?} is not an octal mode such as \"0644\""))?;
    if mode & 0o7000 != 0 {
        return Err(format!(
            "permissions {text:?}: setuid, setgid and sticky bits are not allowed"
        ));
    }
    if mode & 0o111 != 0 {
        return Err(format!(
            "permissions {text:?}: executable files are not allowed"
        ));
    }
    if mode & 0o002 != 0 {
        return Err(format!(
            "permissions {text:?}: world-writable files are not allowed"
        ));
    }
    Ok(mode)
}

impl Step for FileWrite {
    fn kind(&self) -> &'static str {
        "file-write"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let mode = parse_mode(config.permissions.as_deref().unwrap_or("0600"))
            .map_err(StepError::failed)?;
        let path = context.write_path(&config.path)?;
        if path.is_dir() {
            return Err(StepError::failed(format!("{} is a directory", config.path)));
        }
        if path.exists() && !config.overwrite {
            return Err(StepError::failed(format!(
                "{} already exists; set `overwrite: true` to replace it",
                config.path
            )));
        }
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(|e| StepError::failed(e.to_string()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| StepError::failed(format!("failed to write {}: {e}", config.path)))?;
        file.write_all(config.contents.as_bytes())
            .map_err(|e| StepError::failed(format!("failed to write {}: {e}", config.path)))?;
        Ok(StepResult::succeeded(serde_json::Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn writes_with_safe_permissions_and_refuses_to_clobber() {
        let harness = Harness::new();
        harness
            .run(
                "file-write",
                json!({"path": "out/a.txt", "contents": "hello"}),
            )
            .unwrap();
        assert_eq!(harness.read("out/a.txt"), "hello");
        let mode = fs_err::metadata(harness.dir().join("out/a.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let error = harness
            .run(
                "file-write",
                json!({"path": "out/a.txt", "contents": "again"}),
            )
            .unwrap_err();
        assert_eq!(
            error.message,
            "out/a.txt already exists; set `overwrite: true` to replace it"
        );
        harness
            .run("file-write", json!({"path": "out/a.txt", "contents": "again", "overwrite": true, "permissions": "0644"}))
            .unwrap();
        assert_eq!(harness.read("out/a.txt"), "again");
    }

    #[test]
    fn unsafe_paths_and_modes_are_rejected() {
        let harness = Harness::new();
        for (config, expected) in [
            (
                json!({"path": "a", "contents": "", "permissions": "0755"}),
                "executable files are not allowed",
            ),
            (
                json!({"path": "a", "contents": "", "permissions": "0666"}),
                "world-writable files are not allowed",
            ),
            (
                json!({"path": "a", "contents": "", "permissions": "rw"}),
                "does not match the pattern",
            ),
            (json!({"path": "../a", "contents": ""}), "../a"),
            (json!({"path": "/etc/a", "contents": ""}), "/etc/a"),
        ] {
            let error = harness.run("file-write", config).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{} !~ {expected}",
                error.message
            );
        }
    }
}
