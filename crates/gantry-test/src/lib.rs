//! Test fixtures for gantry (dev only, never published): real servers on loopback, fixture
//! repositories built with real git, and images pushed to a real registry.
//!
//! ```text
//!  test ──http basic auth──► nginx (127.0.0.1:<random>) ──fastcgi──► fcgiwrap ──► git-http-backend
//!                                                                            │
//!                                                          <tempdir>/repos/<name>.git (bare)
//!
//!  test ──push_image / push_index / tag_existing──┐
//!  client under test ──GET /v2/…──────────────────┴──► docker-registry (127.0.0.1:<random>)
//!        │                                               storage + log in <tempdir>
//!        └──GET /token (basic auth)──► token server ─JWT─┘  (token mode: a thread in the test)
//! ```
//!
//! Where to start: [`GitServer::start`] for a smart-HTTP git server with basic auth (pushes
//! allowed), [`fixture_repo`] for a local repository with given files, [`git`] to run git with a
//! clean environment for assertions. For container images: [`Registry::start_anonymous`],
//! [`Registry::start_basic`] or [`Registry::start_token`] for Debian's `docker-registry`
//! (distribution 2.8) in each auth mode, then [`Registry::push_image`] with an [`ImageSpec`]
//! (created time, labels, annotations, platform, Docker or OCI media types),
//! [`Registry::push_index`] with an [`IndexSpec`] for multi-arch images, and
//! [`Registry::tag_existing`] for repositories with many tags.
//!
//! The servers need Debian packages (`nginx-light`, `fcgiwrap`; `docker-registry`,
//! `apache2-utils` for basic auth, `openssl` for token auth); when one is missing, `start`
//! fails with a message pointing at `scripts/test.sh`, which installs them. Tests never skip
//! silently.

mod error;
mod fixture;
mod registry;
mod server;

pub use error::FixtureError;
pub use fixture::{
    commit_all, fixture_repo, generate_history, generate_history_with, git, write_files,
};
pub use registry::{
    AuthMode, FetchedManifest, ImageSpec, IndexSpec, ManifestFlavour, Platform, PushError,
    PushedImage, PushedIndex, Registry,
};
pub use server::GitServer;
