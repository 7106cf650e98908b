//! `gantry expr eval [--env FILE] TEMPLATE` and `gantry expr eval --raw EXPR`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use gantry_api::source::SourceFile;
use gantry_api::yaml;
use gantry_expr::{Expression, NoHost, Template, Value, check_env};

use crate::cli::ExprEvalArgs;
use crate::commands::ExitStatus;
use crate::output;

pub(crate) fn run(args: &ExprEvalArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let env = match &args.env {
        Some(path) => match load_env(path) {
            Ok(env) => env,
            Err(message) => {
                writeln!(err, "error: {message}")?;
                return Ok(ExitStatus::Failure);
            }
        },
        None => Value::map(std::collections::BTreeMap::new()),
    };
    let (name, source, result) = match (&args.raw, &args.template) {
        (Some(raw), _) => (
            "<expression>",
            raw.as_str(),
            Expression::compile(raw).and_then(|e| e.eval(&env, &NoHost)),
        ),
        (None, Some(template)) => (
            "<template>",
            template.as_str(),
            Template::compile(template).and_then(|t| t.render(&env, &NoHost)),
        ),
        (None, None) => anyhow::bail!("nothing to evaluate: give a TEMPLATE or --raw EXPR"),
    };
    match result {
        Ok(value) => match value.to_go_json_indent("  ") {
            Ok(json) => {
                writeln!(out, "{json}").context("writing the value")?;
                Ok(ExitStatus::Success)
            }
            Err(message) => {
                writeln!(err, "error: the value cannot be encoded as JSON: {message}")?;
                Ok(ExitStatus::Failure)
            }
        },
        Err(error) => {
            let help = error.help.clone();
            write!(
                err,
                "{}",
                output::snippet(
                    name,
                    source,
                    error.span.start..error.span.end,
                    &error.message,
                    help.as_deref(),
                    color
                )
            )?;
            Ok(ExitStatus::Failure)
        }
    }
}

/// Reads the environment: a JSON or YAML mapping, without the reserved keys.
fn load_env(path: &Path) -> Result<Value, String> {
    let shown = path.display();
    let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
    let file = SourceFile::new(path, shown.to_string(), text);
    let (documents, error) = yaml::parse_stream(file.text());
    if let Some(error) = error {
        let (line, column) = file.line_col(error.span.start);
        return Err(format!("{shown}:{line}:{column}: {}", error.message));
    }
    let [document] = documents.as_slice() else {
        return Err(format!(
            "{shown}: expected one YAML or JSON document, found {}",
            documents.len()
        ));
    };
    let json = document.root.to_json();
    if !json.is_object() {
        let (line, column) = file.line_col(document.root.span.start);
        return Err(format!(
            "{shown}:{line}:{column}: the environment must be a mapping such as `vars: {{name: value}}`, found {}",
            document.root.type_name()
        ));
    }
    let env = Value::from_json(&json);
    check_env(&env).map_err(|message| format!("{shown}: {message}"))?;
    Ok(env)
}
