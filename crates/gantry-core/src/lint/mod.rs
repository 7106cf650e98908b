//! `gantry validate`: every check over a loaded pipeline.
//!
//! ```text
//!  ResourceSet ──► load diagnostics (syntax, types, unknown fields)
//!              ──► gantry_api::structure (one resource at a time)
//!              ──► project   (Project per namespace, policies, auto-promotion)
//!              ──► graph     (origins, upstream Stages, cycles)
//!              ──► promotion (steps, tasks, vars, outputs, paths, credentials, Argo CD)
//!              ──► expressions (every `${{ }}` parsed, criteria expressions)
//!              ──► sorted, de-duplicated diagnostics
//! ```

mod expressions;
mod graph;
mod index;
mod project;
mod promotion;

use gantry_api::ResourceSet;
use gantry_api::diagnostic::{self, Diagnostic, Severity};

/// The outcome of validating a pipeline.
#[derive(Debug)]
pub struct Report {
    /// Every finding, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == severity)
            .count()
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

/// Runs every check over a loaded set (including what loading itself found).
pub fn validate(set: &ResourceSet) -> Report {
    let mut diagnostics = set.diagnostics.clone();
    diagnostics.extend(gantry_api::structure::check(set));
    let index = index::Index::new(set);
    project::check(&index, &mut diagnostics);
    graph::check(&index, &mut diagnostics);
    promotion::check(&index, &mut diagnostics);
    expressions::check(set, &mut diagnostics);
    diagnostic::sort_and_dedup(&mut diagnostics);
    Report { diagnostics }
}
