//! Which mirror fetches can stand in for a new one: the bookkeeping behind
//! [`crate::MirrorOptions::reuse_recent_fetch`].
//!
//! A fetch can be reused when it started recently, no push through gantry began or ended while
//! it ran or since, and the caller brings the same credentials (so one caller never rides on a
//! fetch another caller's credentials authorised). Pushes are counted per mirror: a fetch records
//! the push generation it started in, and its result counts only when that generation is still
//! current and no push is running when it ends.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::Credentials;

/// The fetch bookkeeping of every mirror of one [`crate::Git`].
#[derive(Default)]
pub(crate) struct Fetches {
    mirrors: Mutex<HashMap<String, MirrorFetches>>,
    /// Keys the credential fingerprints; random per process, never written anywhere.
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct MirrorFetches {
    /// Bumped when a push begins and when it ends.
    generation: u64,
    /// Pushes running now.
    pushing: u32,
    /// The last fetch that still counts.
    last: Option<Fetched>,
}

#[derive(Clone, Copy)]
struct Fetched {
    started: Instant,
    credentials: u64,
}

/// A fetch in progress, from [`Fetches::begin`] to [`Fetches::finish`].
pub(crate) struct FetchTicket {
    started: Instant,
    generation: u64,
    /// A push was running when the fetch started: its result cannot be trusted to include it.
    during_push: bool,
    credentials: u64,
}

/// A push in progress; dropping it ends the push (whatever its outcome).
#[derive(Debug)]
pub(crate) struct PushTicket<'a> {
    fetches: &'a Fetches,
    mirror: String,
}

// By hand, so that no credential fingerprint is ever printed (keyed per process, but still
// derived from a secret).
impl std::fmt::Debug for Fetches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `try_lock`: printing must not wait for (or deadlock with) the bookkeeping.
        let Ok(mirrors) = self.mirrors.try_lock() else {
            return f.write_str("Fetches { <busy> }");
        };
        f.debug_map()
            .entries(mirrors.iter().map(|(name, state)| {
                (
                    name,
                    format!(
                        "generation {}, {} pushing, last fetch {:?}",
                        state.generation,
                        state.pushing,
                        state.last.map(|last| last.started)
                    ),
                )
            }))
            .finish()
    }
}

impl Fetches {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, MirrorFetches>> {
        self.mirrors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fingerprint(&self, credentials: Option<&Credentials>) -> u64 {
        self.hasher.hash_one(
            credentials.map(|credentials| (&credentials.username, credentials.password.expose())),
        )
    }

    /// Whether a fetch of `mirror` with these credentials that started at most `within` ago
    /// still tells the remote's state.
    pub(crate) fn reusable(
        &self,
        mirror: &str,
        credentials: Option<&Credentials>,
        within: Duration,
    ) -> bool {
        if within.is_zero() {
            return false;
        }
        let credentials = self.fingerprint(credentials);
        self.lock()
            .get(mirror)
            .and_then(|state| state.last)
            .is_some_and(|last| last.credentials == credentials && last.started.elapsed() <= within)
    }

    /// A fetch of `mirror` starts now.
    pub(crate) fn begin(&self, mirror: &str, credentials: Option<&Credentials>) -> FetchTicket {
        let credentials = self.fingerprint(credentials);
        let mirrors = self.lock();
        let state = mirrors.get(mirror);
        FetchTicket {
            started: Instant::now(),
            generation: state.map_or(0, |state| state.generation),
            during_push: state.is_some_and(|state| state.pushing > 0),
            credentials,
        }
    }

    /// The fetch of `ticket` succeeded: it counts unless a push overlapped it.
    pub(crate) fn finish(&self, mirror: &str, ticket: &FetchTicket) {
        let mut mirrors = self.lock();
        let state = mirrors.entry(mirror.to_owned()).or_default();
        if ticket.during_push || state.generation != ticket.generation || state.pushing > 0 {
            return;
        }
        state.last = Some(Fetched {
            started: ticket.started,
            credentials: ticket.credentials,
        });
    }

    /// A push through `mirror`'s remote begins: no fetch before its end counts.
    pub(crate) fn begin_push(&self, mirror: &str) -> PushTicket<'_> {
        let mut mirrors = self.lock();
        let state = mirrors.entry(mirror.to_owned()).or_default();
        state.generation += 1;
        state.pushing += 1;
        state.last = None;
        PushTicket {
            fetches: self,
            mirror: mirror.to_owned(),
        }
    }
}

impl Drop for PushTicket<'_> {
    fn drop(&mut self) {
        let mut mirrors = self.fetches.lock();
        let state = mirrors.entry(self.mirror.clone()).or_default();
        state.generation += 1;
        state.pushing = state.pushing.saturating_sub(1);
        state.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_mins(1);

    #[test]
    fn a_finished_fetch_is_reusable_with_the_same_credentials_only() {
        let fetches = Fetches::default();
        let alice = Credentials::new("alice", "one");
        assert!(!fetches.reusable("m", Some(&alice), WINDOW));
        let ticket = fetches.begin("m", Some(&alice));
        fetches.finish("m", &ticket);
        assert!(fetches.reusable("m", Some(&alice), WINDOW));
        assert!(!fetches.reusable("m", Some(&Credentials::new("alice", "two")), WINDOW));
        assert!(!fetches.reusable("m", Some(&Credentials::new("bob", "one")), WINDOW));
        assert!(!fetches.reusable("m", None, WINDOW));
        assert!(!fetches.reusable("other", Some(&alice), WINDOW));
        assert!(!fetches.reusable("m", Some(&alice), Duration::ZERO));
    }

    #[test]
    fn a_fetch_overlapping_a_push_in_any_way_does_not_count() {
        let fetches = Fetches::default();
        // Fetch starts, a push begins and ends, the fetch ends: it may predate the push.
        let ticket = fetches.begin("m", None);
        drop(fetches.begin_push("m"));
        fetches.finish("m", &ticket);
        assert!(!fetches.reusable("m", None, WINDOW));

        // The push is still running when the fetch ends.
        let push = fetches.begin_push("m");
        let ticket = fetches.begin("m", None);
        fetches.finish("m", &ticket);
        assert!(!fetches.reusable("m", None, WINDOW));

        // The fetch starts while a push runs and ends after the push did.
        let ticket = fetches.begin("m", None);
        drop(push);
        fetches.finish("m", &ticket);
        assert!(!fetches.reusable("m", None, WINDOW));

        // Started after the push ended: counts, until the next push begins.
        let ticket = fetches.begin("m", None);
        fetches.finish("m", &ticket);
        assert!(fetches.reusable("m", None, WINDOW));
        let push = fetches.begin_push("m");
        assert!(!fetches.reusable("m", None, WINDOW));
        drop(push);
        assert!(!fetches.reusable("m", None, WINDOW));
    }

    #[test]
    fn debug_output_names_no_credential_fingerprint() {
        let fetches = Fetches::default();
        let alice = Credentials::new("alice", "one");
        let ticket = fetches.begin("m", Some(&alice));
        fetches.finish("m", &ticket);
        let fingerprint = fetches.fingerprint(Some(&alice)).to_string();
        let printed = format!("{fetches:?}");
        assert!(printed.contains("\"m\""), "{printed}");
        assert!(!printed.contains(&fingerprint), "{printed}");
    }

    #[test]
    fn pushes_to_one_mirror_leave_anothers_fetch_alone() {
        let fetches = Fetches::default();
        let ticket = fetches.begin("a", None);
        let _push = fetches.begin_push("b");
        fetches.finish("a", &ticket);
        assert!(fetches.reusable("a", None, WINDOW));
    }
}
