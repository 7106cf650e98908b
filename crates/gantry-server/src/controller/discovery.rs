//! Discovery of one subscription, behind a small trait per subscription type, so that image
//! and chart discovery plug in next to git without the Warehouse loop changing.
//!
//! ```text
//!  warehouse::run ──for each subscription──► Discoverers::get(type) ──► Discover::discover
//!                                              git   ► gantry_git::Git::discover (blocking pool)
//!                                              image ► gantry_registry::discover_images (async)
//!                                              chart ► gantry_registry::discover_charts (async)
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use gantry_api::kargo::{
    ChartDiscoveryResult, DiscoveredArtifacts, GitDiscoveryResult, ImageDiscoveryResult,
    Subscription,
};
use gantry_core::credentials::CredentialStore;

/// A boxed future, so that discoverers can be trait objects.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What one subscription found.
#[derive(Debug)]
pub(crate) enum Found {
    /// A git subscription's commits.
    Git(GitDiscoveryResult),
    /// An image subscription's references.
    Image(ImageDiscoveryResult),
    /// A chart subscription's versions.
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
    /// Image tags a registry notification just announced (see [`crate::Command`]).
    pub(crate) pushed: Arc<[crate::PushedTag]>,
    /// Whether registry notifications alone asked for this discovery, so that image tags of
    /// `previous` they did not name need not be asked for again
    /// ([`gantry_registry::discover_images_notified`]); only for a subscription whose
    /// repository they named, the others are discovered in full.
    pub(crate) notified_only: bool,
    /// Set when a notified tag was still not served as notified after
    /// [`PUSHED_TAG_PATIENCE`] (the discovery went on without it).
    pub(crate) unsettled: Arc<std::sync::atomic::AtomicBool>,
}

/// How long an image discovery waits for a tag a registry notification announced to be
/// served: the registry links the tag right after notifying, so this is only ever reached
/// when the notification was wrong (or the tag deleted at once).
const PUSHED_TAG_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

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
    /// Git through the cached mirrors, images and charts through the registry client.
    pub(crate) fn new(git: gantry_git::Git, registry: gantry_registry::RegistryClient) -> Self {
        Self {
            all: vec![
                Arc::new(GitDiscoverer { git }),
                Arc::new(ImageDiscoverer {
                    client: registry.clone(),
                }),
                Arc::new(ChartDiscoverer { client: registry }),
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
            let credentials = gantry_steps::git_clone::secret_credentials(
                &request.credentials,
                &subscription.repo_url,
            );
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

/// Image subscriptions: [`gantry_registry::discover_images`].
struct ImageDiscoverer {
    client: gantry_registry::RegistryClient,
}

impl Discover for ImageDiscoverer {
    fn kind(&self) -> &'static str {
        "image"
    }

    fn discover(&self, request: Request) -> BoxFuture<Result<Found, String>> {
        let Some(subscription) = request.subscription.image.clone() else {
            return Box::pin(async { Err("not an image subscription".to_owned()) });
        };
        // Only the tags the notification named in this subscription's repository.
        let repository = gantry_core::freight::normalize_image(&subscription.repo_url);
        let pushed: Vec<crate::PushedTag> = request
            .pushed
            .iter()
            .filter(|pushed| pushed.repository == repository)
            .cloned()
            .collect();
        let previous = request
            .previous
            .filter(|_| request.notified_only && !pushed.is_empty())
            .and_then(|previous| {
                previous
                    .images
                    .iter()
                    .find(|found| {
                        found.repo_url == subscription.repo_url
                            && found.subscription_name == request.subscription.name
                    })
                    .cloned()
            });
        Box::pin(discover_images(
            subscription,
            request.subscription.name,
            request.credentials,
            self.client.clone(),
            pushed,
            previous,
            request.unsettled,
        ))
    }
}

/// Owns its inputs, so that the future is `Send` without borrowing across the box. `pushed`
/// holds the tags a notification named in this subscription's repository.
async fn discover_images(
    subscription: gantry_api::kargo::ImageSubscription,
    name: Option<String>,
    credentials: Arc<CredentialStore>,
    client: gantry_registry::RegistryClient,
    pushed: Vec<crate::PushedTag>,
    previous: Option<gantry_api::kargo::ImageDiscoveryResult>,
    unsettled: Arc<std::sync::atomic::AtomicBool>,
) -> Result<Found, String> {
    if !pushed.is_empty()
        && let Ok(selection) =
            gantry_core::selection::ImageSelection::for_subscription(&subscription)
    {
        for pushed in pushed.iter().filter(|p| selection.matches_tag(&p.tag)) {
            let tag = pushed.tag.as_str();
            let served = gantry_registry::await_tag(
                &subscription,
                &credentials,
                &client,
                tag,
                pushed.digest.as_deref(),
                PUSHED_TAG_PATIENCE,
            )
            .await;
            if !served {
                tracing::debug!(tag, "an announced tag is not served; discovering anyway");
                unsettled.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    let found = match &previous {
        Some(previous) => {
            let tags: Vec<String> = pushed.into_iter().map(|pushed| pushed.tag).collect();
            let notified = gantry_registry::Notified {
                pushed_tags: &tags,
                previous,
            };
            gantry_registry::discover_images_notified(
                &subscription,
                name.as_deref(),
                &credentials,
                &client,
                notified,
            )
            .await
        }
        None => {
            gantry_registry::discover_images(&subscription, name.as_deref(), &credentials, &client)
                .await
        }
    };
    found.map(Found::Image).map_err(|error| chain(&error))
}

/// Chart subscriptions: [`gantry_registry::discover_charts`].
struct ChartDiscoverer {
    client: gantry_registry::RegistryClient,
}

impl Discover for ChartDiscoverer {
    fn kind(&self) -> &'static str {
        "chart"
    }

    fn discover(&self, request: Request) -> BoxFuture<Result<Found, String>> {
        let client = self.client.clone();
        Box::pin(async move {
            let Some(subscription) = &request.subscription.chart else {
                return Err("not a chart subscription".to_owned());
            };
            gantry_registry::discover_charts(
                subscription,
                request.subscription.name.as_deref(),
                &request.credentials,
                &client,
            )
            .await
            .map(Found::Chart)
            .map_err(|error| chain(&error))
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
