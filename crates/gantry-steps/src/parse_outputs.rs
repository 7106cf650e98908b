//! What `yaml-parse`, `json-parse` and `toml-parse` share: each named output is an expression
//! evaluated with the parsed document as its environment (top-level keys are variables, so
//! `fromExpression: spec.values.deployment.tag` reads that field).

use gantry_engine::{StepError, StepResult};
use gantry_expr::{Expression, Value};
use serde::Deserialize;

use crate::registry::StepContext;

/// The config the three parse steps share.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParseConfig {
    pub(crate) path: String,
    pub(crate) outputs: Vec<OutputSpec>,
}

/// One named output.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OutputSpec {
    pub(crate) name: String,
    pub(crate) from_expression: String,
}

/// Reads the file at `config.path`, parses it with `parse` and evaluates the outputs.
pub(crate) fn run(
    context: &StepContext<'_>,
    format: &str,
    parse: impl Fn(&str) -> Result<serde_json::Value, String>,
) -> Result<StepResult, StepError> {
    let config: ParseConfig = context.config()?;
    let path = context.path(&config.path)?;
    let text = fs_err::read_to_string(&path).map_err(|e| {
        StepError::failed(format!("failed to read {}: {}", config.path, io_reason(&e)))
    })?;
    if text.trim().is_empty() {
        return Err(StepError::failed(format!("{} is empty", config.path)));
    }
    let document = parse(&text)
        .map_err(|e| StepError::failed(format!("{} is not valid {format}: {e}", config.path)))?;
    let env = Value::from_json(&document);
    let mut output = serde_json::Map::new();
    for spec in &config.outputs {
        let value = Expression::compile(&spec.from_expression)
            .and_then(|expression| expression.eval(&env, context.request.data))
            .map_err(|e| {
                StepError::failed(format!(
                    "output {:?}: fromExpression {:?}: {}",
                    spec.name, spec.from_expression, e.message
                ))
            })?;
        let json = value
            .to_json()
            .map_err(|e| StepError::failed(format!("output {:?}: {e}", spec.name)))?;
        output.insert(spec.name.clone(), json);
    }
    Ok(StepResult::succeeded(output))
}

/// The reason of an I/O error without the path (the caller names the config path instead).
pub(crate) fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        kind => kind.to_string(),
    }
}
