//! Promotions: what is stored to run one ([`PromotionSpec`]), creating one ([`create`]), and
//! the Stage worker that runs a Stage's Promotions one at a time in name order ([`worker`]).
//!
//! ```text
//!  worker(project, stage) loop:
//!    next_pending ──none──► sleep until woken
//!      │ abort asked?  ──► end it Aborted
//!      │ pending, and the Stage's current Freight is not verified yet ──► wait (Kargo's gate)
//!      ▼
//!    Pending ─► Running (+ currentPromotion, PromotionStarted) ─► engine on the blocking pool,
//!    status saved after every step ─► RetryAfter: sleep, run again ─► Done: promotion_finished
//!    (+ auto-promotion hold/resume) ─► work dir removed ─► controller re-evaluates the Project
//! ```
//!
//! Guarantees: the inflated steps and the Freight are fixed when the Promotion is created
//! (a config edit does not change a queued Promotion); progress is saved after every step, so
//! a restarted server resumes a running Promotion at the step it was in, with the work dir
//! (`<data-dir>/work/<promotion>`) and its git worktrees as they were; a finished step is never
//! run again. Shutdown and abort take effect between steps.
//!
//! A Stage that leaves the config has its Promotions aborted ("stage X was removed from the
//! config"): its worker ends the running one after the step in progress (not after the last
//! step: then it ends as it ended), then the pending ones, and ends; the controller aborts
//! pending ones at once and those no worker owns (see `abort_orphans`).
//!
//! Caveats: a step interrupted by a crash runs again from its start (steps are idempotent,
//! see `gantry_engine::orchestrator`); secrets are read from the config in force when a step
//! runs, never stored.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gantry_api::kargo::{AutoPromotionHold, FreightOrigin, Stage};
use gantry_api::time::format_rfc3339;
use gantry_engine::{
    FreightReference, Next, Orchestrator, Phase, PromotionContext, PromotionStatus, Step,
    SystemClock, Var, inflate,
};
use gantry_steps::registry::{MetadataSink, MetadataUpdate, Registry, Services};
use gantry_steps::workdir::WorkDir;
use gantry_store::{
    FinishedPromotion, FreightQuery, FreightRecord, NewEvent, NewPromotion, PromotionRecord,
    StoreError, kinds,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::{Context, Internal};
use crate::config::Config;
use crate::{ApiError, ChangeKind};

/// What a stored Promotion runs: fixed when it is created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromotionSpec {
    /// The Promotion's vars (Stage vars, then template vars).
    pub(crate) vars: Vec<Var>,
    /// The inflated steps.
    pub(crate) steps: Vec<Step>,
    /// The Freight collection: the target first, then the Stage's current Freight of its other
    /// origins.
    pub(crate) freight: Vec<String>,
    /// What a manual Promotion does to auto-promotion when it ends (not when aborted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hold: Option<HoldIntent>,
}

/// A manual Promotion's effect on auto-promotion of its origin (Kargo v1.11 holds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub(crate) enum HoldIntent {
    /// Other Freight than the candidate was promoted by hand: hold the origin.
    Hold {
        /// `Warehouse/<name>`.
        origin: String,
    },
    /// The candidate was promoted by hand: lift the hold.
    Resume {
        /// `Warehouse/<name>`.
        origin: String,
    },
}

/// Why a Promotion could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    /// The Stage has no steps.
    #[error(
        "stage {stage} defines no promotion steps: freight passes through it without promotions"
    )]
    ControlFlow {
        /// The Stage.
        stage: String,
    },
    /// The template does not inflate (an unknown task, a missing task var).
    #[error("stage {stage}: {source}")]
    Inflate {
        /// The Stage.
        stage: String,
        /// Why.
        #[source]
        source: gantry_engine::InflateError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CreateError> for ApiError {
    fn from(error: CreateError) -> Self {
        match error {
            CreateError::ControlFlow { .. } | CreateError::Inflate { .. } => {
                ApiError::invalid(error.to_string())
            }
            CreateError::Store(error) => ApiError::internal(&error),
        }
    }
}

/// Whether a Stage has no promotion steps (Freight passes through it).
pub(crate) fn is_control_flow(stage: &Stage) -> bool {
    stage
        .spec
        .promotion_template
        .as_ref()
        .is_none_or(|template| template.spec.steps.is_empty())
}

/// Creates a pending Promotion of `target` into `stage_name` and logs it; returns the record
/// and the event id. Call on the controller only (it is the one creator of Promotions).
pub(crate) fn create(
    context: &Context,
    config: &Config,
    project: &str,
    stage_name: &str,
    target: &FreightRecord,
    actor: Option<&str>,
    hold: Option<HoldIntent>,
) -> Result<PromotionRecord, CreateError> {
    let Some(stage) = config.stage(project, stage_name) else {
        return Err(CreateError::ControlFlow {
            stage: stage_name.to_owned(),
        });
    };
    let Some(template) = stage
        .spec
        .promotion_template
        .as_ref()
        .filter(|_| !is_control_flow(stage))
    else {
        return Err(CreateError::ControlFlow {
            stage: stage_name.to_owned(),
        });
    };
    let mut promotion_vars = stage.spec.vars.clone();
    promotion_vars.extend(template.spec.vars.iter().cloned());
    let tasks = gantry_steps::resources::Tasks {
        namespace: project,
        set: &config.set,
    };
    let steps = inflate(&promotion_vars, &template.spec.steps, &tasks).map_err(|source| {
        CreateError::Inflate {
            stage: stage_name.to_owned(),
            source,
        }
    })?;
    let target_id = target.id().to_owned();
    let (record, event) = context.store.write(|tx| {
        // The collection: the target, plus what the Stage holds now from other origins.
        let mut freight = vec![target_id.clone()];
        if let Some(current) = tx
            .reader()
            .stage_status(project, stage_name)?
            .and_then(|status| status.freight_history.first().cloned())
        {
            freight.extend(
                current
                    .items
                    .values()
                    .filter(|item| item.origin != target.freight.origin)
                    .map(|item| item.name.clone()),
            );
        }
        let spec = PromotionSpec {
            vars: gantry_engine::inflate::vars(&promotion_vars),
            steps: steps.clone(),
            freight,
            hold,
        };
        let record = tx.create_promotion(&NewPromotion {
            project: project.to_owned(),
            stage: stage_name.to_owned(),
            freight: target_id.clone(),
            actor: actor.map(str::to_owned),
            spec: serde_json::to_value(&spec).unwrap_or_default(),
        })?;
        let shown = target
            .freight
            .alias
            .clone()
            .unwrap_or_else(|| target_id.chars().take(7).collect());
        let how = if actor.is_some() {
            ""
        } else {
            " (auto-promotion)"
        };
        let mut details = serde_json::Map::new();
        details.insert("promotion".into(), record.name.clone().into());
        details.insert("stage".into(), stage_name.into());
        details.insert("freight".into(), target_id.clone().into());
        let mut event = NewEvent::new(
            kinds::PROMOTION_CREATED,
            format!("promotion/{}", record.name),
            format!("promotion of freight {shown} to stage {stage_name} created{how}"),
        )
        .project(project)
        .details(details.into());
        event.actor = actor.map(str::to_owned);
        let event = tx.append_event(&event)?;
        Ok::<_, StoreError>((record, event))
    })?;
    tracing::info!(
        project,
        stage = stage_name,
        promotion = %record.name,
        freight = %target_id,
        actor = actor.unwrap_or("auto-promotion"),
        "promotion created"
    );
    context.emit(ChangeKind::Promotion, project, &record.name, Some(event.id));
    Ok(record)
}

/// How long a worker waits before looking at its queue again after an unexpected failure.
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// How long a worker waits for a verification before looking again by itself.
const GATE_RECHECK: Duration = Duration::from_secs(5);

/// What one turn of the worker ended with.
enum Turn {
    /// Look at the queue again now.
    Again,
    /// Sleep until woken (or `timeout`).
    Idle(Option<Duration>),
    /// The server is stopping.
    Stop,
}

/// The Stage's worker: runs its Promotions one at a time, in name order, until the server stops
/// or the Stage leaves the config.
pub(crate) async fn worker(
    context: Arc<Context>,
    project: String,
    stage: String,
    wake: Arc<Notify>,
) {
    let mut stopped = context.stopped.clone();
    loop {
        if context.stopping() {
            return;
        }
        if context.config().stage(&project, &stage).is_none() {
            tracing::info!(
                project,
                stage,
                "stage removed from the config; its promotions are aborted and its worker ends"
            );
            end_removed(&context, &project, &stage).await;
            return;
        }
        let turn = match turn(&context, &project, &stage, &wake).await {
            Ok(turn) => turn,
            Err(error) => {
                tracing::error!(
                    project,
                    stage,
                    error = &*error as &dyn std::error::Error,
                    "the stage worker failed; retrying"
                );
                Turn::Idle(Some(FAILURE_BACKOFF))
            }
        };
        match turn {
            Turn::Again => {}
            Turn::Stop => return,
            Turn::Idle(timeout) => {
                let sleep = async {
                    match timeout {
                        Some(timeout) => tokio::time::sleep(timeout).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = wake.notified() => {}
                    () = sleep => {}
                }
            }
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, BoxError> {
    Ok(tokio::task::spawn_blocking(work).await??)
}

/// Runs `work` on a thread of its own. A Promotion's steps may block for minutes (an `http`
/// step waiting, a slow push), so they must not hold one of the few threads of the blocking
/// pool that the store's short calls share (the binary caps that pool).
async fn on_own_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BoxError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("promotion".to_owned())
        .spawn(move || {
            // The receiver is gone only when the server stopped waiting: nothing to tell.
            let _ = sender.send(work());
        })?;
    // A panic in `work` drops the sender: an error here, as a panicked task was before.
    Ok(receiver.await?)
}

/// One look at the queue.
async fn turn(
    context: &Arc<Context>,
    project: &str,
    stage: &str,
    wake: &Notify,
) -> Result<Turn, BoxError> {
    let store = context.store.clone();
    let (p, s) = (project.to_owned(), stage.to_owned());
    let (next, status) =
        blocking(move || store.read(|r| Ok((r.next_pending(&p, &s)?, r.stage_status(&p, &s)?))))
            .await?;
    let Some(record) = next else {
        return Ok(Turn::Idle(None));
    };
    if context.abort_requested(project, &record.name) {
        let mut status = record.status.clone();
        gantry_engine::abort(&mut status, &SystemClock, "aborted by request");
        finish(context, &record, status).await?;
        return Ok(Turn::Again);
    }
    if record.status.phase == Phase::Pending {
        let awaiting = status
            .as_ref()
            .and_then(|status| status.current_freight())
            .is_some_and(|current| current.verification_history.is_empty());
        if awaiting {
            tracing::debug!(project, stage, promotion = %record.name, "waiting for the current freight's verification");
            return Ok(Turn::Idle(Some(GATE_RECHECK)));
        }
    }
    run(context, record, wake).await
}

/// Runs (or resumes) one Promotion until it ends, the server stops, or it must wait.
async fn run(
    context: &Arc<Context>,
    record: PromotionRecord,
    wake: &Notify,
) -> Result<Turn, BoxError> {
    let record = Arc::new(record);
    let mut status = record.status.clone();
    if status.phase == Phase::Pending {
        status.phase = Phase::Running;
        status.started_at = Some(format_rfc3339(SystemTime::now()));
        let (task_context, task_record, task_status) =
            (Arc::clone(context), Arc::clone(&record), status.clone());
        if !blocking(move || started(&task_context, &task_record, &task_status)).await? {
            return Ok(Turn::Again);
        }
    } else {
        tracing::info!(project = %record.project, stage = %record.stage, promotion = %record.name, step = status.current_step + 1, "resuming promotion");
    }
    loop {
        let (task_context, task_record) = (Arc::clone(context), Arc::clone(&record));
        let (returned, result) = on_own_thread(move || {
            let mut status = status;
            let result = execute(&task_context, &task_record, &mut status);
            (status, result)
        })
        .await?;
        status = returned;
        match result {
            Ok(Next::Done) => {
                finish(context, &record, status).await?;
                return Ok(Turn::Again);
            }
            Ok(Next::RetryAfter(wait)) => {
                tracing::debug!(promotion = %record.name, ?wait, "step running; looking again later");
                let mut stopped = context.stopped.clone();
                tokio::select! {
                    _ = stopped.changed() => return Ok(Turn::Stop),
                    () = wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
                if context.stopping() {
                    return Ok(Turn::Stop);
                }
                if context.abort_requested(&record.project, &record.name) {
                    gantry_engine::abort(&mut status, &SystemClock, "aborted by request");
                    finish(context, &record, status).await?;
                    return Ok(Turn::Again);
                }
                if context
                    .config()
                    .stage(&record.project, &record.stage)
                    .is_none()
                {
                    gantry_engine::abort(&mut status, &SystemClock, &removed(&record.stage));
                    finish(context, &record, status).await?;
                    return Ok(Turn::Again);
                }
            }
            Err(Interrupted::Abort) => {
                gantry_engine::abort(&mut status, &SystemClock, "aborted by request");
                finish(context, &record, status).await?;
                return Ok(Turn::Again);
            }
            Err(Interrupted::Removed) => {
                tracing::warn!(promotion = %record.name, stage = %record.stage, "the stage left the config: the promotion is aborted after its step");
                gantry_engine::abort(&mut status, &SystemClock, &removed(&record.stage));
                finish(context, &record, status).await?;
                return Ok(Turn::Again);
            }
            Err(Interrupted::Stop) => {
                tracing::info!(promotion = %record.name, step = status.current_step + 1, "promotion paused for shutdown; it resumes on the next start");
                return Ok(Turn::Stop);
            }
            Err(Interrupted::Failed(message)) => {
                tracing::error!(promotion = %record.name, "running the promotion failed: {message}");
                return Ok(Turn::Idle(Some(FAILURE_BACKOFF)));
            }
        }
    }
}

/// Pending → Running: saves the status, points the Stage's `currentPromotion` at it, logs it;
/// `false` when the Promotion ended meanwhile (aborted while pending).
fn started(
    context: &Context,
    record: &PromotionRecord,
    status: &PromotionStatus,
) -> Result<bool, StoreError> {
    let config = context.config();
    let event = context.store.write(|tx| {
        match tx.save_promotion_status(&record.project, &record.name, status) {
            Err(StoreError::PromotionFinished { .. }) => return Ok(None),
            other => other?,
        }
        tx.set_current_promotion(&record.project, &record.stage, Some(&record.name))?;
        super::status::settle(
            tx,
            &config,
            &record.project,
            &record.stage,
            SystemTime::now(),
        )?;
        let mut event = NewEvent::new(
            kinds::PROMOTION_STARTED,
            format!("promotion/{}", record.name),
            format!("promotion {} started", record.name),
        )
        .project(&record.project);
        event.actor.clone_from(&record.actor);
        tx.append_event(&event).map(Some)
    })?;
    let Some(event) = event else {
        return Ok(false);
    };
    tracing::info!(project = %record.project, stage = %record.stage, promotion = %record.name, "promotion started");
    context.emit(
        ChangeKind::Promotion,
        &record.project,
        &record.name,
        Some(event.id),
    );
    context.emit(ChangeKind::Stage, &record.project, &record.stage, None);
    Ok(true)
}

/// Why [`execute`] stopped before the Promotion ended or had to wait.
enum Interrupted {
    /// An abort was asked for.
    Abort,
    /// The Stage left the config (and steps remain).
    Removed,
    /// The server is stopping.
    Stop,
    /// Progress could not be saved, or the Promotion could not be set up.
    Failed(String),
}

fn work_dir(context: &Context, name: &str) -> PathBuf {
    context.options.data_dir.join("work").join(name)
}

/// Runs the engine once (blocking): from `status.current_step` until the Promotion ends or a
/// step must be looked at again.
fn execute(
    context: &Context,
    record: &PromotionRecord,
    status: &mut PromotionStatus,
) -> Result<Next, Interrupted> {
    let spec: PromotionSpec = serde_json::from_value(record.spec.clone()).map_err(|error| {
        Interrupted::Failed(format!("the stored promotion spec does not read: {error}"))
    })?;
    let config = context.config();
    let project = record.project.as_str();
    let (freight, all_freight, stage_metadata) = context
        .store
        .read(|r| {
            let all = r.list_freight(project, &FreightQuery::default())?;
            let metadata = r.stage_statuses(project)?;
            Ok((spec.freight.clone(), all, metadata))
        })
        .map_err(|error| Interrupted::Failed(error.to_string()))?;
    let by_id: BTreeMap<&str, &FreightRecord> = all_freight.iter().map(|f| (f.id(), f)).collect();
    let target = by_id.get(record.freight.as_str()).ok_or_else(|| {
        Interrupted::Failed(format!("freight {} is not in the store", record.freight))
    })?;
    let mut data = gantry_steps::resources::promotion_data(&config.set, project);
    data.freight = freight
        .iter()
        .filter_map(|id| by_id.get(id.as_str()))
        .map(|f| (*f).clone().into_kargo())
        .collect();
    if let Some(stage) = config.stage(project, &record.stage) {
        data.requested_freight
            .clone_from(&stage.spec.requested_freight);
    }
    for f in &all_freight {
        data.all_freight
            .insert(f.id().to_owned(), f.clone().into_kargo());
    }
    for (stage, status) in stage_metadata {
        if !status.metadata.is_empty() {
            data.stage_metadata.insert(
                stage,
                serde_json::to_value(&status.metadata).unwrap_or_default(),
            );
        }
    }
    let promotion_context = PromotionContext {
        project: project.to_owned(),
        stage: record.stage.clone(),
        promotion: record.name.clone(),
        target_freight: FreightReference {
            name: record.freight.clone(),
            alias: target.freight.alias.clone(),
            origin: target.freight.origin.clone(),
        },
        actor: record.actor.clone(),
        rollback: false,
        ui_base_url: String::new(),
    };
    let registry = registry(context, &config, record)?;
    let clock = SystemClock;
    let orchestrator = Orchestrator::new(
        &spec.steps,
        &spec.vars,
        &promotion_context,
        &data,
        &registry,
        &clock,
    );
    let mut interrupted = None;
    let mut observer = |event: &gantry_engine::Event<'_>, status: &PromotionStatus| {
        use gantry_engine::Event;
        match event {
            Event::Finished { .. } => return Ok(()),
            Event::StepStarted { alias, kind } => {
                tracing::info!(promotion = %record.name, step = alias, kind, "step started");
            }
            Event::StepWaiting { alias, message } => {
                tracing::info!(promotion = %record.name, step = alias, "step waiting: {}", message.unwrap_or("running"));
            }
            Event::StepFinished {
                alias,
                status: step,
                message,
            } => {
                tracing::info!(promotion = %record.name, step = alias, status = %step, "step finished{}", message.map(|m| format!(": {m}")).unwrap_or_default());
            }
        }
        context
            .store
            .save_promotion_status(project, &record.name, status)
            .map_err(|error| {
                interrupted = Some(Interrupted::Failed(error.to_string()));
                error.to_string()
            })?;
        context.emit(ChangeKind::Promotion, project, &record.name, None);
        if matches!(
            event,
            Event::StepFinished { .. } | Event::StepWaiting { .. }
        ) {
            if context.abort_requested(project, &record.name) {
                interrupted = Some(Interrupted::Abort);
                return Err("aborted".to_owned());
            }
            if context.stopping() {
                interrupted = Some(Interrupted::Stop);
                return Err("shutting down".to_owned());
            }
            // A finished last step lets the Promotion end as it ended: nothing is left to stop.
            let steps_left = matches!(event, Event::StepWaiting { .. })
                || status.current_step + 1 < spec.steps.len();
            if steps_left && context.config().stage(project, &record.stage).is_none() {
                interrupted = Some(Interrupted::Removed);
                return Err("stage removed".to_owned());
            }
        }
        Ok(())
    };
    let result = orchestrator.run(status, &mut observer);
    match result {
        Ok(next) => Ok(next),
        Err(error) => Err(interrupted.unwrap_or_else(|| Interrupted::Failed(error.to_string()))),
    }
}

/// The built-in steps for one Promotion: shared git mirrors, the Project's credentials, the
/// Promotion's work dir, metadata written to the store.
fn registry(
    context: &Context,
    config: &Config,
    record: &PromotionRecord,
) -> Result<Registry, Interrupted> {
    let dir = work_dir(context, &record.name);
    let work_dir = WorkDir::open_or_create(&dir)
        .map_err(|error| Interrupted::Failed(super::discovery::chain(&error)))?;
    let credentials = config
        .project(&record.project)
        .map(|p| Arc::clone(&p.credentials))
        .unwrap_or_default();
    Ok(Registry::builtin(Services {
        git: Arc::new(context.git.clone()),
        credentials,
        work_dir,
        metadata: Arc::new(StoreMetadata {
            store: context.store.clone(),
            changes: context.changes.clone(),
            project: record.project.clone(),
        }),
        dry_run: false,
        skip: Vec::new(),
    }))
}

/// `set-metadata` writes into the store.
struct StoreMetadata {
    store: gantry_store::Store,
    changes: tokio::sync::broadcast::Sender<crate::Change>,
    project: String,
}

impl MetadataSink for StoreMetadata {
    fn apply(&self, update: &MetadataUpdate) -> Result<(), String> {
        let kind = match update.kind.as_str() {
            "Stage" => ChangeKind::Stage,
            "Freight" => ChangeKind::Freight,
            other => return Err(format!("cannot set metadata of a {other}")),
        };
        self.store
            .write(|tx| {
                for (key, value) in &update.values {
                    if kind == ChangeKind::Stage {
                        tx.set_stage_metadata(&self.project, &update.name, key, value.clone())?;
                    } else {
                        tx.set_freight_metadata(&self.project, &update.name, key, value.clone())?;
                    }
                }
                Ok::<_, StoreError>(())
            })
            .map_err(|error| error.to_string())?;
        let _ = self.changes.send(crate::Change {
            kind,
            project: self.project.clone(),
            name: update.name.clone(),
            event_id: None,
        });
        Ok(())
    }
}

/// Ends a Promotion: the store's unit of work, the hold intent, the work dir, the waiters.
async fn finish(
    context: &Arc<Context>,
    record: &PromotionRecord,
    status: PromotionStatus,
) -> Result<(), BoxError> {
    let key = (record.project.clone(), record.name.clone());
    let actor = context.aborts().get(&key).map(|a| a.actor.clone());
    let (task_context, task_record) = (Arc::clone(context), record.clone());
    let finished = tokio::task::spawn_blocking(move || {
        finished(
            &task_context,
            &task_record,
            &status,
            actor.as_deref(),
            false,
        )
    })
    .await?;
    // Waiters are answered after the end is committed: an abort registered meanwhile sees the
    // end when it checks the store again (see `commands`).
    let result = match &finished {
        Ok(Some(Phase::Aborted)) => Ok(()),
        Ok(Some(phase)) => Err(ApiError::conflict(format!(
            "promotion {} ended {phase} before the abort took effect",
            record.name
        ))),
        Ok(None) => Err(ApiError::conflict(format!(
            "promotion {} had already ended",
            record.name
        ))),
        Err(error) => Err(ApiError::internal(error)),
    };
    if let Some(abort) = context.aborts().remove(&key) {
        for reply in abort.replies {
            let _ = reply.send(result.clone());
        }
    }
    finished?;
    context.tell(Internal::PromotionFinished {
        project: record.project.clone(),
    });
    Ok(())
}

/// Ends a Promotion as `Aborted` if it is still pending (blocking); whether it did. A running
/// one is left to its Stage's worker.
pub(crate) fn abort_if_pending(
    context: &Context,
    project: &str,
    name: &str,
    actor: &str,
) -> Result<bool, StoreError> {
    abort_pending(context, project, name, Some(actor), "aborted by request")
}

/// [`abort_if_pending`] with any actor and reason.
fn abort_pending(
    context: &Context,
    project: &str,
    name: &str,
    actor: Option<&str>,
    reason: &str,
) -> Result<bool, StoreError> {
    let Some(record) = context.store.promotion(project, name)? else {
        return Ok(false);
    };
    if record.status.phase != Phase::Pending {
        return Ok(false);
    }
    let mut status = record.status.clone();
    gantry_engine::abort(&mut status, &SystemClock, reason);
    Ok(finished(context, &record, &status, actor, true)?.is_some())
}

/// The end of a Promotion in one transaction (with its hold intent); `None` when
/// `only_if_pending` and it is no longer pending.
fn finished(
    context: &Context,
    record: &PromotionRecord,
    status: &PromotionStatus,
    actor: Option<&str>,
    only_if_pending: bool,
) -> Result<Option<Phase>, StoreError> {
    let spec: Option<PromotionSpec> = serde_json::from_value(record.spec.clone()).ok();
    let hold = spec.and_then(|spec| spec.hold);
    let config = context.config();
    let outcome = context.store.write(|tx| {
        if only_if_pending
            && tx
                .reader()
                .promotion(&record.project, &record.name)?
                .is_none_or(|stored| stored.status.phase != Phase::Pending)
        {
            return Ok(None);
        }
        let outcome = tx.promotion_finished(&FinishedPromotion {
            project: &record.project,
            name: &record.name,
            status,
            actor,
            details: serde_json::Map::new(),
        })?;
        if status.phase != Phase::Aborted
            && let Some(hold) = &hold
        {
            tx.update_stage_status(&record.project, &record.stage, |stage| match hold {
                HoldIntent::Hold { origin } => {
                    let (kind, name) = origin.split_once('/').unwrap_or(("Warehouse", origin));
                    stage.auto_promotion_holds.insert(
                        origin.clone(),
                        AutoPromotionHold {
                            freight_name: record.freight.clone(),
                            origin: FreightOrigin {
                                kind: kind.to_owned(),
                                name: name.to_owned(),
                            },
                            promotion_name: record.name.clone(),
                            actor: record.actor.clone(),
                            created_at: status.finished_at.clone(),
                        },
                    );
                }
                HoldIntent::Resume { origin } => {
                    stage.auto_promotion_holds.remove(origin);
                }
            })?;
        }
        super::status::settle(
            tx,
            &config,
            &record.project,
            &record.stage,
            SystemTime::now(),
        )?;
        Ok::<_, StoreError>(Some(outcome))
    })?;
    let Some(outcome) = outcome else {
        return Ok(None);
    };
    let phase = outcome.promotion.status.phase;
    if phase == Phase::Succeeded {
        tracing::info!(project = %record.project, stage = %record.stage, promotion = %record.name, "promotion succeeded");
    } else {
        tracing::warn!(project = %record.project, stage = %record.stage, promotion = %record.name, %phase, "promotion ended: {}", outcome.promotion.status.message.as_deref().unwrap_or("no message"));
    }
    context.emit(
        ChangeKind::Promotion,
        &record.project,
        &record.name,
        Some(outcome.event.id),
    );
    context.emit(ChangeKind::Stage, &record.project, &record.stage, None);
    context.emit(ChangeKind::Freight, &record.project, &record.freight, None);
    cleanup(context, record);
    Ok(Some(phase))
}

/// Why a Promotion of a Stage that left the config was aborted.
pub(crate) fn removed(stage: &str) -> String {
    format!("stage {stage} was removed from the config")
}

/// Aborts a Promotion whose Stage has no worker any more (the Stage left the config): a pending
/// one only if still pending (serialised with a worker starting it through the store), a running
/// one at once (nothing runs its steps).
pub(crate) async fn abort_orphan(context: &Arc<Context>, record: PromotionRecord, reason: &str) {
    let result = if record.status.phase == Phase::Pending {
        let key = (record.project.clone(), record.name.clone());
        let actor = context.aborts().get(&key).map(|a| a.actor.clone());
        let (task_context, reason) = (Arc::clone(context), reason.to_owned());
        let (project, name) = key;
        blocking(move || abort_pending(&task_context, &project, &name, actor.as_deref(), &reason))
            .await
            .map(|_| ())
    } else {
        let mut status = record.status.clone();
        gantry_engine::abort(&mut status, &SystemClock, reason);
        finish(context, &record, status).await
    };
    if let Err(error) = result {
        tracing::error!(promotion = %record.name, error = &*error as &dyn std::error::Error, "aborting the promotion failed");
    }
}

/// Aborts every unfinished Promotion of a Stage that left the config (its worker calls this as
/// it ends, so nothing runs them any more).
async fn end_removed(context: &Arc<Context>, project: &str, stage: &str) {
    let store = context.store.clone();
    let (p, s) = (project.to_owned(), stage.to_owned());
    let queue = match blocking(move || store.promotion_queue(&p, &s)).await {
        Ok(queue) => queue,
        Err(error) => {
            tracing::error!(
                project,
                stage,
                error = &*error as &dyn std::error::Error,
                "listing the promotions of a removed stage failed"
            );
            return;
        }
    };
    let reason = removed(stage);
    for record in queue {
        tracing::info!(project, stage, promotion = %record.name, "aborting a promotion of a removed stage");
        abort_orphan(context, record, &reason).await;
    }
}

/// Removes a finished Promotion's work dir and the git worktrees in it.
fn cleanup(context: &Context, record: &PromotionRecord) {
    let name = record.name.as_str();
    let dir = work_dir(context, name);
    if !dir.exists() {
        return;
    }
    let Ok(work_dir) = WorkDir::open(&dir) else {
        return;
    };
    let services = Services {
        git: Arc::new(context.git.clone()),
        credentials: Arc::default(),
        work_dir,
        metadata: Arc::new(gantry_steps::registry::RecordedMetadata::default()),
        dry_run: false,
        skip: Vec::new(),
    };
    let remotes = services.checkout_remotes();
    context.remember_repos(&record.project, &record.stage, remotes);
    if let Err(error) = services.cleanup() {
        tracing::warn!(
            promotion = name,
            "could not remove the work dir {}: {error}",
            dir.display()
        );
    }
}
