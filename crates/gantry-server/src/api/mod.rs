//! The JSON API under `/api/v1`, the webhook receivers under `/webhooks`, and `/metrics`.
//!
//! ```text
//!  request ─► metrics::track ─► auth (reads: token or --open-reads; writes: token) ─► handler
//!    reads:  resources.rs ── spawn_blocking ──► Handle::store() + Handle::config() specs
//!    writes: actions.rs   ── Handle::{promote, approve, refresh_warehouse, abort_promotion}
//!    stream: stream.rs    ── Handle::subscribe() (+ the event log to resume from Last-Event-ID)
//!  /webhooks/<type>/<hash> ─► webhooks/ ─► Command::RefreshWarehouse for matching Warehouses
//! ```
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/api/v1/projects` | Projects with their Warehouses, Stages, Freight count |
//! | GET | `/api/v1/projects/{p}` | one Project (+ webhook receiver paths for token holders) |
//! | GET | `/api/v1/projects/{p}/warehouses[/{w}]` | spec + status |
//! | POST | `/api/v1/projects/{p}/warehouses/{w}/refresh[?wait=true]` | discover now |
//! | GET | `/api/v1/projects/{p}/freight[?warehouse=&stage=&verifiedIn=&approvedFor=&limit=]` | Freight, newest first |
//! | GET | `/api/v1/projects/{p}/freight/{id or alias}` | one Freight |
//! | POST | `/api/v1/projects/{p}/freight/{id or alias}/approve` `{"stage"}` | approve for a Stage |
//! | GET | `/api/v1/projects/{p}/stages[/{s}]` | spec + status + current Freight |
//! | GET | `/api/v1/projects/{p}/stages/{s}/promotions` | the Stage's Promotions, newest first |
//! | POST | `/api/v1/projects/{p}/stages/{s}/promotions` `{"freight"}` or `{"freightAlias"}` | promote |
//! | POST | `/api/v1/projects/{p}/stages/{s}/rollback` `{"to"?}` | re-promote an earlier Freight of the history |
//! | GET | `/api/v1/projects/{p}/stages/{s}/history` | Freight history with promotions and commit ids |
//! | GET | `/api/v1/projects/{p}/stages/{s}/explain` | why the newest Freight is or is not there |
//! | GET | `/api/v1/projects/{p}/promotions[?stage=&freight=&unfinished=&limit=]` | Promotions |
//! | GET | `/api/v1/projects/{p}/promotions/{name}` | one Promotion with its steps |
//! | POST | `/api/v1/projects/{p}/promotions/{name}/abort` | abort it |
//! | GET | `/api/v1/events[?project=&kind=&subject=&after=&before=&limit=&newestFirst=]` | the event log |
//! | GET | `/api/v1/events/stream[?project=]` | server-sent events of changes; `Last-Event-ID` resumes |
//! | POST | `/webhooks/{github,gitlab,distribution}/{hash}` | webhook receivers |
//! | GET | `/metrics` | Prometheus (OpenMetrics text) |
//!
//! Errors are `{"error": {"kind", "message"}}` ([`error`]). Where to start: [`router`].

mod actions;
pub mod auth;
mod error;
mod metrics;
mod resources;
mod stream;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

pub use auth::{AdminToken, TokenError};

use crate::Handle;

/// Settings of the API.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// The bearer token mutating calls (and, unless `open_reads`, reads) need.
    pub token: AdminToken,
    /// Serve reads without a token (`gantry serve --open-reads`).
    pub open_reads: bool,
    /// When this turns `true`, event streams end (so that a graceful HTTP shutdown does not
    /// wait for clients that would stay connected forever).
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
}

impl ApiOptions {
    /// Reads need the token too.
    pub fn new(token: AdminToken) -> Self {
        Self {
            token,
            open_reads: false,
            shutdown: None,
        }
    }
}

/// What every handler gets.
#[derive(Clone, Debug)]
pub(crate) struct ApiState {
    pub(crate) handle: Handle,
    pub(crate) options: Arc<ApiOptions>,
    pub(crate) metrics: Arc<metrics::Metrics>,
}

/// The API, webhook and metrics routes, bound to a running server.
pub fn router(handle: Handle, options: ApiOptions) -> Router {
    let state = ApiState {
        handle,
        options: Arc::new(options),
        metrics: Arc::new(metrics::Metrics::new()),
    };
    let reads = Router::new()
        .route("/projects", get(resources::list_projects))
        .route("/projects/{project}", get(resources::get_project))
        .route(
            "/projects/{project}/warehouses",
            get(resources::list_warehouses),
        )
        .route(
            "/projects/{project}/warehouses/{name}",
            get(resources::get_warehouse),
        )
        .route("/projects/{project}/freight", get(resources::list_freight))
        .route(
            "/projects/{project}/freight/{name}",
            get(resources::get_freight),
        )
        .route("/projects/{project}/stages", get(resources::list_stages))
        .route(
            "/projects/{project}/stages/{name}",
            get(resources::get_stage),
        )
        .route(
            "/projects/{project}/stages/{name}/promotions",
            get(resources::stage_promotions),
        )
        .route(
            "/projects/{project}/stages/{name}/history",
            get(resources::stage_history),
        )
        .route(
            "/projects/{project}/stages/{name}/explain",
            get(resources::explain),
        )
        .route(
            "/projects/{project}/promotions",
            get(resources::list_promotions),
        )
        .route(
            "/projects/{project}/promotions/{name}",
            get(resources::get_promotion),
        )
        .route("/events", get(resources::list_events))
        .route("/events/stream", get(stream::stream))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_read,
        ));
    let writes = Router::new()
        .route(
            "/projects/{project}/warehouses/{name}/refresh",
            post(actions::refresh),
        )
        .route(
            "/projects/{project}/freight/{name}/approve",
            post(actions::approve),
        )
        .route(
            "/projects/{project}/stages/{name}/promotions",
            post(actions::promote),
        )
        .route(
            "/projects/{project}/stages/{name}/rollback",
            post(actions::rollback),
        )
        .route(
            "/projects/{project}/promotions/{name}/abort",
            post(actions::abort),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .nest("/api/v1", reads.merge(writes))
        .merge(webhooks::routes())
        .route("/metrics", get(metrics::scrape))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

async fn not_found() -> error::Problem {
    error::Problem::not_found("no such route")
}
