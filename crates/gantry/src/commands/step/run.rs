//! `gantry step run KIND --dir DIR --config FILE [--freight FILE]`: one step, with DIR as its
//! work dir; prints the step's output object as JSON.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, bail};
use gantry_api::kargo::Freight;
use gantry_core::credentials::CredentialStore;
use gantry_engine::{PromotionContext, PromotionData, StepRequest, StepRunner, StepStatus};
use gantry_steps::registry::{RecordedMetadata, Registry, Services};
use gantry_steps::workdir::WorkDir;

use crate::cli::StepRunArgs;
use crate::commands::ExitStatus;

/// The built-in steps wired to real git under `data_dir` and the given work dir.
pub(crate) fn build_registry(
    data_dir: &Path,
    work_dir: &Path,
    credentials: CredentialStore,
    dry_run: bool,
    skip: Vec<String>,
) -> anyhow::Result<Registry> {
    let git = gantry_git::Git::new(gantry_git::GitOptions::new(data_dir.to_path_buf()))
        .context("setting up git")?;
    let work_dir = WorkDir::open_or_create(work_dir)
        .with_context(|| format!("preparing the work dir {}", work_dir.display()))?;
    Ok(Registry::builtin(Services {
        git: Arc::new(git),
        credentials: Arc::new(credentials),
        work_dir,
        metadata: Arc::new(RecordedMetadata::default()),
        dry_run,
        skip,
    }))
}

/// Freight from a file: Freight documents (YAML or JSON, several allowed) or a Freight collection
/// `{"items": {"Warehouse/<name>": {...}}}`.
pub(crate) fn load_freight_file(path: &Path) -> anyhow::Result<Vec<Freight>> {
    let text = fs_err::read_to_string(path)?;
    let (documents, error) = gantry_api::yaml::parse_stream(&text);
    if let Some(error) = error {
        let line = text[..error.span.start.min(text.len())]
            .matches('\n')
            .count()
            + 1;
        bail!("{}:{line}: {}", path.display(), error.message);
    }
    let mut out = Vec::new();
    for document in documents {
        let json = document.root.to_json();
        if let Some(items) = json.get("items").and_then(|i| i.as_object()) {
            for (key, item) in items {
                let mut freight: Freight = parse_freight(item.clone(), path, key)?;
                if let Some(name) = key
                    .strip_prefix("Warehouse/")
                    .filter(|_| freight.origin.name.is_empty())
                {
                    "Warehouse".clone_into(&mut freight.origin.kind);
                    name.clone_into(&mut freight.origin.name);
                }
                out.push(freight);
            }
        } else if !json.is_null() {
            out.push(parse_freight(json, path, "document")?);
        }
    }
    if out.is_empty() {
        bail!("{} holds no Freight", path.display());
    }
    Ok(out)
}

fn parse_freight(mut json: serde_json::Value, path: &Path, at: &str) -> anyhow::Result<Freight> {
    if let Some(object) = json.as_object_mut() {
        object
            .entry("apiVersion")
            .or_insert_with(|| "kargo.akuity.io/v1alpha1".into());
        object.entry("kind").or_insert_with(|| "Freight".into());
        let origin = object
            .entry("origin")
            .or_insert_with(|| serde_json::json!({"kind": "Warehouse", "name": ""}));
        if let Some(origin) = origin.as_object_mut() {
            origin.entry("kind").or_insert_with(|| "Warehouse".into());
        }
    }
    let mut freight: Freight = serde_path_to_error::deserialize(json)
        .map_err(|e| anyhow::anyhow!("{} ({at}): {}: {}", path.display(), e.path(), e.inner()))?;
    if freight.metadata.name.as_deref().is_none_or(str::is_empty) {
        freight.metadata.name = Some(gantry_core::freight::freight_id(&freight));
    }
    Ok(freight)
}

pub(crate) fn run(args: &StepRunArgs) -> anyhow::Result<ExitStatus> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let text = fs_err::read_to_string(&args.config)?;
    let (documents, error) = gantry_api::yaml::parse_stream(&text);
    if let Some(error) = error {
        let line = text[..error.span.start.min(text.len())]
            .matches('\n')
            .count()
            + 1;
        writeln!(
            err,
            "error: {}:{line}: {}",
            args.config.display(),
            error.message
        )?;
        return Ok(ExitStatus::Failure);
    }
    let config = documents
        .first()
        .map_or(serde_json::Value::Null, |d| d.root.to_json());
    let mut data = PromotionData::default();
    if let Some(path) = &args.freight {
        data.freight = load_freight_file(path)?;
    }
    let data_dir = crate::commands::task::run::data_dir(args.data_dir.as_deref());
    if !args.dir.is_dir() {
        writeln!(
            err,
            "error: --dir {} is not a directory",
            args.dir.display()
        )?;
        return Ok(ExitStatus::Failure);
    }
    let registry = build_registry(
        &data_dir,
        &args.dir,
        CredentialStore::default(),
        false,
        Vec::new(),
    )?;
    if registry.info(&args.kind).is_none() {
        writeln!(err, "error: unknown step kind {:?}", args.kind)?;
        let kinds: Vec<&str> = registry.kinds().collect();
        if let Some(similar) = gantry_api::suggest::similar(&args.kind, kinds.iter().copied()) {
            writeln!(err, "hint: did you mean {similar:?}?")?;
        } else {
            writeln!(err, "hint: steps: {}", kinds.join(", "))?;
        }
        return Ok(ExitStatus::Failure);
    }
    let context = PromotionContext {
        project: "default".to_owned(),
        stage: "local".to_owned(),
        promotion: "local".to_owned(),
        ..PromotionContext::default()
    };
    let request = StepRequest {
        kind: &args.kind,
        alias: "step-1",
        config,
        context: &context,
        data: &data,
        started_at: SystemTime::now(),
        error_count: 0,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match registry.run(&request) {
        Ok(result) => {
            writeln!(out, "{}", serde_json::to_string_pretty(&result.output)?)?;
            match result.status {
                StepStatus::Succeeded | StepStatus::Skipped => Ok(ExitStatus::Success),
                StepStatus::Running => {
                    writeln!(
                        err,
                        "step is still running: {}",
                        result.message.unwrap_or_default()
                    )?;
                    Ok(ExitStatus::Failure)
                }
                other => {
                    writeln!(
                        err,
                        "error: step {other}: {}",
                        result.message.unwrap_or_default()
                    )?;
                    Ok(ExitStatus::Failure)
                }
            }
        }
        Err(error) => {
            if !error.output.is_empty() {
                writeln!(out, "{}", serde_json::to_string_pretty(&error.output)?)?;
            }
            writeln!(
                err,
                "error: {} step {}: {}",
                args.kind,
                error.status.as_str().to_lowercase(),
                error.message
            )?;
            Ok(ExitStatus::Failure)
        }
    }
}
