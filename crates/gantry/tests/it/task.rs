//! `gantry task run` end to end: the seed's PromotionTask against a real smart-HTTP git server
//! with basic auth; resuming after a kill between any two steps; concurrent promotions to one
//! branch; credentials that never leak.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gantry_test::GitServer;

use crate::{repo_root, stderr};

const USER: &str = "promoter";
const PASSWORD: &str = "s3cr3t-t0ken";

const INSTANCE: &str = "# The frontend of the develop environment.\napiVersion: kro.run/v1alpha1\nkind: WebApplication\nmetadata:\n  name: frontend # keep this name\nspec:\n  values:\n    # image settings\n    deployment:\n      image: docker.io/zxc204fghasd/wsp-web-server-v2\n      tag: 1.0.0\n      replicas: 2 # scaled by hand\n";

struct Fixture {
    server: GitServer,
    temp: tempfile::TempDir,
    seed: PathBuf,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

impl Fixture {
    /// A git server with a `gitops` repository shaped like the seeds', services 0..n.
    fn new(services: usize) -> Self {
        let server = GitServer::start(USER, PASSWORD).unwrap();
        server.create_repo("gitops").unwrap();
        let temp = tempfile::tempdir().unwrap();
        let seed = temp.path().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        git(&seed, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(seed.join("develop/frontend")).unwrap();
        std::fs::write(seed.join("develop/frontend/instance.yaml"), INSTANCE).unwrap();
        for i in 0..services {
            let dir = seed.join(format!("develop/svc-{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("instance.yaml"), INSTANCE).unwrap();
        }
        std::fs::create_dir_all(seed.join("production/frontend")).unwrap();
        std::fs::write(seed.join("production/frontend/instance.yaml"), INSTANCE).unwrap();
        std::fs::write(seed.join("README.md"), "# gitops\n").unwrap();
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", "seed"]);
        git(
            &seed,
            &["push", "-q", &server.url_with_credentials("gitops"), "main"],
        );
        // The seed pipeline, plus the Freight to promote.
        let manifests = temp.path().join("manifests");
        std::fs::create_dir_all(&manifests).unwrap();
        for file in [
            "project.yaml",
            "stage.yaml",
            "warehouse.yaml",
            "promotion-task.yaml",
            "argocd-application.yaml",
        ] {
            std::fs::copy(
                repo_root().join("tests/fixtures/seed/pipeline").join(file),
                manifests.join(file),
            )
            .unwrap();
        }
        std::fs::write(
            temp.path().join("freight.yaml"),
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata:\n  namespace: develop\norigin:\n  kind: Warehouse\n  name: frontend-dev-image\nimages:\n- repoURL: docker.io/zxc204fghasd/wsp-web-server-v2\n  tag: 1.1.0\n  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        )
        .unwrap();
        Self { server, temp, seed }
    }

    /// A Freight file for another image tag.
    fn freight(&self, tag: &str) -> PathBuf {
        let path = self.temp.path().join(format!("freight-{tag}.yaml"));
        let text = std::fs::read_to_string(self.temp.path().join("freight.yaml")).unwrap();
        std::fs::write(&path, text.replace("tag: 1.1.0", &format!("tag: {tag}"))).unwrap();
        path
    }

    fn run(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_freight(&self.temp.path().join("freight.yaml"), extra, env)
    }

    fn run_freight(&self, freight: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let repo = self.server.url_with_credentials("gitops");
        let var = format!("gitopsRepo={repo}");
        let manifests = self.temp.path().join("manifests");
        let data = self.temp.path().join("data");
        let mut command = Command::new(env!("CARGO_BIN_EXE_gantry"));
        command
            .args(["task", "run", "-f"])
            .arg(&manifests)
            .args(["--stage", "frontend-dev-stage", "--freight"])
            .arg(freight)
            .args(["--var", &var, "--skip", "argocd-update", "--data-dir"])
            .arg(&data)
            .args(extra)
            .env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    /// The remote's `main`, freshly cloned: (instance.yaml of `path`, commit count, last message).
    fn remote(&self, path: &str) -> (String, usize, String) {
        let check = self.temp.path().join(format!("check-{}", rand_suffix()));
        git(
            self.temp.path(),
            &[
                "clone",
                "-q",
                &self.server.url_with_credentials("gitops"),
                check.to_str().unwrap(),
            ],
        );
        let file = std::fs::read_to_string(check.join(path)).unwrap();
        let count = git(&check, &["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap();
        let message = git(&check, &["log", "-1", "--format=%B"]);
        (file, count, message)
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The seed instance with only the tag changed.
fn promoted(tag: &str) -> String {
    INSTANCE.replace("tag: 1.0.0", &format!("tag: {tag}"))
}

#[test]
fn the_seed_task_promotes_an_image_tag_with_one_commit_on_the_authenticated_remote() {
    let fixture = Fixture::new(0);
    let output = fixture.run(&[], &[]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(!err.contains(PASSWORD), "password leaked: {err}");
    let (file, count, message) = fixture.remote("develop/frontend/instance.yaml");
    assert_eq!(
        file,
        promoted("1.1.0"),
        "only the tag changes, comments survive"
    );
    assert_eq!(count, 2, "exactly one commit was added");
    assert_eq!(
        message.trim_end(),
        "Updated ./repo/develop/frontend/instance.yaml\n\n- spec.values.deployment.tag: 1.1.0"
    );
    assert!(err.contains("task-1::step-6 Skipped"), "{err}");
    let _ = &fixture.seed;
}

#[test]
fn a_dry_run_prints_the_diff_and_pushes_nothing() {
    let fixture = Fixture::new(0);
    let output = fixture.run(&["--dry-run"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = String::from_utf8(output.stdout).unwrap();
    assert!(
        out.contains("-      tag: 1.0.0\n+      tag: 1.1.0"),
        "{out}"
    );
    let (_, count, _) = fixture.remote("develop/frontend/instance.yaml");
    assert_eq!(count, 1);
}

#[test]
fn a_promotion_killed_between_any_two_steps_resumes_and_pushes_once() {
    let fixture = Fixture::new(0);
    let steps = ["step-1", "step-2", "update-image", "commit", "step-5"];
    for (round, alias) in steps.iter().enumerate() {
        let alias = format!("task-1::{alias}");
        let name = format!("resume-{round}");
        let tag = format!("2.{round}.0");
        let freight = fixture.freight(&tag);
        let killed = fixture.run_freight(
            &freight,
            &["--promotion", &name],
            &[("GANTRY_DEBUG_ABORT_AFTER_STEP", &alias)],
        );
        assert!(
            !killed.status.success(),
            "round {round} should have been killed"
        );
        let resumed = fixture.run_freight(&freight, &["--promotion", &name], &[]);
        let err = stderr(&resumed);
        assert!(resumed.status.success(), "round {round}: {err}");
        assert!(err.contains("resuming promotion"), "{err}");
        assert!(
            !err.contains(&format!("▸ {alias} ")),
            "finished step {alias} ran again: {err}"
        );
        let (file, count, _) = fixture.remote("develop/frontend/instance.yaml");
        assert_eq!(file, promoted(&tag), "round {round}");
        // Every round promotes a new tag: exactly one commit each, wherever it was killed.
        assert_eq!(
            count,
            2 + round,
            "round {round} (killed after {alias}) lost or duplicated a commit"
        );
    }
}

#[test]
fn ten_concurrent_promotions_to_one_branch_all_land() {
    let fixture = Fixture::new(10);
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let repo = fixture.server.url_with_credentials("gitops");
            let manifests = fixture.temp.path().join("manifests");
            let freight = fixture.temp.path().join("freight.yaml");
            let data = fixture.temp.path().join("data");
            std::thread::spawn(move || {
                Command::new(env!("CARGO_BIN_EXE_gantry"))
                    .args(["task", "run", "-f"])
                    .arg(&manifests)
                    .args(["--stage", "frontend-dev-stage", "--freight"])
                    .arg(&freight)
                    .args(["--var", &format!("gitopsRepo={repo}")])
                    .args([
                        "--var",
                        &format!("instancePath=develop/svc-{i}/instance.yaml"),
                    ])
                    .args(["--skip", "argocd-update", "--data-dir"])
                    .arg(&data)
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for handle in handles {
        let output = handle.join().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let (_, count, _) = fixture.remote("README.md");
    assert_eq!(count, 11, "all ten commits landed");
    for i in 0..10 {
        let (file, _, _) = fixture.remote(&format!("develop/svc-{i}/instance.yaml"));
        assert!(file.contains("tag: 1.1.0"), "svc-{i}");
    }
}

#[test]
fn wrong_credentials_fail_clearly_without_printing_the_token() {
    let fixture = Fixture::new(0);
    let wrong = fixture
        .server
        .url_with_credentials("gitops")
        .replace(PASSWORD, "wr0ng-t0ken-value");
    let output = fixture.run(&["--var", &format!("gitopsRepo={wrong}")], &[]);
    let err = stderr(&output);
    assert!(!output.status.success());
    assert!(!err.contains("wr0ng-t0ken-value"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    assert!(err.to_lowercase().contains("credentials"), "{err}");
}

fn step_run(dir: &Path, kind: &str, config: &str) -> Output {
    let config_path = dir.join("config.yaml");
    std::fs::write(&config_path, config).unwrap();
    let work = dir.join("work");
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["step", "run", kind, "--dir"])
        .arg(&work)
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .unwrap()
}

#[test]
fn step_run_prints_the_output_and_fails_on_bad_config() {
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("values.yaml"), "image:\n  tag: v1 # pinned\n").unwrap();
    let output = step_run(
        temp.path(),
        "yaml-update",
        "path: values.yaml\nupdates:\n- key: image.tag\n  value: v2\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::json!({"commitMessage": "Updated values.yaml\n\n- image.tag: v2"})
    );
    assert_eq!(
        std::fs::read_to_string(work.join("values.yaml")).unwrap(),
        "image:\n  tag: v2 # pinned\n"
    );

    let output = step_run(
        temp.path(),
        "yaml-update",
        "path: values.yaml\nupdates:\n- key: 1\n",
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("config.updates[0].value: required property is missing"),
        "{err}"
    );
    assert!(
        err.contains("config.updates[0].key: expected string, found"),
        "{err}"
    );

    let output = step_run(temp.path(), "yaml-updte", "path: x\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("did you mean \"yaml-update\""),
        "{}",
        stderr(&output)
    );

    let output = step_run(
        temp.path(),
        "file-write",
        "path: ../escape.txt\ncontents: x\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("leaves the work dir"),
        "{}",
        stderr(&output)
    );
    assert!(!temp.path().join("escape.txt").exists());
}
