//! The loops: Warehouse discovery, Stage evaluation and Promotion execution, and the handling
//! of [`Command`]s.

use gantry_store::Store;
use tokio::sync::{broadcast, mpsc, watch};

use std::sync::Arc;

use crate::{ApiError, ApiErrorKind, Change, Command, Config, ServerOptions};

/// The controller task: owns the warehouse tasks and stage workers and makes every decision.
pub(crate) struct Controller {
    #[expect(dead_code, reason = "skeleton: the loops land in the next commits")]
    options: ServerOptions,
    #[expect(dead_code, reason = "skeleton: the loops land in the next commits")]
    store: Store,
    #[expect(dead_code, reason = "skeleton: the loops land in the next commits")]
    git: gantry_git::Git,
    #[expect(dead_code, reason = "skeleton: the loops land in the next commits")]
    config: watch::Receiver<Arc<Config>>,
    #[expect(dead_code, reason = "skeleton: the loops land in the next commits")]
    changes: broadcast::Sender<Change>,
    commands: mpsc::Receiver<Command>,
    stopped: watch::Receiver<bool>,
}

impl Controller {
    pub(crate) fn new(
        options: ServerOptions,
        store: Store,
        git: gantry_git::Git,
        config: watch::Receiver<Arc<Config>>,
        changes: broadcast::Sender<Change>,
        commands: mpsc::Receiver<Command>,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        Self {
            options,
            store,
            git,
            config,
            changes,
            commands,
            stopped,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                _ = self.stopped.changed() => return,
                command = self.commands.recv() => match command {
                    Some(command) => self.handle(command),
                    None => return,
                },
            }
        }
    }

    #[expect(
        clippy::unused_self,
        reason = "skeleton: commands land in the next commits"
    )]
    fn handle(&mut self, command: Command) {
        let todo = || ApiError::new(ApiErrorKind::Unavailable, "not implemented yet");
        match command {
            Command::RefreshWarehouse { reply, .. } => {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(todo()));
                }
            }
            Command::Promote { reply, .. } => {
                let _ = reply.send(Err(todo()));
            }
            Command::Approve { reply, .. } | Command::AbortPromotion { reply, .. } => {
                let _ = reply.send(Err(todo()));
            }
        }
    }
}
