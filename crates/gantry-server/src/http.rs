//! The HTTP router: `/healthz`, and the JSON API, webhooks and metrics of [`crate::api`].
//!
//! `GET /healthz` answers `200 {"status":"ok","configGeneration":N}` while the server runs.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::Handle;

/// The routes of `gantry serve`, bound to a running server.
pub fn router(handle: Handle, api: crate::api::ApiOptions) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(handle.clone())
        .merge(crate::api::router(handle, api))
}

async fn healthz(State(handle): State<Handle>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "status": "ok",
        "configGeneration": handle.config().generation,
    }))
}
