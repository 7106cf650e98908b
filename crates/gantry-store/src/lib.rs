//! gantry's embedded runtime state: what `gantry serve` has discovered, created and done,
//! in one SQLite database (bundled, WAL), with versioned migrations.
//!
//! ```text
//!  warehouse_status (project, warehouse)  discovered artifacts, conditions, lastFreightID
//!  freight          (project, id)         immutable content, alias (unique), status
//!  stage_status     (project, stage)      freight history (10), current/last promotion, health…
//!  promotion        (project, name)       spec, PromotionStatus after every step, queue by name
//!  event            (id)                  append-only log: who did what, when, which commit
//! ```
//!
//! Where to start: [`Store::open`], then the `Store` methods (one transaction each), or
//! [`Store::write`] to change several things in one transaction (a [`Tx`]) and [`Store::read`]
//! for a consistent snapshot (a [`Reader`]). [`Tx::promotion_finished`] is the unit of work
//! that ends a Promotion: Stage history, Freight `currentlyIn`, the Promotion and its event, all
//! or nothing.
//!
//! Resource *specs* (Warehouse, Stage, ProjectConfig...) are not stored here: they come from the
//! config directory. This crate also makes no decisions: which Freight is available to a Stage,
//! what to auto-promote and when verification passes are the server's (and `gantry-core`'s)
//! business; the store records the outcomes. Its API is synchronous: call it from a dedicated
//! thread or `spawn_blocking`.

mod error;
mod event;
mod freight;
mod migrate;
mod promotion;
mod stage;
mod store;
mod time;
mod warehouse;

pub use error::StoreError;
pub use event::{Event, EventQuery, NewEvent, kinds};
pub use freight::{FreightQuery, FreightRecord, InsertOutcome};
pub use migrate::SCHEMA_VERSION;
pub use promotion::{
    FinishOutcome, FinishedPromotion, NewPromotion, PromotionQuery, PromotionRecord,
};
pub use stage::{
    FAILED_PROMOTIONS_LIMIT, FREIGHT_HISTORY_LIMIT, VERIFICATION_HISTORY_LIMIT, collection_id,
    freight_collection, record_in_history,
};
pub use store::{Reader, Store, StoreOptions, Tx};
