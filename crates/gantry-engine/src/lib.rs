//! gantry's promotion engine: what a Promotion does, step by step, without doing any I/O itself.
//!
//! ```text
//!  Stage.promotionTemplate ──inflate()──► [Step] ──Orchestrator::run()──► PromotionStatus
//!        + PromotionTasks                  │            │        ▲            (serde; persisted by
//!                                          │   StepRunner::run   │             the caller after
//!                                          │   (gantry-steps:    │             every change)
//!                                          ▼    git, files, http)│
//!                                    vars, if, config  ──► outputs, status
//! ```
//!
//! Where to start: [`inflate::inflate`] turns a template into steps, [`Orchestrator`] runs them.
//! Step implementations live in `gantry-steps`; this crate only defines the [`StepRunner`]
//! contract, evaluates `vars`, `if` and `config` with `gantry-expr`, and applies Kargo's rules
//! for skipping, retries, timeouts, outputs and the final phase.

pub mod env;
pub mod inflate;
pub mod name;
pub mod orchestrator;
pub mod status;
pub mod step;

pub use env::PromotionData;
pub use inflate::{InflateError, Step, TaskSource, Var, inflate};
pub use orchestrator::{Event, Next, Observer, ObserverError, Orchestrator, abort};
pub use status::{HealthCheck, Phase, PromotionStatus, StepExecutionMetadata, StepStatus};
pub use step::{
    Clock, FreightReference, PromotionContext, StepError, StepInfo, StepRequest, StepResult,
    StepRunner, SystemClock,
};
