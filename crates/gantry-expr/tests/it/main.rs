//! Integration tests of the expression crate.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod errors;
mod kargo;
mod lang;
mod props;
mod templates;

use gantry_expr::{Expression, NoHost, Value};

/// A JSON environment.
pub(crate) fn env(json: &str) -> Value {
    Value::from_json(&serde_json::from_str(json).unwrap())
}

pub(crate) fn default_env() -> Value {
    env(r#"{
        "vars": {"imageRepo": "ghcr.io/acme/shop", "replicas": 3, "ratio": 0.25, "tags": ["1.9.0", "1.10.0", "1.10.1-rc.1"],
                 "people": [{"name": "ana", "age": 41}, {"name": "bo", "age": 17}, {"name": "cy", "age": 29}],
                 "labels": {"team": "payments", "tier": "backend"}, "empty": [], "nothing": null, "flag": true},
        "ctx": {"project": "shop", "stage": "uat"},
        "outputs": {"update-image": {"commit": "0a1b2c3"}}
    }"#)
}

/// Evaluates a bare expression in the default env: the Go JSON of the value, or `error: ...`.
pub(crate) fn run(source: &str) -> String {
    let expression = match Expression::compile(source) {
        Ok(e) => e,
        Err(e) => return format!("error: {}", e.message),
    };
    match expression.eval(&default_env(), &NoHost) {
        Ok(value) => value.to_go_json().unwrap_or_else(|e| format!("error: {e}")),
        Err(e) => format!("error: {}", e.message),
    }
}

/// Asserts a table of (expression, expected) pairs, reporting every mismatch at once.
pub(crate) fn check(cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(source, want)| {
            let got = run(source);
            let ok = if let Some(prefix) = want.strip_prefix("error~") {
                got.starts_with("error: ") && got.contains(prefix)
            } else {
                got == *want
            };
            (!ok).then(|| format!("{source}\n    want {want}\n    got  {got}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
