//! gantry's domain rules, free of I/O.
//!
//! Where to start: [`lint::validate`] runs every pipeline check over a loaded
//! [`gantry_api::ResourceSet`]. The building blocks it uses are reusable on their own:
//! [`template`] (static view of `${{ }}` templates), [`policy`] (promotion policy matching),
//! [`steps`] (the step-kind catalogue), [`selection`] (which image
//! or git tags a subscription picks, in which order), [`schema`] with [`step_schemas`] (JSON Schema validation
//! of step configs), [`url`] (git URL normalisation) and [`glob`]. Git discovery's pure parts
//! live in [`path_filter`] (`includePaths`/`excludePaths`) and [`commit_filter`]
//! (`expressionFilter`, recorded subjects). [`warehouse`] with [`alias`] turns discovery results
//! into Freight; [`stage`] decides which Freight a Stage may take and what auto-promotion does;
//! [`stage_status`] derives a Stage's conditions, Freight summary and health.
//!
//! This crate never touches the network, the file system or processes: adapters do, behind
//! traits defined here as they are needed.

pub mod alias;
pub mod commit_filter;
pub mod credentials;
pub mod freight;
pub mod glob;
pub mod lint;
pub mod path_filter;
pub mod policy;
pub mod schema;
pub mod selection;
pub mod stage;
pub mod stage_status;
pub mod step_schemas;
pub mod steps;
pub mod template;
pub mod warehouse;
pub use gantry_api::url;
