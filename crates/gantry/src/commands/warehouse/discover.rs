//! `gantry warehouse discover -f FILE... [--warehouse NAME] [-o human|yaml|json]`: runs each
//! Warehouse's discovery for real (registries, git remotes, chart repositories) and prints what
//! every subscription found and the Freight the Warehouse would make of it.
//!
//! Nothing is created: the command is offline in the sense that it needs no gantry server. It
//! keeps what it learns under the data dir (`discovery/<namespace>/<warehouse>.json`, the
//! registry metadata cache, git mirrors), so a repeat run costs one tag list per image
//! repository and one `git ls-remote` per git subscription when nothing moved.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use gantry_api::diagnostic::Severity;
use gantry_api::kargo::{
    ChartDiscoveryResult, DiscoveredArtifacts, Freight, GitDiscoveryResult, ImageDiscoveryResult,
    Subscription, Warehouse,
};
use gantry_api::resource::Object;
use gantry_api::time::format_rfc3339;
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::credentials::{CredentialStore, CredentialType};
use gantry_core::warehouse::{CreationDecision, build_freight, creation_decision, set_alias};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cli::{DiscoverFormat, WarehouseDiscoverArgs};
use crate::commands::ExitStatus;
use crate::commands::task::run::{credentials, data_dir};
use crate::output;

/// What a previous run saw, per subscription, so git can short-circuit.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    subscriptions: Vec<SavedSubscription>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedSubscription {
    /// SHA-1 of the subscription's JSON: a changed subscription never reuses old results.
    fingerprint: String,
    #[serde(default)]
    git: Option<GitDiscoveryResult>,
}

fn fingerprint(subscription: &Subscription) -> String {
    let mut value = serde_json::to_value(subscription).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        for (key, config) in &subscription.other {
            map.insert(key.clone(), config.clone());
        }
    }
    sha1_smol::Sha1::from(value.to_string())
        .digest()
        .to_string()
}

/// One subscription's outcome.
enum Found {
    Git(GitDiscoveryResult, String),
    Image(ImageDiscoveryResult, String),
    Chart(ChartDiscoveryResult, String),
}

/// The discovery services: git, registries, chart repositories.
struct Discoverers {
    git: gantry_git::Git,
    registry: crate::commands::warehouse::registry::Images,
}

pub(crate) fn run(args: &WarehouseDiscoverArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let set = ResourceSet::load_paths(
        &args.files,
        LoadOptions {
            default_namespace: args.namespace.clone(),
        },
    );
    let report = gantry_core::lint::validate(&set);
    if report.has_errors() {
        for diagnostic in report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            write!(err, "{}", output::human(diagnostic, color))?;
        }
        writeln!(
            err,
            "error: the manifests have {} error(s); fix them (see `gantry validate`) before discovering",
            report.count(Severity::Error)
        )?;
        return Ok(ExitStatus::Failure);
    }
    let warehouses: Vec<(&str, &str, &Warehouse)> = set
        .resources
        .iter()
        .filter_map(|r| match &r.object {
            Object::Warehouse(w) => Some((
                r.namespace.as_deref().unwrap_or_default(),
                r.name.as_str(),
                w,
            )),
            _ => None,
        })
        .filter(|(_, name, _)| args.warehouse.as_deref().is_none_or(|w| w == *name))
        .collect();
    if warehouses.is_empty() {
        match &args.warehouse {
            Some(name) => writeln!(err, "error: no Warehouse named {name:?} in the files")?,
            None => writeln!(err, "error: the files hold no Warehouse")?,
        }
        return Ok(ExitStatus::Failure);
    }
    let creds = credentials(&set, &mut err)?;
    let data_dir = data_dir(args.data_dir.as_deref());
    let discoverers = Discoverers {
        git: gantry_git::Git::new(gantry_git::GitOptions::new(data_dir.clone()))
            .context("preparing the git data directory")?,
        registry: crate::commands::warehouse::registry::Images::new(
            &data_dir,
            args.registry_rate_limit,
        )?,
    };

    let mut reports = Vec::new();
    let mut failed = false;
    for (namespace, name, warehouse) in warehouses {
        let known_aliases: BTreeSet<String> = set
            .resources
            .iter()
            .filter(|r| r.namespace.as_deref() == Some(namespace))
            .filter_map(|r| match &r.object {
                Object::Freight(f) => f.alias.clone(),
                _ => None,
            })
            .collect();
        let known_freight: BTreeSet<&str> = set
            .resources
            .iter()
            .filter(|r| {
                r.namespace.as_deref() == Some(namespace) && matches!(r.object, Object::Freight(_))
            })
            .map(|r| r.name.as_str())
            .collect();
        let report = discover_warehouse(
            &discoverers,
            &creds,
            &data_dir,
            namespace,
            name,
            warehouse,
            &known_aliases,
            &known_freight,
            &mut err,
        )?;
        failed |= !report.errors.is_empty();
        reports.push(report);
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        DiscoverFormat::Human => {
            for report in &reports {
                write_human(&mut out, report)?;
            }
        }
        DiscoverFormat::Json => {
            let all: Vec<serde_json::Value> = reports.iter().map(Report::to_json).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
        }
        DiscoverFormat::Yaml => {
            for (i, report) in reports.iter().enumerate() {
                if i > 0 {
                    writeln!(out, "---")?;
                }
                write!(out, "{}", gantry_api::emit::to_yaml(&report.to_json()))?;
            }
        }
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Everything one Warehouse's discovery produced.
struct Report {
    namespace: String,
    name: String,
    discovered: DiscoveredArtifacts,
    /// Per subscription (repoURL, message).
    errors: Vec<(String, String)>,
    /// Per subscription: repoURL, what happened (`short-circuited`, request counts...).
    notes: Vec<(String, String)>,
    freight: Option<Freight>,
    /// Why no Freight, or what would happen to it.
    verdict: String,
    elapsed_ms: u128,
}

impl Report {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "warehouse": self.name,
            "namespace": self.namespace,
            "discoveredArtifacts": self.discovered,
            "errors": self.errors.iter().map(|(repo, message)| json!({"repoURL": repo, "message": message})).collect::<Vec<_>>(),
            "notes": self.notes.iter().map(|(repo, note)| json!({"repoURL": repo, "note": note})).collect::<Vec<_>>(),
            "freight": self.freight,
            "verdict": self.verdict,
            "elapsedMs": u64::try_from(self.elapsed_ms).unwrap_or(u64::MAX),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn discover_warehouse(
    discoverers: &Discoverers,
    creds: &CredentialStore,
    data_dir: &Path,
    namespace: &str,
    name: &str,
    warehouse: &Warehouse,
    known_aliases: &BTreeSet<String>,
    known_freight: &BTreeSet<&str>,
    err: &mut dyn Write,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let state_path = state_path(data_dir, namespace, name);
    let saved: Saved = fs_err::read_to_string(&state_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let mut next = Saved::default();
    let mut discovered = DiscoveredArtifacts::default();
    let mut errors = Vec::new();
    let mut notes = Vec::new();

    for subscription in &warehouse.spec.subscriptions {
        let print = fingerprint(subscription);
        let previous_git = saved
            .subscriptions
            .iter()
            .find(|s| s.fingerprint == print)
            .and_then(|s| s.git.as_ref());
        let repo = subscription_repo(subscription);
        writeln!(err, "discovering {repo} ...")?;
        match discover_one(discoverers, creds, subscription, previous_git) {
            Ok(Found::Git(result, note)) => {
                next.subscriptions.push(SavedSubscription {
                    fingerprint: print,
                    git: Some(result.clone()),
                });
                notes.push((repo, note));
                discovered.git.push(result);
            }
            Ok(Found::Image(result, note)) => {
                notes.push((repo, note));
                discovered.images.push(result);
            }
            Ok(Found::Chart(result, note)) => {
                notes.push((repo, note));
                discovered.charts.push(result);
            }
            Err(message) => errors.push((repo, message)),
        }
    }
    discovered.discovered_at = Some(format_rfc3339(SystemTime::now()));
    if let Some(parent) = state_path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let tmp = state_path.with_extension("json.tmp");
    fs_err::write(&tmp, serde_json::to_vec_pretty(&next)?)?;
    fs_err::rename(&tmp, &state_path)?;

    let (freight, verdict) = if errors.is_empty() {
        match build_freight(warehouse, &discovered) {
            Ok(mut freight) => {
                let id = freight.metadata.name.clone().unwrap_or_default();
                if let Some(alias) =
                    gantry_core::alias::generate(&id, |a| known_aliases.contains(a))
                {
                    set_alias(&mut freight, &alias);
                }
                let verdict = if known_freight.contains(id.as_str()) {
                    "exists: a Freight with this id is among the manifests".to_owned()
                } else {
                    match creation_decision(warehouse, &freight) {
                        Ok(CreationDecision::Create) => "would be created".to_owned(),
                        Ok(CreationDecision::Manual) => {
                            "not created: freightCreationPolicy is Manual".to_owned()
                        }
                        Ok(CreationDecision::CriteriaNotMet { expression }) => {
                            format!("not created: freightCreationCriteria `{expression}` is false")
                        }
                        Err(error) => {
                            errors.push((String::new(), error.to_string()));
                            format!("not created: {error}")
                        }
                    }
                };
                (Some(freight), verdict)
            }
            Err(error) => (None, format!("no freight ({}): {error}", error.reason())),
        }
    } else {
        (
            None,
            "no freight: discovery failed for some subscriptions".to_owned(),
        )
    };
    Ok(Report {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        discovered,
        errors,
        notes,
        freight,
        verdict,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

fn state_path(data_dir: &Path, namespace: &str, name: &str) -> PathBuf {
    data_dir
        .join("discovery")
        .join(namespace)
        .join(format!("{name}.json"))
}

fn subscription_repo(subscription: &Subscription) -> String {
    if let Some(image) = &subscription.image {
        return image.repo_url.clone();
    }
    if let Some(git) = &subscription.git {
        return gantry_api::redact::url(&git.repo_url);
    }
    if let Some(chart) = &subscription.chart {
        return match &chart.name {
            Some(name) if !name.is_empty() => format!("{} {name}", chart.repo_url),
            _ => chart.repo_url.clone(),
        };
    }
    subscription
        .other
        .first()
        .map(|(kind, _)| format!("<{kind} subscription>"))
        .unwrap_or_default()
}

fn discover_one(
    discoverers: &Discoverers,
    creds: &CredentialStore,
    subscription: &Subscription,
    previous_git: Option<&GitDiscoveryResult>,
) -> Result<Found, String> {
    let name = subscription.name.as_deref();
    if let Some(git) = &subscription.git {
        let credentials = creds
            .lookup(CredentialType::Git, &git.repo_url)
            .map(|c| gantry_git::Credentials::new(c.username.clone(), c.password.expose()));
        let found = discoverers
            .git
            .discover(git, name, credentials.as_ref(), previous_git)
            .map_err(|e| e.to_string())?;
        let stats = &found.stats;
        let note = if stats.short_circuited {
            format!(
                "refs unchanged: 1 ls-remote, no fetch ({} ms)",
                stats.elapsed.as_millis()
            )
        } else {
            format!(
                "1 ls-remote, fetched, {} commits and {} tags read ({} ms)",
                stats.commits_read,
                stats.tags_read,
                stats.elapsed.as_millis()
            )
        };
        return Ok(Found::Git(found.result, note));
    }
    if let Some(image) = &subscription.image {
        let (result, note) = discoverers.registry.images(image, name, creds)?;
        return Ok(Found::Image(result, note));
    }
    if let Some(chart) = &subscription.chart {
        let (result, note) = discoverers.registry.charts(chart, name, creds)?;
        return Ok(Found::Chart(result, note));
    }
    Err("generic subscriptions are not discovered by gantry (only image, git and chart)".to_owned())
}

fn write_human(out: &mut dyn Write, report: &Report) -> anyhow::Result<()> {
    writeln!(out, "Warehouse {}/{}", report.namespace, report.name)?;
    let note_for = |repo: &str| {
        report
            .notes
            .iter()
            .find(|(r, _)| r == repo)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    for result in &report.discovered.images {
        let label =
            subscription_label("image", &result.repo_url, result.subscription_name.as_ref());
        writeln!(out, "  {label}  [{}]", note_for(&result.repo_url))?;
        for reference in result.references.iter().take(5) {
            writeln!(
                out,
                "    {:<24} {}  {}",
                reference.tag,
                reference.digest,
                reference.created_at.as_deref().unwrap_or("-")
            )?;
        }
        more(out, result.references.len())?;
    }
    for result in &report.discovered.git {
        let repo = gantry_api::redact::url(&result.repo_url);
        let label = subscription_label("git", &repo, result.subscription_name.as_ref());
        writeln!(out, "  {label}  [{}]", note_for(&repo))?;
        for commit in result.commits.iter().take(5) {
            let short: String = commit.id.chars().take(12).collect();
            let at = commit
                .tag
                .as_deref()
                .or(commit.branch.as_deref())
                .unwrap_or("-");
            writeln!(
                out,
                "    {short}  {at:<20} {}",
                commit.subject.as_deref().unwrap_or_default()
            )?;
        }
        more(out, result.commits.len())?;
    }
    for result in &report.discovered.charts {
        let repo = match &result.name {
            Some(name) if !name.is_empty() => format!("{} {name}", result.repo_url),
            _ => result.repo_url.clone(),
        };
        let label = subscription_label("chart", &repo, result.subscription_name.as_ref());
        writeln!(out, "  {label}  [{}]", note_for(&repo))?;
        for version in result.versions.iter().take(5) {
            writeln!(out, "    {version}")?;
        }
        more(out, result.versions.len())?;
    }
    for (repo, message) in &report.errors {
        if repo.is_empty() {
            writeln!(out, "  error: {message}")?;
        } else {
            writeln!(out, "  error: {repo}: {message}")?;
        }
    }
    match &report.freight {
        Some(freight) => {
            writeln!(
                out,
                "  Freight {} ({}): {}",
                freight.metadata.name.as_deref().unwrap_or_default(),
                freight.alias.as_deref().unwrap_or("-"),
                report.verdict
            )?;
            for image in &freight.images {
                writeln!(
                    out,
                    "    image  {}:{}@{}",
                    image.repo_url,
                    image.tag.as_deref().unwrap_or_default(),
                    image.digest.as_deref().unwrap_or_default()
                )?;
            }
            for commit in &freight.commits {
                writeln!(
                    out,
                    "    commit {} {}",
                    gantry_api::redact::url(&commit.repo_url),
                    commit.id
                )?;
            }
            for chart in &freight.charts {
                writeln!(
                    out,
                    "    chart  {} {} {}",
                    chart.repo_url,
                    chart.name.as_deref().unwrap_or_default(),
                    chart.version
                )?;
            }
        }
        None => writeln!(out, "  {}", report.verdict)?,
    }
    writeln!(out, "  took {} ms", report.elapsed_ms)?;
    Ok(())
}

fn subscription_label(kind: &str, repo: &str, name: Option<&String>) -> String {
    match name {
        Some(name) => format!("{kind} {repo} ({name})"),
        None => format!("{kind} {repo}"),
    }
}

fn more(out: &mut dyn Write, total: usize) -> std::io::Result<()> {
    if total > 5 {
        writeln!(out, "    ... {} more", total - 5)?;
    }
    if total == 0 {
        writeln!(out, "    (nothing)")?;
    }
    Ok(())
}
