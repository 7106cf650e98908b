//! Wiring: the data directory, the store, the channels of the [`Handle`], and the tasks that
//! run the loops; and the graceful shutdown.
//!
//! ```text
//!  Server::start ── lock <data-dir>/gantry.lock ── open <data-dir>/state.db
//!        ├── config watcher task (poll mtimes, SIGHUP, Handle::reload_config) ──► watch<Config>
//!        └── controller task (commands, warehouse tasks, stage workers, evaluations)
//!  Server::shutdown ── stop flag ──► no new work; a running step finishes and is persisted;
//!                                    its Promotion stays Running and resumes on the next start
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gantry_store::Store;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{self, Config};
use crate::controller::Controller;
use crate::lock::{DataDirLock, LockError};
use crate::{Change, ChangeKind, Handle, Shared};

/// The default floor of Warehouse discovery intervals (`--min-interval`): a Warehouse asking
/// for `5m` is discovered every 5 minutes, one asking for `1s` every 10 seconds. Webhooks and
/// `RefreshWarehouse` trigger a discovery at once regardless.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// How old a fetch of a GitOps repository may be and still serve a Promotion's `git-clone`.
/// A refresh a webhook asks for fetches the repositories the Warehouse's Stages promote into
/// while discovery runs, and the Promotion that follows reuses that fetch: the checkout then
/// sees the remote as of that moment, and `git-push` integrates anything pushed since by
/// rebase, as it does for any concurrent push.
const FETCH_REUSE: Duration = Duration::from_secs(1);

/// Settings of a server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// The floor of Warehouse discovery intervals (default [`DEFAULT_MIN_INTERVAL`]).
    pub min_interval: Duration,
    /// How often the config directory's files are checked for changes (default 1 s; zero
    /// turns polling off).
    pub config_poll: Duration,
    /// Reload the config on SIGHUP (the binary turns it on; tests leave it off).
    pub reload_on_sighup: bool,
    /// How many Warehouses may be discovered at once (default 8): a thousand Warehouses that
    /// all start together queue instead of starting a thousand git processes.
    pub discovery_concurrency: usize,
}

impl ServerOptions {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            min_interval: DEFAULT_MIN_INTERVAL,
            config_poll: Duration::from_secs(1),
            reload_on_sighup: false,
            discovery_concurrency: 8,
        }
    }
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory is in use or cannot be locked.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The state database could not be opened.
    #[error("failed to open the state database")]
    Store(#[source] gantry_store::StoreError),
    /// The git adapter could not be set up.
    #[error("failed to set up git in the data directory")]
    Git(#[source] gantry_git::GitError),
    /// The registry client or its metadata cache could not be set up.
    #[error("failed to set up the registry client")]
    Registry(#[source] gantry_registry::RegistryError),
    /// A blocking task failed.
    #[error("failed to open the data directory")]
    Join(#[source] tokio::task::JoinError),
}

/// A running server. Dropping it asks the loops to stop, like [`Server::shutdown`], without
/// waiting for them; the data directory stays locked until they have ended.
pub struct Server {
    handle: Handle,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

/// How many changes a slow subscriber may fall behind before it sees `Lagged`.
const CHANGE_BUFFER: usize = 1024;

impl Server {
    /// Starts the loops on the current tokio runtime with `config` (loaded and validated by
    /// [`config::load`]). Running Promotions found in the store resume; every Warehouse is
    /// discovered at once.
    pub async fn start(options: ServerOptions, mut config: Config) -> Result<Self, StartError> {
        let lock = DataDirLock::acquire(&options.data_dir)?;
        let path = options.data_dir.join("state.db");
        let store = tokio::task::spawn_blocking(move || Store::open(path))
            .await
            .map_err(StartError::Join)?
            .map_err(StartError::Store)?;
        let mut git_options = gantry_git::GitOptions::new(options.data_dir.clone());
        git_options.fetch_reuse = FETCH_REUSE;
        let git = gantry_git::Git::new(git_options).map_err(StartError::Git)?;
        let cache = gantry_registry::FileCache::open(options.data_dir.join("registry-cache"))
            .map_err(StartError::Registry)?;
        let registry = gantry_registry::RegistryClient::with_cache(
            gantry_registry::ClientOptions::default(),
            Arc::new(cache),
        )
        .map_err(StartError::Registry)?;
        config.generation = config.generation.max(1);
        let (config_tx, config_rx) = watch::channel(Arc::new(config));
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let (reload_tx, reload_rx) = mpsc::channel(4);
        let (stop, stopped) = watch::channel(false);
        let handle = Handle {
            shared: Arc::new(Shared {
                store: store.clone(),
                data_dir: options.data_dir.clone(),
                config: config_rx.clone(),
                commands: commands_tx,
                changes: changes.clone(),
                reload: reload_tx,
            }),
        };
        let watcher = tokio::spawn(watch_config(
            config_tx,
            reload_rx,
            changes.clone(),
            options.clone(),
            stopped.clone(),
        ));
        let controller = Controller::new(
            options,
            store,
            git,
            registry,
            config_rx,
            changes,
            commands_rx,
            stopped,
        );
        let controller = tokio::spawn(async move {
            controller.run().await;
            // The loops have ended: another server may take the data directory now.
            drop(lock);
        });
        Ok(Self {
            handle,
            stop,
            tasks: vec![watcher, controller],
        })
    }

    /// The handle for API code.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Stops taking work, lets a running step finish and persists it, and waits for every loop
    /// to end. Running Promotions stay `Running` in the store and resume on the next start.
    pub async fn shutdown(mut self) {
        tracing::info!("shutting down");
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            if let Err(error) = task.await {
                tracing::error!(
                    error = &error as &dyn std::error::Error,
                    "a server task failed"
                );
            }
        }
        tracing::info!("stopped");
    }
}

/// Reloads the config when its files change, on SIGHUP and on request; keeps the old config
/// when the new one does not validate.
async fn watch_config(
    config: watch::Sender<Arc<Config>>,
    mut requests: mpsc::Receiver<oneshot::Sender<Result<u64, Vec<String>>>>,
    changes: broadcast::Sender<Change>,
    options: ServerOptions,
    mut stopped: watch::Receiver<bool>,
) {
    let mut hangups = hangup_signals(options.reload_on_sighup);
    let poll = options.config_poll;
    let mut ticker = tokio::time::interval(if poll.is_zero() {
        Duration::from_hours(1)
    } else {
        poll
    });
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The last directory state that failed to validate, so a broken edit is reported once.
    let mut failed: Option<config::Fingerprint> = None;
    loop {
        let (reply, forced) = tokio::select! {
            _ = stopped.changed() => return,
            request = requests.recv() => match request {
                Some(reply) => (Some(reply), true),
                None => return,
            },
            () = recv_hangup(&mut hangups) => {
                tracing::info!("SIGHUP: reloading the config");
                (None, true)
            }
            _ = ticker.tick(), if !poll.is_zero() => (None, false),
        };
        let current = Arc::clone(&config.borrow());
        let dir = current.dir.clone();
        let check = dir.clone();
        let Ok(fingerprint) =
            tokio::task::spawn_blocking(move || config::Fingerprint::of(&check)).await
        else {
            continue;
        };
        if !forced && (fingerprint == current.fingerprint || failed.as_ref() == Some(&fingerprint))
        {
            continue;
        }
        let generation = current.generation + 1;
        let loaded = tokio::task::spawn_blocking(move || config::load(&dir, generation)).await;
        let result = match loaded {
            Ok(Ok(new)) => {
                failed = None;
                for warning in &new.warnings {
                    tracing::warn!("{}", config::one_line(warning));
                }
                tracing::info!(generation, "config reloaded");
                config.send_replace(Arc::new(new));
                let _ = changes.send(Change {
                    kind: ChangeKind::Config,
                    project: String::new(),
                    name: String::new(),
                    event_id: None,
                });
                Ok(generation)
            }
            Ok(Err(error)) => {
                failed = Some(fingerprint);
                let lines = error.lines();
                tracing::error!(
                    errors = lines.len(),
                    "the edited config does not validate; the previous config keeps running"
                );
                for line in &lines {
                    tracing::error!("{line}");
                }
                Err(lines)
            }
            Err(join) => Err(vec![format!("loading the config failed: {join}")]),
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

#[cfg(unix)]
fn hangup_signals(enabled: bool) -> Hangups {
    if !enabled {
        return None;
    }
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "cannot listen for SIGHUP"
            );
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signals(_enabled: bool) -> Hangups {
    None
}

async fn recv_hangup(hangups: &mut Hangups) {
    #[cfg(unix)]
    if let Some(signal) = hangups
        && signal.recv().await.is_some()
    {
        return;
    }
    let _ = hangups;
    std::future::pending::<()>().await;
}
