//! The loops: Warehouse discovery, Stage evaluation and Promotion execution, and the handling
//! of [`Command`]s.
//!
//! ```text
//!                       ┌──────────── Controller::run (one task, sequential) ─────────────┐
//!  Command ────────────►│ promote / approve / abort / refresh                              │
//!  config watch ───────►│ start/stop warehouse tasks and stage workers                     │
//!  Internal events ────►│ mark the Project dirty ─► stage::evaluate (blocking, one Project │
//!  soak timers, 30 s ──►│ at a time): verification, control-flow, auto-promotion           │
//!                       └───────┬──────────────────────────────────────────┬───────────────┘
//!              refresh requests │                                          │ wake
//!                               ▼                                          ▼
//!          warehouse::run (one per Warehouse)               promotion::worker (one per Stage)
//!          discover ─► status ─► Freight ─► FreightCreated   next_pending ─► engine, status
//!                                                            after every step ─► finished
//! ```
//!
//! Every decision that creates or ends something is made on the controller task or the Stage's
//! own worker, never both, so nothing is created twice: auto-promotion and manual Promotions
//! are created by the controller; a Stage's Promotions run and end on its worker, one at a time
//! in name order; aborts are handed to the worker that owns the Promotion.
//!
//! Guarantees: no Promotion stays pending or running with nothing to run it: those of Stages
//! that leave the config (or were gone at start) are aborted. Every store write is followed by
//! a [`Change`]; a Project is re-evaluated after
//! new Freight, a finished Promotion, an approval, a config change, when a soak time elapses,
//! and every 30 seconds as a safety net.

mod commands;
pub(crate) mod discovery;
pub(crate) mod promotion;
pub(crate) mod stage;
pub(crate) mod status;
pub(crate) mod warehouse;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gantry_store::Store;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{ApiError, Change, ChangeKind, Command, Config, RefreshOutcome, ServerOptions};

use self::discovery::Discoverers;

/// How often every Project is re-evaluated even when nothing was announced.
const SAFETY_NET: Duration = Duration::from_secs(30);

/// What the loops tell the controller.
#[derive(Debug)]
pub(crate) enum Internal {
    /// A Warehouse created Freight (or its status changed in a way Stages care about).
    FreightCreated {
        /// The Project.
        project: String,
    },
    /// A Promotion ended.
    PromotionFinished {
        /// The Project.
        project: String,
    },
}

/// An abort asked for and not yet carried out by the Stage's worker.
#[derive(Debug, Default)]
pub(crate) struct AbortRequest {
    /// Who asked first.
    pub(crate) actor: String,
    /// Everyone waiting for the Promotion to end.
    pub(crate) replies: Vec<oneshot::Sender<Result<(), ApiError>>>,
}

/// What every loop shares.
pub(crate) struct Context {
    pub(crate) options: ServerOptions,
    pub(crate) store: Store,
    pub(crate) git: gantry_git::Git,
    pub(crate) config: watch::Receiver<Arc<Config>>,
    pub(crate) changes: broadcast::Sender<Change>,
    pub(crate) stopped: watch::Receiver<bool>,
    pub(crate) internal: mpsc::UnboundedSender<Internal>,
    /// Aborts by (project, promotion name).
    pub(crate) aborts: Mutex<HashMap<(String, String), AbortRequest>>,
    pub(crate) discoverers: Discoverers,
    /// Permits to discover, [`crate::ServerOptions::discovery_concurrency`] of them.
    pub(crate) discoveries: tokio::sync::Semaphore,
    /// The repositories (URLs without userinfo, and the credentials their `repoURL` carried)
    /// the last finished Promotion of each Stage checked out, by (project, stage): fetched
    /// ahead when a Warehouse feeding the Stage is told of a new artifact (see
    /// [`Context::prefetch_for`]).
    pub(crate) stage_repos: Mutex<HashMap<(String, String), Vec<CheckedOut>>>,
    /// Mirrors being fetched ahead, by URL: one fetch at a time each.
    pub(crate) prefetching: Mutex<std::collections::HashSet<String>>,
}

/// A repository a Promotion checked out: its URL without userinfo, and the credentials its
/// `repoURL` carried.
pub(crate) type CheckedOut = (String, Option<gantry_git::Credentials>);

/// A fetch ahead of `url` in progress; dropping it (even in a panic) lets the next one start.
struct Prefetching {
    context: Arc<Context>,
    url: String,
}

impl Drop for Prefetching {
    fn drop(&mut self) {
        lock(&self.context.prefetching).remove(&self.url);
    }
}

impl Context {
    /// The config in force.
    pub(crate) fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }

    /// Announces a committed change.
    pub(crate) fn emit(&self, kind: ChangeKind, project: &str, name: &str, event_id: Option<i64>) {
        let _ = self.changes.send(Change {
            kind,
            project: project.to_owned(),
            name: name.to_owned(),
            event_id,
        });
    }

    /// Whether the server is shutting down.
    pub(crate) fn stopping(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Fetches ahead, in the background, the repositories that the Stages taking Freight
    /// straight from Warehouse `warehouse` checked out in their last Promotion: a refresh that a
    /// webhook or a user asked for often makes Freight that one of them promotes at once, and
    /// its `git-clone` then reuses this fetch (`GitOptions::fetch_reuse`) instead of waiting
    /// for one of its own. Only mirrors that exist are fetched; failures are logged at debug
    /// level (the checkout fetches again and reports them).
    pub(crate) fn prefetch_for(self: &Arc<Self>, project: &str, warehouse: &str) {
        let config = self.config();
        let Some(index) = config.project(project) else {
            return;
        };
        let mut remotes: Vec<CheckedOut> = {
            let known = lock(&self.stage_repos);
            config
                .stages(project)
                .filter(|(_, stage)| {
                    stage.spec.requested_freight.iter().any(|request| {
                        request.sources.direct
                            && request.origin.kind == "Warehouse"
                            && request.origin.name == warehouse
                    })
                })
                .filter_map(|(name, _)| known.get(&(project.to_owned(), name.to_owned())))
                .flatten()
                .cloned()
                .collect()
        };
        remotes.sort_by(|a, b| a.0.cmp(&b.0));
        remotes.dedup_by(|a, b| a.0 == b.0);
        for (url, from_url) in remotes {
            if !lock(&self.prefetching).insert(url.clone()) {
                continue;
            }
            // As `git-clone` chooses them, so that it can reuse the fetch.
            let credentials =
                gantry_steps::git_clone::secret_credentials(&index.credentials, &url).or(from_url);
            let done = Prefetching {
                context: Arc::clone(self),
                url,
            };
            tokio::task::spawn_blocking(move || {
                let (context, url) = (&done.context, &done.url);
                let started = std::time::Instant::now();
                match context.git.refresh_mirror(url, credentials.as_ref()) {
                    Ok(fetched) => tracing::debug!(
                        repo = %url,
                        fetched,
                        elapsed_ms = started.elapsed().as_millis(),
                        "fetched ahead"
                    ),
                    Err(error) => tracing::debug!(
                        repo = %url,
                        error = &error as &dyn std::error::Error,
                        "fetching ahead failed"
                    ),
                }
            });
        }
    }

    /// Remembers the repositories a finished Promotion of `stage` checked out.
    pub(crate) fn remember_repos(&self, project: &str, stage: &str, remotes: Vec<CheckedOut>) {
        if remotes.is_empty() {
            return;
        }
        lock(&self.stage_repos).insert((project.to_owned(), stage.to_owned()), remotes);
    }

    /// Tells the controller something happened.
    pub(crate) fn tell(&self, event: Internal) {
        let _ = self.internal.send(event);
    }

    pub(crate) fn aborts(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, String), AbortRequest>> {
        self.aborts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an abort of this Promotion was asked for.
    pub(crate) fn abort_requested(&self, project: &str, name: &str) -> bool {
        self.aborts()
            .contains_key(&(project.to_owned(), name.to_owned()))
    }
}

/// A refresh request for a Warehouse task.
#[derive(Debug, Default)]
pub(crate) struct RefreshRequest {
    /// Who waits for the outcome, if anyone.
    pub(crate) reply: Option<oneshot::Sender<Result<RefreshOutcome, ApiError>>>,
    /// Image tags just announced by a registry notification.
    pub(crate) pushed: Vec<crate::PushedTag>,
}

struct WarehouseTask {
    spec: gantry_api::kargo::Warehouse,
    refresh: mpsc::UnboundedSender<RefreshRequest>,
    task: JoinHandle<()>,
}

struct StageWorker {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

/// The controller task: owns the warehouse tasks and stage workers and makes every decision.
pub(crate) struct Controller {
    context: Arc<Context>,
    commands: mpsc::Receiver<Command>,
    internal: mpsc::UnboundedReceiver<Internal>,
    config: watch::Receiver<Arc<Config>>,
    stopped: watch::Receiver<bool>,
    warehouses: BTreeMap<(String, String), WarehouseTask>,
    workers: BTreeMap<(String, String), StageWorker>,
    /// Projects to evaluate, and when (soak times).
    deadlines: BTreeMap<String, Instant>,
    dirty: BTreeSet<String>,
}

impl Controller {
    #[expect(
        clippy::too_many_arguments,
        reason = "the wiring of one task, called once"
    )]
    pub(crate) fn new(
        options: ServerOptions,
        store: Store,
        git: gantry_git::Git,
        registry: gantry_registry::RegistryClient,
        config: watch::Receiver<Arc<Config>>,
        changes: broadcast::Sender<Change>,
        commands: mpsc::Receiver<Command>,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        let (internal_tx, internal) = mpsc::unbounded_channel();
        let discoverers = Discoverers::new(git.clone(), registry);
        let discoveries = tokio::sync::Semaphore::new(options.discovery_concurrency.max(1));
        let context = Arc::new(Context {
            options,
            store,
            git,
            config: config.clone(),
            changes,
            stopped: stopped.clone(),
            internal: internal_tx,
            aborts: Mutex::new(HashMap::new()),
            discoverers,
            discoveries,
            stage_repos: Mutex::new(HashMap::new()),
            prefetching: Mutex::new(std::collections::HashSet::new()),
        });
        Self {
            context,
            commands,
            internal,
            config,
            stopped,
            warehouses: BTreeMap::new(),
            workers: BTreeMap::new(),
            deadlines: BTreeMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        self.config.mark_unchanged();
        self.apply_config();
        let mut safety = tokio::time::interval(SAFETY_NET);
        safety.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.evaluate_dirty().await;
            let next_deadline = self.deadlines.values().min().copied();
            tokio::select! {
                biased;
                _ = self.stopped.changed() => break,
                changed = self.config.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    self.apply_config();
                }
                event = self.internal.recv() => match event {
                    Some(Internal::FreightCreated { project }
                        | Internal::PromotionFinished { project }) => {
                        self.dirty.insert(project);
                    }
                    None => break,
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    None => break,
                },
                () = sleep_until(next_deadline) => {
                    let now = Instant::now();
                    let due: Vec<String> = self
                        .deadlines
                        .iter()
                        .filter(|(_, at)| **at <= now)
                        .map(|(project, _)| project.clone())
                        .collect();
                    for project in due {
                        self.deadlines.remove(&project);
                        self.dirty.insert(project);
                    }
                }
                _ = safety.tick() => {
                    let config = self.context.config();
                    self.dirty.extend(config.projects.keys().cloned());
                }
            }
        }
        self.stop().await;
    }

    /// Waits for every warehouse task and stage worker to end (a running step finishes first).
    async fn stop(&mut self) {
        for (_, warehouse) in std::mem::take(&mut self.warehouses) {
            warehouse.task.abort();
            let _ = warehouse.task.await;
        }
        for ((project, stage), worker) in std::mem::take(&mut self.workers) {
            worker.wake.notify_one();
            if let Err(error) = worker.task.await {
                tracing::error!(
                    project,
                    stage,
                    error = &error as &dyn std::error::Error,
                    "a stage worker failed"
                );
            }
        }
    }

    /// Starts, restarts and stops warehouse tasks and stage workers to match the config.
    fn apply_config(&mut self) {
        let config = self.context.config();
        for project in config.projects.values() {
            for problem in &project.credential_problems {
                tracing::warn!(project = %project.name, "{problem}");
            }
        }
        // Warehouses: a changed spec restarts the task (which discovers at once).
        let mut wanted = BTreeSet::new();
        for project in config.projects.keys() {
            for (name, spec) in config.warehouses(project) {
                let key = (project.clone(), name.to_owned());
                wanted.insert(key.clone());
                if self
                    .warehouses
                    .get(&key)
                    .is_some_and(|task| task.spec == *spec && !task.task.is_finished())
                {
                    continue;
                }
                if let Some(old) = self.warehouses.remove(&key) {
                    old.task.abort();
                }
                let (refresh, requests) = mpsc::unbounded_channel();
                let task = tokio::spawn(warehouse::run(
                    Arc::clone(&self.context),
                    project.clone(),
                    name.to_owned(),
                    spec.clone(),
                    requests,
                ));
                self.warehouses.insert(
                    key,
                    WarehouseTask {
                        spec: spec.clone(),
                        refresh,
                        task,
                    },
                );
            }
        }
        self.warehouses.retain(|key, task| {
            let keep = wanted.contains(key);
            if !keep {
                tracing::info!(project = %key.0, warehouse = %key.1, "warehouse removed from the config");
                task.task.abort();
            }
            keep
        });
        // Stage workers: one per Stage; a removed Stage's worker ends by itself after the
        // Promotion it runs, so its handle is only dropped here.
        for project in config.projects.keys() {
            for (name, _) in config.stages(project) {
                let key = (project.clone(), name.to_owned());
                if self
                    .workers
                    .get(&key)
                    .is_some_and(|worker| !worker.task.is_finished())
                {
                    continue;
                }
                let wake = Arc::new(Notify::new());
                let task = tokio::spawn(promotion::worker(
                    Arc::clone(&self.context),
                    project.clone(),
                    name.to_owned(),
                    Arc::clone(&wake),
                ));
                self.workers.insert(key, StageWorker { wake, task });
            }
        }
        // Wakes every worker, so that one whose Stage left the config aborts its Promotions and
        // ends (after the step in progress, if any).
        for worker in self.workers.values() {
            worker.wake.notify_one();
        }
        let live: BTreeSet<(String, String)> = self
            .workers
            .iter()
            .filter(|(_, worker)| !worker.task.is_finished())
            .map(|(key, _)| key.clone())
            .collect();
        tokio::spawn(abort_orphans(Arc::clone(&self.context), live));
        self.dirty.extend(config.projects.keys().cloned());
        self.deadlines
            .retain(|project, _| config.projects.contains_key(project));
        lock(&self.context.stage_repos).retain(|(project, stage), _| {
            config
                .stages(project)
                .any(|(name, _)| name == stage.as_str())
        });
    }

    /// Wakes a Stage's worker (new Promotion, verification recorded, abort).
    fn wake(&self, project: &str, stage: &str) {
        if let Some(worker) = self.workers.get(&(project.to_owned(), stage.to_owned())) {
            worker.wake.notify_one();
        }
    }

    async fn evaluate_dirty(&mut self) {
        while let Some(project) = self.dirty.pop_first() {
            let context = Arc::clone(&self.context);
            let name = project.clone();
            let outcome =
                tokio::task::spawn_blocking(move || stage::evaluate(&context, &name)).await;
            match outcome {
                Ok(Ok(outcome)) => {
                    for stage in &outcome.wake {
                        self.wake(&project, stage);
                    }
                    match outcome.recheck_after {
                        Some(after) => {
                            self.deadlines.insert(project, Instant::now() + after);
                        }
                        None => {
                            self.deadlines.remove(&project);
                        }
                    }
                }
                Ok(Err(error)) => {
                    tracing::error!(
                        project,
                        error = &error as &dyn std::error::Error,
                        "evaluating the stages failed; retrying in 5s"
                    );
                    self.deadlines
                        .insert(project, Instant::now() + Duration::from_secs(5));
                }
                Err(error) => {
                    tracing::error!(
                        project,
                        error = &error as &dyn std::error::Error,
                        "evaluating the stages panicked"
                    );
                }
            }
        }
    }
}

/// Aborts the unfinished Promotions of Stages that are not in the config: pending ones at once
/// (the store serialises this with a worker starting one), running ones when no worker owns
/// them (at start, or after the worker ended); a live worker ends its running one after the
/// step in progress. Nothing would ever run or end them otherwise.
async fn abort_orphans(context: Arc<Context>, live: BTreeSet<(String, String)>) {
    let store = context.store.clone();
    let unfinished = match tokio::task::spawn_blocking(move || store.unfinished_promotions()).await
    {
        Ok(Ok(list)) => list,
        Ok(Err(error)) => {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "listing unfinished promotions failed"
            );
            return;
        }
        Err(error) => {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "listing unfinished promotions failed"
            );
            return;
        }
    };
    for record in unfinished {
        let key = (record.project.clone(), record.stage.clone());
        // The config in force now: a Stage added back meanwhile keeps its Promotions.
        let owned = live.contains(&key) && record.status.phase == gantry_engine::Phase::Running;
        if owned
            || context
                .config()
                .stage(&record.project, &record.stage)
                .is_some()
        {
            continue;
        }
        tracing::info!(project = %record.project, stage = %record.stage, promotion = %record.name, "aborting a promotion of a stage that is not in the config");
        let reason = promotion::removed(&record.stage);
        promotion::abort_orphan(&context, record, &reason).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A mutex's guard; a panic elsewhere while it was held leaves plain data, still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
