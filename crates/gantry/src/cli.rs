//! Command-line parsing only: no behaviour lives here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// GitOps promotion in one binary: Warehouses discover artifacts, Stages promote Freight with
/// reusable PromotionTasks, every promotion is a git commit.
#[derive(Debug, Parser)]
#[command(name = "gantry", version, about, long_about = None)]
pub(crate) struct Cli {
    /// When to colour output.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true, env = "GANTRY_COLOR")]
    pub(crate) color: Color,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a pipeline's manifests (Kargo, Argo CD, Kro) for mistakes before anything runs.
    Validate(ValidateArgs),
    /// Work with `${{ }}` expressions.
    #[command(subcommand)]
    Expr(ExprCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExprCommand {
    /// Evaluate a template (`'v${{ vars.n + 1 }}'`) or, with --raw, a bare expression, and print
    /// the value as JSON.
    Eval(ExprEvalArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExprEvalArgs {
    /// A template string with `${{ }}` / `${% %}` expressions, rendered with Kargo's coercion.
    #[arg(required_unless_present = "raw", conflicts_with = "raw")]
    pub(crate) template: Option<String>,

    /// A bare expression (no delimiters, no coercion), as in `freightCreationCriteria`.
    #[arg(long, value_name = "EXPR")]
    pub(crate) raw: Option<String>,

    /// A JSON or YAML mapping used as the environment (`{vars: {...}, ctx: {...}}`).
    #[arg(long, value_name = "FILE")]
    pub(crate) env: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Files and folders to read (folders recursively: .yaml, .yml, .json).
    #[arg(required_unless_present = "list_checks")]
    pub(crate) paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,

    /// Namespace of namespaced resources that set none (like `kubectl -n`).
    #[arg(short, long, default_value = "default", env = "GANTRY_NAMESPACE")]
    pub(crate) namespace: String,

    /// List every skipped document (other kinds, non-resources) instead of a one-line summary.
    #[arg(long)]
    pub(crate) show_skipped: bool,

    /// Print the catalogue of checks and exit.
    #[arg(long)]
    pub(crate) list_checks: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Snippets with carets and hints.
    Human,
    /// A JSON list of findings.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
