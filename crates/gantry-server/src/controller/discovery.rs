//! Discovery of one subscription, behind a small trait per subscription type, so that image
//! and chart discovery plug in next to git without the Warehouse loop changing.
//!
//! ```text
//!  warehouse::run ──for each subscription──► Discoverers::get(type) ──► Discover::discover
//!                                              git   ► gantry_git::Git::discover (blocking pool)
//!                                              image ► not supported yet (registry client)
//!                                              chart ► not supported yet
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use gantry_api::kargo::{
    ChartDiscoveryResult, DiscoveredArtifacts, GitDiscoveryResult, ImageDiscoveryResult,
    Subscription,
};
use gantry_core::credentials::{CredentialStore, CredentialType};

/// A boxed future, so that discoverers can be trait objects.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What one subscription found.
#[derive(Debug)]
pub(crate) enum Found {
    /// A git subscription's commits.
    Git(GitDiscoveryResult),
    /// An image subscription's references.
    #[expect(dead_code, reason = "filled in when the registry client lands")]
    Image(ImageDiscoveryResult),
    /// A chart subscription's versions.
    #[expect(dead_code, reason = "filled in when the registry client lands")]
    Chart(ChartDiscoveryResult),
}

/// One subscription to discover.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    /// The subscription.
    pub(crate) subscription: Subscription,
    /// The Project's credential Secrets.
    pub(crate) credentials: Arc<CredentialStore>,
    /// What the Warehouse's previous discovery in this process found (for short-circuits).
    pub(crate) previous: Option<Arc<DiscoveredArtifacts>>,
}

/// Discovers one subscription type.
pub(crate) trait Discover: Send + Sync {
    /// The subscription's type key (`git`, `image`, `chart`).
    fn kind(&self) -> &'static str;
    /// Discovers what the subscription selects now; the error is one line for people, free of
    /// secrets.
    fn discover(&self, request: Request) -> BoxFuture<Result<Found, String>>;
}

/// Every discoverer, by subscription type.
pub(crate) struct Discoverers {
    all: Vec<Arc<dyn Discover>>,
}

impl Discoverers {
    /// Git through the cached mirrors; images and charts not yet.
    pub(crate) fn new(git: gantry_git::Git) -> Self {
        Self {
            all: vec![
                Arc::new(GitDiscoverer { git }),
                Arc::new(Unsupported("image")),
                Arc::new(Unsupported("chart")),
            ],
        }
    }

    /// The discoverer for a subscription's type.
    pub(crate) fn get(&self, subscription: &Subscription) -> Result<Arc<dyn Discover>, String> {
        let types = subscription.types();
        let kind = types
            .first()
            .ok_or_else(|| "a subscription names no type (git, image or chart)".to_owned())?;
        self.all
            .iter()
            .find(|d| d.kind() == *kind)
            .cloned()
            .ok_or_else(|| format!("{kind} subscriptions are not supported"))
    }
}

/// Git subscriptions: [`gantry_git::Git::discover`] on the blocking pool.
struct GitDiscoverer {
    git: gantry_git::Git,
}

impl Discover for GitDiscoverer {
    fn kind(&self) -> &'static str {
        "git"
    }

    fn discover(&self, request: Request) -> BoxFuture<Result<Found, String>> {
        let git = self.git.clone();
        Box::pin(async move {
            let Some(subscription) = request.subscription.git.clone() else {
                return Err("not a git subscription".to_owned());
            };
            let name = request.subscription.name.clone();
            let previous = request.previous.as_ref().and_then(|previous| {
                previous
                    .git
                    .iter()
                    .find(|r| r.repo_url == subscription.repo_url && r.subscription_name == name)
                    .cloned()
            });
            let credentials = request
                .credentials
                .lookup(CredentialType::Git, &subscription.repo_url)
                .map(|c| gantry_git::Credentials::new(c.username.clone(), c.password.expose()));
            let found = tokio::task::spawn_blocking(move || {
                git.discover(
                    &subscription,
                    name.as_deref(),
                    credentials.as_ref(),
                    previous.as_ref(),
                )
            })
            .await
            .map_err(|error| format!("git discovery did not finish: {error}"))?;
            match found {
                Ok(discovery) => {
                    tracing::debug!(
                        repo = %gantry_git::split_credentials(&discovery.result.repo_url).0,
                        short_circuited = discovery.stats.short_circuited,
                        elapsed_ms = discovery.stats.elapsed.as_millis(),
                        "git subscription discovered"
                    );
                    Ok(Found::Git(discovery.result))
                }
                Err(error) => Err(chain(&error)),
            }
        })
    }
}

/// A subscription type gantry serve cannot discover yet.
struct Unsupported(&'static str);

impl Discover for Unsupported {
    fn kind(&self) -> &'static str {
        self.0
    }

    fn discover(&self, _request: Request) -> BoxFuture<Result<Found, String>> {
        let kind = self.0;
        Box::pin(async move {
            Err(format!(
                "{kind} subscriptions are not supported by gantry serve yet"
            ))
        })
    }
}

/// An error and its sources on one line.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
