//! `gantry serve`: one process that watches Warehouses, makes Freight, decides what each Stage
//! should run and runs Promotions, all driven by events, with its state in the embedded store.
//!
//! ```text
//!   config dir ──load+validate──► Config (watch) ◄── reload: mtime poll (1 s), SIGHUP, Handle
//!                                    │
//!   ┌────────────────────────────────┼──────────────────────────────────────────────┐
//!   │ warehouse tasks (one each)     │ controller (one task)       stage workers     │
//!   │  interval / RefreshWarehouse   │  re-evaluates a Project's   (one per Stage)   │
//!   │  discover ─► status ─► Freight ┼► Stages after every change ─► run Promotions  │
//!   │                                │  availability, verification,  in name order,  │
//!   │                                │  auto-promotion, soak timers  resumable       │
//!   └────────────────────────────────┴──────────────────────────────────────────────┘
//!        every store write ──► broadcast Change ──► (SSE stream of the HTTP API)
//!        Command (promote, approve, abort, refresh) ──► controller ──► reply
//! ```
//!
//! Where to start: [`Server::start`] with a [`Config`] from [`config::load`] and
//! [`ServerOptions`]; it returns a [`Server`], whose [`Handle`] is the whole contract for HTTP
//! handlers and anything else that talks to the running loops. [`http::router`] serves
//! `/healthz`; the API under `/api/v1` is built on [`Handle`].
//!
//! # The contract for API code
//!
//! - **Reads** go straight to the store ([`Handle::store`], synchronous: call it from
//!   `tokio::task::spawn_blocking`) and to the current resource specs ([`Handle::config`]).
//!   Stored state is Kargo-shaped (`gantry_api::kargo::{WarehouseStatus, StageStatus,
//!   FreightStatus}`, `gantry_engine::PromotionStatus`); specs come from the config directory
//!   and are never stored.
//! - **Writes** go through [`Command`]s ([`Handle::promote`], [`Handle::approve`],
//!   [`Handle::refresh_warehouse`], [`Handle::abort_promotion`], or [`Handle::send`]); API code
//!   never writes to the store itself, so every decision stays in one place and every write is
//!   announced.
//! - **Changes** are announced on a broadcast channel ([`Handle::subscribe`]) after the store
//!   transaction that made them committed. A [`Change`] names what changed; read the new state
//!   from the store. When the change also logged an event, [`Change::event_id`] is its id, so a
//!   server-sent-events stream can resume from the event log ([`gantry_store::EventQuery::after`]).
//!   A slow subscriber may miss changes (`RecvError::Lagged`): it should then re-read what it
//!   shows.
//! - **Explanations** of a Stage (`gantry explain stage`) come from [`explain::explain_stage`]
//!   (blocking), which asks the controller's own rules of the stored state.
//!
//! Where each API resource lives (`project` is the Project's name = its namespace):
//!
//! | resource | spec (from [`Handle::config`]) | state (from [`Handle::store`]) |
//! |---|---|---|
//! | projects | [`Config::projects`] ([`ProjectIndex`]: policies, names of its resources) | — |
//! | warehouses | [`Config::warehouses`], [`Config::warehouse`] | `warehouse_status(project, name)` |
//! | freight | — (immutable content is stored) | `list_freight`, `find_freight(project, id or alias)` |
//! | stages | [`Config::stages`], [`Config::stage`] | `stage_status(project, name)`: `freightHistory` (commit ids of a Promotion are in its status' `state.<alias>.commit`), `currentPromotion`, `lastPromotion`, `autoPromotionHolds` |
//! | promotions | — | `list_promotions`, `promotion`, `promotion_queue`; `status` is the engine's `PromotionStatus` (phase, message, per-step metadata, outputs); `spec` is internal |
//! | events | — | `events(EventQuery { after, project, kind, .. })`; kinds in `gantry_store::kinds` |
//!
//! Errors of commands are [`ApiError`]s: a kind that maps to an HTTP status
//! ([`ApiError::status_code`]), and a message for people (`freight X not found in project P`,
//! `Freight is not available to this Stage: not yet verified in develop`, `stage S defines no
//! promotion steps: ...`, `promotion P already ended (Succeeded)`).
//!
//! ```no_run
//! # async fn example(handle: gantry_server::Handle) -> Result<(), gantry_server::ApiError> {
//! // POST /api/v1/projects/shop/stages/production/promotions {"freight": "zealous-tortoise"}
//! let name = handle.promote("shop", "production", "zealous-tortoise", "admin").await?;
//! // GET /api/v1/projects/shop/promotions/{name}
//! let store = handle.store().clone();
//! let record = tokio::task::spawn_blocking(move || store.promotion("shop", &name))
//!     .await
//!     .expect("the read does not panic")
//!     .map_err(|error| gantry_server::ApiError::internal(&error))?;
//! # let _ = record;
//! // SSE: forward changes as they come
//! let mut changes = handle.subscribe();
//! while let Ok(change) = changes.recv().await {
//!     println!("{} {}/{}", change.kind, change.project, change.name);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The `/api/v1` routes, webhook receivers and `/metrics` are in [`api`], built on this
//! contract. Not here: the CLI client (the `gantry` binary).

pub mod api;
pub mod config;
pub(crate) mod controller;
pub mod explain;
pub mod http;
mod lock;
mod server;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gantry_store::Store;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use config::{Config, ConfigError, ProjectIndex};
pub use lock::LockError;
pub use server::{DEFAULT_MIN_INTERVAL, Server, ServerOptions, StartError};

/// An image tag a registry notification announced as pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedTag {
    /// The repository, normalised as [`gantry_core::freight::normalize_image`] does
    /// (`registry.example/team/app`).
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest the tag was pushed with, when the notification says.
    pub digest: Option<String>,
}

/// A request to the running loops. Each carries what it acts on and, where it has an answer,
/// a `reply` channel that receives exactly one message (dropped without one only when the
/// server shuts down first).
#[derive(Debug)]
pub enum Command {
    /// Discover a Warehouse now (its interval timer restarts afterwards).
    RefreshWarehouse {
        /// The Project (namespace).
        project: String,
        /// The Warehouse.
        name: String,
        /// Told when the discovery has finished and its Freight (if any) is stored; `None` to
        /// fire and forget.
        reply: Option<oneshot::Sender<Result<RefreshOutcome, ApiError>>>,
        /// Image tags a registry notification announced: image subscriptions of that
        /// repository that would take one first wait (briefly) until the registry serves it,
        /// since `docker-registry` notifies before it links the tag, and resolve only those
        /// tags and unseen ones. Empty for every other refresh.
        pushed: Vec<PushedTag>,
    },
    /// Queue a Promotion of a Freight into a Stage (Kargo's `kargo promote`).
    Promote {
        /// The Project.
        project: String,
        /// The Stage to promote into.
        stage: String,
        /// The Freight's id or alias.
        freight: String,
        /// Who asked (recorded on the Promotion and in the event log).
        actor: String,
        /// The new Promotion's name (`<stage>.<ulid>.<freight7>`) once it is queued.
        reply: oneshot::Sender<Result<String, ApiError>>,
    },
    /// Approve a Freight for a Stage: it becomes available there without upstream
    /// verification or soak (Kargo's `kargo approve`).
    Approve {
        /// The Project.
        project: String,
        /// The Stage.
        stage: String,
        /// The Freight's id or alias.
        freight: String,
        /// Who approved.
        actor: String,
        /// Told once the approval is stored.
        reply: oneshot::Sender<Result<(), ApiError>>,
    },
    /// Abort a pending or running Promotion. A pending one ends at once; a running one ends
    /// after the step in progress (a step is never cut in half).
    AbortPromotion {
        /// The Project.
        project: String,
        /// The Promotion's name.
        name: String,
        /// Who aborted.
        actor: String,
        /// Told once the Promotion has ended as `Aborted`.
        reply: oneshot::Sender<Result<(), ApiError>>,
    },
}

/// What a [`Command::RefreshWarehouse`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshOutcome {
    /// The Freight the discovery yields (new or already known), when it yields one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freight: Option<String>,
    /// Whether that Freight was created by this discovery.
    pub created: bool,
    /// Why the discovery failed or made no Freight (the Warehouse's condition message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What kind of thing a [`Change`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ChangeKind {
    /// A Warehouse status (discovery result, conditions).
    Warehouse,
    /// A Freight (created, alias, status: currentlyIn, verifiedIn, approvedFor).
    Freight,
    /// A Stage status (history, current/last Promotion, auto-promotion state).
    Stage,
    /// A Promotion (created, progress after a step, finished).
    Promotion,
    /// The resource specs were reloaded (`project` and `name` are empty).
    Config,
}

impl ChangeKind {
    /// `warehouse`, `freight`, `stage`, `promotion` or `config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warehouse => "warehouse",
            Self::Freight => "freight",
            Self::Stage => "stage",
            Self::Promotion => "promotion",
            Self::Config => "config",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something changed in the store (already committed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What kind of thing.
    pub kind: ChangeKind,
    /// Its Project.
    pub project: String,
    /// Its name (a Freight's id, a Promotion's name...).
    pub name: String,
    /// The event logged with the change, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
}

/// How a command failed, as far as a client is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ApiErrorKind {
    /// A named Project, Stage, Warehouse, Freight or Promotion does not exist (HTTP 404).
    NotFound,
    /// The request cannot be done as asked: Freight not available to the Stage, a control-flow
    /// Stage, ... (HTTP 422).
    Invalid,
    /// The target is in a state that forbids it: the Promotion already ended (HTTP 409).
    Conflict,
    /// The server is shutting down (HTTP 503).
    Unavailable,
    /// gantry itself failed, e.g. the store (HTTP 500).
    Internal,
}

/// A command's failure: a kind for the status code and a one-line message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// What kind of failure.
    pub kind: ApiErrorKind,
    /// What went wrong, lowercase, no trailing period.
    pub message: String,
}

impl ApiError {
    /// A failure of `kind`.
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// [`ApiErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::NotFound, message)
    }

    /// [`ApiErrorKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::Invalid, message)
    }

    /// [`ApiErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::Conflict, message)
    }

    /// [`ApiErrorKind::Internal`], with the error's whole source chain in the message.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(ApiErrorKind::Internal, message)
    }

    fn shutting_down() -> Self {
        Self::new(ApiErrorKind::Unavailable, "the server is shutting down")
    }

    /// The HTTP status code for this error.
    pub fn status_code(&self) -> u16 {
        match self.kind {
            ApiErrorKind::NotFound => 404,
            ApiErrorKind::Invalid => 422,
            ApiErrorKind::Conflict => 409,
            ApiErrorKind::Unavailable => 503,
            ApiErrorKind::Internal => 500,
        }
    }
}

/// The running server, as API code sees it. Cheap to clone (a few `Arc`s); every clone talks
/// to the same loops.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) data_dir: PathBuf,
    pub(crate) config: watch::Receiver<Arc<Config>>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) changes: broadcast::Sender<Change>,
    pub(crate) reload: mpsc::Sender<oneshot::Sender<Result<u64, Vec<String>>>>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("data_dir", &self.shared.data_dir)
            .field("generation", &self.shared.config.borrow().generation)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The runtime state. Its calls block: use `tokio::task::spawn_blocking` from async code.
    /// Read only; changes go through [`Command`]s.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The data directory (`state.db`, git mirrors, promotion work dirs, the lock file).
    pub fn data_dir(&self) -> &Path {
        &self.shared.data_dir
    }

    /// The resource specs in force now (the last config that validated).
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.shared.config.borrow())
    }

    /// A receiver that sees every config the server switches to.
    pub fn watch_config(&self) -> watch::Receiver<Arc<Config>> {
        self.shared.config.clone()
    }

    /// Changes from now on (see [`Change`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.shared.changes.subscribe()
    }

    /// Sends a command to the loops; fails only when the server is shutting down.
    pub async fn send(&self, command: Command) -> Result<(), ApiError> {
        self.shared
            .commands
            .send(command)
            .await
            .map_err(|_| ApiError::shutting_down())
    }

    async fn ask<T>(
        &self,
        command: Command,
        reply: oneshot::Receiver<Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        self.send(command).await?;
        reply.await.map_err(|_| ApiError::shutting_down())?
    }

    /// [`Command::Promote`]: queues a Promotion and returns its name.
    pub async fn promote(
        &self,
        project: &str,
        stage: &str,
        freight: &str,
        actor: &str,
    ) -> Result<String, ApiError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Promote {
            project: project.to_owned(),
            stage: stage.to_owned(),
            freight: freight.to_owned(),
            actor: actor.to_owned(),
            reply,
        };
        self.ask(command, answer).await
    }

    /// [`Command::Approve`].
    pub async fn approve(
        &self,
        project: &str,
        stage: &str,
        freight: &str,
        actor: &str,
    ) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Approve {
            project: project.to_owned(),
            stage: stage.to_owned(),
            freight: freight.to_owned(),
            actor: actor.to_owned(),
            reply,
        };
        self.ask(command, answer).await
    }

    /// [`Command::RefreshWarehouse`], waiting for the discovery to finish.
    pub async fn refresh_warehouse(
        &self,
        project: &str,
        name: &str,
    ) -> Result<RefreshOutcome, ApiError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::RefreshWarehouse {
            project: project.to_owned(),
            name: name.to_owned(),
            reply: Some(reply),
            pushed: Vec::new(),
        };
        self.ask(command, answer).await
    }

    /// [`Command::AbortPromotion`], waiting until the Promotion has ended.
    pub async fn abort_promotion(
        &self,
        project: &str,
        name: &str,
        actor: &str,
    ) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::AbortPromotion {
            project: project.to_owned(),
            name: name.to_owned(),
            actor: actor.to_owned(),
            reply,
        };
        self.ask(command, answer).await
    }

    /// Reloads the config directory now (as a file change or SIGHUP would). Returns the new
    /// config generation, or the errors that kept the old config in force.
    pub async fn reload_config(&self) -> Result<u64, Vec<String>> {
        let (reply, answer) = oneshot::channel();
        let shutting_down = || vec!["the server is shutting down".to_owned()];
        self.shared
            .reload
            .send(reply)
            .await
            .map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }
}
