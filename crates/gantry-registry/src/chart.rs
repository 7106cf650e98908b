//! Helm chart discovery for one `chart` subscription.
//!
//! - HTTP(S) repositories: `GET <repoURL>/index.yaml` (basic auth from a Secret labelled
//!   `kargo.akuity.io/cred-type: helm`), the versions listed under `entries.<name>`, each read
//!   as a lenient semantic version (unparsable ones are dropped). A chart absent from the index
//!   is no result, not an error.
//! - `oci://` repositories: the tag list of the repository through the registry client. Helm
//!   stores `+` as `_` in tags, so tags are converted back and must then be strict semantic
//!   versions.
//!
//! Then, as Kargo does: keep versions satisfying `semverConstraint`, order them highest first
//! (equal versions by their text, descending), keep `discoveryLimit`.
//!
//! The index is read from parser events without building a tree, so indexes of tens of
//! megabytes cost little memory; a version is taken as written (`1.10` stays `1.10`).

use gantry_api::kargo::{ChartDiscoveryResult, ChartSubscription};
use gantry_api::semver::Version;
use gantry_core::credentials::{CredentialStore, CredentialType};
use gantry_core::selection::{SemverRule, TagFilter, TagOrder, TagSelector, discovery_limit};
use reqwest::Url;
use saphyr_parser::{Event, Parser};

use crate::auth::BasicCredentials;
use crate::client::{RegistryClient, Remote};
use crate::counts::RequestKind;
use crate::error::{RegistryError, Result};
use crate::reference::Repository;

/// Runs discovery for one chart subscription and returns its versions, highest first.
pub async fn discover_charts(
    subscription: &ChartSubscription,
    subscription_name: Option<&str>,
    credentials: &CredentialStore,
    client: &RegistryClient,
) -> Result<ChartDiscoveryResult> {
    let limit = discovery_limit(subscription.discovery_limit)?;
    let constraint = subscription
        .semver_constraint
        .as_deref()
        .filter(|c| !c.is_empty());
    let rule = SemverRule::from_field("semverConstraint", constraint, false)?;
    let repo_url = subscription.repo_url.trim();
    let name = subscription.name.as_deref().filter(|n| !n.is_empty());
    let invalid = |reason: &str| RegistryError::InvalidChartSubscription {
        repo_url: gantry_api::redact::url(repo_url),
        reason: reason.to_owned(),
    };
    let credential = credentials
        .lookup(CredentialType::Helm, repo_url)
        .map(BasicCredentials::from);
    let versions = if repo_url.starts_with("oci://") {
        if name.is_some() {
            return Err(invalid(
                "`name` must be empty for oci:// repositories: the chart is the repository",
            ));
        }
        let remote = Remote::new(Repository::parse(repo_url)?)
            .with_credentials(credential)
            .skip_tls_verify(subscription.insecure_skip_tls_verify);
        client
            .list_tags(&remote)
            .await?
            .into_iter()
            .map(|tag| tag.replace('_', "+"))
            .filter(|version| Version::parse_strict(version).is_ok())
            .collect::<Vec<_>>()
    } else if repo_url.starts_with("https://") || repo_url.starts_with("http://") {
        let Some(name) = name else {
            return Err(invalid("`name` is required for http(s) chart repositories"));
        };
        let index = fetch_index(client, repo_url, credential.as_ref(), subscription).await?;
        chart_versions(&index, name).map_err(|reason| RegistryError::UnsupportedDocument {
            document: format!("the chart index {}", index_location(repo_url)),
            reason,
        })?
    } else {
        return Err(invalid(
            "`repoURL` must start with https://, http:// or oci://",
        ));
    };
    let selector = TagSelector {
        filter: TagFilter::default(),
        order: TagOrder::SemVer(rule),
    };
    let versions: Vec<String> = selector
        .select(&versions)
        .into_iter()
        .take(limit)
        .map(str::to_owned)
        .collect();
    Ok(ChartDiscoveryResult {
        repo_url: subscription.repo_url.clone(),
        name: name.map(str::to_owned),
        semver_constraint: constraint.map(str::to_owned),
        subscription_name: subscription_name.map(str::to_owned),
        versions,
    })
}

/// `<repoURL>/index.yaml`, for messages (without userinfo).
fn index_location(repo_url: &str) -> String {
    gantry_api::redact::url(&format!("{}/index.yaml", repo_url.trim_end_matches('/')))
}

async fn fetch_index(
    client: &RegistryClient,
    repo_url: &str,
    credentials: Option<&BasicCredentials>,
    subscription: &ChartSubscription,
) -> Result<String> {
    let location = index_location(repo_url);
    let url =
        Url::parse(&format!("{}/index.yaml", repo_url.trim_end_matches('/'))).map_err(|_| {
            RegistryError::InvalidChartSubscription {
                repo_url: gantry_api::redact::url(repo_url),
                reason: "`repoURL` is not a valid URL".to_owned(),
            }
        })?;
    let operation = format!("fetch the chart index {location}");
    let document = format!("the chart index {location}");
    let response = client
        .get_with_basic_auth(
            &url,
            credentials,
            subscription.insecure_skip_tls_verify,
            RequestKind::ChartIndex,
            client.options().max_chart_index_bytes,
            &operation,
            &document,
        )
        .await?;
    String::from_utf8(response.body).map_err(|_| RegistryError::UnsupportedDocument {
        document,
        reason: "it is not UTF-8 text".to_owned(),
    })
}

/// A container being read and, for mappings, whether the next scalar is a key and the key of
/// the value being read.
enum Frame {
    Map {
        expecting_key: bool,
        key: Option<String>,
    },
    Seq,
    /// A collection used as a mapping key: its contents are ignored.
    Ignored,
}

/// The versions listed under `entries.<name>[].version` of a Helm repository index.
/// `Err` holds what is wrong with the YAML.
pub fn chart_versions(index: &str, name: &str) -> Result<Vec<String>, String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut versions = Vec::new();
    let mut documents = 0usize;
    for item in Parser::new_from_str(index) {
        let (event, _span) = item.map_err(|error| format!("it is not valid YAML: {error}"))?;
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    break;
                }
            }
            Event::Scalar(value, ..) => {
                if in_key_position(&stack) {
                    set_key(&mut stack, Some(value.into_owned()));
                } else {
                    if at_version(&stack, name) {
                        versions.push(value.trim().to_owned());
                    }
                    value_done(&mut stack);
                }
            }
            Event::Alias(_) => {
                if in_key_position(&stack) {
                    set_key(&mut stack, None);
                } else {
                    value_done(&mut stack);
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let frame =
                    if in_key_position(&stack) || matches!(stack.last(), Some(Frame::Ignored)) {
                        Frame::Ignored
                    } else if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq
                    } else {
                        Frame::Map {
                            expecting_key: true,
                            key: None,
                        }
                    };
                stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let finished = stack.pop();
                if matches!(finished, Some(Frame::Ignored))
                    && !matches!(stack.last(), Some(Frame::Ignored))
                {
                    // a complex key ends: its value comes next
                    set_key(&mut stack, None);
                } else {
                    value_done(&mut stack);
                }
            }
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
    }
    Ok(versions)
}

fn in_key_position(stack: &[Frame]) -> bool {
    matches!(
        stack.last(),
        Some(Frame::Map {
            expecting_key: true,
            ..
        })
    )
}

fn set_key(stack: &mut [Frame], key: Option<String>) {
    if let Some(Frame::Map {
        expecting_key,
        key: current,
    }) = stack.last_mut()
    {
        *expecting_key = false;
        *current = key;
    }
}

/// A value of the top mapping was read completely: the next scalar is a key again.
fn value_done(stack: &mut [Frame]) {
    if let Some(Frame::Map { expecting_key, .. }) = stack.last_mut() {
        *expecting_key = true;
    }
}

/// Whether the scalar about to be read is `entries.<name>[i].version` of the root mapping.
fn at_version(stack: &[Frame], name: &str) -> bool {
    let key_is = |frame: &Frame, wanted: &str| matches!(frame, Frame::Map { expecting_key: false, key: Some(key) } if key == wanted);
    match stack {
        [root, entries, Frame::Seq, version] => {
            key_is(root, "entries") && key_is(entries, name) && key_is(version, "version")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INDEX: &str = r#"
apiVersion: v1
entries:
  other:
    - name: other
      version: 9.9.9
  app:
    - annotations:
        category: web
      name: app
      urls: [https://charts.example/app-1.10.0.tgz]
      version: 1.10.0
    - name: app
      version: "1.9.0"
      dependencies:
        - name: dep
          version: 0.0.1
    - {name: app, version: v2.0.0-rc.1}
generated: "2024-01-01T00:00:00Z"
"#;

    #[test]
    fn versions_of_the_named_chart_only_are_read() {
        assert_eq!(
            chart_versions(INDEX, "app").unwrap(),
            ["1.10.0", "1.9.0", "v2.0.0-rc.1"]
        );
        assert_eq!(chart_versions(INDEX, "other").unwrap(), ["9.9.9"]);
        assert!(chart_versions(INDEX, "missing").unwrap().is_empty());
    }

    #[test]
    fn json_indexes_and_complex_keys_are_handled() {
        let json =
            r#"{"apiVersion":"v1","entries":{"app":[{"version":"0.1.0"},{"version":"0.2.0"}]}}"#;
        assert_eq!(chart_versions(json, "app").unwrap(), ["0.1.0", "0.2.0"]);
        let complex = "entries:\n  ? [a, b]\n  : x\n  app:\n    - version: 1.0.0\n";
        assert_eq!(chart_versions(complex, "app").unwrap(), ["1.0.0"]);
    }

    #[test]
    fn broken_yaml_is_an_error_with_a_reason() {
        let error = chart_versions("entries: [unclosed", "app").unwrap_err();
        assert!(error.contains("not valid YAML"), "{error}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,120}") {
            let _ = chart_versions(&text, "app");
        }

        #[test]
        fn yaml_shaped_text_never_panics(text in "[a-z:{}\\[\\],\\-? \n\"']{0,80}") {
            let _ = chart_versions(&text, "app");
        }
    }
}
