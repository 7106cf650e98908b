//! The `gantry` binary: parse, resolve, run one command. See `cli.rs` for the commands.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if matches!(cli.command, cli::Command::Serve(_)) {
        limit_malloc_arenas();
    }
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("gantry: internal error: {error:#}");
            commands::ExitStatus::Internal.into()
        }
    }
}

/// `gantry serve` runs with glibc's malloc limited to 2 arenas: by default every thread that
/// allocates may get an arena of its own (up to 8 per core), and the memory freed in them is
/// kept, which made a server with a thousand Warehouses hold about three times the memory it
/// uses. glibc reads the limit only at start, so the process re-executes itself once with
/// `MALLOC_ARENA_MAX=2` (a value already in the environment is respected). If that fails, it
/// carries on with glibc's default.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt as _;
    const VAR: &str = "MALLOC_ARENA_MAX";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    // `exec` returns only when it failed.
    let _failed = command.args(args).env(VAR, "2").exec();
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
