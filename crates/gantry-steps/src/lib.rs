//! gantry's built-in promotion steps: one file per step kind, each with its config struct, its
//! behaviour and its tests; [`registry::Registry::builtin`] lists them all and implements the
//! engine's `StepRunner`.
//!
//! Steps get their capabilities (git with cached mirrors, the promotion's confined work dir,
//! credentials, a metadata sink) from [`registry::Services`]; they never build their own. The
//! file-editing logic they share (Kargo's yaml-update splice, sjson-style JSON edits, TOML,
//! YAML merge, kustomize images) lives in [`edit`] as pure functions.
//!
//! Where to start: [`registry`], then any step file, e.g. [`git_clone`] or [`yaml_parse`].
//! [`resources`] turns loaded manifests into what a runner hands the engine (tasks, Project
//! data, credentials), for the CLI and the server alike.

pub mod edit;
pub mod materialize;
pub mod registry;
pub mod resources;
pub mod workdir;

pub mod argocd_update;
pub mod compose_output;
pub mod copy;
pub mod delete;
pub mod fail;
pub mod file_write;
pub mod git_clear;
pub mod git_clone;
pub mod git_commit;
pub mod git_push;
pub mod git_tag;
pub mod http;
pub mod json_parse;
pub mod json_update;
pub mod kustomize_set_image;
mod parse_outputs;
pub mod set_metadata;
pub mod toml_parse;
pub mod toml_update;
mod update_file;
pub mod yaml_merge;
pub mod yaml_parse;
pub mod yaml_update;

#[cfg(test)]
mod testing;
