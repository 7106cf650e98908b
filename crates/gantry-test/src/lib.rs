//! Test fixtures for gantry (dev only, never published): real servers on loopback and fixture
//! repositories built with real git.
//!
//! ```text
//!  test ──http basic auth──► nginx (127.0.0.1:<random>) ──fastcgi──► fcgiwrap ──► git-http-backend
//!                                                                            │
//!                                                          <tempdir>/repos/<name>.git (bare)
//! ```
//!
//! Where to start: [`GitServer::start`] for a smart-HTTP git server with basic auth (pushes
//! allowed), [`fixture_repo`] for a local repository with given files, [`git`] to run git with a
//! clean environment for assertions. The server needs `nginx` and `fcgiwrap`; when they are
//! missing, `start` fails with a message pointing at `scripts/test.sh`, which installs them.
//! Tests never skip silently.

mod error;
mod fixture;
mod server;

pub use error::FixtureError;
pub use fixture::{
    commit_all, fixture_repo, generate_history, generate_history_with, git, write_files,
};
pub use server::GitServer;
