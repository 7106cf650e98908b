//! Resource types gantry reads, and loading them with source positions.
//!
//! gantry reads Kargo (`kargo.akuity.io/v1alpha1`), Argo CD (`argoproj.io/v1alpha1`) and Kro
//! (`kro.run/v1alpha1`) manifests verbatim, plus Kubernetes Secrets holding credentials.
//!
//! ```text
//!  files/folders ──► yaml (span-keeping tree) ──► load (typed Resource + Node tree)
//!                                                     │
//!                                   structure (per-resource checks) ──► Diagnostic
//! ```
//!
//! Where to start: [`load::ResourceSet::load_paths`] reads a pipeline; every [`resource::Resource`]
//! keeps its [`yaml::Node`] tree so any field can be located with [`path::FieldPath`];
//! [`structure::check`] runs the checks that need one resource at a time. Cross-resource checks
//! (references, promotion pitfalls) live in `gantry-core`. This crate does no network I/O and
//! starts no processes; it reads files only in [`load`].

pub mod argocd;
pub mod core_v1;
pub mod diagnostic;
pub mod emit;
pub mod kargo;
pub mod kro;
pub mod load;
pub mod meta;
pub mod path;
pub mod redact;
pub mod resource;
pub mod semver;
pub mod source;
pub mod structure;
pub mod suggest;
pub mod time;
pub mod url;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{LoadOptions, ResourceSet};
pub use path::FieldPath;
pub use resource::{Kind, Object, Resource};
