//! The entry point: [`Git`] owns gantry's git data directory and starts every git process.
//!
//! `Git::new` lays out `<data_dir>/git/` (mode 0700):
//!
//! ```text
//! <data_dir>/git/
//!   gitconfig          GIT_CONFIG_GLOBAL of every git process (no credential helpers, no auto gc)
//!   askpass.sh         GIT_ASKPASS: prints GANTRY_GIT_USERNAME / GANTRY_GIT_PASSWORD
//!   home/              HOME of every git process
//!   mirrors/<hash>-<name>/   one bare mirror per normalised repository URL
//!   locks/             lock files (mirror updates, pushes)
//!   tmp/               clones in progress, renamed into mirrors/ when complete
//! ```
//!
//! Start here: [`Git::mirror`] returns an up-to-date [`Mirror`], and [`Mirror::worktree`] checks
//! it out. [`Git::ls_remote`] lists a remote's refs without touching any mirror.

use std::ffi::OsString;
use std::fs::Permissions;
use std::hash::{BuildHasher, Hasher};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::command::{PASSWORD_VAR, Runner, USERNAME_VAR};
use crate::error::{GitError, Result};
use crate::lock::Lock;
use crate::mirror::Mirror;
use crate::secret::{Credentials, split_credentials};
use crate::worktree::Worktree;

/// Who commits: used for commits, tags and rebases unless a call names another author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// `user.name`.
    pub name: String,
    /// `user.email`.
    pub email: String,
}

impl Author {
    /// An author from a name and an email address.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
        }
    }
}

impl Default for Author {
    fn default() -> Self {
        Self::new("gantry", "no-reply@gantry.local")
    }
}

/// How the adapter runs git. Build with [`GitOptions::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// gantry's data directory; git data lives in `<data_dir>/git/`.
    pub data_dir: PathBuf,
    /// The git program (default `git`, looked up in `PATH`).
    pub program: PathBuf,
    /// How long one git process may run before it is killed (default 5 minutes).
    pub timeout: Duration,
    /// Default author and committer (default `gantry <no-reply@gantry.local>`).
    pub author: Author,
    /// How old a fetch of a mirror may be and still serve a caller that accepts a recent one
    /// ([`MirrorOptions::reuse_recent_fetch`]); zero (the default) means always fetch. A push
    /// through a worktree of the mirror voids the fetch before it.
    pub fetch_reuse: Duration,
}

impl GitOptions {
    /// Defaults for the given data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            program: PathBuf::from("git"),
            timeout: Duration::from_mins(5),
            author: Author::default(),
            fetch_reuse: Duration::ZERO,
        }
    }
}

/// How to create a mirror the first time, and how fresh it must be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MirrorOptions {
    /// Clone with `--filter=blob:none`: file contents are fetched when a worktree needs them.
    /// Applies only when the mirror is created; an existing mirror is reused as it is.
    pub blobless: bool,
    /// Accept a fetch that started at most [`GitOptions::fetch_reuse`] ago (one running when
    /// this call waits for the mirror lock included) instead of fetching again: a checkout then
    /// sees the remote as of a moment earlier, which a push integrates by rebase like any
    /// concurrent change. Discovery never sets it: it must see every push it was told of.
    pub reuse_recent_fetch: bool,
}

/// The git adapter. Cheap to clone; safe to share between threads.
#[derive(Debug, Clone)]
pub struct Git {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: GitOptions,
    root: PathBuf,
    runner: Runner,
    /// Worktrees opened before, by path: what [`crate::Worktree::open`] learnt from git.
    opened: std::sync::Mutex<std::collections::HashMap<PathBuf, crate::worktree::Opened>>,
    /// When each mirror last had `gc --auto`, by mirror dir name.
    last_gc: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Which recent fetches (or clones) of each mirror still tell the remote's state.
    fetches: crate::fetches::Fetches,
}

/// How often a mirror is offered `gc --auto` after fetches: it only counts loose objects most
/// of the time, but that is a process per fetch on the promotion's critical path.
const GC_EVERY: std::time::Duration = std::time::Duration::from_mins(1);

/// The global git config every gantry git process reads instead of the user's.
const GLOBAL_CONFIG: &str = "\
# Written by gantry: the global config of every git process gantry runs.
[credential]
\thelper =
[gc]
\tauto = 0
[maintenance]
\tauto = false
[advice]
\tdetachedHead = false
[init]
\tdefaultBranch = main
[commit]
\tgpgSign = false
[tag]
\tgpgSign = false
";

/// The askpass program: answers git's username and password prompts from its environment.
/// `printf` is a shell builtin, so the secret never appears in a process's argv.
const ASKPASS: &str = "#!/bin/sh
# Written by gantry: answers git's credential prompts from the git process's environment.
case \"$1\" in
  Username*) [ -n \"${GANTRY_GIT_USERNAME+set}\" ] || exit 1; printf '%s\\n' \"$GANTRY_GIT_USERNAME\" ;;
  *) [ -n \"${GANTRY_GIT_PASSWORD+set}\" ] || exit 1; printf '%s\\n' \"$GANTRY_GIT_PASSWORD\" ;;
esac
";

/// Environment variables passed through to git from gantry's own environment.
const PASS_THROUGH: &[&str] = &[
    "TMPDIR",
    "TZ",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSH_AUTH_SOCK",
];

impl Git {
    /// Prepares `<data_dir>/git/` and the isolated environment of every git process.
    pub fn new(options: GitOptions) -> Result<Self> {
        let root = std::path::absolute(options.data_dir.join("git"))
            .map_err(|source| GitError::io("resolve the git data directory", source))?;
        for dir in ["", "home", "mirrors", "locks", "tmp"] {
            let dir = root.join(dir);
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| GitError::io(format!("create {}", dir.display()), source))?;
        }
        fs_err::set_permissions(&root, Permissions::from_mode(0o700))
            .map_err(|source| GitError::io("restrict the git data directory", source))?;
        let config = root.join("gitconfig");
        write_if_changed(&config, GLOBAL_CONFIG, 0o600)?;
        let askpass = root.join("askpass.sh");
        write_if_changed(&askpass, ASKPASS, 0o700)?;

        let home = root.join("home");
        let mut env: Vec<(OsString, OsString)> = vec![
            (
                "PATH".into(),
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
            ),
            ("HOME".into(), home.clone().into()),
            ("XDG_CONFIG_HOME".into(), home.join(".config").into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_CONFIG_GLOBAL".into(), config.into()),
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("GIT_ASKPASS".into(), askpass.into()),
            ("GIT_OPTIONAL_LOCKS".into(), "0".into()),
            ("LC_ALL".into(), "C".into()),
            // SSH is not supported yet; at least never wait for a prompt.
            ("GIT_SSH_COMMAND".into(), "ssh -o BatchMode=yes".into()),
        ];
        for name in PASS_THROUGH {
            if let Some(value) = std::env::var_os(name) {
                env.push(((*name).into(), value));
            }
        }
        debug_assert!(
            env.iter()
                .all(|(key, _)| key != USERNAME_VAR && key != PASSWORD_VAR),
            "credentials are set per child process only"
        );
        let runner = Runner::new(
            options.program.clone(),
            env,
            options.timeout,
            options.author.clone(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                root,
                runner,
                opened: std::sync::Mutex::default(),
                last_gc: std::sync::Mutex::default(),
                fetches: crate::fetches::Fetches::default(),
            }),
        })
    }

    /// The options this adapter was built with.
    pub fn options(&self) -> &GitOptions {
        &self.inner.options
    }

    /// `<data_dir>/git`.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn runner(&self) -> &Runner {
        &self.inner.runner
    }

    /// Whether the mirror `name` is due a `gc --auto` (at most one per [`GC_EVERY`], the first
    /// at once); records it as done.
    fn gc_due(&self, name: &str) -> bool {
        let now = std::time::Instant::now();
        let mut last = self
            .inner
            .last_gc
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match last.get(name) {
            Some(at) if now.duration_since(*at) < GC_EVERY => false,
            _ => {
                last.insert(name.to_owned(), now);
                true
            }
        }
    }

    /// What an earlier [`crate::Worktree::open`] of `path` found, if anything.
    pub(crate) fn opened(&self, path: &Path) -> Option<crate::worktree::Opened> {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(path)
            .cloned()
    }

    /// Remembers what [`crate::Worktree::open`] found at `path`.
    pub(crate) fn remember_opened(&self, path: PathBuf, opened: crate::worktree::Opened) {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path, opened);
    }

    /// The bare mirror of `url`, cloned on first use and fetched (`--prune`) on every later call.
    ///
    /// `url` may carry credentials (`https://user:token@host/repo.git`); explicit `credentials`
    /// win over them. `file://` URLs and local paths work too.
    ///
    /// Guarantees: the mirror's `refs/heads/*` equal the remote's branches when this returns
    /// (tags are fetched and force-updated but not pruned, so tags made by a worktree survive
    /// until they are pushed). Clones and fetches of one mirror are serialised across threads
    /// and processes; a failed clone leaves nothing behind.
    /// Caveat: the mirror's `HEAD` (the default branch) is set at clone time only.
    /// [`Git::mirror_with`] can accept a recent fetch instead of fetching again.
    pub fn mirror(&self, url: &str, credentials: Option<&Credentials>) -> Result<Mirror> {
        self.mirror_with(url, credentials, MirrorOptions::default())
    }

    /// [`Git::mirror`] with options for the first clone and for fetch reuse.
    ///
    /// With [`MirrorOptions::reuse_recent_fetch`], an existing mirror is returned without a
    /// fetch when its last fetch started at most [`GitOptions::fetch_reuse`] ago, used the same
    /// credentials, and no push through gantry began or ended during or since it. The branches
    /// are then as the remote had them when that fetch started.
    pub fn mirror_with(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
        options: MirrorOptions,
    ) -> Result<Mirror> {
        let remote = Remote::resolve(url, credentials)?;
        let name = mirror_dir_name(&remote.key);
        let path = self.root().join("mirrors").join(&name);
        let _lock = self.mirror_lock(&name)?;
        let fetches = &self.inner.fetches;
        let ticket = fetches.begin(&name, remote.credentials.as_ref());
        if path.join("HEAD").is_file() {
            if options.reuse_recent_fetch
                && fetches.reusable(
                    &name,
                    remote.credentials.as_ref(),
                    self.options().fetch_reuse,
                )
            {
                return Ok(Mirror::new(self.clone(), path, remote));
            }
            self.runner()
                .git(&path, "fetch")
                .args(["fetch", "--quiet", "--prune", "--tags", "--force", "origin"])
                .arg("+refs/heads/*:refs/heads/*")
                .credentials(remote.credentials.as_ref())
                .url(&remote.url)
                .run()?;
            if self.gc_due(&name) {
                // `gc.auto` is 0 globally, so no git process starts a gc behind our lock's back.
                self.runner()
                    .git(&path, "gc")
                    .args(["-c", "gc.auto=6700", "gc", "--auto", "--quiet"])
                    .run()?;
            }
        } else {
            self.clone_mirror(&remote, &path, options)?;
        }
        fetches.finish(&name, &ticket);
        Ok(Mirror::new(self.clone(), path, remote))
    }

    /// Fetches the mirror of `url` if gantry has one (a checkout made it earlier), so that the
    /// next checkout accepting a recent fetch starts at once; `false` when there is no mirror
    /// (nothing is cloned ahead of need).
    pub fn refresh_mirror(&self, url: &str, credentials: Option<&Credentials>) -> Result<bool> {
        let remote = Remote::resolve(url, credentials)?;
        let path = self
            .root()
            .join("mirrors")
            .join(mirror_dir_name(&remote.key));
        if !path.join("HEAD").is_file() {
            return Ok(false);
        }
        self.mirror(url, credentials).map(|_| true)
    }

    /// A push through mirror `name`'s remote begins: no fetch overlapping it can be reused.
    pub(crate) fn begin_push(&self, name: &str) -> crate::fetches::PushTicket<'_> {
        self.inner.fetches.begin_push(name)
    }

    fn clone_mirror(&self, remote: &Remote, path: &Path, options: MirrorOptions) -> Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if path.exists() {
            // A leftover without HEAD is not a repository: start again.
            fs_err::remove_dir_all(path)
                .map_err(|source| GitError::io("remove a broken mirror", source))?;
        }
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = self.root().join("tmp").join(format!(
            "{file_name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut clone = self
            .runner()
            .git(self.root(), "clone")
            .args(["clone", "--bare", "--quiet"]);
        if options.blobless {
            clone = clone.arg("--filter=blob:none");
        }
        let result = clone
            .arg("--")
            .arg(&remote.url)
            .arg(&temporary)
            .credentials(remote.credentials.as_ref())
            .url(&remote.url)
            .run()
            .and_then(|_| self.configure_mirror(&temporary))
            .and_then(|()| {
                fs_err::rename(&temporary, path)
                    .map_err(|source| GitError::io("move the new mirror in place", source))
            });
        if result.is_err() && temporary.exists() {
            // Best effort: the error that matters is the clone's.
            let _ignored = fs_err::remove_dir_all(&temporary);
        }
        result
    }

    /// Mirror settings: the fetch refspec, and per-worktree config (which sparse checkouts
    /// write) enabled once here, under the lock, rather than racily by concurrent worktrees.
    fn configure_mirror(&self, path: &Path) -> Result<()> {
        let settings: [&[&str]; 5] = [
            &[
                "config",
                "--replace-all",
                "remote.origin.fetch",
                "+refs/heads/*:refs/heads/*",
            ],
            &["config", "core.repositoryformatversion", "1"],
            &["config", "extensions.worktreeConfig", "true"],
            &["config", "--worktree", "core.bare", "true"],
            &["config", "--local", "--unset", "core.bare"],
        ];
        for args in settings {
            self.runner().git(path, "config").args(args).run()?;
        }
        Ok(())
    }

    pub(crate) fn mirror_lock(&self, mirror_name: &str) -> Result<Lock> {
        Lock::acquire(
            self.root()
                .join("locks")
                .join(format!("mirror-{mirror_name}.lock")),
        )
    }

    pub(crate) fn push_lock(&self, key: &str, branch: &str) -> Result<Lock> {
        let hash = fnv1a(format!("{key}\n{branch}").as_bytes());
        Lock::acquire(
            self.root()
                .join("locks")
                .join(format!("push-{hash:016x}.lock")),
        )
    }

    /// The remote's refs as `(ref, sha)` pairs, in git's order (`HEAD` first when advertised).
    pub fn ls_remote(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Vec<(String, String)>> {
        let remote = Remote::resolve(url, credentials)?;
        let output = self
            .runner()
            .git(self.root(), "ls-remote")
            .args(["ls-remote", "--quiet"])
            .arg(&remote.url)
            .credentials(remote.credentials.as_ref())
            .url(&remote.url)
            .run()?;
        Ok(output
            .text()
            .lines()
            .filter_map(|line| {
                let (sha, reference) = line.split_once('\t')?;
                Some((reference.to_owned(), sha.to_owned()))
            })
            .collect())
    }

    /// The refs of the remote that match `patterns` (all refs when empty), with annotated tags
    /// peeled and, when `HEAD` is among the patterns, the branch `HEAD` points at. One
    /// `git ls-remote --symref` round trip; no mirror is touched.
    ///
    /// git matches patterns against the *end* of ref names (`refs/heads/main` also matches
    /// `refs/heads/x/refs/heads/main`), so callers look up exact names with [`RemoteRefs::get`].
    pub fn ls_remote_refs(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
        patterns: &[&str],
    ) -> Result<RemoteRefs> {
        let remote = Remote::resolve(url, credentials)?;
        if let Some(pattern) = patterns.iter().find(|pattern| pattern.starts_with('-')) {
            return Err(GitError::InvalidRefName {
                name: (*pattern).to_owned(),
            });
        }
        let output = self
            .runner()
            .git(self.root(), "ls-remote")
            .args(["ls-remote", "--quiet", "--symref"])
            .arg(&remote.url)
            .args(patterns)
            .credentials(remote.credentials.as_ref())
            .url(&remote.url)
            .run()?;
        Ok(RemoteRefs::parse(&output.text()))
    }

    /// Re-opens a worktree made by [`Mirror::worktree`] (for example after a restart).
    pub fn open_worktree(&self, path: impl AsRef<Path>) -> Result<Worktree> {
        Worktree::open(self, path)
    }
}

/// One ref a remote advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// Full name: `HEAD`, `refs/heads/main`, `refs/tags/v1.0.0`.
    pub name: String,
    /// The object the ref points at; for an annotated tag, the tag object.
    pub id: String,
    /// For an annotated tag, the object it peels to (normally a commit).
    pub peeled: Option<String>,
}

impl RemoteRef {
    /// The commit (or other object) behind the ref: the peeled id for annotated tags.
    pub fn target(&self) -> &str {
        self.peeled.as_deref().unwrap_or(&self.id)
    }
}

/// What `git ls-remote --symref` reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteRefs {
    /// The refs, in the remote's order (`HEAD` first, then by name).
    pub refs: Vec<RemoteRef>,
    /// The ref `HEAD` points at (`refs/heads/main`), when `HEAD` was listed and the remote says.
    pub head: Option<String>,
}

impl RemoteRefs {
    /// The ref with exactly this name.
    pub fn get(&self, name: &str) -> Option<&RemoteRef> {
        self.refs.iter().find(|reference| reference.name == name)
    }

    /// The branch `HEAD` points at (`main`), if the remote said.
    pub fn default_branch(&self) -> Option<&str> {
        self.head.as_deref()?.strip_prefix("refs/heads/")
    }

    /// Reads `<id>\t<name>` lines, `<id>\t<name>^{}` peel lines and `ref: <target>\tHEAD`.
    pub(crate) fn parse(text: &str) -> Self {
        let mut parsed = Self::default();
        for line in text.lines() {
            let Some((left, name)) = line.split_once('\t') else {
                continue;
            };
            if let Some(target) = left.strip_prefix("ref: ") {
                if name == "HEAD" {
                    parsed.head = Some(target.to_owned());
                }
                continue;
            }
            if let Some(peeled_name) = name.strip_suffix("^{}") {
                if let Some(tag) = parsed
                    .refs
                    .iter_mut()
                    .rev()
                    .find(|reference| reference.name == peeled_name)
                {
                    tag.peeled = Some(left.to_owned());
                }
                continue;
            }
            parsed.refs.push(RemoteRef {
                name: name.to_owned(),
                id: left.to_owned(),
                peeled: None,
            });
        }
        parsed
    }
}

/// A repository address, resolved: what git is given, the mirror key, the credentials.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    /// The URL (or absolute path) git is given; never has userinfo.
    pub(crate) url: String,
    /// The normalised URL mirrors and push locks are keyed by.
    pub(crate) key: String,
    pub(crate) credentials: Option<Credentials>,
}

impl Remote {
    pub(crate) fn resolve(url: &str, explicit: Option<&Credentials>) -> Result<Self> {
        let (clean, embedded) = split_credentials(url.trim());
        let credentials = explicit.cloned().or(embedded);
        if clean.is_empty() || clean.starts_with('-') {
            return Err(GitError::InvalidUrl { url: clean });
        }
        let scp_like = clean
            .split('/')
            .next()
            .is_some_and(|first| first.contains(':'));
        let (url, key) = if clean.contains("://") {
            let key = if clean.starts_with("file://") {
                clean.trim_end_matches('/').to_owned()
            } else {
                gantry_api::url::normalize_git(&clean)
            };
            (clean, key)
        } else if scp_like {
            let key = gantry_api::url::normalize_git(&clean);
            (clean, key)
        } else {
            let path = std::path::absolute(&clean)
                .map_err(|source| GitError::io(format!("resolve the path {clean}"), source))?;
            let path = path.to_string_lossy().into_owned();
            let key = format!("file://{}", path.trim_end_matches('/'));
            (path, key)
        };
        Ok(Self {
            url,
            key,
            credentials,
        })
    }
}

/// `<16 hex digits of the key's hash>-<repository name>`.
pub(crate) fn mirror_dir_name(key: &str) -> String {
    let last = key
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .find(|segment| !segment.is_empty())
        .unwrap_or("repo");
    let last = last.strip_suffix(".git").unwrap_or(last);
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert_str(0, "repo");
    }
    format!("{:016x}-{name}", fnv1a(key.as_bytes()))
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A number in `[0, 1)` that differs from call to call (for backoff jitter).
pub(crate) fn random_fraction() -> f64 {
    // Every `RandomState` gets fresh keys, so hashing nothing yields a new value each time.
    let bits = std::hash::RandomState::new().build_hasher().finish() >> 11;
    #[expect(
        clippy::cast_precision_loss,
        reason = "53 bits fit an f64 mantissa exactly"
    )]
    let fraction = bits as f64 / (1u64 << 53) as f64;
    fraction
}

/// Writes `contents` to `path` (atomically, by rename) unless it already holds them.
fn write_if_changed(path: &Path, contents: &str, mode: u32) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if fs_err::read(path).is_ok_and(|existing| existing == contents.as_bytes()) {
        return Ok(());
    }
    let temporary = path.with_extension(format!(
        "tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs_err::write(&temporary, contents)
        .and_then(|()| fs_err::set_permissions(&temporary, Permissions::from_mode(mode)))
        .and_then(|()| fs_err::rename(&temporary, path))
        .map_err(|source| GitError::io(format!("write {}", path.display()), source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_are_named_by_hash_and_repository_name() {
        let name = mirror_dir_name("https://github.com/org/gitops");
        assert!(name.ends_with("-gitops"), "{name}");
        assert_eq!(name.len(), 16 + 1 + "gitops".len());
        assert_eq!(name, mirror_dir_name("https://github.com/org/gitops"));
        assert_ne!(name, mirror_dir_name("https://github.com/other/gitops"));
        assert!(mirror_dir_name("file:///srv/x y.git").ends_with("-x_y"));
        assert!(mirror_dir_name("https://h").ends_with("-h"));
    }

    #[test]
    fn urls_with_userinfo_resolve_to_one_key_and_clean_url() {
        let with = Remote::resolve("https://u:p@GitHub.com/Org/Repo.git", None).unwrap();
        let without = Remote::resolve("https://github.com/org/repo", None).unwrap();
        assert_eq!(with.key, without.key);
        assert_eq!(with.url, "https://GitHub.com/Org/Repo.git");
        assert_eq!(with.credentials.unwrap().password.expose(), "p");

        let explicit = Credentials::new("me", "mine");
        let resolved = Remote::resolve("https://u:p@h/r.git", Some(&explicit)).unwrap();
        assert_eq!(resolved.credentials.unwrap().username, "me");
    }

    #[test]
    fn local_paths_become_absolute_and_keep_their_case() {
        let remote = Remote::resolve("relative/Repo.git", None).unwrap();
        assert!(remote.url.starts_with('/'), "{}", remote.url);
        assert!(remote.key.starts_with("file:///") && remote.key.ends_with("Repo.git"));
        assert!(matches!(
            Remote::resolve("--upload-pack=x", None),
            Err(GitError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn ls_remote_output_folds_peeled_tags_and_reads_the_head_symref() {
        let text = "ref: refs/heads/main\tHEAD\n\
                    aaa\tHEAD\n\
                    aaa\trefs/heads/main\n\
                    bbb\trefs/tags/v1\n\
                    ccc\trefs/tags/v1^{}\n\
                    ddd\trefs/tags/v2\n";
        let refs = RemoteRefs::parse(text);
        assert_eq!(refs.default_branch(), Some("main"));
        assert_eq!(refs.refs.len(), 4);
        let v1 = refs.get("refs/tags/v1").unwrap();
        assert_eq!((v1.id.as_str(), v1.target()), ("bbb", "ccc"));
        assert_eq!(refs.get("refs/tags/v2").unwrap().target(), "ddd");
        assert!(refs.get("refs/tags/v1^{}").is_none());
    }

    #[test]
    fn random_fractions_vary_within_the_unit_interval() {
        let values: Vec<f64> = (0..20).map(|_| random_fraction()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(
            values
                .windows(2)
                .any(|pair| pair[0].to_bits() != pair[1].to_bits())
        );
    }
}
