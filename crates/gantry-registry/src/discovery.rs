//! Image discovery for one `image` subscription: Kargo's four selection strategies on top of
//! the client.
//!
//! - `SemVer` / `Lexical`: list tags, filter and order them ([`TagSelector::select`]), then
//!   resolve them best first until `discoveryLimit` images match the platform: the best
//!   `discoveryLimit` at once (concurrently, order kept), then as many more as were missing or
//!   on another platform, and so on. Kargo resolves them one at a time; the tags resolved are
//!   the same.
//! - `NewestBuild`: resolve every tag the filter passes, concurrently (at most
//!   [`ClientOptions::metadata_concurrency`] at once, under the per-host rate limit), order by
//!   build time (newest first, ties by tag descending), keep `discoveryLimit`.
//! - `Digest`: resolve the one mutable tag in `constraint`; a missing tag is no result.
//!
//! [`discover_images_notified`] is the same discovery after a registry notification named the
//! tags just pushed: a tag the previous discovery resolved and the notification did not name is
//! taken from that result instead of being asked for again (a registry notifies every tag push,
//! so only the named tags can have moved). The tag list is still read, so deleted tags drop out
//! and new ones are resolved. Discoveries on the interval and on plain refreshes ask for every
//! tag, which catches anything a lost notification hid.
//!
//! A tag listed but gone by the time it is resolved (HTTP 404) is skipped, where Kargo fails
//! the discovery. The deprecated `allowTags`/`ignoreTags` fail discovery, as in Kargo.
//!
//! [`TagSelector::select`]: gantry_core::selection::TagSelector::select
//! [`ClientOptions::metadata_concurrency`]: crate::ClientOptions::metadata_concurrency

use futures_util::stream::{self, StreamExt, TryStreamExt};
use gantry_api::kargo::{DiscoveredImageReference, ImageDiscoveryResult, ImageSubscription};
use gantry_core::credentials::{CredentialStore, CredentialType};
use gantry_core::selection::{ImageSelection, newest_first};

use crate::auth::BasicCredentials;
use crate::client::{RegistryClient, Remote};
use crate::error::Result;
use crate::image::TaggedImage;
use crate::manifest::Platform;
use crate::reference::Repository;

/// Runs discovery for one image subscription and returns its references, best first.
///
/// Credentials come from `credentials` (Secrets labelled `kargo.akuity.io/cred-type: image`
/// whose `repoURL` matches the subscription's).
pub async fn discover_images(
    subscription: &ImageSubscription,
    subscription_name: Option<&str>,
    credentials: &CredentialStore,
    client: &RegistryClient,
) -> Result<ImageDiscoveryResult> {
    discover(subscription, subscription_name, credentials, client, None).await
}

/// What a registry notification told: the tags just pushed, and the result of the discovery
/// before it.
#[derive(Clone, Copy, Debug)]
pub struct Notified<'a> {
    /// The tags the notification named (pushed, possibly re-pointed).
    pub pushed_tags: &'a [String],
    /// The previous discovery of the same subscription.
    pub previous: &'a ImageDiscoveryResult,
}

/// [`discover_images`] after a registry notification: tags the previous result holds and the
/// notification did not name are reused rather than resolved again (see the module docs). A
/// previous result of another repository or platform is ignored.
pub async fn discover_images_notified(
    subscription: &ImageSubscription,
    subscription_name: Option<&str>,
    credentials: &CredentialStore,
    client: &RegistryClient,
    notified: Notified<'_>,
) -> Result<ImageDiscoveryResult> {
    let platform = subscription.platform.clone().filter(|p| !p.is_empty());
    let usable = notified.previous.repo_url == subscription.repo_url
        && notified.previous.platform == platform;
    let notified = usable.then_some(notified);
    discover(
        subscription,
        subscription_name,
        credentials,
        client,
        notified,
    )
    .await
}

/// The image a tag of the previous result stands for, when it may be reused.
fn known_image(notified: Option<Notified<'_>>, tag: &str) -> Option<TaggedImage> {
    let notified = notified?;
    if notified.pushed_tags.iter().any(|pushed| pushed == tag) {
        return None;
    }
    let known: &DiscoveredImageReference = notified
        .previous
        .references
        .iter()
        .find(|reference| reference.tag == tag)?;
    let created = match &known.created_at {
        Some(text) => Some(gantry_api::time::parse_rfc3339(text)?),
        None => None,
    };
    Some(TaggedImage {
        tag: known.tag.clone(),
        digest: known.digest.clone(),
        created,
        annotations: known.annotations.clone(),
    })
}

async fn discover(
    subscription: &ImageSubscription,
    subscription_name: Option<&str>,
    credentials: &CredentialStore,
    client: &RegistryClient,
    notified: Option<Notified<'_>>,
) -> Result<ImageDiscoveryResult> {
    let selection = ImageSelection::for_subscription(subscription)?;
    let platform = subscription
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(Platform::parse)
        .transpose()?;
    let remote = remote_for(subscription, credentials)?;
    let platform = platform.as_ref();
    let images = match selection {
        ImageSelection::Tags { selector, limit } => {
            let tags = client.list_tags(&remote).await?;
            let ordered: Vec<String> = selector
                .select(&tags)
                .into_iter()
                .map(str::to_owned)
                .collect();
            let concurrency = client.options().metadata_concurrency.max(1);
            let remote = &remote;
            let mut images = Vec::with_capacity(limit);
            let mut next = ordered.into_iter();
            // Resolve as many of the best tags as are still missing, concurrently and in order:
            // the tags resolved are exactly those a one-by-one walk would resolve.
            while images.len() < limit {
                let window: Vec<String> = next.by_ref().take(limit - images.len()).collect();
                if window.is_empty() {
                    break;
                }
                let found: Vec<Option<TaggedImage>> = stream::iter(window)
                    .map(|tag| async move {
                        if let Some(known) = known_image(notified, &tag) {
                            return Ok(Some(known));
                        }
                        skip_missing(
                            client
                                .image_for_tag(remote, &tag, platform, subscription.cache_by_tag)
                                .await,
                        )
                    })
                    .buffered(concurrency)
                    .try_collect()
                    .await?;
                images.extend(found.into_iter().flatten());
            }
            images
        }
        ImageSelection::NewestBuild { filter, limit } => {
            let tags = client.list_tags(&remote).await?;
            // Owned tags: a closure over `&str` here makes the whole future not provably `Send`
            // (rustc #102211), and the server runs discovery on spawned tasks.
            let candidates: Vec<String> =
                tags.into_iter().filter(|tag| filter.matches(tag)).collect();
            let concurrency = client.options().metadata_concurrency.max(1);
            let remote = &remote;
            let found: Vec<Option<TaggedImage>> = stream::iter(candidates)
                .map(|tag| async move {
                    if let Some(known) = known_image(notified, &tag) {
                        return Ok(Some(known));
                    }
                    skip_missing(
                        client
                            .image_for_tag(remote, &tag, platform, subscription.cache_by_tag)
                            .await,
                    )
                })
                .buffer_unordered(concurrency)
                .try_collect()
                .await?;
            let mut images: Vec<TaggedImage> = found.into_iter().flatten().collect();
            newest_first(&mut images, |image| (image.tag.as_str(), image.created));
            images.truncate(limit);
            images
        }
        ImageSelection::Digest { tag } => {
            // the tag is mutable by definition: never trust a cached digest for it
            skip_missing(client.image_for_tag(&remote, &tag, platform, false).await)?
                .into_iter()
                .collect()
        }
    };
    Ok(ImageDiscoveryResult {
        repo_url: subscription.repo_url.clone(),
        platform: subscription.platform.clone().filter(|p| !p.is_empty()),
        subscription_name: subscription_name.map(str::to_owned),
        references: images
            .into_iter()
            .map(TaggedImage::into_reference)
            .collect(),
    })
}

/// The subscription's repository, with its credentials.
fn remote_for(subscription: &ImageSubscription, credentials: &CredentialStore) -> Result<Remote> {
    let repository = Repository::parse(&subscription.repo_url)?;
    Ok(Remote::new(repository)
        .with_credentials(
            credentials
                .lookup(CredentialType::Image, &subscription.repo_url)
                .map(BasicCredentials::from),
        )
        .skip_tls_verify(subscription.insecure_skip_tls_verify))
}

/// Waits until the registry serves `tag` of the subscription's repository (a manifest `HEAD`
/// answers, naming `digest` when one is given), polling with a growing pause, for at most
/// `patience`; says whether it does.
///
/// For registry notifications: `docker-registry` sends the push event of a tagged manifest
/// before it links the tag, so a discovery started by the notification can miss the tag it
/// announces, or, for a tag pushed again, see the manifest it named before. Errors other than
/// "not there" end the wait at once (discovery reports them). A registry that answers without
/// a `Docker-Content-Digest` header counts as serving the tag.
pub async fn await_tag(
    subscription: &ImageSubscription,
    credentials: &CredentialStore,
    client: &RegistryClient,
    tag: &str,
    digest: Option<&str>,
    patience: std::time::Duration,
) -> bool {
    let Ok(remote) = remote_for(subscription, credentials) else {
        return false;
    };
    let deadline = tokio::time::Instant::now() + patience;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match client.head_manifest(&remote, tag).await {
            Ok(served) => {
                let current = match (digest, served.as_deref()) {
                    (Some(wanted), Some(served)) => wanted == served,
                    _ => true,
                };
                if current {
                    return true;
                }
            }
            Err(error) if error.is_not_found() => {}
            Err(_) => return false,
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}

/// A tag that is not there (any more) is no image rather than an error.
fn skip_missing(result: Result<Option<TaggedImage>>) -> Result<Option<TaggedImage>> {
    match result {
        Err(error) if error.is_not_found() => Ok(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn the_discovery_futures_can_run_on_spawned_tasks() {
        let subscription: ImageSubscription =
            serde_json::from_value(serde_json::json!({"repoURL": "registry.local/app"})).unwrap();
        let credentials = CredentialStore::default();
        let client = RegistryClient::new(crate::ClientOptions::default()).unwrap();
        assert_send(discover_images(&subscription, None, &credentials, &client));
        let chart: gantry_api::kargo::ChartSubscription = serde_json::from_value(
            serde_json::json!({"repoURL": "oci://registry.local/charts/app"}),
        )
        .unwrap();
        assert_send(crate::discover_charts(&chart, None, &credentials, &client));
    }
}
