//! The markers part of a SimpleSchema field (after `|`): whitespace-separated `key=value`
//! pairs, values optionally `"quoted"` (backslash escapes `\"` and `\\`; other escapes are kept
//! as written) or holding balanced `{}`/`[]`, and how each marker changes the OpenAPI schema.

use serde_json::{Map, Value, json};

/// Every marker Kro knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerKey {
    /// `required=true`: the field is listed in its parent's `required`.
    Required,
    /// `default=v`.
    Default,
    /// `description="..."`.
    Description,
    /// `minimum=n`.
    Minimum,
    /// `maximum=n`.
    Maximum,
    /// `enum="a,b"` (strings and integers).
    Enum,
    /// `immutable=true`: a `self == oldSelf` validation rule.
    Immutable,
    /// `validation="<CEL>"`: an `x-kubernetes-validations` rule.
    Validation,
    /// `pattern="re"` (strings).
    Pattern,
    /// `minLength=n` (strings).
    MinLength,
    /// `maxLength=n` (strings).
    MaxLength,
    /// `uniqueItems=true` (arrays): `x-kubernetes-list-type: set`.
    UniqueItems,
    /// `minItems=n` (arrays).
    MinItems,
    /// `maxItems=n` (arrays).
    MaxItems,
    /// `listType=atomic|set|map` (arrays).
    ListType,
    /// `listMapKey=f` (arrays with `listType=map`; repeatable).
    ListMapKey,
}

impl MarkerKey {
    fn from_name(name: &str) -> Option<MarkerKey> {
        Some(match name {
            "required" => MarkerKey::Required,
            "default" => MarkerKey::Default,
            "description" => MarkerKey::Description,
            "minimum" => MarkerKey::Minimum,
            "maximum" => MarkerKey::Maximum,
            "enum" => MarkerKey::Enum,
            "immutable" => MarkerKey::Immutable,
            "validation" => MarkerKey::Validation,
            "pattern" => MarkerKey::Pattern,
            "minLength" => MarkerKey::MinLength,
            "maxLength" => MarkerKey::MaxLength,
            "uniqueItems" => MarkerKey::UniqueItems,
            "minItems" => MarkerKey::MinItems,
            "maxItems" => MarkerKey::MaxItems,
            "listType" => MarkerKey::ListType,
            "listMapKey" => MarkerKey::ListMapKey,
            _ => return None,
        })
    }
}

/// One `key=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Which marker.
    pub key: MarkerKey,
    /// The value, unquoted and unescaped.
    pub value: String,
}

/// Why markers do not parse or do not apply. Messages follow Kro's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    /// `=value` with no key.
    #[error("empty marker key")]
    EmptyKey,
    /// A key Kro does not know.
    #[error("invalid marker key {0:?}: unknown marker: {0}")]
    UnknownKey(String),
    /// Text without `=`.
    #[error("marker key '{0}' without a value")]
    MissingValue(String),
    /// An odd number of unescaped `"`.
    #[error("unclosed quote")]
    UnclosedQuote,
    /// More `{`/`[` than `}`/`]`.
    #[error("unclosed bracket/brace")]
    UnclosedBracket,
    /// A `}`/`]` without its opening.
    #[error("unmatched closing bracket/brace")]
    UnmatchedBracket,
    /// A value of the wrong shape for its marker (`required=maybe`).
    #[error("failed to parse {marker} marker value {value:?}: {expected}")]
    BadValue {
        /// The marker.
        marker: &'static str,
        /// What was written.
        value: String,
        /// What is expected.
        expected: &'static str,
    },
    /// A marker used on a type it does not apply to.
    #[error("{marker} marker is only valid for {expected} types, got type: {actual}")]
    WrongType {
        /// The marker.
        marker: &'static str,
        /// The kind of type it needs.
        expected: &'static str,
        /// The field's type.
        actual: String,
    },
    /// `enum=""` or `enum="a,,b"`.
    #[error("empty enum values are not allowed")]
    EmptyEnumValue,
    /// `enum` on a type other than string or integer.
    #[error("enum values only supported for string and integer types, got type: {0}")]
    EnumType(String),
    /// `pattern=""` or `validation=""`.
    #[error("{0} marker value cannot be empty")]
    Empty(&'static str),
    /// A pattern that does not compile.
    #[error("invalid pattern regex: {0}")]
    BadPattern(String),
    /// A default that does not fit the field's type.
    #[error("invalid default value {value:?} for type {kind}")]
    BadDefault {
        /// What was written.
        value: String,
        /// The field's type.
        kind: String,
    },
    /// Two markers that contradict each other.
    #[error("{0}")]
    Conflict(String),
}

/// Parses the text after `|`.
pub fn parse(text: &str) -> Result<Vec<Marker>, MarkerError> {
    let mut markers = Vec::new();
    let mut current: Option<MarkerKey> = None;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut brackets: i64 = 0;
    let mut buffer = String::new();
    for c in text.chars() {
        if c == '=' && current.is_none() && !in_quotes && brackets == 0 {
            let key = buffer.trim();
            if key.is_empty() {
                return Err(MarkerError::EmptyKey);
            }
            current = Some(
                MarkerKey::from_name(key).ok_or_else(|| MarkerError::UnknownKey(key.to_owned()))?,
            );
            buffer.clear();
        } else if c == '"' && !escaped {
            in_quotes = !in_quotes;
            buffer.push(c);
        } else if c == '\\' && in_quotes && !escaped {
            escaped = true;
            buffer.push(c);
        } else if matches!(c, '{' | '[') && !in_quotes {
            brackets += 1;
            buffer.push(c);
        } else if matches!(c, '}' | ']') && !in_quotes {
            brackets -= 1;
            buffer.push(c);
            if brackets < 0 {
                return Err(MarkerError::UnmatchedBracket);
            }
        } else if c.is_whitespace() && !in_quotes && brackets == 0 {
            if let Some(key) = current.take() {
                markers.push(Marker {
                    key,
                    value: process_value(&buffer),
                });
                buffer.clear();
            }
        } else {
            if escaped && in_quotes {
                escaped = false;
            }
            buffer.push(c);
        }
    }
    match current {
        Some(key) => markers.push(Marker {
            key,
            value: process_value(&buffer),
        }),
        // Trailing whitespace after the last marker is accepted (Kro's parser reports
        // `marker key '' without a value` there).
        None if buffer.is_empty() && !markers.is_empty() => {}
        None => return Err(MarkerError::MissingValue(buffer)),
    }
    if in_quotes {
        return Err(MarkerError::UnclosedQuote);
    }
    if brackets > 0 {
        return Err(MarkerError::UnclosedBracket);
    }
    Ok(markers)
}

fn process_value(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        let mut out = String::new();
        let mut escaped = false;
        for c in value[1..value.len() - 1].chars() {
            if escaped {
                if c != '"' && c != '\\' {
                    out.push('\\');
                }
                out.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else {
                out.push(c);
            }
        }
        return out;
    }
    value.trim().to_owned()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn boolean(marker: &'static str, value: &str) -> Result<bool, MarkerError> {
    parse_bool(value).ok_or_else(|| MarkerError::BadValue {
        marker,
        value: value.to_owned(),
        expected: "not a boolean",
    })
}

fn integer(marker: &'static str, value: &str) -> Result<i64, MarkerError> {
    value.parse().map_err(|_| MarkerError::BadValue {
        marker,
        value: value.to_owned(),
        expected: "not an integer",
    })
}

/// A float as JSON, written as an integer when it is one (as Go's encoder prints `1`, not
/// `1.0`).
pub(crate) fn number(f: f64) -> Value {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "only integral values within i64's range are converted"
    )]
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return json!(f as i64);
    }
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn schema_type(schema: &Map<String, Value>) -> String {
    schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn require_type(
    schema: &Map<String, Value>,
    marker: &'static str,
    wanted: &'static str,
) -> Result<(), MarkerError> {
    let actual = schema_type(schema);
    if actual == wanted {
        Ok(())
    } else {
        Err(MarkerError::WrongType {
            marker,
            expected: wanted,
            actual,
        })
    }
}

fn push_rule(schema: &mut Map<String, Value>, rule: &str, message: &str) {
    let rules = schema
        .entry("x-kubernetes-validations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(rules) = rules {
        rules.push(json!({"rule": rule, "message": message}));
    }
}

/// Applies one marker to `schema`; returns whether it made the field required.
pub fn apply(schema: &mut Map<String, Value>, marker: &Marker) -> Result<bool, MarkerError> {
    let value = marker.value.as_str();
    match marker.key {
        MarkerKey::Required => return boolean("required", value),
        MarkerKey::Default => {
            let kind = schema_type(schema);
            let bad = || MarkerError::BadDefault {
                value: value.to_owned(),
                kind: if kind.is_empty() {
                    "any".to_owned()
                } else {
                    kind.clone()
                },
            };
            let parsed = match kind.as_str() {
                "string" => Value::String(value.to_owned()),
                "integer" => json!(value.parse::<i64>().map_err(|_| bad())?),
                "number" => number(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .ok_or_else(bad)?,
                ),
                "boolean" => match value {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => return Err(bad()),
                },
                _ => serde_json::from_str(value).map_err(|_| bad())?,
            };
            schema.insert("default".to_owned(), parsed);
        }
        MarkerKey::Description => {
            schema.insert("description".to_owned(), Value::String(value.to_owned()));
        }
        MarkerKey::Minimum | MarkerKey::Maximum => {
            let name = if marker.key == MarkerKey::Minimum {
                "minimum"
            } else {
                "maximum"
            };
            let f = value
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| MarkerError::BadValue {
                    marker: name,
                    value: value.to_owned(),
                    expected: "not a number",
                })?;
            schema.insert(name.to_owned(), number(f));
        }
        MarkerKey::Enum => {
            let kind = schema_type(schema);
            let mut values = Vec::new();
            for item in value.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    return Err(MarkerError::EmptyEnumValue);
                }
                values.push(match kind.as_str() {
                    "string" => Value::String(item.to_owned()),
                    "integer" => json!(integer("integer enum", item)?),
                    _ => return Err(MarkerError::EnumType(kind)),
                });
            }
            schema.insert("enum".to_owned(), Value::Array(values));
        }
        MarkerKey::Immutable => {
            if boolean("immutable", value)? {
                push_rule(schema, "self == oldSelf", "field is immutable");
            }
        }
        MarkerKey::Validation => {
            if value.trim().is_empty() {
                return Err(MarkerError::Empty("validation"));
            }
            push_rule(schema, value, "validation failed");
        }
        MarkerKey::Pattern => {
            if value.is_empty() {
                return Err(MarkerError::Empty("pattern"));
            }
            require_type(schema, "pattern", "string")?;
            regex::Regex::new(value)
                .map_err(|e| MarkerError::BadPattern(first_line(&e.to_string())))?;
            schema.insert("pattern".to_owned(), Value::String(value.to_owned()));
        }
        MarkerKey::MinLength | MarkerKey::MaxLength => {
            let name = if marker.key == MarkerKey::MinLength {
                "minLength"
            } else {
                "maxLength"
            };
            require_type(schema, name, "string")?;
            schema.insert(name.to_owned(), json!(integer(name, value)?));
        }
        MarkerKey::MinItems | MarkerKey::MaxItems => {
            let name = if marker.key == MarkerKey::MinItems {
                "minItems"
            } else {
                "maxItems"
            };
            require_type(schema, name, "array")?;
            schema.insert(name.to_owned(), json!(integer(name, value)?));
        }
        MarkerKey::UniqueItems => {
            let unique = boolean("uniqueItems", value)?;
            require_type(schema, "uniqueItems", "array")?;
            if unique {
                set_list_type(schema, "set", "uniqueItems=true")?;
            }
        }
        MarkerKey::ListType => {
            require_type(schema, "listType", "array")?;
            if !matches!(value, "atomic" | "set" | "map") {
                return Err(MarkerError::BadValue {
                    marker: "listType",
                    value: value.to_owned(),
                    expected: "must be one of atomic, set, map",
                });
            }
            set_list_type(schema, value, &format!("listType={value}"))?;
        }
        MarkerKey::ListMapKey => {
            require_type(schema, "listMapKey", "array")?;
            if value.is_empty() {
                return Err(MarkerError::Empty("listMapKey"));
            }
            let keys = schema
                .entry("x-kubernetes-list-map-keys")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(keys) = keys {
                keys.push(Value::String(value.to_owned()));
            }
        }
    }
    Ok(false)
}

fn set_list_type(
    schema: &mut Map<String, Value>,
    list_type: &str,
    by: &str,
) -> Result<(), MarkerError> {
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some(existing) if existing != list_type => Err(MarkerError::Conflict(format!(
            "{by} conflicts with x-kubernetes-list-type {existing} set by an earlier marker"
        ))),
        _ => {
            schema.insert(
                "x-kubernetes-list-type".to_owned(),
                Value::String(list_type.to_owned()),
            );
            Ok(())
        }
    }
}

/// Checks that need every marker of a field: `listMapKey` needs `listType=map`, which needs a
/// key.
pub fn check_combinations(schema: &Map<String, Value>) -> Result<(), MarkerError> {
    let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
    let has_keys = schema.contains_key("x-kubernetes-list-map-keys");
    if has_keys && list_type != Some("map") {
        return Err(MarkerError::Conflict(
            "listMapKey marker requires listType=map".to_owned(),
        ));
    }
    if list_type == Some("map") && !has_keys {
        return Err(MarkerError::Conflict(
            "listType=map requires at least one listMapKey marker".to_owned(),
        ));
    }
    Ok(())
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or(text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(MarkerKey, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect()
    }

    #[test]
    fn values_may_be_quoted_escaped_or_bracketed() {
        assert_eq!(
            values(r#" required=true description="a \"b\" | c\n" default={"a": [1, 2]} "#),
            [
                (MarkerKey::Required, "true".into()),
                (MarkerKey::Description, "a \"b\" | c\\n".into()),
                (MarkerKey::Default, r#"{"a": [1, 2]}"#.into()),
            ]
        );
        assert_eq!(values("enum=\"a, b\""), [(MarkerKey::Enum, "a, b".into())]);
    }

    #[test]
    fn syntax_errors_have_kro_messages() {
        let message = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(message("=x"), "empty marker key");
        assert_eq!(
            message("colour=red"),
            "invalid marker key \"colour\": unknown marker: colour"
        );
        assert_eq!(
            message("required=true oops"),
            "marker key 'oops' without a value"
        );
        assert_eq!(message("description=\"open"), "unclosed quote");
        assert_eq!(message("default={"), "unclosed bracket/brace");
        assert_eq!(message("default=}"), "unmatched closing bracket/brace");
        assert_eq!(message(""), "marker key '' without a value");
    }

    fn applied(kind: &str, text: &str) -> Result<Value, MarkerError> {
        let mut schema = Map::new();
        schema.insert("type".into(), json!(kind));
        for marker in parse(text)? {
            apply(&mut schema, &marker)?;
        }
        check_combinations(&schema)?;
        Ok(Value::Object(schema))
    }

    #[test]
    fn markers_change_the_schema_like_kro() {
        assert_eq!(
            applied("integer", "default=3 minimum=1 maximum=10.5 enum=\"1,2,3\"").unwrap(),
            json!({"type": "integer", "default": 3, "minimum": 1, "maximum": 10.5, "enum": [1, 2, 3]})
        );
        assert_eq!(
            applied("array", "uniqueItems=true minItems=1").unwrap(),
            json!({"type": "array", "x-kubernetes-list-type": "set", "minItems": 1})
        );
        assert_eq!(
            applied(
                "string",
                "immutable=true validation=\"self.size() > 2\" pattern=\"^a+$\""
            )
            .unwrap(),
            json!({"type": "string", "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "field is immutable"},
                {"rule": "self.size() > 2", "message": "validation failed"}
            ], "pattern": "^a+$"})
        );
        assert_eq!(
            applied("array", "listType=map listMapKey=name listMapKey=port").unwrap(),
            json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "port"]})
        );
        assert_eq!(
            applied("number", "default=0.5").unwrap()["default"],
            json!(0.5)
        );
        assert_eq!(
            applied("string", "default=5").unwrap()["default"],
            json!("5")
        );
    }

    #[test]
    fn misapplied_markers_are_errors() {
        let message = |kind: &str, text: &str| applied(kind, text).unwrap_err().to_string();
        assert_eq!(
            message("boolean", "enum=\"a\""),
            "enum values only supported for string and integer types, got type: boolean"
        );
        assert_eq!(
            message("string", "enum=\"a,,b\""),
            "empty enum values are not allowed"
        );
        assert_eq!(
            message("integer", "minLength=1"),
            "minLength marker is only valid for string types, got type: integer"
        );
        assert_eq!(
            message("string", "uniqueItems=true"),
            "uniqueItems marker is only valid for array types, got type: string"
        );
        assert_eq!(
            message("string", "required=maybe"),
            "failed to parse required marker value \"maybe\": not a boolean"
        );
        assert_eq!(
            message("integer", "default=1.5"),
            "invalid default value \"1.5\" for type integer"
        );
        assert!(message("string", "pattern=\"(\"").starts_with("invalid pattern regex"));
        assert_eq!(
            message("array", "uniqueItems=true listType=atomic"),
            "listType=atomic conflicts with x-kubernetes-list-type set set by an earlier marker"
        );
        assert_eq!(
            message("array", "listMapKey=name"),
            "listMapKey marker requires listType=map"
        );
    }
}
