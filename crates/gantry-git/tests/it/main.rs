//! Integration tests of gantry-git: real git, local repositories and a real smart-HTTP server
//! with basic auth (gantry-test's `GitServer`, nginx + fcgiwrap + git-http-backend).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "test helpers fail loudly; std::fs is fine for fixtures"
)]

mod discover;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use gantry_git::{
    Author, Backoff, Checkout, Credentials, Git, GitError, GitOptions, MirrorOptions, PushOptions,
    Sparse, Target, Worktree,
};
use gantry_test::{GitServer, commit_all, fixture_repo, generate_history, git, write_files};
use tempfile::TempDir;

const USER: &str = "promoter";
const PASSWORD: &str = "s3cr3t-t0ken";

/// A gantry data dir and a scratch dir for worktrees and fixtures.
struct Env {
    _dir: TempDir,
    data: PathBuf,
    work: PathBuf,
    git: Git,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let git = git_for(&data);
        Self {
            _dir: dir,
            data,
            work,
            git,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }
}

fn git_for(data: &Path) -> Git {
    let mut options = GitOptions::new(data);
    options.timeout = Duration::from_mins(1);
    Git::new(options).unwrap()
}

fn server() -> GitServer {
    GitServer::start(USER, PASSWORD).expect("the test git server must start")
}

fn credentials() -> Credentials {
    Credentials::new(USER, PASSWORD)
}

fn quick_push() -> PushOptions {
    PushOptions {
        backoff: Backoff {
            initial: Duration::from_millis(10),
            ..Backoff::default()
        },
        ..PushOptions::default()
    }
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn commit_count(repo: &Path, branch: &str) -> usize {
    git(repo, &["rev-list", "--count", branch])
        .unwrap()
        .parse()
        .unwrap()
}

/// Every file under `dir` except `.git`, as sorted relative paths.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn upstream(env: &Env) -> PathBuf {
    fixture_repo(
        &env.path("upstream"),
        &[
            ("README.md", "hello\n"),
            ("apps/dev/values.yaml", "image: v1\n"),
            ("apps/prod/values.yaml", "image: v0\n"),
            ("base/kustomization.yaml", "resources: []\n"),
        ],
    )
    .unwrap()
}

#[test]
fn a_second_mirror_call_fetches_into_the_existing_mirror_instead_of_cloning() {
    let env = Env::new();
    let upstream = upstream(&env);
    let url = upstream.to_string_lossy().into_owned();

    let first = env.git.mirror(&url, None).unwrap();
    assert!(first.path().starts_with(env.data.join("git/mirrors")));
    let marker = first.path().join("gantry-test-marker");
    std::fs::write(&marker, "still here").unwrap();

    write_files(&upstream, &[("apps/dev/values.yaml", "image: v2\n")]).unwrap();
    let newer = commit_all(&upstream, "bump dev").unwrap();
    git(&upstream, &["branch", "feature"]).unwrap();

    let second = env.git.mirror(&url, None).unwrap();
    assert_eq!(first.path(), second.path());
    assert!(marker.exists(), "the mirror was re-cloned");
    assert_eq!(
        second.resolve("refs/heads/main").unwrap(),
        Some(newer.clone())
    );
    assert!(second.resolve("refs/heads/feature").unwrap().is_some());

    // Deleted branches are pruned.
    git(&upstream, &["branch", "-D", "feature"]).unwrap();
    let third = env.git.mirror(&url, None).unwrap();
    assert_eq!(third.resolve("refs/heads/feature").unwrap(), None);
    assert_eq!(third.default_branch().unwrap().as_deref(), Some("main"));
}

#[test]
fn worktrees_check_out_a_branch_a_commit_a_tag_or_the_default_branch() {
    let env = Env::new();
    let upstream = upstream(&env);
    let first = git(&upstream, &["rev-parse", "HEAD"]).unwrap();
    git(&upstream, &["tag", "-a", "v1.0.0", "-m", "release"]).unwrap();
    git(&upstream, &["checkout", "--quiet", "-b", "stage/prod"]).unwrap();
    write_files(&upstream, &[("apps/prod/values.yaml", "image: v1\n")]).unwrap();
    let prod = commit_all(&upstream, "promote prod").unwrap();
    git(&upstream, &["checkout", "--quiet", "main"]).unwrap();

    let mirror = env.git.mirror(&upstream.to_string_lossy(), None).unwrap();

    let branch = mirror
        .worktree(env.path("branch"), &Checkout::branch("stage/prod"), None)
        .unwrap();
    assert_eq!(branch.head().unwrap(), prod);
    assert_eq!(branch.branch(), Some("stage/prod"));
    assert_eq!(
        read(env.path("branch/apps/prod/values.yaml")),
        "image: v1\n"
    );
    assert!(!branch.is_sparse().unwrap());

    let commit = mirror
        .worktree(env.path("commit"), &Checkout::commit(&first[..10]), None)
        .unwrap();
    assert_eq!(commit.head().unwrap(), first);
    assert_eq!(commit.branch(), None);

    let tag = mirror
        .worktree(env.path("tag"), &Checkout::tag("v1.0.0"), None)
        .unwrap();
    assert_eq!(tag.head().unwrap(), first);
    assert_eq!(tag.branch(), None);

    let default = mirror
        .worktree(env.path("default"), &Checkout::default(), None)
        .unwrap();
    assert_eq!(default.branch(), Some("main"));
    assert_eq!(default.head().unwrap(), first);
    assert_eq!(
        files(default.path()),
        [
            "README.md",
            "apps/dev/values.yaml",
            "apps/prod/values.yaml",
            "base/kustomization.yaml"
        ]
    );

    // Worktrees are detached: the mirror still fetches into every branch.
    let git_dir_head = read(default.git_dir().join("HEAD"));
    assert_eq!(git_dir_head.trim(), first);

    let missing = mirror
        .worktree(env.path("nope"), &Checkout::tag("v9"), None)
        .unwrap_err();
    assert!(matches!(missing, GitError::RefNotFound { .. }), "{missing}");
    assert!(
        !env.path("nope").exists(),
        "a failed checkout leaves nothing behind"
    );
}

#[test]
fn a_lazy_worktree_materialises_top_level_files_only_and_sparse_add_brings_folders_in() {
    let env = Env::new();
    let upstream = upstream(&env);
    let mirror = env.git.mirror(&upstream.to_string_lossy(), None).unwrap();

    let lazy = mirror
        .worktree(
            env.path("lazy"),
            &Checkout::branch("main").with_sparse(Sparse::Lazy),
            None,
        )
        .unwrap();
    assert!(lazy.is_sparse().unwrap());
    assert_eq!(files(lazy.path()), ["README.md"]);
    assert!(
        !lazy.has_changes().unwrap(),
        "unmaterialised files are not deletions"
    );

    let unchanged = lazy.head().unwrap();
    write_files(lazy.path(), &[(".git-ignored-by-info-exclude", "x\n")]).unwrap();
    let exclude = lazy
        .git_dir()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("info/exclude");
    fs_err::create_dir_all(exclude.parent().unwrap()).unwrap();
    fs_err::write(&exclude, ".git-ignored-by-info-exclude\n").unwrap();
    let outcome = lazy.commit("nothing to see", None).unwrap();
    assert_eq!(
        (outcome.commit, outcome.created),
        (unchanged.clone(), false)
    );
    assert_eq!(
        lazy.head().unwrap(),
        git(lazy.path(), &["rev-parse", "HEAD"]).unwrap()
    );
    fs_err::remove_file(lazy.path().join(".git-ignored-by-info-exclude")).unwrap();

    lazy.sparse_add(&["apps/dev".into()]).unwrap();
    assert_eq!(files(lazy.path()), ["README.md", "apps/dev/values.yaml"]);

    // A commit from a sparse worktree changes only what was touched.
    write_files(lazy.path(), &[("apps/dev/values.yaml", "image: v2\n")]).unwrap();
    let outcome = lazy.commit("bump dev", None).unwrap();
    assert!(outcome.created);
    let changed = git(lazy.path(), &["show", "--name-only", "--format=", "HEAD"]).unwrap();
    assert_eq!(changed, "apps/dev/values.yaml");
    let tree = git(lazy.path(), &["ls-tree", "-r", "--name-only", "HEAD"]).unwrap();
    assert_eq!(tree.lines().count(), 4, "{tree}");

    let dirs = mirror
        .worktree(
            env.path("dirs"),
            &Checkout::branch("main").with_sparse(Sparse::Dirs(vec!["./base/".into()])),
            None,
        )
        .unwrap();
    assert_eq!(files(dirs.path()), ["README.md", "base/kustomization.yaml"]);
    dirs.disable_sparse().unwrap();
    assert_eq!(files(dirs.path()).len(), 4);
    assert!(!dirs.is_sparse().unwrap());
}

#[test]
fn committing_without_changes_makes_no_commit_and_returns_head() {
    let env = Env::new();
    let upstream = upstream(&env);
    let mirror = env.git.mirror(&upstream.to_string_lossy(), None).unwrap();
    let worktree = mirror
        .worktree(env.path("wt"), &Checkout::branch("main"), None)
        .unwrap();
    let head = worktree.head().unwrap();

    let outcome = worktree.commit("nothing", None).unwrap();
    assert_eq!(
        (outcome.commit.as_str(), outcome.created),
        (head.as_str(), false)
    );

    std::fs::remove_file(env.path("wt/base/kustomization.yaml")).unwrap();
    write_files(worktree.path(), &[("new/file.yaml", "a: 1\n")]).unwrap();
    assert!(worktree.has_changes().unwrap());
    let author = Author::new("Kargo Render", "render@example.com");
    let outcome = worktree
        .commit("# not a comment\n\nbody", Some(&author))
        .unwrap();
    assert!(outcome.created);
    assert_ne!(outcome.commit, head);
    assert!(!worktree.has_changes().unwrap());
    let show = git(
        worktree.path(),
        &["show", "--name-status", "--format=%an <%ae>|%cn|%B", "HEAD"],
    )
    .unwrap();
    assert!(
        show.starts_with("Kargo Render <render@example.com>|Kargo Render|# not a comment"),
        "{show}"
    );
    assert!(
        show.contains("D\tbase/kustomization.yaml") && show.contains("A\tnew/file.yaml"),
        "{show}"
    );
}

#[test]
fn clear_removes_every_file_but_git_and_diff_against_shows_the_result() {
    let env = Env::new();
    let upstream = upstream(&env);
    let mirror = env.git.mirror(&upstream.to_string_lossy(), None).unwrap();
    let worktree = mirror
        .worktree(
            env.path("wt"),
            &Checkout::branch("main").with_sparse(Sparse::Lazy),
            None,
        )
        .unwrap();
    write_files(worktree.path(), &[("untracked.txt", "x")]).unwrap();

    worktree.clear().unwrap();
    assert!(files(worktree.path()).is_empty());
    assert!(worktree.path().join(".git").exists());

    write_files(worktree.path(), &[("rendered/all.yaml", "kind: List\n")]).unwrap();
    let diff = worktree.diff_against("HEAD").unwrap();
    assert!(diff.contains("+++ b/rendered/all.yaml"), "{diff}");
    assert!(
        diff.contains("--- a/apps/prod/values.yaml"),
        "files outside the cone are cleared too"
    );
    assert!(!diff.contains("untracked.txt"));

    worktree.commit("render", None).unwrap();
    let tree = git(worktree.path(), &["ls-tree", "-r", "--name-only", "HEAD"]).unwrap();
    assert_eq!(tree, "rendered/all.yaml");
}

#[test]
fn commit_and_push_reach_the_authenticated_server_without_storing_the_secret() {
    let env = Env::new();
    let server = server();
    let bare = server
        .seed_repo(
            "gitops",
            &[
                ("apps/dev/values.yaml", "image: v1\n"),
                ("README.md", "x\n"),
            ],
        )
        .unwrap();

    // As the seeds write it: the token inside the repoURL.
    let mirror = env
        .git
        .mirror(&server.url_with_credentials("gitops"), None)
        .unwrap();
    assert_eq!(mirror.url(), server.url("gitops"));
    let worktree = mirror
        .worktree(
            env.path("wt"),
            &Checkout::branch("main").with_sparse(Sparse::Dirs(vec!["apps/dev".into()])),
            None,
        )
        .unwrap();
    write_files(worktree.path(), &[("apps/dev/values.yaml", "image: v2\n")]).unwrap();
    let commit = worktree
        .commit("Updated apps/dev/values.yaml", None)
        .unwrap();
    let pushed = worktree.push(&PushOptions::default()).unwrap();
    assert_eq!(pushed.branch.as_deref(), Some("main"));
    assert_eq!(pushed.commit, commit.commit);
    assert_eq!(git(&bare, &["rev-parse", "main"]).unwrap(), commit.commit);
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%an", "main"]).unwrap(),
        "gantry"
    );

    // The remote URL in the mirror's config is clean, and no file gantry wrote holds the secret.
    let config = read(mirror.path().join("config"));
    assert!(
        config.contains(&server.url("gitops")) && !config.contains(PASSWORD),
        "{config}"
    );
    let grep = std::process::Command::new("grep")
        .args(["-rl", PASSWORD])
        .arg(&env.data)
        .arg(worktree.path())
        .output()
        .unwrap();
    assert!(
        grep.stdout.is_empty(),
        "secret found in {}",
        String::from_utf8_lossy(&grep.stdout)
    );

    // ls-remote sees the push.
    let refs = env
        .git
        .ls_remote(&server.url("gitops"), Some(&credentials()))
        .unwrap();
    assert!(
        refs.contains(&("refs/heads/main".to_owned(), commit.commit.clone())),
        "{refs:?}"
    );
}

#[test]
fn a_wrong_password_is_an_auth_error_that_reveals_neither_password_nor_userinfo() {
    let env = Env::new();
    let server = server();
    server.seed_repo("gitops", &[("a", "b")]).unwrap();
    let wrong = "wr0ng-pa55word";
    let url = server
        .url("gitops")
        .replace("://", &format!("://{USER}:{wrong}@"));

    for error in [
        env.git.mirror(&url, None).unwrap_err(),
        env.git
            .ls_remote(&server.url("gitops"), Some(&Credentials::new(USER, wrong)))
            .unwrap_err(),
        env.git.mirror(&server.url("gitops"), None).unwrap_err(),
    ] {
        assert!(matches!(error, GitError::Auth { .. }), "{error:?}");
        assert!(!error.is_transient());
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(wrong) && !text.contains(PASSWORD), "{text}");
            assert!(!text.contains(&format!("{USER}:")), "{text}");
            assert!(text.contains(&server.url("gitops")), "{text}");
        }
    }
    assert!(
        !env.data
            .join("git/mirrors")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "no mirror left behind"
    );
}

#[test]
fn ten_concurrent_pushes_to_one_branch_all_land() {
    let env = Env::new();
    let server = server();
    let bare = server.seed_repo("gitops", &[("README.md", "x\n")]).unwrap();
    let mirror = env
        .git
        .mirror(&server.url("gitops"), Some(&credentials()))
        .unwrap();

    let barrier = Arc::new(Barrier::new(10));
    let threads: Vec<_> = (0..10)
        .map(|index| {
            let (mirror, barrier) = (mirror.clone(), barrier.clone());
            let path = env.path(&format!("wt-{index}"));
            thread::spawn(move || {
                let worktree = mirror
                    .worktree(
                        &path,
                        &Checkout::branch("main").with_sparse(Sparse::Lazy),
                        None,
                    )
                    .unwrap();
                write_files(
                    &path,
                    &[(&format!("apps/app-{index}/values.yaml"), "v: 1\n")],
                )
                .unwrap();
                worktree.commit(&format!("app {index}"), None).unwrap();
                barrier.wait();
                worktree.push(&quick_push()).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<_> = threads
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();

    assert_eq!(commit_count(&bare, "main"), 11);
    let tree = git(&bare, &["ls-tree", "-r", "--name-only", "main"]).unwrap();
    for index in 0..10 {
        assert!(
            tree.contains(&format!("apps/app-{index}/values.yaml")),
            "{tree}"
        );
    }
    let tip = git(&bare, &["rev-parse", "main"]).unwrap();
    assert!(outcomes.iter().any(|outcome| outcome.commit == tip));
}

#[test]
fn a_push_behind_an_outside_commit_is_rebased_and_retried() {
    let env = Env::new();
    let server = server();
    let bare = server
        .seed_repo("gitops", &[("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n")])
        .unwrap();
    let mirror = env
        .git
        .mirror(&server.url("gitops"), Some(&credentials()))
        .unwrap();
    let worktree = mirror
        .worktree(env.path("wt"), &Checkout::branch("main"), None)
        .unwrap();
    write_files(worktree.path(), &[("a.yaml", "a: 2\n")]).unwrap();
    worktree.commit("ours", None).unwrap();

    // Someone outside gantry pushes first.
    let outside = env.path("outside");
    git(
        &env.work,
        &[
            "clone",
            "--quiet",
            &bare.to_string_lossy(),
            &outside.to_string_lossy(),
        ],
    )
    .unwrap();
    write_files(&outside, &[("b.yaml", "b: 2\n")]).unwrap();
    commit_all(&outside, "theirs").unwrap();
    git(&outside, &["push", "--quiet", "origin", "main"]).unwrap();

    let pushed = worktree.push(&quick_push()).unwrap();
    assert_eq!(git(&bare, &["rev-parse", "main"]).unwrap(), pushed.commit);
    assert_eq!(
        git(&bare, &["log", "--format=%s", "main"]).unwrap(),
        "ours\ntheirs\nInitial files"
    );
}

#[test]
fn a_rebase_conflict_is_a_terminal_error_and_leaves_the_worktree_as_it_was() {
    let env = Env::new();
    let server = server();
    let bare = server
        .seed_repo("gitops", &[("values.yaml", "image: v1\n")])
        .unwrap();
    let mirror = env
        .git
        .mirror(&server.url("gitops"), Some(&credentials()))
        .unwrap();
    let first = mirror
        .worktree(env.path("first"), &Checkout::branch("main"), None)
        .unwrap();
    let second = mirror
        .worktree(env.path("second"), &Checkout::branch("main"), None)
        .unwrap();

    write_files(first.path(), &[("values.yaml", "image: v2\n")]).unwrap();
    first.commit("v2", None).unwrap();
    first.push(&quick_push()).unwrap();

    write_files(second.path(), &[("values.yaml", "image: v3\n")]).unwrap();
    let ours = second.commit("v3", None).unwrap();
    let error = second.push(&quick_push()).unwrap_err();
    assert!(
        matches!(error, GitError::RebaseConflict { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_eq!(second.head().unwrap(), ours.commit);
    assert!(!second.has_changes().unwrap(), "the rebase was aborted");
    assert_eq!(read(second.path().join("values.yaml")), "image: v3\n");
    assert_eq!(commit_count(&bare, "main"), 2);

    // A force push does not integrate.
    let forced = second
        .push(&PushOptions {
            force: true,
            ..quick_push()
        })
        .unwrap();
    assert_eq!(git(&bare, &["rev-parse", "main"]).unwrap(), forced.commit);
}

#[test]
fn a_missing_branch_is_created_as_an_orphan_and_pushed_only_when_asked() {
    let env = Env::new();
    let server = server();
    let bare = server.seed_repo("gitops", &[("README.md", "x\n")]).unwrap();
    let mirror = env
        .git
        .mirror(&server.url("gitops"), Some(&credentials()))
        .unwrap();

    let error = mirror
        .worktree(env.path("no"), &Checkout::branch("stage/dev"), None)
        .unwrap_err();
    assert!(matches!(&error, GitError::BranchNotFound { branch, .. } if branch == "stage/dev"));
    assert!(error.to_string().contains("`stage/dev`"), "{error}");

    let created = mirror
        .worktree(
            env.path("yes"),
            &Checkout::branch("stage/dev").with_create(true),
            None,
        )
        .unwrap();
    assert_eq!(created.branch(), Some("stage/dev"));
    assert!(files(created.path()).is_empty());
    let remote_head = git(&bare, &["rev-parse", "stage/dev"]).unwrap();
    assert_eq!(created.head().unwrap(), remote_head);
    assert_eq!(
        git(&bare, &["log", "--format=%s", "stage/dev"]).unwrap(),
        "Initial commit"
    );
    assert_eq!(git(&bare, &["ls-tree", "stage/dev"]).unwrap(), "");

    write_files(created.path(), &[("manifests.yaml", "kind: List\n")]).unwrap();
    created.commit("render", None).unwrap();
    created.push(&quick_push()).unwrap();
    assert_eq!(commit_count(&bare, "stage/dev"), 2);

    // An existing branch with create: true is simply checked out.
    let again = mirror
        .worktree(
            env.path("again"),
            &Checkout::branch("main").with_create(true),
            None,
        )
        .unwrap();
    assert_eq!(
        again.head().unwrap(),
        git(&bare, &["rev-parse", "main"]).unwrap()
    );
}

#[test]
fn a_branch_can_be_created_in_an_empty_repository() {
    let env = Env::new();
    let server = server();
    let bare = server.create_repo("empty").unwrap();
    let mirror = env
        .git
        .mirror(&server.url("empty"), Some(&credentials()))
        .unwrap();
    let worktree = mirror
        .worktree(
            env.path("wt"),
            &Checkout::default_branch().with_create(true),
            None,
        )
        .unwrap();
    assert_eq!(worktree.branch(), Some("main"));
    assert_eq!(
        git(&bare, &["log", "--format=%s", "main"]).unwrap(),
        "Initial commit"
    );
}

#[test]
fn tags_are_made_on_head_and_pushed() {
    let env = Env::new();
    let server = server();
    let bare = server.seed_repo("gitops", &[("README.md", "x\n")]).unwrap();
    let mirror = env
        .git
        .mirror(&server.url("gitops"), Some(&credentials()))
        .unwrap();
    let worktree = mirror
        .worktree(env.path("wt"), &Checkout::branch("main"), None)
        .unwrap();

    let tagged = worktree.tag("v1.0.0", "release 1.0.0", false).unwrap();
    assert!(worktree.tag("v1.0.0", "again", false).is_err());
    worktree
        .tag("v1.0.0", "release 1.0.0, again", true)
        .unwrap();
    let outcome = worktree
        .push(&PushOptions {
            tag: Some("v1.0.0".into()),
            ..quick_push()
        })
        .unwrap();
    assert_eq!(
        (outcome.tag.as_deref(), outcome.branch),
        (Some("v1.0.0"), None)
    );
    assert_eq!(
        git(&bare, &["rev-parse", "v1.0.0^{commit}"]).unwrap(),
        tagged
    );
    assert_eq!(
        git(
            &bare,
            &["tag", "-l", "--format=%(contents:subject)", "v1.0.0"]
        )
        .unwrap(),
        "release 1.0.0, again"
    );

    let invalid = worktree.tag("-f", "x", false).unwrap_err();
    assert!(
        matches!(invalid, GitError::InvalidRefName { .. }),
        "{invalid}"
    );
}

#[test]
fn a_worktree_reopens_after_a_restart_and_can_still_push() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = dir.path().join("promotion/checkout");
    let server = server();
    let bare = server
        .seed_repo("gitops", &[("values.yaml", "image: v1\n")])
        .unwrap();
    {
        let git = git_for(&data);
        let mirror = git
            .mirror(&server.url_with_credentials("gitops"), None)
            .unwrap();
        let worktree = mirror
            .worktree(
                &path,
                &Checkout::branch("main").with_sparse(Sparse::Lazy),
                None,
            )
            .unwrap();
        write_files(&path, &[("values.yaml", "image: v2\n")]).unwrap();
        worktree.commit("v2", None).unwrap();
    }

    // A new process: a new Git on the same data dir, credentials handed in again.
    let git = git_for(&data);
    let mut worktree = Worktree::open(&git, &path).unwrap();
    assert_eq!(worktree.branch(), Some("main"));
    assert_eq!(worktree.url(), server.url("gitops"));
    assert!(worktree.is_sparse().unwrap());
    assert!(matches!(
        worktree.push(&quick_push()).unwrap_err(),
        GitError::Auth { .. }
    ));
    worktree.set_credentials(Some(credentials()));
    let pushed = worktree.push(&quick_push()).unwrap();
    assert_eq!(git_rev(&bare), pushed.commit);

    let not_one = Worktree::open(&git, dir.path()).unwrap_err();
    assert!(
        matches!(not_one, GitError::NotAWorktree { .. }),
        "{not_one}"
    );

    worktree.remove().unwrap();
    assert!(!path.exists());
    assert!(Worktree::open(&git, &path).is_err());
}

fn git_rev(bare: &Path) -> String {
    git(bare, &["rev-parse", "main"]).unwrap()
}

#[test]
fn a_blobless_mirror_fetches_file_contents_on_demand_with_the_worktree_credentials() {
    let env = Env::new();
    let server = server();
    server
        .seed_repo(
            "gitops",
            &[
                ("README.md", "x\n"),
                ("apps/dev/values.yaml", "image: v1\n"),
            ],
        )
        .unwrap();
    let mirror = env
        .git
        .mirror_with(
            &server.url("gitops"),
            Some(&credentials()),
            MirrorOptions {
                blobless: true,
                ..MirrorOptions::default()
            },
        )
        .unwrap();
    let config = read(mirror.path().join("config"));
    assert!(
        config.contains("partialclonefilter = blob:none"),
        "{config}"
    );
    let worktree = mirror
        .worktree(
            env.path("wt"),
            &Checkout::branch("main").with_sparse(Sparse::Lazy),
            None,
        )
        .unwrap();
    worktree.sparse_add(&["apps".into()]).unwrap();
    assert_eq!(read(env.path("wt/apps/dev/values.yaml")), "image: v1\n");
}

#[test]
fn a_target_other_than_the_tracked_branch_and_a_detached_checkout_without_one() {
    let env = Env::new();
    let server = server();
    let bare = server.seed_repo("gitops", &[("a", "1")]).unwrap();
    let mirror = env
        .git
        .mirror(&server.url("gitops"), Some(&credentials()))
        .unwrap();
    let head = mirror.resolve("main").unwrap().unwrap();
    let worktree = mirror
        .worktree(env.path("wt"), &Checkout::new(Target::Commit(head)), None)
        .unwrap();
    write_files(worktree.path(), &[("a", "2")]).unwrap();
    worktree.commit("change", None).unwrap();

    let error = worktree.push(&quick_push()).unwrap_err();
    assert!(matches!(error, GitError::NoBranch { .. }), "{error}");
    let pushed = worktree
        .push(&PushOptions {
            target_branch: Some("kargo/promotion/abc".into()),
            ..quick_push()
        })
        .unwrap();
    assert_eq!(
        git(&bare, &["rev-parse", "kargo/promotion/abc"]).unwrap(),
        pushed.commit
    );
}

/// Prints (does not assert) timings on a generated repository of 5,000 files and 2,000 commits.
/// Run with `cargo test -p gantry-git --release --test it -- --ignored --nocapture timings`.
#[test]
#[ignore = "measurement, prints timings"]
fn timings_of_mirror_fetch_and_worktrees_on_a_large_repository() {
    let env = Env::new();
    let server = server();
    let bare = server.create_repo("large").unwrap();
    let started = Instant::now();
    generate_history(&bare, 5_000, 2_000).unwrap();
    println!(
        "generate 5,000 files / 2,000 commits: {:?}",
        started.elapsed()
    );
    let url = server.url("large");

    let started = Instant::now();
    let mirror = env.git.mirror(&url, Some(&credentials())).unwrap();
    println!(
        "first mirror (clone --bare over HTTP): {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    env.git.mirror(&url, Some(&credentials())).unwrap();
    println!("warm mirror (fetch, nothing new): {:?}", started.elapsed());

    let started = Instant::now();
    let lazy = mirror
        .worktree(
            env.path("lazy"),
            &Checkout::branch("main").with_sparse(Sparse::Lazy),
            None,
        )
        .unwrap();
    println!("lazy worktree: {:?}", started.elapsed());
    let started = Instant::now();
    lazy.sparse_add(&["dir-007".into()]).unwrap();
    println!("sparse_add one folder (100 files): {:?}", started.elapsed());
    let started = Instant::now();
    write_files(lazy.path(), &[("dir-007/file-00700.yaml", "changed\n")]).unwrap();
    lazy.commit("change", None).unwrap();
    lazy.push(&quick_push()).unwrap();
    println!(
        "edit, commit, push from the lazy worktree: {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    mirror
        .worktree(env.path("full"), &Checkout::branch("main"), None)
        .unwrap();
    println!("full worktree (5,000 files): {:?}", started.elapsed());
}

#[test]
fn a_checkout_accepting_a_recent_fetch_reuses_it_until_a_push_voids_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = GitOptions::new(dir.path().join("data"));
    options.fetch_reuse = Duration::from_mins(1);
    let git = Git::new(options).unwrap();
    let work = dir.path().join("work");
    let upstream = fixture_repo(&work.join("upstream"), &[("a.yaml", "a: 1\n")]).unwrap();
    let url = upstream.to_string_lossy().into_owned();
    let reuse = MirrorOptions {
        reuse_recent_fetch: true,
        ..MirrorOptions::default()
    };
    let head = |repo: &Path| git_head(repo);

    // No mirror yet: refreshing one clones nothing.
    assert!(!git.refresh_mirror(&url, None).unwrap());
    assert!(!git.root().join("mirrors").read_dir().unwrap().any(|_| true));
    let first = git.mirror(&url, None).unwrap();
    let v1 = head(&upstream);
    assert_eq!(first.resolve("refs/heads/main").unwrap(), Some(v1.clone()));

    // An outside commit lands after that fetch: a caller accepting a recent fetch gets the
    // mirror as it is, any other caller fetches.
    write_files(&upstream, &[("a.yaml", "a: 2\n")]).unwrap();
    commit_all(&upstream, "outside").unwrap();
    let v2 = head(&upstream);
    let reused = git.mirror_with(&url, None, reuse).unwrap();
    assert_eq!(reused.resolve("refs/heads/main").unwrap(), Some(v1));
    assert!(git.refresh_mirror(&url, None).unwrap());
    let reused = git.mirror_with(&url, None, reuse).unwrap();
    assert_eq!(reused.resolve("refs/heads/main").unwrap(), Some(v2.clone()));

    // A push through a worktree voids the fetch, even one of a commit the mirror has not seen.
    let worktree = reused
        .worktree(work.join("wt"), &Checkout::branch("main"), None)
        .unwrap();
    write_files(worktree.path(), &[("b.yaml", "b: 1\n")]).unwrap();
    worktree.commit("ours", None).unwrap();
    // A non-bare upstream refuses pushes to its checked-out branch: push to another one.
    let pushed = worktree
        .push(&PushOptions {
            target_branch: Some("pushed".into()),
            ..quick_push()
        })
        .unwrap();
    write_files(&upstream, &[("a.yaml", "a: 3\n")]).unwrap();
    commit_all(&upstream, "outside again").unwrap();
    let v3 = head(&upstream);
    let fetched = git.mirror_with(&url, None, reuse).unwrap();
    assert_eq!(fetched.resolve("refs/heads/main").unwrap(), Some(v3));
    assert_eq!(
        fetched.resolve("refs/heads/pushed").unwrap(),
        Some(pushed.commit)
    );

    // Without a reuse window every call fetches.
    let strict = git_for(&dir.path().join("data"));
    write_files(&upstream, &[("a.yaml", "a: 4\n")]).unwrap();
    commit_all(&upstream, "outside once more").unwrap();
    let again = strict.mirror_with(&url, None, reuse).unwrap();
    assert_eq!(
        again.resolve("refs/heads/main").unwrap(),
        Some(head(&upstream))
    );
    assert_ne!(v2, head(&upstream));

    // A fetch is reused only by a caller with the same credentials.
    let alice = Credentials::new("alice", "token-a");
    let bob = Credentials::new("bob", "token-b");
    git.mirror(&url, Some(&alice)).unwrap();
    let fetched_by_alice = head(&upstream);
    write_files(&upstream, &[("a.yaml", "a: 5\n")]).unwrap();
    commit_all(&upstream, "outside for bob").unwrap();
    let for_alice = git.mirror_with(&url, Some(&alice), reuse).unwrap();
    assert_eq!(
        for_alice.resolve("refs/heads/main").unwrap(),
        Some(fetched_by_alice)
    );
    let for_bob = git.mirror_with(&url, Some(&bob), reuse).unwrap();
    assert_eq!(
        for_bob.resolve("refs/heads/main").unwrap(),
        Some(head(&upstream))
    );
}

fn git_head(repo: &Path) -> String {
    git(repo, &["rev-parse", "HEAD"]).unwrap()
}
