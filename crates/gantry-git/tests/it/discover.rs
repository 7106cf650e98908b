//! Warehouse discovery of git subscriptions against repositories built by script with real git,
//! and against the authenticated smart-HTTP server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gantry_api::kargo::{GitDiscoveryResult, GitSubscription};
use gantry_git::{Credentials, DiscoveryError, GitDiscovery, GitError};
use gantry_test::generate_history;

use super::{Env, PASSWORD, USER, credentials, server};

/// Fixture commits start here (2023-11-14T22:13:20Z); each helper call passes its own time.
const T0: i64 = 1_700_000_000;

/// A scripted repository: every commit and tag gets an explicit date.
struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn init(dir: PathBuf, branch: &str) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let repo = Self { dir };
        repo.git(
            &["init", "--quiet", &format!("--initial-branch={branch}")],
            T0,
        );
        repo
    }

    fn url(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    /// Runs git with author/committer dates at `time`.
    fn git(&self, args: &[&str], time: i64) -> String {
        git_at(&self.dir, args, time)
    }

    /// Writes `files` (an empty content deletes the file) and commits them at `time`.
    fn commit(&self, message: &str, files: &[(&str, &str)], time: i64) -> String {
        for (path, contents) in files {
            let path = self.dir.join(path);
            if contents.is_empty() {
                std::fs::remove_file(&path).unwrap();
            } else {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, contents).unwrap();
            }
        }
        self.git(&["add", "--all"], time);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message], time);
        self.git(&["rev-parse", "HEAD"], time)
    }

    fn tag(&self, name: &str, target: &str, time: i64) {
        self.git(&["tag", name, target], time);
    }

    fn annotated_tag(&self, name: &str, target: &str, message: &str, time: i64) {
        self.git(&["tag", "-a", "-m", message, name, target], time);
    }
}

fn git_at(dir: &Path, args: &[&str], time: i64) -> String {
    let date = format!("@{time} +0000");
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Author")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Cy Committer")
        .env("GIT_COMMITTER_EMAIL", "cy@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

fn subscription(url: &str, json: &str) -> GitSubscription {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    value["repoURL"] = url.into();
    serde_json::from_value(value).unwrap()
}

fn discover(env: &Env, url: &str, json: &str) -> GitDiscovery {
    env.git
        .discover(&subscription(url, json), None, None, None)
        .unwrap()
}

fn ids(discovery: &GitDiscovery) -> Vec<&str> {
    discovery
        .result
        .commits
        .iter()
        .map(|commit| commit.id.as_str())
        .collect()
}

fn tags(discovery: &GitDiscovery) -> Vec<&str> {
    discovery
        .result
        .commits
        .iter()
        .map(|commit| commit.tag.as_deref().unwrap())
        .collect()
}

/// main: c0 (root) .. c5, touching different folders, one hour apart.
fn branchy(env: &Env) -> (Repo, Vec<String>) {
    let repo = Repo::init(env.path("branchy"), "main");
    let hour = 3600;
    let commits = vec![
        repo.commit("initial", &[("README.md", "hi\n")], T0),
        repo.commit(
            "dev: bump",
            &[("apps/dev/values.yaml", "v: 1\n")],
            T0 + hour,
        ),
        repo.commit(
            "prod: bump",
            &[("apps/prod/values.yaml", "v: 1\n")],
            T0 + 2 * hour,
        ),
        repo.commit(
            "docs: notes",
            &[("apps/dev/NOTES.md", "n\n")],
            T0 + 3 * hour,
        ),
        repo.commit(
            "base: refactor [skip]",
            &[("base/kustomization.yaml", "k\n")],
            T0 + 4 * hour,
        ),
        repo.commit(
            "dev: bump again",
            &[("apps/dev/values.yaml", "v: 2\n")],
            T0 + 5 * hour,
        ),
    ];
    (repo, commits)
}

#[test]
fn newest_from_branch_lists_the_branch_newest_first_with_kargos_metadata() {
    let env = Env::new();
    let (repo, commits) = branchy(&env);
    let found = discover(&env, &repo.url(), "{}");
    let expected: Vec<&str> = commits.iter().rev().map(String::as_str).collect();
    assert_eq!(ids(&found), expected);
    let newest = &found.result.commits[0];
    assert_eq!(newest.subject.as_deref(), Some("dev: bump again"));
    assert_eq!(
        newest.author.as_deref(),
        Some("Ada Author <ada@example.com>")
    );
    assert_eq!(
        newest.committer.as_deref(),
        Some("Cy Committer <cy@example.com>")
    );
    assert_eq!(newest.creator_date.as_deref(), Some("2023-11-15T03:13:20Z"));
    assert_eq!(
        newest.branch, None,
        "Kargo records the subscription's empty branch"
    );
    assert_eq!(newest.tag, None);
    let observed = found.result.observed_refs.as_ref().unwrap();
    assert_eq!(observed.branch_head.as_deref(), Some(commits[5].as_str()));
    assert!(found.stats.fetched && !found.stats.short_circuited);
    assert_eq!(found.stats.ls_remote_calls, 1);

    let limited = discover(
        &env,
        &repo.url(),
        r#"{"branch": "main", "discoveryLimit": 2}"#,
    );
    assert_eq!(ids(&limited), [commits[5].as_str(), commits[4].as_str()]);
    assert_eq!(limited.result.commits[0].branch.as_deref(), Some("main"));
}

#[test]
fn path_filters_keep_commits_with_one_included_path_that_is_not_excluded() {
    let env = Env::new();
    let (repo, c) = branchy(&env);
    let run = |json: &str| {
        let found = discover(&env, &repo.url(), json);
        ids(&found)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(r#"{"includePaths": ["apps/dev"]}"#),
        [c[5].clone(), c[3].clone(), c[1].clone()]
    );
    assert_eq!(
        run(r#"{"includePaths": ["./apps/"], "excludePaths": ["glob:**/*.md"]}"#),
        [c[5].clone(), c[2].clone(), c[1].clone()]
    );
    assert_eq!(
        run(r#"{"excludePaths": ["regex:^apps/", "regexp:\\.md$"]}"#),
        [c[4].clone()],
        "README.md is excluded too"
    );
    assert_eq!(
        run(r#"{"includePaths": ["glob:apps/*/values.yaml"], "discoveryLimit": 1}"#),
        [c[5].clone()]
    );
    assert!(run(r#"{"includePaths": ["nothing/here"]}"#).is_empty());
}

#[test]
fn since_and_expression_filters_drop_old_and_unwanted_commits() {
    let env = Env::new();
    let (repo, c) = branchy(&env);
    // c2 was committed exactly at `since`: it is kept, as `git log --since` keeps it.
    let found = discover(&env, &repo.url(), r#"{"since": "2023-11-15T00:13:20Z"}"#);
    assert_eq!(
        ids(&found),
        [c[5].as_str(), c[4].as_str(), c[3].as_str(), c[2].as_str()]
    );
    let offset = discover(
        &env,
        &repo.url(),
        r#"{"since": "2023-11-15T02:13:21+01:00"}"#,
    );
    assert_eq!(ids(&offset), [c[5].as_str(), c[4].as_str()]);

    let found = discover(
        &env,
        &repo.url(),
        r#"{"expressionFilter": "!(subject contains '[skip]') && commitDate > '2023-11-15T00:30:00Z'"}"#,
    );
    assert_eq!(ids(&found), [c[5].as_str(), c[3].as_str()]);

    let by_author = discover(
        &env,
        &repo.url(),
        &format!(
            r#"{{"expressionFilter": "id == '{}' && author startsWith 'Ada'"}}"#,
            c[2]
        ),
    );
    assert_eq!(ids(&by_author), [c[2].as_str()]);
}

#[test]
fn a_merge_counts_its_first_parent_diff_and_side_commits_are_not_on_the_branch() {
    let env = Env::new();
    let repo = Repo::init(env.path("merges"), "main");
    let root = repo.commit("root", &[("README.md", "r\n")], T0);
    repo.git(&["checkout", "--quiet", "-b", "feature"], T0);
    let side = repo.commit("feature work", &[("apps/dev/values.yaml", "f\n")], T0 + 10);
    repo.git(&["checkout", "--quiet", "main"], T0);
    let unrelated = repo.commit("docs", &[("docs/a.md", "d\n")], T0 + 20);
    repo.git(
        &[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            "merge feature",
            "feature",
        ],
        T0 + 30,
    );
    let merge = repo.git(&["rev-parse", "HEAD"], T0);

    let all = discover(&env, &repo.url(), "{}");
    assert_eq!(
        ids(&all),
        [merge.as_str(), unrelated.as_str(), root.as_str()]
    );
    assert!(!ids(&all).contains(&side.as_str()), "first parents only");

    let dev = discover(&env, &repo.url(), r#"{"includePaths": ["apps/dev"]}"#);
    assert_eq!(ids(&dev), [merge.as_str()]);
    let docs = discover(&env, &repo.url(), r#"{"includePaths": ["docs"]}"#);
    assert_eq!(
        ids(&docs),
        [unrelated.as_str()],
        "the merge's first-parent diff has no docs"
    );
}

#[test]
fn a_long_history_is_read_in_doubling_batches_until_enough_commits_pass() {
    let env = Env::new();
    let repo = env.path("long.git");
    std::fs::create_dir_all(&repo).unwrap();
    git_at(
        &repo,
        &["init", "--quiet", "--bare", "--initial-branch=main"],
        T0,
    );
    // 300 files, 400 commits: commit n changes file n % 300, so dir-000 (files 0..99) is touched
    // by commits 1..99 and 300..399.
    generate_history(&repo, 300, 400).unwrap();
    let url = repo.to_string_lossy().into_owned();

    let found = discover(
        &env,
        &url,
        r#"{"discoveryLimit": 5, "includePaths": ["dir-002"]}"#,
    );
    let subjects: Vec<&str> = found
        .result
        .commits
        .iter()
        .map(|commit| commit.subject.as_deref().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "commit 299",
            "commit 298",
            "commit 297",
            "commit 296",
            "commit 295"
        ]
    );
    // The 100 newest commits touch dir-000: the first batch (100) has no match, the second
    // (200) has them all.
    assert_eq!(
        (found.stats.log_batches, found.stats.commits_read),
        (2, 300),
        "{:?}",
        found.stats
    );
    let unfiltered = discover(&env, &url, r#"{"discoveryLimit": 5}"#);
    assert_eq!(
        (unfiltered.stats.log_batches, unfiltered.stats.commits_read),
        (1, 5),
        "without filters exactly discoveryLimit commits are read"
    );

    let all = discover(
        &env,
        &url,
        r#"{"discoveryLimit": 100, "includePaths": ["dir-001"]}"#,
    );
    assert_eq!(all.result.commits.len(), 100);
    assert_eq!(
        all.result.commits[99].subject.as_deref(),
        Some("commit 100")
    );
    // Batches of 100 and 200 reach commit 100, the 300th newest; nothing older is read.
    assert_eq!((all.stats.log_batches, all.stats.commits_read), (2, 300));
}

#[test]
fn the_default_branch_is_the_remotes_head_and_a_missing_branch_is_an_error() {
    let env = Env::new();
    let repo = Repo::init(env.path("trunk"), "trunk");
    let head = repo.commit("on trunk", &[("a", "1\n")], T0);
    repo.git(&["checkout", "--quiet", "-b", "other"], T0);
    let other = repo.commit("on other", &[("b", "1\n")], T0 + 1);
    repo.git(&["checkout", "--quiet", "trunk"], T0);

    let found = discover(&env, &repo.url(), "{}");
    assert_eq!(ids(&found), [head.as_str()]);
    let found = discover(&env, &repo.url(), r#"{"branch": "other"}"#);
    assert_eq!(found.result.commits[0].id, other);

    let error = env
        .git
        .discover(
            &subscription(&repo.url(), r#"{"branch": "nope"}"#),
            None,
            None,
            None,
        )
        .unwrap_err();
    assert!(
        matches!(error, DiscoveryError::BranchNotFound { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("branch `nope` does not exist in /"),
        "{error}"
    );
}

/// Tags of every kind on one line of history.
fn tagged(env: &Env) -> (Repo, Vec<String>) {
    let repo = Repo::init(env.path("tagged"), "main");
    let long = format!("feat: {}", "x".repeat(100));
    let c: Vec<String> = vec![
        repo.commit("one", &[("apps/a.yaml", "1\n")], T0),
        repo.commit("two", &[("docs/b.md", "2\n")], T0 + 100),
        repo.commit(&long, &[("apps/a.yaml", "3\n")], T0 + 200),
        repo.commit("four", &[("apps/c.yaml", "4\n")], T0 + 300),
    ];
    repo.tag("v1.0.0", &c[0], T0 + 1000);
    repo.annotated_tag("v1.2.0", &c[1], "Release 1.2.0\n\nnotes", T0 + 5000);
    repo.tag("v1.10.0", &c[2], T0);
    repo.tag("v2.0.0-rc.1", &c[3], T0);
    repo.tag("v1.3", &c[3], T0);
    repo.tag("nightly-b", &c[3], T0);
    repo.annotated_tag("nightly-a", &c[2], "Nightly A", T0 + 9000);
    (repo, c)
}

#[test]
fn semver_picks_versions_highest_first_and_strict_semvers_is_on_by_default() {
    let env = Env::new();
    let (repo, c) = tagged(&env);
    let found = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "SemVer"}"#,
    );
    assert_eq!(tags(&found), ["v2.0.0-rc.1", "v1.10.0", "v1.2.0", "v1.0.0"]);

    let loose = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "SemVer", "strictSemvers": false, "semverConstraint": "^1.2"}"#,
    );
    assert_eq!(tags(&loose), ["v1.10.0", "v1.3", "v1.2.0"]);

    // The annotated tag records the commit it points at, and the commit's metadata.
    let annotated = &found.result.commits[2];
    assert_eq!(annotated.id, c[1]);
    assert_eq!(annotated.subject.as_deref(), Some("two"));
    assert_eq!(
        annotated.author.as_deref(),
        Some("Ada Author <ada@example.com>")
    );
    assert_eq!(
        annotated.creator_date.as_deref(),
        Some("2023-11-14T23:36:40Z"),
        "tagger date"
    );
    assert_eq!(annotated.branch, None);
    // Subjects are cut like Kargo cuts them.
    let long = &found.result.commits[1];
    assert_eq!(long.id, c[2]);
    assert_eq!(
        long.subject.as_deref(),
        Some(format!("feat: {}...", "x".repeat(71)).as_str())
    );

    // Only tags passing the name rules are observed, by name, with the tag object's id.
    let observed = found.result.observed_refs.as_ref().unwrap();
    let names: Vec<&str> = observed.tags.iter().map(|tag| tag.name.as_str()).collect();
    assert_eq!(names, ["v1.0.0", "v1.10.0", "v1.2.0", "v2.0.0-rc.1"]);
    let object = repo.git(&["rev-parse", "refs/tags/v1.2.0"], T0);
    assert_ne!(object, c[1]);
    assert_eq!(observed.tags[2].id, object);
}

#[test]
fn lexical_and_newest_tag_order_names_and_creator_dates_with_allow_and_ignore_rules() {
    let env = Env::new();
    let (repo, c) = tagged(&env);
    let lexical = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "Lexical", "allowTagsRegexes": ["^v"], "ignoreTagsRegexes": ["rc"]}"#,
    );
    assert_eq!(tags(&lexical), ["v1.3", "v1.2.0", "v1.10.0", "v1.0.0"]);

    let newest = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "NewestTag"}"#,
    );
    // Creator dates: annotated tags have their own (nightly-a +9000, v1.2.0 +5000); lightweight
    // ones have their commit's: nightly-b, v1.3 and v2.0.0-rc.1 on c3 (+300, equal dates
    // ordered by name), v1.10.0 on c2 (+200), v1.0.0 on c0 (+0).
    assert_eq!(
        tags(&newest),
        [
            "nightly-a",
            "v1.2.0",
            "nightly-b",
            "v1.3",
            "v2.0.0-rc.1",
            "v1.10.0",
            "v1.0.0"
        ]
    );
    assert_eq!(newest.result.commits[0].id, c[2]);

    let limited = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "NewestTag", "discoveryLimit": 2, "ignoreTagsRegexes": ["^nightly"]}"#,
    );
    assert_eq!(tags(&limited), ["v1.2.0", "v1.3"]);
}

#[test]
fn tag_expression_filters_see_tagger_and_annotation_and_path_filters_see_the_tagged_commit() {
    let env = Env::new();
    let (repo, _) = tagged(&env);
    let annotated_only = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "NewestTag", "expressionFilter": "tagger contains 'cy@example.com' && annotation startsWith 'Release'"}"#,
    );
    assert_eq!(tags(&annotated_only), ["v1.2.0"]);
    let by_subject = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "Lexical", "expressionFilter": "subject == 'four' && creatorDate < '2023-11-15'"}"#,
    );
    assert_eq!(tags(&by_subject), ["v2.0.0-rc.1", "v1.3", "nightly-b"]);

    let apps = discover(
        &env,
        &repo.url(),
        r#"{"commitSelectionStrategy": "SemVer", "includePaths": ["apps"]}"#,
    );
    assert_eq!(
        tags(&apps),
        ["v2.0.0-rc.1", "v1.10.0", "v1.0.0"],
        "v1.2.0 only touched docs"
    );

    let error = env
        .git
        .discover(
            &subscription(
                &repo.url(),
                r#"{"commitSelectionStrategy": "Lexical", "expressionFilter": "tag"}"#,
            ),
            None,
            None,
            None,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("which is not a boolean"),
        "{error}"
    );
}

#[test]
fn a_tag_deleted_upstream_is_no_longer_discovered_though_the_mirror_keeps_it() {
    let env = Env::new();
    let (repo, _) = tagged(&env);
    let json = r#"{"commitSelectionStrategy": "SemVer"}"#;
    assert_eq!(tags(&discover(&env, &repo.url(), json))[0], "v2.0.0-rc.1");
    repo.git(&["tag", "-d", "v2.0.0-rc.1"], T0);
    assert_eq!(tags(&discover(&env, &repo.url(), json))[0], "v1.10.0");
}

// ---------------------------------------------------------------------------------------------
// The ls-remote short-circuit and authentication, over smart HTTP.

/// Requests of the server's access log since `from` lines: (`GET`/`POST` path, status).
fn requests(log: &str, from: usize) -> Vec<(String, String)> {
    log.lines()
        .skip(from)
        .filter_map(|line| {
            let request = line.split('"').nth(1)?;
            let status = line.split('"').nth(2)?.split_whitespace().next()?;
            let mut parts = request.split_whitespace();
            Some((
                format!("{} {}", parts.next()?, parts.next()?),
                status.to_owned(),
            ))
        })
        .collect()
}

/// Successful `git-upload-pack` POSTs: one per ls-remote (protocol v2 `ls-refs`), more for a fetch.
fn upload_pack_posts(requests: &[(String, String)]) -> usize {
    requests
        .iter()
        .filter(|(request, status)| {
            request.starts_with("POST ") && request.contains("git-upload-pack") && status == "200"
        })
        .count()
}

#[test]
fn an_unchanged_remote_short_circuits_with_one_ls_remote_and_no_fetch() {
    let env = Env::new();
    let server = server();
    let bare = server.create_repo("app").unwrap();
    let work = Repo::init(env.path("app-work"), "main");
    work.commit("one", &[("apps/a.yaml", "1\n")], T0);
    work.tag("v1.0.0", "HEAD", T0);
    work.git(
        &["push", "--quiet", "--tags", &bare.to_string_lossy(), "main"],
        T0,
    );
    let url = server.url("app");
    let creds = credentials();

    for json in ["{}", r#"{"commitSelectionStrategy": "SemVer"}"#] {
        let sub = subscription(&url, json);
        let first = env
            .git
            .discover(&sub, Some("app"), Some(&creds), None)
            .unwrap();
        assert!(first.stats.fetched && !first.stats.short_circuited);
        assert_eq!(first.result.subscription_name.as_deref(), Some("app"));

        let before = server.access_log().lines().count();
        let second = env
            .git
            .discover(&sub, Some("app"), Some(&creds), Some(&first.result))
            .unwrap();
        assert!(
            second.stats.short_circuited && !second.stats.fetched,
            "{json}"
        );
        assert_eq!(second.stats.ls_remote_calls, 1);
        assert_eq!(second.result, first.result);
        let seen = requests(&server.access_log(), before);
        assert_eq!(
            upload_pack_posts(&seen),
            1,
            "{json}: one ls-refs, no fetch: {seen:?}"
        );

        // A previous result for another URL is never reused.
        let mut elsewhere: GitDiscoveryResult = first.result.clone();
        elsewhere.repo_url = server.url("other");
        let third = env
            .git
            .discover(&sub, Some("app"), Some(&creds), Some(&elsewhere))
            .unwrap();
        assert!(!third.stats.short_circuited && third.stats.fetched);
    }

    // New commits and tags move the refs: discovery selects again.
    let branch = subscription(&url, "{}");
    let first = env.git.discover(&branch, None, Some(&creds), None).unwrap();
    let new = work.commit("two", &[("apps/a.yaml", "2\n")], T0 + 60);
    work.tag("v1.1.0", "HEAD", T0 + 60);
    work.git(
        &["push", "--quiet", "--tags", &bare.to_string_lossy(), "main"],
        T0,
    );
    let moved = env
        .git
        .discover(&branch, None, Some(&creds), Some(&first.result))
        .unwrap();
    assert!(!moved.stats.short_circuited && moved.stats.fetched);
    assert_eq!(moved.result.commits[0].id, new);
    assert_eq!(moved.result.commits.len(), 2);

    let versions = subscription(
        &url,
        r#"{"commitSelectionStrategy": "SemVer", "ignoreTagsRegexes": ["^v1\\.1"]}"#,
    );
    let first = env
        .git
        .discover(&versions, None, Some(&creds), None)
        .unwrap();
    assert_eq!(tags(&first), ["v1.0.0"]);
    // A tag the subscription ignores does not move its observed refs.
    work.tag("v1.1.1", "HEAD", T0 + 120);
    work.git(&["push", "--quiet", "--tags", &bare.to_string_lossy()], T0);
    let ignored = env
        .git
        .discover(&versions, None, Some(&creds), Some(&first.result))
        .unwrap();
    assert!(ignored.stats.short_circuited);
    work.tag("v1.2.0", "HEAD", T0 + 180);
    work.git(&["push", "--quiet", "--tags", &bare.to_string_lossy()], T0);
    let moved = env
        .git
        .discover(&versions, None, Some(&creds), Some(&ignored.result))
        .unwrap();
    assert!(!moved.stats.short_circuited);
    assert_eq!(tags(&moved), ["v1.2.0", "v1.0.0"]);
}

#[test]
fn discovery_with_a_wrong_password_fails_with_an_auth_error_that_hides_the_password() {
    let env = Env::new();
    let server = server();
    server.seed_repo("private", &[("a", "b")]).unwrap();
    let wrong = "n0t-the-pa55word";
    let sub = subscription(&server.url("private"), "{}");

    let error = env
        .git
        .discover(&sub, None, Some(&Credentials::new(USER, wrong)), None)
        .unwrap_err();
    assert!(
        matches!(error, DiscoveryError::Git(GitError::Auth { .. })),
        "{error:?}"
    );
    assert!(!error.is_transient());
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(wrong) && !text.contains(PASSWORD), "{text}");
        assert!(text.contains(&server.url("private")), "{text}");
    }

    let embedded = server
        .url("private")
        .replace("://", &format!("://{USER}:{wrong}@"));
    let error = env
        .git
        .discover(&subscription(&embedded, "{}"), None, None, None)
        .unwrap_err();
    assert!(!error.to_string().contains(wrong), "{error}");

    let found = env
        .git
        .discover(&sub, None, Some(&credentials()), None)
        .unwrap();
    assert_eq!(found.result.commits.len(), 1);
}

/// Timings for the report: `cargo test -p gantry-git --test it -- --ignored --nocapture timing`.
#[test]
#[ignore = "benchmark: prints timings"]
fn timing_of_discovery_on_a_2000_commit_repository_cold_and_short_circuited() {
    let env = Env::new();
    let server = server();
    let bare = server.create_repo("big").unwrap();
    generate_history(&bare, 5000, 2000).unwrap();
    let url = server.url("big");
    let creds = credentials();
    let rounds = 5;
    for json in [
        "{}",
        r#"{"includePaths": ["dir-049"], "discoveryLimit": 20}"#,
        r#"{"includePaths": ["nothing"]}"#,
    ] {
        let sub = subscription(&url, json);
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        let mut short = Vec::new();
        let mut last = None;
        for round in 0..rounds {
            let data = env.path(&format!("data-{}-{round}", cold.len() + warm.len()));
            let fresh = super::git_for(&data);
            let started = Instant::now();
            let first = fresh.discover(&sub, None, Some(&creds), None).unwrap();
            cold.push(started.elapsed());
            let started = Instant::now();
            let again = fresh.discover(&sub, None, Some(&creds), None).unwrap();
            warm.push(started.elapsed());
            let started = Instant::now();
            let reused = fresh
                .discover(&sub, None, Some(&creds), Some(&again.result))
                .unwrap();
            short.push(started.elapsed());
            assert!(reused.stats.short_circuited);
            last = Some(first);
        }
        let median = |times: &mut Vec<std::time::Duration>| {
            times.sort();
            times[times.len() / 2]
        };
        let last = last.unwrap();
        println!(
            "{json}: commits {} read {} batches {} | cold (clone) {:?} | warm (fetch) {:?} | short-circuit {:?}",
            last.result.commits.len(),
            last.stats.commits_read,
            last.stats.log_batches,
            median(&mut cold),
            median(&mut warm),
            median(&mut short),
        );
    }
}

#[test]
fn renames_count_under_their_new_path_except_in_blobless_mirrors_which_list_both() {
    let env = Env::new();
    let repo = Repo::init(env.path("renames"), "main");
    repo.git(&["config", "uploadpack.allowFilter", "true"], T0);
    let long = "line\n".repeat(50);
    repo.commit("add", &[("old/app.yaml", &long)], T0);
    repo.git(&["mv", "old", "new"], T0 + 1);
    let moved = repo.commit(
        "move, slightly edited",
        &[("new/app.yaml", &format!("{long}x\n"))],
        T0 + 1,
    );
    let url = format!("file://{}", repo.dir.display());
    let json = r#"{"includePaths": ["old"]}"#;

    let full = discover(&env, &url, json);
    assert_eq!(
        full.result.commits.len(),
        1,
        "only the commit that added old/"
    );
    assert_ne!(full.result.commits[0].id, moved);

    let blobless = Env::new();
    let found = blobless
        .git
        .discover(
            &subscription(&url, &json.replace('{', r#"{"blobless": true, "#)),
            None,
            None,
            None,
        )
        .unwrap();
    let ids = ids(&found);
    assert_eq!(ids.len(), 2, "the rename lists old/app.yaml as well");
    assert_eq!(ids[0], moved);
    let mirror = blobless.git.mirror(&url, None).unwrap();
    assert!(mirror.is_partial().unwrap());
}
