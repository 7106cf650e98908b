//! `gantry warehouse discover` against a real registry (bearer-token auth) and a real smart-HTTP
//! git server (basic auth): artifacts, the Freight id and alias, cheap repeats, failures that
//! name their cause without leaking credentials.

use std::path::Path;
use std::process::{Command, Output};

use gantry_test::{GitServer, ImageSpec, Registry};
use serde_json::Value;

use crate::{stderr, stdout};

const USER: &str = "robot";
const PASSWORD: &str = "pa55-w0rd-xyz";

fn gantry_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GANTRY_NAMESPACE")
        .env_remove("GANTRY_DATA_DIR")
        .output()
        .unwrap()
}

fn run_git(dir: &Path, args: &[&str]) -> String {
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

struct Fixture {
    registry: Registry,
    git: GitServer,
    temp: tempfile::TempDir,
    head: String,
}

impl Fixture {
    fn new() -> Self {
        let registry = Registry::start_token(USER, PASSWORD).unwrap();
        for (tag, created) in [
            ("1.0.0", "2026-01-01T00:00:00Z"),
            ("1.2.0", "2026-03-01T00:00:00Z"),
            ("1.10.0", "2026-02-01T00:00:00Z"),
            ("2.0.0-rc.1", "2026-04-01T00:00:00Z"),
            ("latest", "2026-04-01T00:00:00Z"),
        ] {
            registry
                .push_image(
                    "team/frontend",
                    tag,
                    &ImageSpec::new().created(created).label("tag", tag),
                )
                .unwrap();
        }
        let git = GitServer::start(USER, PASSWORD).unwrap();
        git.create_repo("app").unwrap();
        let temp = tempfile::tempdir().unwrap();
        let work = temp.path().join("work");
        std::fs::create_dir_all(work.join("src")).unwrap();
        run_git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("src/main.rs"), "fn main() {}\n").unwrap();
        run_git(&work, &["add", "-A"]);
        run_git(&work, &["commit", "-q", "-m", "first version"]);
        run_git(
            &work,
            &["push", "-q", &git.url_with_credentials("app"), "main"],
        );
        let head = run_git(&work, &["rev-parse", "HEAD"]).trim().to_owned();
        let fixture = Self {
            registry,
            git,
            temp,
            head,
        };
        fixture.write_manifests("");
        fixture
    }

    fn write_manifests(&self, extra_spec: &str) {
        let manifests = format!(
            "apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: frontend
  namespace: demo
spec:
{extra_spec}  subscriptions:
  - image:
      repoURL: {host}/team/frontend
      constraint: ^1.0.0
  - git:
      repoURL: {git}
---
apiVersion: v1
kind: Secret
metadata:
  name: registry-creds
  namespace: demo
  labels:
    kargo.akuity.io/cred-type: image
stringData:
  repoURL: {host}/team/frontend
  username: {USER}
  password: {PASSWORD}
---
apiVersion: v1
kind: Secret
metadata:
  name: git-creds
  namespace: demo
  labels:
    kargo.akuity.io/cred-type: git
stringData:
  repoURL: {git}
  username: {USER}
  password: {PASSWORD}
",
            host = self.registry.host(),
            git = self.git.url("app"),
        );
        std::fs::write(self.temp.path().join("warehouse.yaml"), manifests).unwrap();
    }

    fn discover(&self, format: &str) -> Output {
        let data = self.temp.path().join("data");
        gantry_in(
            self.temp.path(),
            &[
                "warehouse",
                "discover",
                "-f",
                "warehouse.yaml",
                "--data-dir",
                data.to_str().unwrap(),
                "-o",
                format,
            ],
        )
    }
}

fn report(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}\nstdout: {}",
        stderr(output),
        stdout(output)
    );
    let all: Value = serde_json::from_str(&stdout(output)).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
    all[0].clone()
}

#[test]
fn discovery_finds_the_best_image_and_commit_and_the_freight_kargo_would_make() {
    let fixture = Fixture::new();
    let first = report(&fixture.discover("json"));
    let images = &first["discoveredArtifacts"]["images"][0];
    let tags: Vec<&str> = images["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"].as_str().unwrap())
        .collect();
    // ^1.0.0 with strictSemvers: no prerelease, no `latest`, versions descending.
    assert_eq!(tags, ["1.10.0", "1.2.0", "1.0.0"]);
    assert!(
        images["references"][0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        images["references"][0]["createdAt"].as_str(),
        Some("2026-02-01T00:00:00Z")
    );
    let commit = &first["discoveredArtifacts"]["git"][0]["commits"][0];
    assert_eq!(commit["id"].as_str(), Some(fixture.head.as_str()));
    assert_eq!(commit["subject"].as_str(), Some("first version"));

    let freight = &first["freight"];
    assert_eq!(first["verdict"].as_str(), Some("would be created"));
    assert_eq!(freight["origin"]["name"].as_str(), Some("frontend"));
    assert_eq!(freight["images"][0]["tag"].as_str(), Some("1.10.0"));
    let id = freight["metadata"]["name"].as_str().unwrap().to_owned();
    let alias = freight["alias"].as_str().unwrap().to_owned();
    assert!(alias.contains('-'));
    // The id is the content id `gantry freight id` computes from the printed Freight.
    let freight_file = fixture.temp.path().join("freight.json");
    std::fs::write(&freight_file, freight.to_string()).unwrap();
    let ids = gantry_in(
        fixture.temp.path(),
        &["freight", "id", "-f", freight_file.to_str().unwrap()],
    );
    assert_eq!(stdout(&ids).trim(), id);

    // Nothing moved: the same Freight and alias; the registry answers from the tag list (a
    // new process first meets the 401 challenge, hence two tag-list requests and one token)
    // plus one HEAD per kept tag and no manifest GET; git from one ls-remote.
    let second_output = fixture.discover("human");
    assert!(second_output.status.success(), "{}", stderr(&second_output));
    let human = stdout(&second_output);
    assert!(
        human.contains(&format!("Freight {id} ({alias}): would be created")),
        "{human}"
    );
    assert!(
        human.contains("[2 tag-list page(s), 3 manifest HEAD(s), 1 token fetch(es)]"),
        "{human}"
    );
    assert!(
        human.contains("refs unchanged: 1 ls-remote, no fetch"),
        "{human}"
    );
    let all = format!("{human}{}", stderr(&second_output));
    assert!(!all.contains(PASSWORD), "{all}");
}

#[test]
fn creation_policy_and_criteria_decide_whether_freight_would_be_created() {
    let fixture = Fixture::new();
    fixture.write_manifests("  freightCreationPolicy: Manual\n");
    let manual = report(&fixture.discover("json"));
    assert_eq!(
        manual["verdict"].as_str(),
        Some("not created: freightCreationPolicy is Manual")
    );
    let criteria = format!(
        "  freightCreationCriteria:\n    expression: imageFrom('{}/team/frontend').Tag == '9.9.9'\n",
        fixture.registry.host()
    );
    fixture.write_manifests(&criteria);
    let not_met = report(&fixture.discover("json"));
    assert!(
        not_met["verdict"]
            .as_str()
            .unwrap()
            .starts_with("not created: freightCreationCriteria"),
        "{not_met}"
    );
}

#[test]
fn a_wrong_password_fails_that_subscription_clearly_and_makes_no_freight() {
    let fixture = Fixture::new();
    let text = std::fs::read_to_string(fixture.temp.path().join("warehouse.yaml"))
        .unwrap()
        .replacen(
            &format!("password: {PASSWORD}"),
            "password: not-the-password",
            1,
        );
    std::fs::write(fixture.temp.path().join("warehouse.yaml"), text).unwrap();
    let output = fixture.discover("json");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let all: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let report = &all[0];
    assert!(report["freight"].is_null());
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{report}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("401") || message.contains("credentials"),
        "{message}"
    );
    let everything = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!everything.contains("not-the-password"), "{everything}");
    assert!(!everything.contains(PASSWORD), "{everything}");
}

#[test]
fn a_registry_that_is_down_is_reported_without_freight() {
    let fixture = Fixture::new();
    let host = fixture.registry.host();
    drop(fixture.registry);
    let output = {
        let data = fixture.temp.path().join("data");
        gantry_in(
            fixture.temp.path(),
            &[
                "warehouse",
                "discover",
                "-f",
                "warehouse.yaml",
                "--data-dir",
                data.to_str().unwrap(),
            ],
        )
    };
    assert_eq!(output.status.code(), Some(1));
    let human = stdout(&output);
    assert!(
        human.contains(&format!("error: {host}/team/frontend:")),
        "{human}"
    );
    assert!(human.contains("no freight"), "{human}");
}
