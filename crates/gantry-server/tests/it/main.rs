//! gantry-server end to end, on real components: a smart-HTTP git server with basic auth
//! (nginx + git-http-backend) holding the watched application repository and the GitOps
//! repository, real git, the real store on disk.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test helpers fail loudly; std::fs is fine for fixtures"
)]

mod api;
mod fixture;
mod images;
mod pipeline;
mod stages;
mod status;
mod webhooks;

/// Every test may take this long to see an outcome before it fails.
pub(crate) const PATIENCE: std::time::Duration = std::time::Duration::from_mins(1);
