//! One module per command; each returns an [`ExitStatus`].

mod completion;
mod expr;
mod freight;
mod graph;
mod remote;
mod select_tags;
mod semver;
mod serve;
mod step;
mod task;
mod validate;
mod warehouse;

use std::process::ExitCode;

use crate::cli::{
    AbortCommand, Cli, Command, ExplainCommand, ExprCommand, FreightCommand, GraphCommand,
    HistoryCommand, RefreshCommand, RollbackCommand, SemverCommand, StepCommand, TaskCommand,
    WarehouseCommand,
};

/// How gantry exits: user-facing failures and internal ones are told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Everything fine (warnings allowed).
    Success,
    /// The input has errors.
    Failure,
    /// gantry itself failed.
    Internal,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Internal => ExitCode::from(2),
        }
    }
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let color = crate::output::use_color(cli.color);
    match cli.command {
        Command::Validate(args) => validate::run(&args, color),
        Command::Expr(ExprCommand::Eval(args)) => expr::eval::run(&args, color),
        Command::Task(TaskCommand::Run(args)) => task::run::run(&args, color),
        Command::Step(StepCommand::Run(args)) => step::run::run(&args),
        Command::SelectTags(args) => select_tags::run(&args),
        Command::Semver(SemverCommand::Check(args)) => semver::check::run(&args),
        Command::Semver(SemverCommand::Parse(args)) => semver::parse::run(&args),
        Command::Freight(FreightCommand::Id(args)) => freight::id::run(&args),
        Command::Graph(GraphCommand::Crd(args)) => graph::crd::run(&args, color),
        Command::Graph(GraphCommand::Order(args)) => graph::order::run(&args, color),
        Command::Graph(GraphCommand::Render(args)) => graph::render::run(&args, color),
        Command::Warehouse(WarehouseCommand::Discover(args)) => {
            warehouse::discover::run(&args, color)
        }
        Command::Serve(args) => serve::run(&args, color),
        Command::Get(args) => remote::get::run(&args),
        Command::Describe(args) => remote::describe::run(&args),
        Command::Promote(args) => remote::promote::promote(&args),
        Command::Approve(args) => remote::promote::approve(&args),
        Command::Refresh(RefreshCommand::Warehouse(args)) => remote::act::refresh(&args),
        Command::Abort(AbortCommand::Promotion(args)) => remote::act::abort(&args),
        Command::History(HistoryCommand::Stage(args)) => remote::history::run(&args),
        Command::Rollback(RollbackCommand::Stage(args)) => remote::promote::rollback(&args),
        Command::Explain(ExplainCommand::Stage(args)) => remote::explain::run(&args),
        Command::Completion(args) => completion::run(&args),
    }
}
