//! The commands that talk to a running `gantry serve` over its HTTP API: parsing only.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

/// Where the server is and who we are; shared by every remote command.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct ServerArgs {
    /// The gantry server's URL [default: http://127.0.0.1:8080, what `gantry serve` listens on].
    #[arg(long, env = "GANTRY_SERVER", value_name = "URL")]
    pub(crate) server: Option<String>,

    /// The API token [default: the one in <data-dir>/admin-token].
    #[arg(
        long,
        env = "GANTRY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,

    /// The server's data directory, to read the default token from.
    #[arg(long, env = "GANTRY_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// The Project [default: the server's only Project].
    #[arg(
        short = 'n',
        long = "project",
        env = "GANTRY_PROJECT",
        value_name = "PROJECT"
    )]
    pub(crate) project: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,
}

/// How remote commands print what they get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns (lists) or `Key: value` text (one resource).
    Table,
    /// The API's JSON.
    Json,
    /// The API's JSON as YAML.
    Yaml,
}

/// What `gantry get` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GetResource {
    /// Projects.
    #[value(alias = "project")]
    Projects,
    /// Warehouses.
    #[value(alias = "warehouse")]
    Warehouses,
    /// Freight, newest first.
    Freight,
    /// Stages.
    #[value(alias = "stage")]
    Stages,
    /// Promotions, newest first.
    #[value(alias = "promotion")]
    Promotions,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GetArgs {
    /// What to list.
    #[arg(value_enum)]
    pub(crate) resource: GetResource,

    /// Only this one (a Freight by id or alias).
    pub(crate) name: Option<String>,

    /// Freight: only from this Warehouse.
    #[arg(long, value_name = "WAREHOUSE")]
    pub(crate) warehouse: Option<String>,

    /// Freight: only what this Stage holds; promotions: only into this Stage.
    #[arg(long, value_name = "STAGE")]
    pub(crate) stage: Option<String>,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// What `gantry describe` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DescribeKind {
    /// A Stage: spec, current Freight, promotions, history.
    Stage,
    /// A Freight (by id or alias): artifacts and where it is.
    Freight,
    /// A Promotion: phase and steps.
    Promotion,
    /// A Warehouse: subscriptions and discovery.
    Warehouse,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DescribeArgs {
    /// What kind of resource.
    #[arg(value_enum)]
    pub(crate) kind: DescribeKind,

    /// Its name (a Freight's id or alias).
    pub(crate) name: String,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// Which Freight a command means.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct FreightChoice {
    /// The Freight's id.
    #[arg(long, value_name = "ID")]
    pub(crate) freight: Option<String>,

    /// The Freight's alias.
    #[arg(long, value_name = "ALIAS")]
    pub(crate) freight_alias: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PromoteArgs {
    /// The Stage to promote into.
    #[arg(long, value_name = "STAGE")]
    pub(crate) stage: String,

    #[command(flatten)]
    pub(crate) freight: FreightChoice,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ApproveArgs {
    /// The Stage the Freight becomes available to.
    #[arg(long, value_name = "STAGE")]
    pub(crate) stage: String,

    #[command(flatten)]
    pub(crate) freight: FreightChoice,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RefreshCommand {
    /// Discover a Warehouse now.
    Warehouse(RefreshWarehouseArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct RefreshWarehouseArgs {
    /// The Warehouse.
    pub(crate) name: String,

    /// Wait for the discovery and print what it found.
    #[arg(long)]
    pub(crate) wait: bool,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AbortCommand {
    /// Abort a pending or running Promotion (a running one after its current step).
    Promotion(NamedArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum HistoryCommand {
    /// The Freight a Stage held, newest first, with the promotions and commits that put it there.
    Stage(NamedArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExplainCommand {
    /// Why the newest Freight is or is not in a Stage, in plain words.
    Stage(NamedArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RollbackCommand {
    /// Promote an earlier Freight of a Stage's history again.
    Stage(RollbackStageArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct NamedArgs {
    /// Its name.
    pub(crate) name: String,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RollbackStageArgs {
    /// The Stage.
    pub(crate) name: String,

    /// The Freight (id or alias) to go back to [default: the one the Stage held before].
    #[arg(long, value_name = "FREIGHT")]
    pub(crate) to: Option<String>,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}
