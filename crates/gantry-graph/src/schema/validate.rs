//! Checking and defaulting an instance against a compiled schema, as the API server would
//! before Kro sees it: defaults fill absent (or null) fields, recursively (so `default: {}` on a
//! struct brings its children's defaults); unknown fields are pruned unless the schema keeps
//! them (`x-kubernetes-preserve-unknown-fields`); then types, `required`, `enum`, bounds,
//! lengths, item counts, `pattern` and list-type `set` uniqueness are checked.
//!
//! Not covered: `x-kubernetes-validations` rules (CEL), `format`, and list-type `map` key
//! uniqueness.

use serde_json::{Map, Value};

/// One problem with an instance, at a dotted path (`spec.values.deployment.tag`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// Where, from the object root.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// What validation did besides finding errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Unknown fields that were removed.
    pub pruned: Vec<String>,
    /// Everything wrong.
    pub errors: Vec<ValidationError>,
}

/// Defaults, prunes and checks `value` (found at `path`) against `schema` in place.
pub fn validate(schema: &Value, value: &mut Value, path: &str) -> Outcome {
    let mut outcome = Outcome::default();
    walk(schema, value, path, &mut outcome);
    outcome
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "integer" => value.as_f64().is_some_and(|f| f.fract() == 0.0) && value.is_number(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    }
}

fn walk(schema: &Value, value: &mut Value, path: &str, out: &mut Outcome) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    let error = |out: &mut Outcome, message: String| {
        out.errors.push(ValidationError {
            path: path.to_owned(),
            message,
        });
    };
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !type_matches(expected, value)
    {
        error(
            out,
            format!("must be of type {expected}, found {}", json_type(value)),
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        error(
            out,
            format!(
                "unsupported value {value}: supported values: {}",
                list.join(", ")
            ),
        );
    }
    check_bounds(schema, value, path, out);
    match value {
        Value::Object(object) => walk_object(schema, object, path, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].contains(item) {
                        out.errors.push(ValidationError {
                            path: format!("{path}[{i}]"),
                            message: format!("duplicate value {item}"),
                        });
                    }
                }
            }
        }
        _ => {}
    }
}

fn check_bounds(schema: &Map<String, Value>, value: &Value, path: &str, out: &mut Outcome) {
    let mut fail = |message: String| {
        out.errors.push(ValidationError {
            path: path.to_owned(),
            message,
        });
    };
    let limit = |key: &str| schema.get(key).and_then(Value::as_f64);
    if let Some(n) = value.as_f64() {
        if let Some(min) = limit("minimum")
            && n < min
        {
            fail(format!(
                "must be greater than or equal to {}",
                schema["minimum"]
            ));
        }
        if let Some(max) = limit("maximum")
            && n > max
        {
            fail(format!(
                "must be less than or equal to {}",
                schema["maximum"]
            ));
        }
    }
    if let Some(text) = value.as_str() {
        let length = f64::from(u32::try_from(text.chars().count()).unwrap_or(u32::MAX));
        if let Some(min) = limit("minLength")
            && length < min
        {
            fail(format!(
                "must be at least {} characters long",
                schema["minLength"]
            ));
        }
        if let Some(max) = limit("maxLength")
            && length > max
        {
            fail(format!(
                "may not be more than {} characters long",
                schema["maxLength"]
            ));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && let Ok(regex) = regex::Regex::new(pattern)
            && !regex.is_match(text)
        {
            fail(format!("must match the pattern {pattern:?}"));
        }
    }
    if let Some(items) = value.as_array() {
        let count = f64::from(u32::try_from(items.len()).unwrap_or(u32::MAX));
        if let Some(min) = limit("minItems")
            && count < min
        {
            fail(format!("must have at least {} items", schema["minItems"]));
        }
        if let Some(max) = limit("maxItems")
            && count > max
        {
            fail(format!("must have at most {} items", schema["maxItems"]));
        }
    }
}

fn walk_object(
    schema: &Map<String, Value>,
    object: &mut Map<String, Value>,
    path: &str,
    out: &mut Outcome,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(properties) = properties {
        for (name, property) in properties {
            let absent = object.get(name).is_none_or(Value::is_null);
            if absent && let Some(default) = property.get("default") {
                object.insert(name.clone(), default.clone());
            }
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if object.get(name).is_none_or(Value::is_null) {
                out.errors.push(ValidationError {
                    path: join(path, name),
                    message: "required value".to_owned(),
                });
            }
        }
    }
    let names: Vec<String> = object.keys().cloned().collect();
    for name in names {
        let child_path = join(path, &name);
        let property = properties.and_then(|p| p.get(&name)).or(additional);
        match property {
            Some(property) => {
                if let Some(child) = object.get_mut(&name)
                    && !(child.is_null() && property.get("default").is_none())
                {
                    walk(property, child, &child_path, out);
                }
            }
            None if preserve => {}
            None => {
                object.remove(&name);
                out.pruned.push(child_path);
            }
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "values": {
                    "type": "object",
                    "default": {},
                    "properties": {
                        "deployment": {
                            "type": "object",
                            "default": {},
                            "properties": {
                                "tag": {"type": "string", "default": "latest"},
                                "replicas": {"type": "integer", "default": 1, "minimum": 1, "maximum": 5}
                            }
                        }
                    }
                },
                "name": {"type": "string", "minLength": 2, "pattern": "^[a-z-]+$"},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            },
            "required": ["name"]
        })
    }

    #[test]
    fn defaults_materialise_through_empty_objects() {
        let mut spec = json!({"name": "web", "extra": {"anything": [1]}, "stray": 1});
        let outcome = validate(&schema(), &mut spec, "spec");
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(outcome.pruned, ["spec.stray"]);
        assert_eq!(
            spec,
            json!({"name": "web", "extra": {"anything": [1]},
                   "values": {"deployment": {"tag": "latest", "replicas": 1}}})
        );
    }

    #[test]
    fn violations_are_reported_with_paths() {
        let mut spec = json!({
            "name": "X",
            "mode": "c",
            "tags": ["a", "a"],
            "values": {"deployment": {"replicas": 9, "tag": 3}}
        });
        let outcome = validate(&schema(), &mut spec, "spec");
        let messages: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "spec.name: must be at least 2 characters long",
                "spec.name: must match the pattern \"^[a-z-]+$\"",
                "spec.mode: unsupported value \"c\": supported values: \"a\", \"b\"",
                "spec.tags[1]: duplicate value \"a\"",
                "spec.values.deployment.replicas: must be less than or equal to 5",
                "spec.values.deployment.tag: must be of type string, found integer",
            ]
        );
        let mut empty = json!({});
        let outcome = validate(&schema(), &mut empty, "spec");
        assert_eq!(outcome.errors[0].to_string(), "spec.name: required value");
    }
}
