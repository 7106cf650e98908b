//! End-to-end tests of the `gantry` binary.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "test helpers fail loudly; std::fs is fine for fixtures"
)]

mod expr;
mod footprint;
mod freight;
mod graph;
mod remote;
mod select_tags;
mod semver;
mod serve;
mod task;
mod validate;
mod warehouse;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root; commands run there so paths print as `tests/fixtures/...`.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `gantry ARGS` in the repository root without colour.
pub(crate) fn gantry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("GANTRY_NAMESPACE")
        .output()
        .unwrap()
}

/// Runs `gantry ARGS` like [`gantry`], with `input` on standard input.
pub(crate) fn gantry_with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}
