//! A validator for the part of JSON Schema (draft 2020-12) that gantry's step config schemas use.
//!
//! [`Schema::parse`] compiles a schema once and rejects keywords it does not know, so a typo in a
//! schema fails its tests instead of silently allowing anything. [`Schema::validate`] returns
//! every [`Violation`] with the instance path it concerns (`checkout[0].path`) and a message
//! meant for the person who wrote the config.
//!
//! Supported: `type` (one or a list, with `integer`), `properties`, `required`,
//! `additionalProperties` (boolean or schema), `items`, `minItems`, `maxItems`, `uniqueItems`,
//! `minLength`, `maxLength`, `pattern` (unanchored, as the standard says), `enum`, `const`,
//! `minimum`, `maximum`, `minProperties`, `maxProperties`, `oneOf`, `anyOf`, `allOf`, `not`,
//! root `$defs` with local `$ref`s (`#/$defs/name`), and boolean schemas. `$schema`, `$comment`,
//! `title`, `description`, `default`, `examples` and `deprecated` are annotations.
//!
//! Messages: when a value has the wrong type, only that is reported for it. A `oneOf`/`anyOf`
//! whose alternatives each require at most one property (the usual "exactly one of", "at most
//! one of" idiom, where a property counts as set unless it is absent, `null`, `""` or `false`)
//! fails with a message naming those properties; other failing alternatives are listed.
//! String values are never echoed except in `enum`/`const` mismatches, shortened, so a
//! misplaced secret does not end up in full in an error.

use std::collections::HashMap;
use std::fmt;

use gantry_api::path::FieldPath;
use regex::Regex;
use serde_json::{Map, Value};

/// A compiled schema.
#[derive(Debug)]
pub struct Schema {
    root: Node,
    defs: Vec<Node>,
}

/// One way an instance does not satisfy a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where, relative to the validated value: `checkout[0].path`; empty for the value itself.
    pub instance_path: String,
    /// The same place as a structured path, to join with the config's own location.
    pub path: FieldPath,
    /// What is wrong, e.g. `expected string, found number`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.instance_path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.instance_path, self.message)
        }
    }
}

impl Violation {
    /// This violation with `prefix` (such as `config`) put in front of its path.
    #[must_use]
    pub fn prefixed(&self, prefix: &FieldPath) -> Self {
        let mut path = prefix.clone();
        path.0.extend(self.path.0.iter().cloned());
        Self {
            instance_path: path.to_string(),
            path,
            message: self.message.clone(),
        }
    }
}

/// Why a schema does not compile. `at` is the JSON pointer of the offending schema (`#/properties/x`).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A keyword outside the supported subset (or a typo).
    #[error("unknown schema keyword `{keyword}` at `{at}`")]
    UnknownKeyword {
        /// Where.
        at: String,
        /// The keyword.
        keyword: String,
    },
    /// A keyword whose value has the wrong shape.
    #[error("schema keyword `{keyword}` at `{at}` must be {expected}")]
    InvalidKeyword {
        /// Where.
        at: String,
        /// The keyword.
        keyword: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A `pattern` that is not a valid regular expression.
    #[error("invalid `pattern` at `{at}`")]
    Pattern {
        /// Where.
        at: String,
        /// The regex error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A `$ref` that is not `#/$defs/<name>` of an existing definition.
    #[error("unresolved `$ref` `{reference}` at `{at}` (only `#/$defs/<name>` is supported)")]
    Reference {
        /// Where.
        at: String,
        /// The reference.
        reference: String,
    },
    /// A schema that is neither an object nor a boolean.
    #[error("schema at `{at}` must be an object or a boolean")]
    NotASchema {
        /// Where.
        at: String,
    },
    /// `$defs` anywhere but at the root.
    #[error("`$defs` at `{at}` is only supported at the schema root")]
    NestedDefs {
        /// Where.
        at: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonType {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    String,
    Integer,
}

impl JsonType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => Self::Null,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            "number" => Self::Number,
            "string" => Self::String,
            "integer" => Self::Integer,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
            Self::Number => "number",
            Self::String => "string",
            Self::Integer => "integer",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match (self, value) {
            (Self::Null, Value::Null)
            | (Self::Boolean, Value::Bool(_))
            | (Self::Object, Value::Object(_))
            | (Self::Array, Value::Array(_))
            | (Self::Number, Value::Number(_))
            | (Self::String, Value::String(_)) => true,
            (Self::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    }
}

#[derive(Debug, Default)]
enum Additional {
    #[default]
    Any,
    Forbidden,
    Schema(Box<Node>),
}

/// A `oneOf`/`anyOf` whose alternatives each require at most one distinct property.
#[derive(Debug)]
struct Choice {
    /// The required properties, in alternative order.
    keys: Vec<String>,
    /// Which alternative requires each key.
    branch_of_key: Vec<usize>,
    /// An alternative requiring none of them, if any (so "at most one" rather than "exactly one").
    none_branch: Option<usize>,
}

#[derive(Debug, Default)]
struct Node {
    never: bool,
    types: Vec<JsonType>,
    properties: Vec<(String, Node)>,
    required: Vec<String>,
    additional: Additional,
    items: Option<Box<Node>>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Regex>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    minimum: Option<serde_json::Number>,
    maximum: Option<serde_json::Number>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    all_of: Vec<Node>,
    any_of: Vec<Node>,
    any_of_choice: Option<Choice>,
    one_of: Vec<Node>,
    one_of_choice: Option<Choice>,
    not: Option<Box<Node>>,
    /// `not: {required: [...]}`: the properties that must not all be present.
    not_required: Option<Vec<String>>,
    reference: Option<usize>,
}

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
];

struct Compiler<'a> {
    def_index: HashMap<&'a str, usize>,
}

fn pointer(at: &str, keyword: &str) -> String {
    let escaped = keyword.replace('~', "~0").replace('/', "~1");
    format!("{at}/{escaped}")
}

fn invalid(at: &str, keyword: &str, expected: &'static str) -> SchemaError {
    SchemaError::InvalidKeyword {
        at: at.to_owned(),
        keyword: keyword.to_owned(),
        expected,
    }
}

fn count(at: &str, keyword: &str, value: &Value) -> Result<usize, SchemaError> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| invalid(at, keyword, "a non-negative integer"))
}

fn strings(at: &str, keyword: &str, value: &Value) -> Result<Vec<String>, SchemaError> {
    let expected = "an array of strings";
    let items = value
        .as_array()
        .ok_or_else(|| invalid(at, keyword, expected))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(at, keyword, expected))
        })
        .collect()
}

/// Whether a raw alternative only says which properties are required and what they hold.
fn choice_branch(value: &Value) -> Option<Vec<String>> {
    let object = value.as_object()?;
    if !object
        .keys()
        .all(|k| matches!(k.as_str(), "required" | "properties" | "description"))
    {
        return None;
    }
    match object.get("required") {
        None => Some(Vec::new()),
        Some(required) => {
            let names = required
                .as_array()?
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            (names.len() <= 1).then_some(names)
        }
    }
}

fn choice(branches: &[Value]) -> Option<Choice> {
    let mut found = Choice {
        keys: Vec::new(),
        branch_of_key: Vec::new(),
        none_branch: None,
    };
    for (i, branch) in branches.iter().enumerate() {
        match choice_branch(branch)?.pop() {
            Some(key) if !found.keys.contains(&key) => {
                found.keys.push(key);
                found.branch_of_key.push(i);
            }
            Some(_) => return None,
            None => found.none_branch = found.none_branch.or(Some(i)),
        }
    }
    (found.keys.len() >= 2).then_some(found)
}

impl Compiler<'_> {
    fn node(&self, value: &Value, at: &str, root: bool) -> Result<Node, SchemaError> {
        let object = match value {
            Value::Bool(accept) => {
                return Ok(Node {
                    never: !accept,
                    ..Node::default()
                });
            }
            Value::Object(object) => object,
            _ => return Err(SchemaError::NotASchema { at: at.to_owned() }),
        };
        let mut node = Node::default();
        for (keyword, value) in object {
            let here = pointer(at, keyword);
            self.keyword(&mut node, keyword, value, at, &here, root)?;
        }
        Ok(node)
    }

    fn list(&self, value: &Value, at: &str, keyword: &str) -> Result<Vec<Node>, SchemaError> {
        let items = value
            .as_array()
            .filter(|items| !items.is_empty())
            .ok_or_else(|| invalid(at, keyword, "a non-empty array of schemas"))?;
        let here = pointer(at, keyword);
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.node(item, &pointer(&here, &i.to_string()), false))
            .collect()
    }

    fn keyword(
        &self,
        node: &mut Node,
        keyword: &str,
        value: &Value,
        at: &str,
        here: &str,
        root: bool,
    ) -> Result<(), SchemaError> {
        match keyword {
            "type" => {
                let names = match value {
                    Value::String(name) => vec![name.clone()],
                    _ => strings(at, keyword, value)?,
                };
                for name in names {
                    let parsed = JsonType::parse(&name)
                        .ok_or_else(|| invalid(at, keyword, "JSON type names"))?;
                    node.types.push(parsed);
                }
            }
            "properties" => {
                let properties = value
                    .as_object()
                    .ok_or_else(|| invalid(at, keyword, "an object of schemas"))?;
                for (name, schema) in properties {
                    let compiled = self.node(schema, &pointer(here, name), false)?;
                    node.properties.push((name.clone(), compiled));
                }
            }
            "required" => node.required = strings(at, keyword, value)?,
            "additionalProperties" => {
                node.additional = match value {
                    Value::Bool(true) => Additional::Any,
                    Value::Bool(false) => Additional::Forbidden,
                    _ => Additional::Schema(Box::new(self.node(value, here, false)?)),
                };
            }
            "items" => node.items = Some(Box::new(self.node(value, here, false)?)),
            "minItems" => node.min_items = Some(count(at, keyword, value)?),
            "maxItems" => node.max_items = Some(count(at, keyword, value)?),
            "uniqueItems" => {
                node.unique_items = value
                    .as_bool()
                    .ok_or_else(|| invalid(at, keyword, "a boolean"))?;
            }
            "minLength" => node.min_length = Some(count(at, keyword, value)?),
            "maxLength" => node.max_length = Some(count(at, keyword, value)?),
            "minProperties" => node.min_properties = Some(count(at, keyword, value)?),
            "maxProperties" => node.max_properties = Some(count(at, keyword, value)?),
            "pattern" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| invalid(at, keyword, "a string"))?;
                let regex = Regex::new(text).map_err(|source| SchemaError::Pattern {
                    at: here.to_owned(),
                    source: Box::new(source),
                })?;
                node.pattern = Some(regex);
            }
            "enum" => {
                let values = value
                    .as_array()
                    .filter(|values| !values.is_empty())
                    .ok_or_else(|| invalid(at, keyword, "a non-empty array"))?;
                node.enumeration = Some(values.clone());
            }
            "const" => node.constant = Some(value.clone()),
            "minimum" | "maximum" => {
                let Value::Number(number) = value else {
                    return Err(invalid(at, keyword, "a number"));
                };
                if keyword == "minimum" {
                    node.minimum = Some(number.clone());
                } else {
                    node.maximum = Some(number.clone());
                }
            }
            "allOf" => node.all_of = self.list(value, at, keyword)?,
            "anyOf" => {
                node.any_of = self.list(value, at, keyword)?;
                node.any_of_choice = value.as_array().and_then(|b| choice(b));
            }
            "oneOf" => {
                node.one_of = self.list(value, at, keyword)?;
                node.one_of_choice = value.as_array().and_then(|b| choice(b));
            }
            "not" => {
                node.not = Some(Box::new(self.node(value, here, false)?));
                node.not_required = value
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.get("required"))
                    .and_then(|r| strings(here, "required", r).ok())
                    .filter(|r| !r.is_empty());
            }
            "$ref" => {
                let reference = value
                    .as_str()
                    .ok_or_else(|| invalid(at, keyword, "a string"))?;
                let index = reference
                    .strip_prefix("#/$defs/")
                    .and_then(|name| self.def_index.get(name))
                    .ok_or_else(|| SchemaError::Reference {
                        at: at.to_owned(),
                        reference: reference.to_owned(),
                    })?;
                node.reference = Some(*index);
            }
            "$defs" if root => {} // compiled by `Schema::parse`
            "$defs" => return Err(SchemaError::NestedDefs { at: at.to_owned() }),
            _ if ANNOTATIONS.contains(&keyword) => {}
            _ => {
                return Err(SchemaError::UnknownKeyword {
                    at: at.to_owned(),
                    keyword: keyword.to_owned(),
                });
            }
        }
        Ok(())
    }
}

impl Schema {
    /// Compiles `schema`. Fails on keywords outside the supported subset, malformed keyword
    /// values, invalid patterns and unresolved references.
    pub fn parse(schema: &Value) -> Result<Self, SchemaError> {
        let empty = Map::new();
        let defs = match schema.get("$defs") {
            None => &empty,
            Some(Value::Object(defs)) => defs,
            Some(_) => return Err(invalid("#", "$defs", "an object of schemas")),
        };
        let compiler = Compiler {
            def_index: defs
                .keys()
                .enumerate()
                .map(|(i, name)| (name.as_str(), i))
                .collect(),
        };
        let defs = defs
            .iter()
            .map(|(name, def)| compiler.node(def, &pointer("#/$defs", name), false))
            .collect::<Result<Vec<_>, _>>()?;
        let root = compiler.node(schema, "#", true)?;
        Ok(Self { root, defs })
    }

    /// Every violation of this schema by `value`, in a stable order (empty when it is valid).
    pub fn validate(&self, value: &Value) -> Vec<Violation> {
        let mut found = Vec::new();
        self.check(&self.root, value, &FieldPath::root(), 0, &mut found);
        found
            .into_iter()
            .map(|(path, message)| Violation {
                instance_path: path.to_string(),
                path,
                message,
            })
            .collect()
    }

    /// Whether `value` satisfies this schema.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.validate(value).is_empty()
    }
}

/// Deeper than this, a `$ref` cycle that never descends into the instance is assumed.
const MAX_DEPTH: usize = 256;

type Found = Vec<(FieldPath, String)>;

fn joined(base: &FieldPath, relative: &FieldPath) -> FieldPath {
    let mut path = base.clone();
    path.0.extend(relative.0.iter().cloned());
    path
}

/// Unset, for the "one of" idioms: absent, `null`, `""` or `false`.
fn is_set(value: Option<&Value>) -> bool {
    !matches!(value, None | Some(Value::Null | Value::Bool(false)))
        && value.and_then(Value::as_str) != Some("")
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|other| json_eq(v, other)))
        }
        _ => a == b,
    }
}

/// A value for a message: short, on one line.
fn shown(value: &Value) -> String {
    const LIMIT: usize = 40;
    let text = value.to_string();
    if text.chars().count() > LIMIT {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}…")
    } else {
        text
    }
}

fn quoted_list(names: &[impl AsRef<str>]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn number_cmp(
    value: &serde_json::Number,
    bound: &serde_json::Number,
) -> Option<std::cmp::Ordering> {
    match (value.as_i64(), bound.as_i64()) {
        (Some(v), Some(b)) => Some(v.cmp(&b)),
        _ => value.as_f64()?.partial_cmp(&bound.as_f64()?),
    }
}

impl Schema {
    fn check(&self, node: &Node, value: &Value, path: &FieldPath, depth: usize, out: &mut Found) {
        if depth > MAX_DEPTH {
            out.push((
                path.clone(),
                "schema nests too deeply (a `$ref` cycle?)".to_owned(),
            ));
            return;
        }
        if node.never {
            out.push((path.clone(), "no value is allowed here".to_owned()));
            return;
        }
        if !node.types.is_empty() && !node.types.iter().any(|t| t.matches(value)) {
            let expected = node.types.iter().map(|t| t.name()).collect::<Vec<_>>();
            out.push((
                path.clone(),
                format!(
                    "expected {}, found {}",
                    expected.join(" or "),
                    type_of(value)
                ),
            ));
            return;
        }
        if let Some(index) = node.reference
            && let Some(def) = self.defs.get(index)
        {
            self.check(def, value, path, depth + 1, out);
        }
        Self::check_value(node, value, path, out);
        match value {
            Value::Object(object) => self.check_object(node, object, path, depth, out),
            Value::Array(items) => self.check_array(node, items, path, depth, out),
            Value::String(text) => Self::check_string(node, text, path, out),
            Value::Number(number) => Self::check_number(node, number, path, out),
            Value::Null | Value::Bool(_) => {}
        }
        for sub in &node.all_of {
            self.check(sub, value, path, depth + 1, out);
        }
        if !node.any_of.is_empty() {
            self.check_alternatives(node, value, path, depth, false, out);
        }
        if !node.one_of.is_empty() {
            self.check_alternatives(node, value, path, depth, true, out);
        }
        if let Some(not) = &node.not {
            let mut inner = Found::new();
            self.check(not, value, path, depth + 1, &mut inner);
            if inner.is_empty() {
                let message = match node.not_required.as_deref() {
                    Some([one]) => format!("`{one}` must not be set"),
                    Some([a, b]) => format!("`{a}` and `{b}` must not both be set"),
                    Some(names) => format!("{} must not all be set", quoted_list(names)),
                    None => "must not match the excluded schema".to_owned(),
                };
                out.push((path.clone(), message));
            }
        }
    }

    fn check_value(node: &Node, value: &Value, path: &FieldPath, out: &mut Found) {
        if let Some(allowed) = &node.enumeration
            && !allowed.iter().any(|a| json_eq(a, value))
        {
            let list = allowed.iter().map(shown).collect::<Vec<_>>().join(", ");
            out.push((
                path.clone(),
                format!("expected one of {list}, found {}", shown(value)),
            ));
        }
        if let Some(constant) = &node.constant
            && !json_eq(constant, value)
        {
            out.push((
                path.clone(),
                format!("expected {}, found {}", shown(constant), shown(value)),
            ));
        }
    }

    fn check_object(
        &self,
        node: &Node,
        object: &Map<String, Value>,
        path: &FieldPath,
        depth: usize,
        out: &mut Found,
    ) {
        for name in &node.required {
            if !object.contains_key(name) {
                out.push((
                    path.key(name.clone()),
                    "required property is missing".to_owned(),
                ));
            }
        }
        for (key, value) in object {
            if let Some((_, schema)) = node.properties.iter().find(|(name, _)| name == key) {
                self.check(schema, value, &path.key(key.clone()), depth + 1, out);
                continue;
            }
            match &node.additional {
                Additional::Any => {}
                Additional::Schema(schema) => {
                    self.check(schema, value, &path.key(key.clone()), depth + 1, out);
                }
                Additional::Forbidden => {
                    let names = node.properties.iter().map(|(name, _)| name.as_str());
                    let message = if node.properties.is_empty() {
                        "unknown property: no properties are allowed here".to_owned()
                    } else if let Some(close) = gantry_api::suggest::similar(key, names) {
                        format!("unknown property, did you mean `{close}`?")
                    } else {
                        let names = node.properties.iter().map(|(n, _)| n).collect::<Vec<_>>();
                        format!("unknown property (known: {})", quoted_list(&names))
                    };
                    out.push((path.key(key.clone()), message));
                }
            }
        }
        let len = object.len();
        if let Some(min) = node.min_properties
            && len < min
        {
            let message = if len == 0 && min == 1 {
                "must not be empty".to_owned()
            } else {
                format!(
                    "expected at least {}, found {len}",
                    plural(min, "property", "properties")
                )
            };
            out.push((path.clone(), message));
        }
        if let Some(max) = node.max_properties
            && len > max
        {
            out.push((
                path.clone(),
                format!(
                    "expected at most {}, found {len}",
                    plural(max, "property", "properties")
                ),
            ));
        }
    }

    fn check_array(
        &self,
        node: &Node,
        items: &[Value],
        path: &FieldPath,
        depth: usize,
        out: &mut Found,
    ) {
        let len = items.len();
        if let Some(min) = node.min_items
            && len < min
        {
            let message = if len == 0 && min == 1 {
                "must not be empty".to_owned()
            } else {
                format!(
                    "expected at least {}, found {len}",
                    plural(min, "item", "items")
                )
            };
            out.push((path.clone(), message));
        }
        if let Some(max) = node.max_items
            && len > max
        {
            out.push((
                path.clone(),
                format!(
                    "expected at most {}, found {len}",
                    plural(max, "item", "items")
                ),
            ));
        }
        if node.unique_items {
            for (i, item) in items.iter().enumerate() {
                if let Some(first) = items[..i].iter().position(|earlier| json_eq(earlier, item)) {
                    out.push((path.index(i), format!("duplicates item [{first}]")));
                }
            }
        }
        if let Some(schema) = &node.items {
            for (i, item) in items.iter().enumerate() {
                self.check(schema, item, &path.index(i), depth + 1, out);
            }
        }
    }

    fn check_string(node: &Node, text: &str, path: &FieldPath, out: &mut Found) {
        let len = text.chars().count();
        if let Some(min) = node.min_length
            && len < min
        {
            let message = if len == 0 {
                "must not be empty".to_owned()
            } else {
                format!(
                    "expected at least {}, found {len}",
                    plural(min, "character", "characters")
                )
            };
            out.push((path.clone(), message));
        }
        if let Some(max) = node.max_length
            && len > max
        {
            out.push((
                path.clone(),
                format!(
                    "expected at most {}, found {len}",
                    plural(max, "character", "characters")
                ),
            ));
        }
        if let Some(pattern) = &node.pattern
            && !pattern.is_match(text)
        {
            out.push((
                path.clone(),
                format!("does not match the pattern `{}`", pattern.as_str()),
            ));
        }
    }

    fn check_number(node: &Node, number: &serde_json::Number, path: &FieldPath, out: &mut Found) {
        if let Some(min) = &node.minimum
            && number_cmp(number, min) == Some(std::cmp::Ordering::Less)
        {
            out.push((
                path.clone(),
                format!("must be at least {min}, found {number}"),
            ));
        }
        if let Some(max) = &node.maximum
            && number_cmp(number, max) == Some(std::cmp::Ordering::Greater)
        {
            out.push((
                path.clone(),
                format!("must be at most {max}, found {number}"),
            ));
        }
    }

    /// `oneOf` (`exactly`) or `anyOf`.
    fn check_alternatives(
        &self,
        node: &Node,
        value: &Value,
        path: &FieldPath,
        depth: usize,
        exactly: bool,
        out: &mut Found,
    ) {
        let (branches, choice) = if exactly {
            (&node.one_of, node.one_of_choice.as_ref())
        } else {
            (&node.any_of, node.any_of_choice.as_ref())
        };
        let root = FieldPath::root();
        let results: Vec<Found> = branches
            .iter()
            .map(|branch| {
                let mut found = Found::new();
                self.check(branch, value, &root, depth + 1, &mut found);
                found
            })
            .collect();
        let matched: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].is_empty())
            .collect();
        if matched.len() == 1 || (!exactly && !matched.is_empty()) {
            return;
        }
        if let (Some(choice), Value::Object(object)) = (choice, value) {
            let set: Vec<&String> = choice
                .keys
                .iter()
                .filter(|key| is_set(object.get(key.as_str())))
                .collect();
            let keys = quoted_list(&choice.keys);
            let message = match (set.len(), choice.none_branch) {
                (0, None) if exactly => Some(format!("exactly one of {keys} must be set")),
                (0, None) => Some(format!("at least one of {keys} must be set")),
                (2.., None) if exactly => Some(format!(
                    "exactly one of {keys} must be set, found {}",
                    quoted_list(&set)
                )),
                (2.., Some(_)) if exactly => Some(format!(
                    "at most one of {keys} may be set, found {}",
                    quoted_list(&set)
                )),
                _ => None,
            };
            if let Some(message) = message {
                out.push((path.clone(), message));
                return;
            }
            // The set properties fit the rule: show why the alternative they select failed.
            let selected = match set.as_slice() {
                [] => choice.none_branch,
                [key] => choice
                    .keys
                    .iter()
                    .position(|k| k == *key)
                    .map(|i| choice.branch_of_key[i]),
                _ => None,
            };
            if matched.is_empty()
                && let Some(found) = selected.and_then(|i| results.get(i))
            {
                out.extend(found.iter().map(|(rel, m)| (joined(path, rel), m.clone())));
                return;
            }
        }
        if matched.len() > 1 {
            let which = matched
                .iter()
                .map(|i| format!("#{}", i + 1))
                .collect::<Vec<_>>();
            out.push((
                path.clone(),
                format!(
                    "must match exactly one alternative, but matches {}",
                    which.join(", ")
                ),
            ));
            return;
        }
        let reasons = results
            .iter()
            .enumerate()
            .map(|(i, found)| {
                let each = found
                    .iter()
                    .map(|(rel, message)| {
                        if rel.0.is_empty() {
                            message.clone()
                        } else {
                            format!("{rel}: {message}")
                        }
                    })
                    .collect::<Vec<_>>();
                format!("(#{}) {}", i + 1, each.join("; "))
            })
            .collect::<Vec<_>>();
        out.push((
            path.clone(),
            format!("matches no alternative: {}", reasons.join(" or ")),
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn errors(schema: &Value, value: &Value) -> Vec<String> {
        Schema::parse(schema)
            .unwrap()
            .validate(value)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn parse_error(schema: &Value) -> String {
        Schema::parse(schema).unwrap_err().to_string()
    }

    #[test]
    fn type_accepts_listed_types_and_reports_the_found_one() {
        let schema = json!({"type": "string"});
        assert!(errors(&schema, &json!("x")).is_empty());
        assert_eq!(
            errors(&schema, &json!(1)),
            ["expected string, found number"]
        );
        let either = json!({"type": ["string", "null"]});
        assert!(errors(&either, &Value::Null).is_empty());
        assert_eq!(
            errors(&either, &json!([])),
            ["expected string or null, found array"]
        );
    }

    #[test]
    fn integer_accepts_whole_numbers_only() {
        let schema = json!({"type": "integer"});
        assert!(errors(&schema, &json!(3)).is_empty());
        assert!(errors(&schema, &json!(-3)).is_empty());
        assert!(errors(&schema, &json!(3.0)).is_empty());
        assert_eq!(
            errors(&schema, &json!(3.5)),
            ["expected integer, found number"]
        );
        assert!(errors(&json!({"type": "number"}), &json!(3)).is_empty());
    }

    #[test]
    fn a_wrong_type_hides_the_other_keywords_of_that_schema() {
        let schema = json!({"type": "object", "required": ["a"], "oneOf": [{"required": ["a"]}, {"required": ["b"]}]});
        assert_eq!(
            errors(&schema, &json!("s")),
            ["expected object, found string"]
        );
    }

    #[test]
    fn properties_validate_present_properties_at_their_path() {
        let schema = json!({"properties": {"a": {"type": "object", "properties": {"b c": {"type": "string"}}}}});
        assert!(errors(&schema, &json!({})).is_empty());
        assert_eq!(
            errors(&schema, &json!({"a": {"b c": false}})),
            [r#"a["b c"]: expected string, found boolean"#]
        );
    }

    #[test]
    fn required_reports_each_missing_property_at_its_own_path() {
        let schema = json!({"required": ["a", "b"]});
        assert_eq!(
            errors(&schema, &json!({"b": null})),
            ["a: required property is missing"]
        );
        assert!(errors(&schema, &json!("not an object")).is_empty());
    }

    #[test]
    fn additional_properties_false_names_the_unknown_property_and_suggests_a_close_one() {
        let schema =
            json!({"properties": {"path": {}, "message": {}}, "additionalProperties": false});
        assert_eq!(
            errors(&schema, &json!({"path": 1, "mesage": 2, "zzz": 3})),
            [
                "mesage: unknown property, did you mean `message`?",
                "zzz: unknown property (known: `path`, `message`)"
            ]
        );
        let none = json!({"additionalProperties": false});
        assert_eq!(
            errors(&none, &json!({"a": 1})),
            ["a: unknown property: no properties are allowed here"]
        );
    }

    #[test]
    fn additional_properties_schema_validates_the_others() {
        let schema = json!({"properties": {"a": {}}, "additionalProperties": {"type": "string"}});
        assert_eq!(
            errors(&schema, &json!({"a": 1, "b": "x", "c": 2})),
            ["c: expected string, found number"]
        );
        assert!(errors(&json!({"additionalProperties": true}), &json!({"x": 1})).is_empty());
    }

    #[test]
    fn items_validate_each_element_at_its_index() {
        let schema = json!({"items": {"type": "string"}});
        assert_eq!(
            errors(&schema, &json!(["a", 1, "b", null])),
            [
                "[1]: expected string, found number",
                "[3]: expected string, found null"
            ]
        );
    }

    #[test]
    fn min_and_max_items_count_elements() {
        let schema = json!({"minItems": 2, "maxItems": 3});
        assert_eq!(
            errors(&schema, &json!([1])),
            ["expected at least 2 items, found 1"]
        );
        assert!(errors(&schema, &json!([1, 2, 3])).is_empty());
        assert_eq!(
            errors(&schema, &json!([1, 2, 3, 4])),
            ["expected at most 3 items, found 4"]
        );
        assert_eq!(
            errors(&json!({"minItems": 1}), &json!([])),
            ["must not be empty"]
        );
    }

    #[test]
    fn unique_items_reports_duplicates_comparing_numbers_by_value() {
        let schema = json!({"uniqueItems": true});
        assert_eq!(
            errors(&schema, &json!([1, "a", 1.0, {"x": [1]}, {"x": [1]}])),
            ["[2]: duplicates item [0]", "[4]: duplicates item [3]"]
        );
        assert!(errors(&schema, &json!([1, "1", true])).is_empty());
    }

    #[test]
    fn min_and_max_length_count_characters_not_bytes() {
        let schema = json!({"minLength": 2, "maxLength": 3});
        assert!(errors(&schema, &json!("µµµ")).is_empty());
        assert_eq!(
            errors(&schema, &json!("a")),
            ["expected at least 2 characters, found 1"]
        );
        assert_eq!(
            errors(&schema, &json!("abcd")),
            ["expected at most 3 characters, found 4"]
        );
        assert_eq!(errors(&schema, &json!("")), ["must not be empty"]);
        assert!(errors(&schema, &json!(12345)).is_empty());
    }

    #[test]
    fn pattern_is_unanchored_and_the_value_is_not_echoed() {
        let schema = json!({"pattern": "[0-9]+s"});
        assert!(errors(&schema, &json!("wait 10s please")).is_empty());
        assert_eq!(
            errors(&schema, &json!("hunter2-secret")),
            ["does not match the pattern `[0-9]+s`"]
        );
        assert!(errors(&json!({"pattern": "^a$"}), &json!("ab")).len() == 1);
    }

    #[test]
    fn enum_lists_the_allowed_values_and_compares_numbers_by_value() {
        let schema = json!({"enum": ["a", 1, null]});
        assert!(errors(&schema, &json!(1.0)).is_empty());
        assert!(errors(&schema, &Value::Null).is_empty());
        assert_eq!(
            errors(&schema, &json!("b")),
            [r#"expected one of "a", 1, null, found "b""#]
        );
    }

    #[test]
    fn enum_and_const_shorten_long_values() {
        let long = "x".repeat(100);
        let message = &errors(&json!({"const": "y"}), &json!(long))[0];
        assert!(message.ends_with("…"), "{message}");
        assert!(message.len() < 70, "{message}");
    }

    #[test]
    fn const_requires_an_equal_value() {
        let schema = json!({"const": {"a": [true]}});
        assert!(errors(&schema, &json!({"a": [true]})).is_empty());
        assert_eq!(
            errors(&schema, &json!(false)),
            [r#"expected {"a":[true]}, found false"#]
        );
    }

    #[test]
    fn minimum_and_maximum_are_inclusive() {
        let schema = json!({"minimum": 1, "maximum": 2.5});
        assert!(errors(&schema, &json!(1)).is_empty());
        assert!(errors(&schema, &json!(2.5)).is_empty());
        assert_eq!(errors(&schema, &json!(0)), ["must be at least 1, found 0"]);
        assert_eq!(errors(&schema, &json!(3)), ["must be at most 2.5, found 3"]);
        let big = json!({"maximum": 2_147_483_647});
        assert!(errors(&big, &json!(u64::MAX)).len() == 1);
        assert!(errors(&json!({"minimum": -1}), &json!(-1)).is_empty());
    }

    #[test]
    fn min_and_max_properties_count_keys() {
        assert_eq!(
            errors(&json!({"minProperties": 1}), &json!({})),
            ["must not be empty"]
        );
        assert_eq!(
            errors(&json!({"minProperties": 2}), &json!({"a": 1})),
            ["expected at least 2 properties, found 1"]
        );
        assert_eq!(
            errors(&json!({"maxProperties": 1}), &json!({"a": 1, "b": 2})),
            ["expected at most 1 property, found 2"]
        );
    }

    #[test]
    fn all_of_reports_every_failing_subschema() {
        let schema =
            json!({"allOf": [{"required": ["a"]}, {"required": ["b"]}, {"type": "object"}]});
        assert_eq!(
            errors(&schema, &json!({})),
            [
                "a: required property is missing",
                "b: required property is missing"
            ]
        );
    }

    #[test]
    fn any_of_passes_when_one_alternative_matches_and_lists_failures_otherwise() {
        let schema = json!({"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]});
        assert!(errors(&schema, &json!("x")).is_empty());
        assert!(errors(&schema, &json!(4)).is_empty());
        assert_eq!(
            errors(&schema, &json!(-1)),
            [
                "matches no alternative: (#1) expected string, found number or (#2) must be at least 0, found -1"
            ]
        );
    }

    #[test]
    fn any_of_over_single_required_properties_says_at_least_one_must_be_set() {
        let schema = json!({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]});
        assert!(errors(&schema, &json!({"a": 1, "b": 2})).is_empty());
        assert_eq!(
            errors(&schema, &json!({})),
            ["at least one of `a`, `b` must be set"]
        );
    }

    #[test]
    fn one_of_rejects_no_match_and_several_matches() {
        let schema = json!({"oneOf": [{"type": "string"}, {"maxLength": 2}]});
        assert!(errors(&schema, &json!("abc")).is_empty());
        assert!(errors(&schema, &json!(7)).is_empty());
        assert_eq!(
            errors(&schema, &json!("ab")),
            ["must match exactly one alternative, but matches #1, #2"]
        );
        let none = json!({"oneOf": [{"type": "string"}, {"type": "boolean"}]});
        assert_eq!(
            errors(&none, &json!(1)),
            [
                "matches no alternative: (#1) expected string, found number or (#2) expected boolean, found number"
            ]
        );
    }

    #[test]
    fn one_of_exactly_one_property_names_the_properties() {
        let schema = json!({"type": "object",
            "properties": {"tag": {"type": "string"}, "digest": {"type": "string"}},
            "oneOf": [
            {"required": ["tag"], "properties": {"tag": {"minLength": 1}, "digest": {"const": ""}}},
            {"required": ["digest"], "properties": {"digest": {"minLength": 1}, "tag": {"const": ""}}}]});
        assert!(errors(&schema, &json!({"tag": "v1"})).is_empty());
        assert!(errors(&schema, &json!({"tag": "", "digest": "d"})).is_empty());
        assert_eq!(
            errors(&schema, &json!({})),
            ["exactly one of `tag`, `digest` must be set"]
        );
        assert_eq!(
            errors(&schema, &json!({"tag": ""})),
            ["exactly one of `tag`, `digest` must be set"]
        );
        assert_eq!(
            errors(&schema, &json!({"tag": "", "digest": null})),
            ["digest: expected string, found null"]
        );
        assert_eq!(
            errors(&schema, &json!({"tag": "v1", "digest": "d"})),
            ["exactly one of `tag`, `digest` must be set, found `tag`, `digest`"]
        );
    }

    #[test]
    fn one_of_at_most_one_property_shows_why_the_selected_alternative_failed() {
        let schema = json!({"type": "object", "oneOf": [
            {"properties": {"a": {"const": ""}, "b": {"enum": [false, null]}}},
            {"required": ["a"], "properties": {"a": {"minLength": 1}, "b": {"enum": [false, null]}}},
            {"required": ["b"], "properties": {"a": {"const": ""}, "b": {"const": true}}}]});
        assert!(errors(&schema, &json!({})).is_empty());
        assert!(errors(&schema, &json!({"a": "x", "b": false})).is_empty());
        assert!(errors(&schema, &json!({"b": true})).is_empty());
        assert_eq!(
            errors(&schema, &json!({"a": "x", "b": true})),
            ["at most one of `a`, `b` may be set, found `a`, `b`"]
        );
        assert_eq!(
            errors(&schema, &json!({"b": 1})),
            ["b: expected true, found 1"]
        );
    }

    #[test]
    fn not_rejects_matching_values_and_explains_required_pairs() {
        assert!(errors(&json!({"not": {"type": "string"}}), &json!(1)).is_empty());
        assert_eq!(
            errors(&json!({"not": {"type": "string"}}), &json!("s")),
            ["must not match the excluded schema"]
        );
        let pair = json!({"not": {"required": ["body", "bodyFromFile"]}});
        assert!(errors(&pair, &json!({"body": "x"})).is_empty());
        assert_eq!(
            errors(&pair, &json!({"body": "x", "bodyFromFile": "f"})),
            ["`body` and `bodyFromFile` must not both be set"]
        );
        assert_eq!(
            errors(&json!({"not": {"required": ["x"]}}), &json!({"x": 1})),
            ["`x` must not be set"]
        );
    }

    #[test]
    fn refs_resolve_to_root_defs_and_recursive_schemas_work() {
        let schema = json!({
            "$defs": {"node": {"type": "object", "properties": {
                "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
            "$ref": "#/$defs/node"});
        assert!(
            errors(
                &schema,
                &json!({"name": "a", "children": [{"name": "b", "children": []}]})
            )
            .is_empty()
        );
        assert_eq!(
            errors(&schema, &json!({"children": [{"children": [{"name": 1}]}]})),
            ["children[0].children[0].name: expected string, found number"]
        );
    }

    #[test]
    fn a_ref_cycle_that_never_descends_is_reported_not_overflowed() {
        let schema = json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"});
        let found = errors(&schema, &json!(1));
        assert_eq!(found, ["schema nests too deeply (a `$ref` cycle?)"]);
    }

    #[test]
    fn boolean_schemas_accept_everything_or_nothing() {
        assert!(errors(&json!(true), &json!({"x": 1})).is_empty());
        assert_eq!(
            errors(&json!(false), &json!(1)),
            ["no value is allowed here"]
        );
        let schema = json!({"properties": {"gone": false}});
        assert_eq!(
            errors(&schema, &json!({"gone": 1})),
            ["gone: no value is allowed here"]
        );
    }

    #[test]
    fn annotations_are_ignored() {
        let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t",
            "description": "d", "default": 3, "examples": [1], "deprecated": true, "$comment": "c"});
        assert!(errors(&schema, &json!("anything")).is_empty());
    }

    #[test]
    fn unknown_keywords_and_malformed_schemas_are_rejected_with_their_location() {
        assert_eq!(
            parse_error(&json!({"properties": {"a": {"minLenght": 1}}})),
            "unknown schema keyword `minLenght` at `#/properties/a`"
        );
        assert_eq!(
            parse_error(&json!({"type": "text"})),
            "schema keyword `type` at `#` must be JSON type names"
        );
        assert_eq!(
            parse_error(&json!({"minItems": -1})),
            "schema keyword `minItems` at `#` must be a non-negative integer"
        );
        assert_eq!(
            parse_error(&json!({"oneOf": []})),
            "schema keyword `oneOf` at `#` must be a non-empty array of schemas"
        );
        assert_eq!(
            parse_error(&json!({"items": 3})),
            "schema at `#/items` must be an object or a boolean"
        );
        assert_eq!(
            parse_error(&json!({"pattern": "("})),
            "invalid `pattern` at `#/pattern`"
        );
        assert_eq!(
            parse_error(&json!({"$ref": "#/definitions/x"})),
            "unresolved `$ref` `#/definitions/x` at `#` (only `#/$defs/<name>` is supported)"
        );
        assert_eq!(
            parse_error(&json!({"$defs": {}, "$ref": "#/$defs/missing"})),
            "unresolved `$ref` `#/$defs/missing` at `#` (only `#/$defs/<name>` is supported)"
        );
        assert_eq!(
            parse_error(&json!({"properties": {"a": {"$defs": {}}}})),
            "`$defs` at `#/properties/a` is only supported at the schema root"
        );
        assert_eq!(
            parse_error(&json!({"$defs": {"a/b": {"format": "email"}}})),
            "unknown schema keyword `format` at `#/$defs/a~1b`"
        );
    }

    #[test]
    fn violations_display_their_path_and_can_be_put_under_a_prefix() {
        let schema =
            Schema::parse(&json!({"properties": {"checkout": {"items": {"required": ["path"]}}}}))
                .unwrap();
        let found = schema.validate(&json!({"checkout": [{}]}));
        assert_eq!(found[0].instance_path, "checkout[0].path");
        let under = found[0].prefixed(&FieldPath::parse("config"));
        assert_eq!(
            under.to_string(),
            "config.checkout[0].path: required property is missing"
        );
        assert_eq!(under.path, FieldPath::parse("config.checkout[0].path"));
        let root = Schema::parse(&json!({"type": "object"}))
            .unwrap()
            .validate(&json!(1));
        assert_eq!(root[0].to_string(), "expected object, found number");
        assert_eq!(
            root[0].prefixed(&FieldPath::parse("config")).to_string(),
            "config: expected object, found number"
        );
    }
}
