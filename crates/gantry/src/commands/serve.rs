//! `gantry serve --config DIR [--data-dir DIR] [--listen ADDR] [--min-interval DURATION]
//! [--open-reads]`: the long-running promotion server.
//!
//! Refuses to start when the config does not validate (printing the errors as `gantry validate`
//! does). Runs on a two-thread tokio runtime; SIGINT or SIGTERM stop it gracefully (a running
//! step finishes and is saved; its Promotion resumes on the next start). Logs go to stderr;
//! `GANTRY_LOG` (e.g. `debug`, `gantry_server=trace`) sets the level, default `info`.

use std::io::Write;

use anyhow::Context;
use gantry_api::diagnostic::Severity;
use gantry_server::{Server, ServerOptions};

use crate::cli::ServeArgs;
use crate::commands::ExitStatus;
use crate::output;

pub(crate) fn run(args: &ServeArgs, color: bool) -> anyhow::Result<ExitStatus> {
    init_logging();
    let config = match gantry_server::config::load(&args.config, 1) {
        Ok(config) => config,
        Err(error) => {
            let stderr = std::io::stderr();
            let mut err = stderr.lock();
            for diagnostic in &error.errors {
                write!(err, "{}", output::human(diagnostic, color))?;
            }
            writeln!(
                err,
                "error: the config in {} has {} error(s); fix them (see `gantry validate`), the server did not start",
                args.config.display(),
                error.errors.len()
            )?;
            return Ok(ExitStatus::Failure);
        }
    };
    for warning in config
        .warnings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        tracing::warn!("{}", gantry_server::config::one_line(warning));
    }
    let data_dir = crate::commands::task::run::data_dir(args.data_dir.as_deref());
    let mut options = ServerOptions::new(data_dir);
    options.min_interval = args.min_interval;
    options.reload_on_sighup = true;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Store calls and git discovery: short, and never more than this at once. Tokio's
        // default (512) let a thousand Stages starting together spawn hundreds of threads,
        // whose memory the allocator kept. Promotions run on threads of their own.
        .max_blocking_threads(32)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, options, config))
}

async fn serve(
    args: &ServeArgs,
    options: ServerOptions,
    config: gantry_server::Config,
) -> anyhow::Result<ExitStatus> {
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", args.listen);
            return Ok(ExitStatus::Failure);
        }
    };
    let data_dir = options.data_dir.clone();
    let server = match Server::start(options, config).await {
        Ok(server) => server,
        Err(error @ gantry_server::StartError::Lock(_)) => {
            eprintln!("error: {error}");
            return Ok(ExitStatus::Failure);
        }
        Err(error) => return Err(error).context("starting the server"),
    };
    let address = listener
        .local_addr()
        .context("reading the listen address")?;
    tracing::info!(
        "listening on http://{address} (config {}, data {})",
        args.config.display(),
        data_dir.display()
    );
    let token = match gantry_server::api::AdminToken::load_or_create(&data_dir) {
        Ok(token) => token,
        Err(error) => {
            server.shutdown().await;
            return Err(error).context("preparing the admin token");
        }
    };
    tracing::info!(
        "API mutations need `Authorization: Bearer <token>` with the token in {}{}",
        gantry_server::api::AdminToken::path(&data_dir).display(),
        if args.open_reads {
            "; reads are open"
        } else {
            ""
        }
    );
    let (streams_end, shutdown) = tokio::sync::watch::channel(false);
    let mut api = gantry_server::api::ApiOptions::new(token);
    api.open_reads = args.open_reads;
    api.shutdown = Some(shutdown);
    let router = gantry_server::http::router(server.handle(), api);
    let http = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            stop_signal().await;
            // Event streams would keep the graceful shutdown waiting: end them.
            let _ = streams_end.send(true);
        })
        .await;
    server.shutdown().await;
    http.context("serving HTTP")?;
    Ok(ExitStatus::Success)
}

/// SIGINT or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stop signal received");
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GANTRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Plain text: the `ansi` feature of tracing-subscriber is not built in.
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
