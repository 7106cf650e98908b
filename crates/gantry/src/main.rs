//! The `gantry` binary: parse, resolve, run one command. See `cli.rs` for the commands.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("gantry: internal error: {error:#}");
            commands::ExitStatus::Internal.into()
        }
    }
}
