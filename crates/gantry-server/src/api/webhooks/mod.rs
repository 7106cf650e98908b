//! Webhook receivers: artifact sources tell gantry that something changed, and the Warehouses
//! subscribed to it are discovered at once ([`crate::Command::RefreshWarehouse`]).
//!
//! Receivers are configured per Project in `ProjectConfig.spec.webhookReceivers`, as in Kargo:
//! a name and one provider block with a `secretRef` to a Secret of the Project's namespace.
//! Each is served at `/webhooks/<type>/<hex(SHA-256(project + name + secret values))>`, so
//! rotating the secret changes the URL; token holders see the paths in
//! `GET /api/v1/projects/{p}`.
//!
//! | type | Secret key | checks | events |
//! |---|---|---|---|
//! | `github` ([`github`]) | `secret` | `X-Hub-Signature-256` (HMAC-SHA256 of the body) | `ping`, `push` |
//! | `gitlab` ([`gitlab`]) | `secret-token` | `X-Gitlab-Token` equals it | `Push Hook`, `Tag Push Hook` |
//! | `distribution` ([`distribution`], gantry extension) | `secret` (+ optional `auth-header`) | the URL; `Authorization` equals `auth-header` when set | `push` of a manifest |
//!
//! A delivery names repository URLs (normalised as Kargo does) and qualifiers (a git ref, an
//! image tag). A Warehouse is refreshed when one of its subscriptions has an equal normalised
//! URL and, when qualifiers are given, its selection would consider one of them (the branch it
//! follows, a tag its filters let through). The answer is `{"msg":"refreshed N
//! warehouse(s)"}`. Bodies over 2 MiB are refused (413); a bad signature or token is a 401 that
//! says no more than that. Secret values never appear in errors or logs.
//!
//! Not yet: Bitbucket, Gitea, Docker Hub, Quay, Harbor, Artifactory, Azure and generic
//! receivers (reported as unsupported in the Project's receiver list); path filters against
//! the changed files of a push; refreshing Promotions on merged pull requests.

pub mod distribution;
pub mod github;
pub mod gitlab;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gantry_api::core_v1::SecretValue;
use gantry_api::kargo::{CommitSelectionStrategy, GitSubscription, WebhookReceiverConfig};
use gantry_api::resource::Object;
use gantry_core::freight::{normalize_chart, normalize_image};
use gantry_core::selection::{GitTagSelection, ImageSelection};
use serde_json::{Value, json};

use super::ApiState;
use super::auth::{constant_time_eq, hex};
use super::error::Problem;
use crate::{Command, Config, PushedTag};

/// The largest body a receiver reads (Kargo's limit).
pub const MAX_BODY: usize = 2 << 20;

/// The receiver types gantry serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverKind {
    /// GitHub push and ping events.
    GitHub,
    /// GitLab push and tag push events.
    GitLab,
    /// Notifications of a CNCF Distribution registry (`docker-registry`).
    Distribution,
}

impl ReceiverKind {
    /// The type's name in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::GitLab => "gitlab",
            Self::Distribution => "distribution",
        }
    }

    /// The Secret key whose value is hashed into the URL and checks deliveries.
    pub fn secret_key(self) -> &'static str {
        match self {
            Self::GitHub | Self::Distribution => "secret",
            Self::GitLab => "secret-token",
        }
    }

    fn from_str(name: &str) -> Option<Self> {
        Some(match name {
            "github" => Self::GitHub,
            "gitlab" => Self::GitLab,
            "distribution" => Self::Distribution,
            _ => return None,
        })
    }
}

/// A receiver ready to take deliveries.
#[derive(Clone, Debug)]
pub struct Receiver {
    /// The Project.
    pub project: String,
    /// The receiver's name.
    pub name: String,
    /// Its type.
    pub kind: ReceiverKind,
    /// `/webhooks/<type>/<hash>`.
    pub path: String,
    /// The shared secret (GitHub HMAC key, GitLab token, the Distribution URL secret).
    pub(crate) secret: SecretValue,
    /// Distribution: the `Authorization` header value the registry must send, if any.
    pub(crate) auth_header: Option<SecretValue>,
}

/// Kargo's receiver path: the type and the SHA-256 of project, name and secret values.
pub fn receiver_path(kind: &str, project: &str, name: &str, secret_values: &[&str]) -> String {
    let mut input = format!("{project}{name}");
    for value in secret_values {
        input.push_str(value);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    format!("/webhooks/{kind}/{}", hex(digest.as_ref()))
}

/// The provider block of a receiver config: its type name and its settings.
fn provider(config: &WebhookReceiverConfig) -> Option<(&'static str, &Value)> {
    [
        ("github", config.github.as_ref()),
        ("gitlab", config.gitlab.as_ref()),
        ("distribution", config.distribution.as_ref()),
        ("bitbucket", config.bitbucket.as_ref()),
        ("gitea", config.gitea.as_ref()),
        ("dockerhub", config.dockerhub.as_ref()),
        ("quay", config.quay.as_ref()),
        ("harbor", config.harbor.as_ref()),
        ("artifactory", config.artifactory.as_ref()),
        ("azure", config.azure.as_ref()),
        ("generic", config.generic.as_ref()),
    ]
    .into_iter()
    .find_map(|(name, block)| block.map(|block| (name, block)))
}

/// A Project's receiver configs.
fn configs<'a>(config: &'a Config, project: &str) -> &'a [WebhookReceiverConfig] {
    config
        .project(project)
        .and_then(|index| index.project_config)
        .and_then(|i| match &config.resource(i).object {
            Object::ProjectConfig(project_config) => {
                Some(project_config.spec.webhook_receivers.as_slice())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// Builds one receiver, or says why it cannot be served (without secret values).
fn build(
    config: &Config,
    project: &str,
    receiver: &WebhookReceiverConfig,
) -> Result<Receiver, (String, String)> {
    let Some((type_name, block)) = provider(receiver) else {
        return Err((String::new(), "no receiver type is configured".to_owned()));
    };
    let Some(kind) = ReceiverKind::from_str(type_name) else {
        return Err((
            type_name.to_owned(),
            format!("{type_name} receivers are not supported by gantry yet"),
        ));
    };
    let fail = |message: String| (type_name.to_owned(), message);
    let secret_name = block
        .pointer("/secretRef/name")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("secretRef.name is missing".to_owned()))?;
    let secret = config
        .set
        .resources
        .iter()
        .find_map(|resource| match &resource.object {
            Object::Secret(secret)
                if resource.name == secret_name
                    && resource.namespace.as_deref() == Some(project) =>
            {
                Some(secret)
            }
            _ => None,
        })
        .ok_or_else(|| {
            fail(format!(
                "secret {secret_name} not found in project {project}"
            ))
        })?;
    let key = kind.secret_key();
    let value = secret
        .value(key)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| fail(format!("secret {secret_name} has no `{key}` key")))?;
    let path = receiver_path(kind.as_str(), project, &receiver.name, &[&value]);
    let auth_header = match kind {
        ReceiverKind::Distribution => secret.value("auth-header").map(SecretValue::new),
        _ => None,
    };
    Ok(Receiver {
        project: project.to_owned(),
        name: receiver.name.clone(),
        kind,
        path,
        secret: SecretValue::new(value),
        auth_header,
    })
}

/// Every receiver of every Project that can be served.
pub fn receivers(config: &Config) -> Vec<Receiver> {
    config
        .projects
        .keys()
        .flat_map(|project| {
            configs(config, project)
                .iter()
                .filter_map(|receiver| build(config, project, receiver).ok())
        })
        .collect()
}

/// A Project's receivers for the API: name, type and path, or why one is not served.
pub(crate) fn describe(config: &Config, project: &str) -> Vec<Value> {
    configs(config, project)
        .iter()
        .map(|receiver| match build(config, project, receiver) {
            Ok(built) => json!({
                "name": built.name,
                "type": built.kind.as_str(),
                "path": built.path,
            }),
            Err((kind, error)) => json!({
                "name": receiver.name,
                "type": kind,
                "error": error,
            }),
        })
        .collect()
}

/// What a delivery asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// A ping: answer with this message, refresh nothing.
    Ping(&'static str),
    /// Refresh the Warehouses subscribed to these repositories.
    Refresh(Vec<Target>),
}

/// Repository URLs (normalised) and what changed in them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) urls: Vec<String>,
    /// Git refs (`refs/heads/main`, `refs/tags/v1`) or image tags; empty: anything.
    pub(crate) qualifiers: Vec<String>,
    /// For a pushed image tag: the manifest digest it was pushed with.
    pub(crate) digest: Option<String>,
}

/// Whether a git subscription would consider `reference`.
fn git_wants(subscription: &GitSubscription, reference: &str) -> bool {
    if let Some(branch) = reference.strip_prefix("refs/heads/") {
        return subscription.commit_selection_strategy == CommitSelectionStrategy::NewestFromBranch
            && subscription
                .branch
                .as_deref()
                .filter(|b| !b.is_empty())
                .is_none_or(|followed| followed == branch);
    }
    if let Some(tag) = reference.strip_prefix("refs/tags/") {
        return match GitTagSelection::for_subscription(subscription) {
            Ok(Some(GitTagSelection::Tags { selector, .. })) => selector.matches(tag),
            Ok(Some(GitTagSelection::NewestTag { filter, .. })) => filter.matches(tag),
            Ok(None) => false,
            // A broken subscription is refreshed: its discovery reports the problem.
            Err(_) => true,
        };
    }
    true
}

/// The Warehouses of a Project that a delivery concerns, by name.
pub(crate) fn matching_warehouses(
    config: &Config,
    project: &str,
    targets: &[Target],
) -> Vec<String> {
    let mut names = Vec::new();
    for (name, warehouse) in config.warehouses(project) {
        let wanted = warehouse.spec.subscriptions.iter().any(|subscription| {
            targets.iter().any(|target| {
                let any = target.qualifiers.is_empty();
                if let Some(git) = &subscription.git
                    && target
                        .urls
                        .contains(&gantry_api::url::normalize_git(&git.repo_url))
                {
                    return any || target.qualifiers.iter().any(|q| git_wants(git, q));
                }
                if let Some(image) = &subscription.image
                    && target.urls.contains(&normalize_image(&image.repo_url))
                {
                    return any
                        || ImageSelection::for_subscription(image).map_or(true, |selection| {
                            target
                                .qualifiers
                                .iter()
                                .any(|tag| selection.matches_tag(tag))
                        });
                }
                if let Some(chart) = &subscription.chart
                    && target.urls.contains(&normalize_chart(&chart.repo_url))
                {
                    return true;
                }
                false
            })
        });
        if wanted {
            names.push(name.to_owned());
        }
    }
    names
}

/// The routes (with the body limit).
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/webhooks/{kind}/{hash}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn unknown_receiver() -> Problem {
    Problem::not_found("no webhook receiver at this path")
}

/// `POST /webhooks/{kind}/{hash}`.
async fn receive(
    State(state): State<ApiState>,
    Path((kind, hash)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let label = ReceiverKind::from_str(&kind).map_or("unknown", ReceiverKind::as_str);
    let outcome = deliver(&state, &kind, &hash, &headers, body).await;
    let (result, response) = match outcome {
        Ok((count, message)) => (
            if count > 0 { "refreshed" } else { "ok" },
            (StatusCode::OK, Json(json!({ "msg": message }))).into_response(),
        ),
        Err(problem) => (
            match problem.status {
                StatusCode::UNAUTHORIZED => "unauthorized",
                StatusCode::NOT_FOUND => "unknown",
                _ => "rejected",
            },
            problem.into_response(),
        ),
    };
    state.metrics.webhook(label, result);
    response
}

async fn deliver(
    state: &ApiState,
    kind: &str,
    hash: &str,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(usize, String), Problem> {
    let config = state.handle.config();
    let path = format!("/webhooks/{kind}/{hash}");
    // Every receiver is compared, in constant time, so the answer time says nothing about
    // how close a guess was.
    let mut found = None;
    for receiver in receivers(&config) {
        if constant_time_eq(receiver.path.as_bytes(), path.as_bytes()) {
            found = Some(receiver);
        }
    }
    let receiver = found.ok_or_else(unknown_receiver)?;
    let body = body.map_err(|rejection| {
        Problem::new(
            rejection.status(),
            "BadRequest",
            format!("cannot read the request body: {}", rejection.body_text()),
        )
    })?;
    let delivery = match receiver.kind {
        ReceiverKind::GitHub => github::parse(&receiver, headers, &body)?,
        ReceiverKind::GitLab => gitlab::parse(&receiver, headers, &body)?,
        ReceiverKind::Distribution => distribution::parse(&receiver, headers, &body)?,
    };
    let targets = match delivery {
        Delivery::Ping(message) => return Ok((0, message.to_owned())),
        Delivery::Refresh(targets) => targets,
    };
    let names = matching_warehouses(&config, &receiver.project, &targets);
    // Registry notifications name image tags; git pushes name refs, which need no waiting.
    let pushed: Vec<PushedTag> = if receiver.kind == ReceiverKind::Distribution {
        targets
            .iter()
            .flat_map(|target| {
                target.urls.iter().flat_map(move |repository| {
                    target.qualifiers.iter().map(move |tag| PushedTag {
                        repository: repository.clone(),
                        tag: tag.clone(),
                        digest: target.digest.clone(),
                    })
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    for name in &names {
        state
            .handle
            .send(Command::RefreshWarehouse {
                project: receiver.project.clone(),
                name: name.clone(),
                reply: None,
                pushed: pushed.clone(),
            })
            .await?;
    }
    state.metrics.refreshed("webhook", names.len());
    tracing::info!(
        project = receiver.project,
        receiver = receiver.name,
        kind = receiver.kind.as_str(),
        warehouses = ?names,
        "webhook delivery"
    );
    Ok((
        names.len(),
        format!("refreshed {} warehouse(s)", names.len()),
    ))
}

/// Lowercase or uppercase hex to bytes.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: shop
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata:
  name: shop
  namespace: shop
spec:
  webhookReceivers:
    - name: gh
      github:
        secretRef:
          name: gh-secret
    - name: bb
      bitbucket:
        secretRef:
          name: gh-secret
    - name: lost
      gitlab:
        secretRef:
          name: missing
---
apiVersion: v1
kind: Secret
metadata:
  name: gh-secret
  namespace: shop
stringData:
  secret: s3cr3t
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: app
  namespace: shop
spec:
  subscriptions:
    - git:
        repoURL: https://git.example/team/app.git
        branch: main
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: images
  namespace: shop
spec:
  subscriptions:
    - image:
        repoURL: registry.example:5000/team/frontend
        constraint: ^1.0.0
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: tags
  namespace: shop
spec:
  subscriptions:
    - git:
        repoURL: https://GIT.example/team/app
        commitSelectionStrategy: SemVer
";

    fn config() -> Config {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("pipeline.yaml"), PIPELINE).unwrap();
        crate::config::load(dir.path(), 1).unwrap_or_else(|e| panic!("{:?}", e.lines()))
    }

    fn target(urls: &[&str], qualifiers: &[&str]) -> Target {
        Target {
            urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            qualifiers: qualifiers.iter().map(|q| (*q).to_owned()).collect(),
            digest: None,
        }
    }

    #[test]
    fn the_receiver_path_is_the_sha256_of_project_name_and_secret() {
        // printf 'shopghs3cr3t' | sha256sum
        assert_eq!(
            receiver_path("github", "shop", "gh", &["s3cr3t"]),
            "/webhooks/github/9a4a6e316c8c8e5ee13394898936e566be9e8d239f539f02ab6e5d1778c27434"
        );
    }

    #[test]
    fn receivers_are_built_from_the_project_config_and_problems_are_described() {
        let config = config();
        let built = receivers(&config);
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].kind, ReceiverKind::GitHub);
        assert_eq!(
            built[0].path,
            receiver_path("github", "shop", "gh", &["s3cr3t"])
        );
        assert!(!format!("{:?}", built[0]).contains("s3cr3t"));
        let described = describe(&config, "shop");
        assert_eq!(described.len(), 3);
        assert_eq!(
            described[1]["error"],
            "bitbucket receivers are not supported by gantry yet"
        );
        assert_eq!(
            described[2]["error"],
            "secret missing not found in project shop"
        );
        assert!(!described.iter().any(|d| d.to_string().contains("s3cr3t")));
    }

    #[test]
    fn git_pushes_refresh_warehouses_following_the_branch_or_a_matching_tag() {
        let config = config();
        let url = gantry_api::url::normalize_git("https://git.example/team/app.git");
        assert_eq!(
            matching_warehouses(&config, "shop", &[target(&[&url], &["refs/heads/main"])]),
            ["app"]
        );
        assert!(
            matching_warehouses(&config, "shop", &[target(&[&url], &["refs/heads/dev"])])
                .is_empty()
        );
        assert_eq!(
            matching_warehouses(&config, "shop", &[target(&[&url], &["refs/tags/v1.2.0"])]),
            ["tags"]
        );
        assert!(
            matching_warehouses(&config, "shop", &[target(&[&url], &["refs/tags/latest"])])
                .is_empty()
        );
        assert_eq!(
            matching_warehouses(&config, "shop", &[target(&[&url], &[])]),
            ["app", "tags"]
        );
        assert!(matching_warehouses(&config, "other", &[target(&[&url], &[])]).is_empty());
    }

    #[test]
    fn image_pushes_refresh_warehouses_whose_constraint_allows_the_tag() {
        let config = config();
        let url = normalize_image("registry.example:5000/team/frontend");
        assert_eq!(
            matching_warehouses(&config, "shop", &[target(&[&url], &["1.4.0"])]),
            ["images"]
        );
        assert!(matching_warehouses(&config, "shop", &[target(&[&url], &["2.0.0"])]).is_empty());
    }

    #[test]
    fn hex_decodes_both_cases_and_refuses_odd_or_invalid_input() {
        assert_eq!(unhex("00ffAB"), Some(vec![0, 255, 171]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
