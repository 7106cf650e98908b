//! Integration tests of gantry-core: one fixture per check, the seed pipelines, no-panic
//! properties.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "test helpers fail loudly; std::fs is fine for fixtures"
)]

mod checks;
mod no_panic;
mod seed;
mod step_schemas;

use std::path::PathBuf;

/// The repository root (fixtures live in `tests/fixtures`).
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
