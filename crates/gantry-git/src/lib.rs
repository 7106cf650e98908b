//! gantry's git adapter: cached bare mirrors, sparse worktrees, commit, tag and push, all through
//! the `git` program.
//!
//! ```text
//!             remote  https://host/org/gitops.git
//!                ▲  │
//!  push HEAD:    │  │ clone --bare (once), fetch --prune (every Git::mirror call, locked)
//!  refs/heads/b  │  ▼
//!   ┌────────────┴──────────────────────────────────────────────────┐
//!   │ <data_dir>/git/mirrors/<hash>-gitops   bare mirror            │
//!   │   refs/heads/* = remote branches, refs/tags/*, shared objects │
//!   └──────┬──────────────────────┬─────────────────────┬───────────┘
//!          │ worktree add --no-checkout --detach  (+ sparse-checkout, reset --hard)
//!          ▼                      ▼                     ▼
//!   /work/promo-a            /work/promo-b          /work/promo-c
//!   detached, tracks main    detached, tracks main  detached at tag v1.2.0
//!   sparse: apps/dev         lazy (top-level only)  full
//! ```
//!
//! Where to start: [`Git::new`] with [`GitOptions`]; [`Git::mirror`] to get an up-to-date
//! [`Mirror`]; [`Mirror::worktree`] with a [`Checkout`]; then [`Worktree::commit`],
//! [`Worktree::tag`] and [`Worktree::push`]. After a restart, [`Worktree::open`] picks a worktree
//! up again. Warehouse discovery of git subscriptions is [`Git::discover`], built on
//! [`Git::ls_remote_refs`] and the history readers [`Mirror::log`], [`Mirror::tags`] and [`Mirror::changed_paths`].
//!
//! The API is synchronous (`std::process`), for promotion steps running on blocking threads.
//! Every git process gets a clean environment (no system or user config, a gantry `HOME`, no
//! terminal prompts, the C locale) and a timeout. Credentials are [`Credentials`] with a
//! redacting [`Secret`]; they reach git only through `GIT_ASKPASS` and the child's environment,
//! never argv, config files or error messages, and captured stderr is redacted.
//!
//! Not here: SSH keys, commit signing, reading trees without a worktree, hosting-provider APIs
//! (pull requests). Kargo's `git-clone`, `git-commit`, `git-tag`, `git-push` and `git-clear`
//! steps are built on this crate by `gantry-steps`.

mod command;
mod discover;
mod error;
mod fetches;
mod git;
mod history;
mod lock;
mod mirror;
mod push;
mod secret;
mod worktree;

pub use discover::{DiscoveryError, DiscoveryStats, GitDiscovery, MAX_OBSERVED_TAGS};
pub use error::{GitError, Result};
pub use git::{Author, Git, GitOptions, MirrorOptions, RemoteRef, RemoteRefs};
pub use history::{CommitInfo, LogOptions, TagInfo};
pub use mirror::{Checkout, Mirror, Sparse, Target};
pub use push::{Backoff, PushOptions, PushOutcome};
pub use secret::{Credentials, Redactor, Secret, split_credentials};
pub use worktree::{CommitOutcome, Worktree};
