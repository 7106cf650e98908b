//! `gantry completion SHELL`: the shell completion script for gantry (clap_complete), e.g.
//! `gantry completion bash > /etc/bash_completion.d/gantry`.

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionArgs};
use crate::commands::ExitStatus;

pub(crate) fn run(args: &CompletionArgs) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "gantry", &mut script);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    std::io::Write::write_all(&mut out, &script).context("writing the completion script")?;
    Ok(ExitStatus::Success)
}
