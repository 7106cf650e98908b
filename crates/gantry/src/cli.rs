//! Command-line parsing only: no behaviour lives here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

mod remote;

pub(crate) use remote::*;

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
    /// Run promotion tasks locally.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Run one promotion step locally.
    #[command(subcommand)]
    Step(StepCommand),
    /// Pick tags the way a Warehouse subscription does: tags on stdin, the chosen ones best first
    /// on stdout.
    SelectTags(SelectTagsArgs),
    /// Check and parse semantic versions the way Kargo does (Masterminds semver v3).
    #[command(subcommand)]
    Semver(SemverCommand),
    /// Work with Freight documents.
    #[command(subcommand)]
    Freight(FreightCommand),
    /// Work with Warehouses: run their discovery.
    #[command(subcommand)]
    Warehouse(WarehouseCommand),
    /// Work with Kro ResourceGraphDefinitions offline.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Run the promotion server: discover, create Freight, auto-promote, run Promotions.
    Serve(ServeArgs),
    /// List resources of a running server: projects, warehouses, freight, stages, promotions.
    Get(GetArgs),
    /// Show one resource of a running server in detail.
    Describe(DescribeArgs),
    /// Promote Freight into a Stage.
    Promote(PromoteArgs),
    /// Approve Freight for a Stage (available there without upstream verification).
    Approve(ApproveArgs),
    /// Discover a Warehouse now.
    #[command(subcommand)]
    Refresh(RefreshCommand),
    /// Abort a Promotion.
    #[command(subcommand)]
    Abort(AbortCommand),
    /// A Stage's Freight history with commit ids.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Re-promote an earlier Freight into a Stage.
    #[command(subcommand)]
    Rollback(RollbackCommand),
    /// Explain in plain words why a Stage holds what it holds.
    #[command(subcommand)]
    Explain(ExplainCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion(CompletionArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The folder of resource specs (Projects, Warehouses, Stages, PromotionTasks, Secrets);
    /// reloaded when its files change and on SIGHUP.
    #[arg(long, value_name = "DIR", env = "GANTRY_CONFIG")]
    pub(crate) config: PathBuf,

    /// Where the state database, git mirrors and promotion work dirs live.
    #[arg(long, env = "GANTRY_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// The address the HTTP server listens on.
    #[arg(
        long,
        default_value = "127.0.0.1:8080",
        env = "GANTRY_LISTEN",
        value_name = "ADDR"
    )]
    pub(crate) listen: String,

    /// The shortest Warehouse discovery interval: Warehouses asking for less are discovered
    /// this often (refreshes and webhooks are not limited).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) min_interval: std::time::Duration,

    /// Serve API reads without a token (mutations always need the admin token).
    #[arg(long, env = "GANTRY_OPEN_READS")]
    pub(crate) open_reads: bool,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    gantry_api::time::parse_go_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 10s, 1m30s or 500ms"))
}

/// Tag selection strategies that need nothing but tag names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TagStrategy {
    /// Highest semantic version first (ties: tag descending).
    #[value(name = "SemVer")]
    SemVer,
    /// Greatest tag first (byte order).
    #[value(name = "Lexical")]
    Lexical,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SelectTagsArgs {
    /// The selection strategy.
    #[arg(long, value_enum, ignore_case = true, default_value_t = TagStrategy::SemVer)]
    pub(crate) strategy: TagStrategy,

    /// Masterminds semver constraint (`^1.2`, `>=1.0, <2.0 || 3.x`); SemVer only.
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    pub(crate) constraint: Option<String>,

    /// Only `X.Y.Z` tags (one leading `v` allowed) count as versions; SemVer only.
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set, default_value_t = false)]
    pub(crate) strict_semvers: bool,

    /// Keep only tags matching one of these regexes (RE2 syntax, unanchored).
    #[arg(long = "allow-regex", value_name = "R", allow_hyphen_values = true)]
    pub(crate) allow_regexes: Vec<String>,

    /// Drop tags matching any of these regexes (wins over --allow-regex).
    #[arg(long = "ignore-regex", value_name = "R", allow_hyphen_values = true)]
    pub(crate) ignore_regexes: Vec<String>,

    /// Print at most N tags.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SemverCommand {
    /// Print `true` or `false`: whether VERSION satisfies the constraint.
    Check(SemverCheckArgs),
    /// Exit 0 and print the normalised version if VERSION parses, exit 1 otherwise.
    Parse(SemverParseArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct SemverCheckArgs {
    /// Masterminds semver constraint (`^1.2`, `~1.2.3`, `>= 1.0, < 2.0 || 3.x`, `1.2 - 1.4`).
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    pub(crate) constraint: String,

    /// The version to check (read leniently: `v1.2` is `1.2.0`).
    pub(crate) version: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SemverParseArgs {
    /// Apply Kargo's strictSemvers rule: one leading `v` allowed, then exactly MAJOR.MINOR.PATCH.
    #[arg(long)]
    pub(crate) strict: bool,

    /// The version to parse.
    pub(crate) version: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FreightCommand {
    /// Print the id Kargo gives a Freight document (40 hex digits), one line per document.
    Id(FreightIdArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct FreightIdArgs {
    /// A YAML or JSON file with one or more Freight documents.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WarehouseCommand {
    /// Discover what each Warehouse's subscriptions find now, and the Freight it would make.
    Discover(WarehouseDiscoverArgs),
}

/// Output formats of `warehouse discover`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiscoverFormat {
    /// A readable summary.
    Human,
    /// One YAML document per Warehouse.
    Yaml,
    /// A JSON list, one entry per Warehouse.
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct WarehouseDiscoverArgs {
    /// Manifest files and folders (Warehouses, credential Secrets, existing Freight).
    #[arg(short = 'f', long = "file", required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,

    /// Only this Warehouse.
    #[arg(long, value_name = "NAME")]
    pub(crate) warehouse: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = DiscoverFormat::Human)]
    pub(crate) output: DiscoverFormat,

    /// Where git mirrors, the registry metadata cache and previous results live.
    #[arg(long, env = "GANTRY_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Requests per second sent to one registry (Kargo's default is 20; 0 turns the limit off).
    #[arg(long, value_name = "N", default_value_t = 20.0)]
    pub(crate) registry_rate_limit: f64,

    /// Namespace of namespaced resources that set none.
    #[arg(short, long, default_value = "default", env = "GANTRY_NAMESPACE")]
    pub(crate) namespace: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GraphCommand {
    /// Print the CustomResourceDefinition Kro would generate for an RGD.
    Crd(GraphCrdArgs),
    /// Print an RGD's resources in apply order, and the deletion layers.
    Order(GraphOrderArgs),
    /// Render an instance of an RGD into the manifests Kro would apply, in apply order.
    Render(GraphRenderArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct GraphRenderArgs {
    /// The file holding the ResourceGraphDefinition.
    #[arg(long, value_name = "FILE")]
    pub(crate) rgd: PathBuf,

    /// The file holding the instance (e.g. a WebApplication).
    #[arg(long, value_name = "FILE")]
    pub(crate) instance: PathBuf,

    /// Which RGD, when the file holds several.
    #[arg(long)]
    pub(crate) name: Option<String>,

    /// Namespace of an instance that sets none.
    #[arg(short = 'n', long, default_value = "default")]
    pub(crate) namespace: String,

    /// Kro version for the `kro.run/kro-version` label (left out without it).
    #[arg(long, value_name = "VERSION")]
    pub(crate) kro_version: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ManifestFormat::Yaml)]
    pub(crate) output: ManifestFormat,
}

/// How manifests are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ManifestFormat {
    /// Multi-document YAML.
    Yaml,
    /// A JSON list of objects.
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GraphCrdArgs {
    /// The file holding the ResourceGraphDefinition.
    #[arg(long, value_name = "FILE")]
    pub(crate) rgd: PathBuf,

    /// Which RGD, when the file holds several.
    #[arg(long)]
    pub(crate) name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GraphOrderArgs {
    /// The file holding the ResourceGraphDefinition.
    #[arg(long, value_name = "FILE")]
    pub(crate) rgd: PathBuf,

    /// Which RGD, when the file holds several.
    #[arg(long)]
    pub(crate) name: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Human)]
    pub(crate) output: Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCommand {
    /// Run a Stage's whole promotion from manifests, step by step, resumable.
    Run(TaskRunArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum StepCommand {
    /// Run one step with DIR as its work dir and print its output as JSON.
    Run(StepRunArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct TaskRunArgs {
    /// Manifest files and folders (Stage, PromotionTasks, Warehouses, Freight, credential Secrets).
    #[arg(short = 'f', long = "file", required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,

    /// The Stage to promote to.
    #[arg(long)]
    pub(crate) stage: String,

    /// The Freight: a file with Freight documents, or the name or alias of a Freight among the
    /// manifests (repeat for Stages that request several origins).
    #[arg(long, value_name = "ID|FILE")]
    pub(crate) freight: Vec<String>,

    /// Set a promotion variable (overrides the Stage's and the tasks' defaults).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub(crate) vars: Vec<String>,

    /// Run every step but git-push, and print the diff each push would send.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Mark steps of this kind or alias Skipped instead of running them (e.g. argocd-update).
    #[arg(long, value_name = "KIND|ALIAS")]
    pub(crate) skip: Vec<String>,

    /// Name of the promotion; an unfinished promotion of that name is resumed.
    #[arg(long)]
    pub(crate) promotion: Option<String>,

    /// Where mirrors, work dirs and promotion state live.
    #[arg(long, env = "GANTRY_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Namespace of namespaced resources that set none.
    #[arg(short, long, default_value = "default", env = "GANTRY_NAMESPACE")]
    pub(crate) namespace: String,

    /// Print the outcome (phase, step statuses, outputs) as JSON on stdout.
    #[arg(long = "json")]
    pub(crate) output_json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StepRunArgs {
    /// The step kind (`yaml-update`, `git-clone`, ...).
    pub(crate) kind: String,

    /// The work dir every config path is relative to (and confined to).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,

    /// The step's config (YAML or JSON, already free of `${{ }}` or with literal values).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,

    /// A Freight collection (`{"items": {"Warehouse/<name>": {...}}}`) or Freight documents.
    #[arg(long, value_name = "FILE")]
    pub(crate) freight: Option<PathBuf>,

    /// Where git mirrors live.
    #[arg(long, env = "GANTRY_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
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
