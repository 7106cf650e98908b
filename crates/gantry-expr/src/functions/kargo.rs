//! Kargo's expression functions, with its argument checks, messages and lookup rules.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use gantry_api::kargo::{Chart, Freight, FreightOrigin, GitCommit, Image, Subscription};
use gantry_api::semver::Version;
use gantry_api::url::normalize_git;

use super::encode::{from_json_float, go_quote, to_yaml};
use super::named_enum;
use crate::error::{Error, ErrorKind, Span};
use crate::eval::{Evaluator, R, Stop};
use crate::value::{Object, Struct, Value};

named_enum! {
    Kargo {
        Quote = "quote",
        UnsafeQuote = "unsafeQuote",
        AsYaml = "asYAML",
        AsJson = "asJSON",
        Warehouse = "warehouse",
        CommitFrom = "commitFrom",
        ImageFrom = "imageFrom",
        ChartFrom = "chartFrom",
        ArtifactFrom = "artifactFrom",
        FreightMetadata = "freightMetadata",
        FreightStatus = "freightStatus",
        StageMetadata = "stageMetadata",
        ConfigMap = "configMap",
        SharedConfigMap = "sharedConfigMap",
        Secret = "secret",
        SharedSecret = "sharedSecret",
        SemverDiff = "semverDiff",
        SemverParse = "semverParse",
        Success = "success",
        Failure = "failure",
        Always = "always",
        Status = "status",
    }
}

fn fail(message: impl Into<String>, span: Span) -> Stop {
    Stop::Err(Error::new(ErrorKind::Runtime, message, span))
}

fn host_fail(message: impl Into<String>, span: Span) -> Stop {
    Stop::Err(Error::new(ErrorKind::Host, message, span))
}

fn arity(args: &[Value], min: usize, max: usize, span: Span) -> Result<(), Stop> {
    if (min..=max).contains(&args.len()) {
        return Ok(());
    }
    let expected = match (min, max) {
        (0, 0) => "0 arguments".to_owned(),
        (1, 1) => "1 argument".to_owned(),
        (a, b) if a == b => format!("{a} arguments"),
        (a, b) => format!("{a}-{b} arguments"),
    };
    Err(fail(
        format!("expected {expected}, got {}", args.len()),
        span,
    ))
}

fn string_arg<'v>(value: &'v Value, what: &str, span: Span) -> Result<&'v str, Stop> {
    value.as_str().ok_or_else(|| {
        fail(
            format!("{what} must be string, got {}", value.go_type_name()),
            span,
        )
    })
}

/// Reads a `FreightOrigin` value (as `warehouse()` makes it).
fn origin_arg(value: &Value) -> Option<FreightOrigin> {
    let Value::Object(object) = value else {
        return None;
    };
    if object.type_name() != "FreightOrigin" {
        return None;
    }
    let field = |name: &str| {
        object
            .field(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    Some(FreightOrigin {
        kind: field("Kind"),
        name: field("Name"),
    })
}

fn origin_value(origin: &FreightOrigin) -> Value {
    Struct::new("FreightOrigin")
        .field("Kind", "kind", origin.kind.as_str())
        .field("Name", "name", origin.name.as_str())
        .into_value()
}

fn commit_value(commit: &GitCommit) -> Value {
    Struct::new("GitCommit")
        .field_omit_empty("RepoURL", "repoURL", commit.repo_url.as_str())
        .field_omit_empty("ID", "id", commit.id.as_str())
        .field_omit_empty("Branch", "branch", commit.branch.as_deref().unwrap_or(""))
        .field_omit_empty("Tag", "tag", commit.tag.as_deref().unwrap_or(""))
        .field_omit_empty(
            "Message",
            "message",
            commit.message.as_deref().unwrap_or(""),
        )
        .field_omit_empty("Author", "author", commit.author.as_deref().unwrap_or(""))
        .field_omit_empty(
            "Committer",
            "committer",
            commit.committer.as_deref().unwrap_or(""),
        )
        .into_value()
}

fn image_value(image: &Image) -> Value {
    let annotations: BTreeMap<String, Value> = image
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let annotations = if annotations.is_empty() {
        Value::Nil
    } else {
        Value::map(annotations)
    };
    Struct::new("Image")
        .field_omit_empty("RepoURL", "repoURL", image.repo_url.as_str())
        .field_omit_empty("Tag", "tag", image.tag.as_deref().unwrap_or(""))
        .field_omit_empty("Digest", "digest", image.digest.as_deref().unwrap_or(""))
        .field_omit_empty("Annotations", "annotations", annotations)
        .into_value()
}

fn chart_value(chart: &Chart) -> Value {
    Struct::new("Chart")
        .field_omit_empty("RepoURL", "repoURL", chart.repo_url.as_str())
        .field_omit_empty("Name", "name", chart.name.as_deref().unwrap_or(""))
        .field_omit_empty("Version", "version", chart.version.as_str())
        .into_value()
}

fn artifact_value(artifact: &serde_json::Value) -> Value {
    let text = |key: &str| {
        artifact
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let metadata = match artifact.get("metadata") {
        Some(m @ serde_json::Value::Object(_)) => from_json_float(m),
        _ => Value::map(BTreeMap::new()),
    };
    // Kargo's expression-friendly artifact has no JSON tags: JSON keys are the Go names
    Struct::new("ArtifactReference")
        .field("ArtifactType", "ArtifactType", text("artifactType"))
        .field(
            "SubscriptionName",
            "SubscriptionName",
            text("subscriptionName"),
        )
        .field("Version", "Version", text("version"))
        .field("Metadata", "Metadata", metadata)
        .into_value()
}

/// Picks the requested origin whose Warehouse has a subscription for the artifact; more than
/// one candidate is an error.
fn resolve_origin(
    ev: &Evaluator<'_>,
    matches: &dyn Fn(&Subscription) -> bool,
    ambiguous: &dyn Fn() -> String,
    span: Span,
) -> Result<Option<FreightOrigin>, Stop> {
    let mut chosen: Option<FreightOrigin> = None;
    for request in ev.host.requested_freight() {
        let name = &request.origin.name;
        let warehouse = ev
            .host
            .warehouse(name)
            .map_err(|e| host_fail(format!("error getting Warehouse {name:?}: {e}"), span))?
            .ok_or_else(|| {
                host_fail(format!("Warehouse {name:?} not found in the project"), span)
            })?;
        for subscription in &warehouse.spec.subscriptions {
            if matches(subscription) {
                if chosen.is_some() {
                    return Err(fail(ambiguous(), span));
                }
                chosen = Some(request.origin.clone());
            }
        }
    }
    Ok(chosen)
}

/// The origin to look in: the one given as `arg` (which must be a `FreightOrigin`), or the
/// requested origin whose Warehouse subscribes to the artifact.
fn origin_for(
    ev: &Evaluator<'_>,
    arg: Option<&Value>,
    matches: &dyn Fn(&Subscription) -> bool,
    ambiguous: &dyn Fn() -> String,
    span: Span,
) -> Result<Option<FreightOrigin>, Stop> {
    match arg {
        Some(value) => origin_arg(value).map(Some).ok_or_else(|| {
            fail(
                format!(
                    "second argument must be FreightOrigin, got {}",
                    value.go_type_name()
                ),
                span,
            )
        }),
        None => resolve_origin(ev, matches, ambiguous, span),
    }
}

fn freight_of<'h>(ev: &Evaluator<'h>, origin: &FreightOrigin) -> impl Iterator<Item = &'h Freight> {
    let wanted = origin.clone();
    ev.host
        .freight()
        .iter()
        .filter(move |f| f.origin.kind == wanted.kind && f.origin.name == wanted.name)
}

fn commit_from(ev: &Evaluator<'_>, args: &[Value], span: Span) -> R {
    arity(args, 1, 2, span)?;
    let repo = normalize_git(string_arg(&args[0], "first argument", span)?);
    let origin = origin_for(
        ev,
        args.get(1),
        &|s| {
            s.git
                .as_ref()
                .is_some_and(|g| normalize_git(&g.repo_url) == repo)
        },
        &|| {
            format!(
                "multiple requested Freight could potentially provide a commit from repo {repo}; please update promotion steps to disambiguate"
            )
        },
        span,
    )?;
    let Some(origin) = origin else {
        return Ok(Value::Nil);
    };
    Ok(freight_of(ev, &origin)
        .flat_map(|f| &f.commits)
        .find(|c| normalize_git(&c.repo_url) == repo)
        .map_or(Value::Nil, commit_value))
}

fn image_from(ev: &Evaluator<'_>, args: &[Value], span: Span) -> R {
    arity(args, 1, 2, span)?;
    let repo = string_arg(&args[0], "first argument", span)?;
    let origin = origin_for(
        ev,
        args.get(1),
        &|s| s.image.as_ref().is_some_and(|i| i.repo_url == repo),
        &|| {
            format!(
                "multiple requested Freight could potentially provide a container image from repository {repo}: please provide a Freight origin to disambiguate"
            )
        },
        span,
    )?;
    let Some(origin) = origin else {
        return Ok(Value::Nil);
    };
    Ok(freight_of(ev, &origin)
        .flat_map(|f| &f.images)
        .find(|i| i.repo_url == repo)
        .map_or(Value::Nil, image_value))
}

fn chart_from(ev: &Evaluator<'_>, args: &[Value], span: Span) -> R {
    arity(args, 1, 3, span)?;
    let repo = string_arg(&args[0], "first argument", span)?;
    let mut name = "";
    let mut origin = None;
    if let Some(second) = args.get(1) {
        if let Some(text) = second.as_str() {
            name = text;
        } else if let Some(o) = origin_arg(second) {
            origin = Some(o);
        } else {
            return Err(fail(
                format!(
                    "second argument must be string or FreightOrigin, got {}",
                    second.go_type_name()
                ),
                span,
            ));
        }
    }
    if let Some(third) = args.get(2) {
        if name.is_empty() {
            return Err(fail(
                format!(
                    "when using three arguments, second argument must be string, got {}",
                    args[1].go_type_name()
                ),
                span,
            ));
        }
        origin = Some(origin_arg(third).ok_or_else(|| {
            fail(
                format!(
                    "third argument must be FreightOrigin, got {}",
                    third.go_type_name()
                ),
                span,
            )
        })?);
    }
    let origin = if let Some(o) = origin {
        o
    } else {
        {
            let resolved = resolve_origin(
                ev,
                &|s| {
                    s.chart.as_ref().is_some_and(|c| {
                        c.repo_url == repo && c.name.as_deref().unwrap_or("") == name
                    })
                },
                &|| {
                    format!(
                        "multiple requested Freight could potentially provide a chart from repository {repo}: please provide a Freight origin to disambiguate"
                    )
                },
                span,
            )?;
            let Some(o) = resolved else {
                let message = if name.is_empty() {
                    format!("chart from repo {repo} not found in referenced Freight")
                } else {
                    format!("chart {name:?} from repo {repo} not found in referenced Freight")
                };
                return Err(fail(message, span));
            };
            o
        }
    };
    Ok(freight_of(ev, &origin)
        .flat_map(|f| &f.charts)
        .find(|c| c.repo_url == repo && c.name.as_deref().unwrap_or("") == name)
        .map_or(Value::Nil, chart_value))
}

fn artifact_from(ev: &Evaluator<'_>, args: &[Value], span: Span) -> R {
    arity(args, 1, 2, span)?;
    let wanted = string_arg(&args[0], "first argument", span)?;
    let origin = origin_for(
        ev,
        args.get(1),
        &|s| !s.other.is_empty() && s.name.as_deref() == Some(wanted),
        &|| {
            format!(
                "error finding artifact from subscription {wanted}: multiple requested Freight could potentially provide a {wanted:?} artifact; please update promotion steps to disambiguate"
            )
        },
        span,
    )?;
    let Some(origin) = origin else {
        return Ok(Value::Nil);
    };
    Ok(freight_of(ev, &origin)
        .flat_map(|f| &f.artifacts)
        .find(|a| {
            a.get("subscriptionName")
                .and_then(serde_json::Value::as_str)
                == Some(wanted)
        })
        .map_or(Value::Nil, artifact_value))
}

fn single_name<'v>(
    args: &'v [Value],
    what: &str,
    empty: &str,
    span: Span,
) -> Result<&'v str, Stop> {
    arity(args, 1, 1, span)?;
    let name = string_arg(&args[0], what, span)?;
    if name.is_empty() && !empty.is_empty() {
        return Err(fail(empty, span));
    }
    Ok(name)
}

fn string_map(data: &BTreeMap<String, String>) -> Value {
    Value::map(
        data.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// A parsed semantic version, with the methods of Masterminds' `*semver.Version`.
#[derive(Debug)]
struct SemverValue(Version);

fn version_arg(value: &Value) -> Option<Version> {
    let Value::Object(object) = value else {
        return None;
    };
    if object.type_name() != "*semver.Version" {
        return None;
    }
    match object.to_json() {
        Value::String(s) => Version::parse(&s).ok(),
        _ => None,
    }
}

fn u64_value(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

impl Object for SemverValue {
    fn type_name(&self) -> &'static str {
        "*semver.Version"
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn field_names(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let v = &self.0;
        let no_args = |value: Value| -> Result<Value, String> {
            if args.is_empty() {
                Ok(value)
            } else {
                Err(format!("too many arguments to call {method}"))
            }
        };
        let compare = |f: fn(Ordering) -> bool| -> Result<Value, String> {
            let [other] = args else {
                return Err(format!("{method} takes 1 argument (a version)"));
            };
            let other = version_arg(other).ok_or_else(|| {
                format!(
                    "{method} needs a version from semverParse(), got {}",
                    other.go_type_name()
                )
            })?;
            Ok(Value::Bool(f(v.compare(&other))))
        };
        Some(match method {
            "Major" => no_args(u64_value(v.major)),
            "Minor" => no_args(u64_value(v.minor)),
            "Patch" => no_args(u64_value(v.patch)),
            "Prerelease" => no_args(Value::from(v.prerelease.as_str())),
            "Metadata" => no_args(Value::from(v.metadata.as_str())),
            "Original" => no_args(Value::from(v.original.as_str())),
            "String" => no_args(Value::from(v.to_string())),
            "IncMajor" => no_args(semver_value(v.inc_major())),
            "IncMinor" => no_args(semver_value(v.inc_minor())),
            "IncPatch" => no_args(semver_value(v.inc_patch())),
            "LessThan" => compare(Ordering::is_lt),
            "LessThanEqual" => compare(Ordering::is_le),
            "GreaterThan" => compare(Ordering::is_gt),
            "GreaterThanEqual" => compare(Ordering::is_ge),
            "Equal" => compare(Ordering::is_eq),
            "Compare" => {
                let [other] = args else {
                    return Some(Err("Compare takes 1 argument (a version)".to_owned()));
                };
                match version_arg(other) {
                    Some(other) => Ok(Value::Int(match v.compare(&other) {
                        Ordering::Less => -1,
                        Ordering::Equal => 0,
                        Ordering::Greater => 1,
                    })),
                    None => Err(format!(
                        "Compare needs a version from semverParse(), got {}",
                        other.go_type_name()
                    )),
                }
            }
            _ => return None,
        })
    }

    fn to_json(&self) -> Value {
        Value::from(self.0.to_string())
    }
}

fn semver_value(version: Version) -> Value {
    Value::Object(Arc::new(SemverValue(version)))
}

fn semver_diff(a: &str, b: &str) -> &'static str {
    let (Ok(a), Ok(b)) = (Version::parse(a), Version::parse(b)) else {
        return "Incomparable";
    };
    if a.major != b.major {
        "Major"
    } else if a.minor != b.minor {
        "Minor"
    } else if a.patch != b.patch {
        "Patch"
    } else if a.metadata != b.metadata {
        "Metadata"
    } else {
        "None"
    }
}

/// Did any step fail (Failed or Errored, without `continueOnError`)?
fn has_failures(ev: &Evaluator<'_>) -> bool {
    ev.host
        .step_statuses()
        .iter()
        .any(|s| !s.continue_on_error && matches!(s.status.as_str(), "Failed" | "Errored"))
}

fn split_alias(alias: &str) -> (&str, &str) {
    let parts: Vec<&str> = alias.split("::").collect();
    match parts.as_slice() {
        [namespace, short] => (namespace, short),
        _ => ("", alias),
    }
}

fn quoted_json(value: &Value, function: &str, span: Span) -> Result<String, Stop> {
    value
        .to_go_json()
        .map_err(|e| fail(format!("error applying {function}() function: {e}"), span))
}

pub(crate) fn call(ev: &mut Evaluator<'_>, k: Kargo, args: &[Value], span: Span) -> R {
    match k {
        Kargo::Quote => {
            arity(args, 1, 1, span)?;
            match &args[0] {
                Value::String(s) => ev.string(go_quote(s), span),
                other => Ok(Value::from(format!(
                    "\"{}\"",
                    quoted_json(other, "quote", span)?
                ))),
            }
        }
        Kargo::UnsafeQuote => {
            arity(args, 1, 1, span)?;
            Ok(Value::from(format!(
                "\"{}\"",
                quoted_json(&args[0], "quote", span)?
            )))
        }
        Kargo::AsYaml => {
            arity(args, 1, 1, span)?;
            if let Err(e) = args[0].to_json() {
                return Err(fail(format!("error applying asYAML() function: {e}"), span));
            }
            ev.string(format!("\"{}\"", to_yaml(&args[0])), span)
        }
        Kargo::AsJson => {
            arity(args, 1, 1, span)?;
            let json = args[0]
                .to_go_json_indent("  ")
                .map_err(|e| fail(format!("error applying asJSON() function: {e}"), span))?;
            ev.string(format!("\"{json}\n\""), span)
        }
        Kargo::Warehouse => {
            let name = single_name(args, "argument", "name must not be empty", span)?;
            Ok(origin_value(&FreightOrigin {
                kind: "Warehouse".to_owned(),
                name: name.to_owned(),
            }))
        }
        Kargo::CommitFrom => commit_from(ev, args, span),
        Kargo::ImageFrom => image_from(ev, args, span),
        Kargo::ChartFrom => chart_from(ev, args, span),
        Kargo::ArtifactFrom => artifact_from(ev, args, span),
        Kargo::FreightMetadata | Kargo::FreightStatus => {
            let name = single_name(
                args,
                "first argument",
                "freight ref name must not be empty",
                span,
            )?;
            let freight = ev
                .host
                .freight_by_name(name)
                .map_err(|e| host_fail(format!("failed to get freight {name}: {e}"), span))?;
            let Some(freight) = freight else {
                return Ok(Value::Nil);
            };
            let status = freight
                .status
                .clone()
                .unwrap_or(serde_json::Value::Object(serde_json::Map::new()));
            if k == Kargo::FreightStatus {
                return Ok(from_json_float(&status));
            }
            Ok(match status.get("metadata") {
                Some(m @ serde_json::Value::Object(_)) => from_json_float(m),
                _ => Value::Nil,
            })
        }
        Kargo::StageMetadata => {
            let name = single_name(args, "argument", "stage name must not be empty", span)?;
            let metadata = ev
                .host
                .stage_metadata(name)
                .map_err(|e| host_fail(format!("failed to get stage {name}: {e}"), span))?;
            Ok(metadata.as_ref().map_or(Value::Nil, from_json_float))
        }
        Kargo::ConfigMap | Kargo::SharedConfigMap => {
            let name = single_name(args, "argument", "", span)?;
            let data = ev
                .host
                .config_map(name, k == Kargo::SharedConfigMap)
                .map_err(|e| host_fail(format!("failed to get configmap {name}: {e}"), span))?;
            Ok(string_map(&data.unwrap_or_default()))
        }
        Kargo::Secret | Kargo::SharedSecret => {
            let name = single_name(args, "argument", "", span)?;
            let secret = ev
                .host
                .secret(name, k == Kargo::SharedSecret)
                .map_err(|e| host_fail(format!("failed to get secret {name}: {e}"), span))?;
            Ok(match secret {
                Some(s) if k == Kargo::Secret || s.generic => string_map(&s.data),
                _ => Value::map(BTreeMap::new()),
            })
        }
        Kargo::SemverDiff => {
            arity(args, 2, 2, span)?;
            let a = string_arg(&args[0], "first argument", span)?;
            let b = string_arg(&args[1], "second argument", span)?;
            Ok(Value::from(semver_diff(a, b)))
        }
        Kargo::SemverParse => {
            arity(args, 1, 1, span)?;
            let text = string_arg(&args[0], "argument", span)?;
            Version::parse(text)
                .map(semver_value)
                .map_err(|e| fail(format!("invalid semantic version: {e}"), span))
        }
        Kargo::Success | Kargo::Failure => {
            arity(args, 0, 0, span)?;
            let failed = has_failures(ev);
            Ok(Value::Bool(if k == Kargo::Failure {
                failed
            } else {
                !failed
            }))
        }
        Kargo::Always => Ok(Value::Bool(true)),
        Kargo::Status => {
            let alias = single_name(args, "argument", "argument must not be empty", span)?;
            let (namespace, _) = split_alias(ev.host.current_step().unwrap_or(""));
            Ok(Value::from(
                ev.host
                    .step_statuses()
                    .iter()
                    .find(|s| split_alias(&s.alias) == (namespace, alias))
                    .map_or("", |s| s.status.as_str()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_diff_cases() {
        for (a, b, want) in [
            ("3.4.5", "4.0.0", "Major"),
            ("2.1.9", "2.3.0", "Minor"),
            ("0.9.1", "0.9.7", "Patch"),
            ("2.0.0+abc", "2.0.0+def", "Metadata"),
            ("5.5.5", "5.5.5", "None"),
            ("2.0.0-rc.1", "2.0.0-rc.2", "None"),
            ("v3.0.0", "v3.1.0", "Minor"),
            ("main", "2.0.0", "Incomparable"),
            ("", "", "Incomparable"),
        ] {
            assert_eq!(semver_diff(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn alias_namespaces() {
        assert_eq!(split_alias("task-1::step-2"), ("task-1", "step-2"));
        assert_eq!(split_alias("step-1"), ("", "step-1"));
        assert_eq!(split_alias("a::b::c"), ("", "a::b::c"));
    }
}
