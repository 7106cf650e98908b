//! Kargo templates: strings with `${{ expr }}` / `${% expr %}` parts, evaluated and then coerced
//! to a typed value, and whole config objects rendered leaf by leaf.

use std::collections::BTreeMap;
use std::fmt;

use crate::ast::{Kind, Node};
use crate::error::{Error, ErrorKind, Span};
use crate::eval::{Evaluator, Limits};
use crate::functions::builtin::parse_go_float;
use crate::functions::encode::from_json_float;
use crate::host::Host;
use crate::parser;
use crate::value::Value;

/// A compiled bare expression (no delimiters), as in `freightCreationCriteria` or a step `if`.
#[derive(Clone, Debug)]
pub struct Expression {
    node: Node,
}

impl Expression {
    /// Parses an expression. Spans in errors are byte offsets in `source`.
    pub fn compile(source: &str) -> Result<Self, Error> {
        Ok(Self {
            node: parser::parse(source, 0)?,
        })
    }

    /// Evaluates with the default limits.
    pub fn eval(&self, env: &Value, host: &dyn Host) -> Result<Value, Error> {
        self.eval_with(env, host, Limits::default())
    }

    /// Evaluates with explicit limits.
    pub fn eval_with(&self, env: &Value, host: &dyn Host, limits: Limits) -> Result<Value, Error> {
        Evaluator::new(env, host, limits).run(&self.node)
    }

    /// The environment variables the expression reads (see [`Reference`]).
    pub fn references(&self) -> Vec<Reference> {
        let mut found = Vec::new();
        collect_references(&self.node, &mut Vec::new(), &mut found);
        found
    }
}

/// A read of an environment variable: its root name and the literal member path after it
/// (`vars.image.tag` is root `vars`, path `["image", "tag"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The variable (`vars`, `ctx`, `outputs`, ...).
    pub root: String,
    /// Literal member names read after the root, outermost first.
    pub path: Vec<String>,
    /// The span of the root identifier.
    pub span: Span,
    /// The span of the whole access (root plus the literal path).
    pub full_span: Span,
}

/// Unwinds a member chain `root.a['b'].c` into its root identifier and literal path.
fn member_path(node: &Node) -> Option<(&str, Span, Vec<String>)> {
    match &node.kind {
        Kind::Ident(name) => Some((name, node.span, Vec::new())),
        Kind::Member {
            object, property, ..
        } => {
            let (root, span, mut path) = member_path(object)?;
            if let Kind::Literal(Value::String(key)) = &property.kind {
                path.push(key.to_string());
                Some((root, span, path))
            } else {
                Some((root, span, path))
            }
        }
        Kind::Chain(inner) => member_path(inner),
        _ => None,
    }
}

fn collect_references(node: &Node, bound: &mut Vec<String>, found: &mut Vec<Reference>) {
    if matches!(
        node.kind,
        Kind::Member { .. } | Kind::Chain(_) | Kind::Ident(_)
    ) && let Some((root, span, path)) = member_path(node)
    {
        if !bound.iter().any(|b| b == root) {
            found.push(Reference {
                root: root.to_owned(),
                path,
                span,
                full_span: node.span,
            });
        }
        // computed keys inside the chain may read variables too
        visit_computed_keys(node, bound, found);
        return;
    }
    match &node.kind {
        Kind::Literal(_) | Kind::Ident(_) | Kind::Env | Kind::Pointer(_) => {}
        Kind::Array(items) | Kind::Sequence(items) => {
            for item in items {
                collect_references(item, bound, found);
            }
        }
        Kind::Map(entries) => {
            for (key, value) in entries {
                collect_references(key, bound, found);
                collect_references(value, bound, found);
            }
        }
        Kind::Unary(_, inner)
        | Kind::Closure(inner)
        | Kind::Chain(inner)
        | Kind::Matches(inner, _) => {
            collect_references(inner, bound, found);
        }
        Kind::Binary(_, left, right) => {
            collect_references(left, bound, found);
            collect_references(right, bound, found);
        }
        Kind::Member {
            object, property, ..
        } => {
            collect_references(object, bound, found);
            collect_references(property, bound, found);
        }
        Kind::Slice { object, from, to } => {
            collect_references(object, bound, found);
            for bound_node in [from, to].into_iter().flatten() {
                collect_references(bound_node, bound, found);
            }
        }
        Kind::Call { args, .. } => {
            for arg in args {
                collect_references(arg, bound, found);
            }
        }
        Kind::Method { object, args, .. } => {
            collect_references(object, bound, found);
            for arg in args {
                collect_references(arg, bound, found);
            }
        }
        Kind::Conditional(a, b, c) => {
            collect_references(a, bound, found);
            collect_references(b, bound, found);
            collect_references(c, bound, found);
        }
        Kind::Let { name, value, body } => {
            collect_references(value, bound, found);
            bound.push(name.clone());
            collect_references(body, bound, found);
            bound.pop();
        }
    }
}

fn visit_computed_keys(node: &Node, bound: &mut Vec<String>, found: &mut Vec<Reference>) {
    match &node.kind {
        Kind::Member {
            object, property, ..
        } => {
            if !matches!(property.kind, Kind::Literal(_)) {
                collect_references(property, bound, found);
            }
            visit_computed_keys(object, bound, found);
        }
        Kind::Chain(inner) => visit_computed_keys(inner, bound, found),
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Part {
    Text(std::ops::Range<usize>),
    Expr(Expression),
}

/// A compiled template string.
#[derive(Clone, Debug)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// One `${{ }}` / `${% %}` of a template, as found by [`scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimited {
    /// The whole thing, delimiters included.
    pub span: Span,
    /// The expression between the delimiters.
    pub body: Span,
}

/// Finds the expressions of a template the way Kargo does: the earliest opening delimiter
/// starts one, the first matching closing delimiter ends it (no nesting).
pub fn scan(text: &str) -> Result<Vec<Delimited>, Error> {
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let rest = &text[offset..];
        let (at, closing) = match (rest.find("${{"), rest.find("${%")) {
            (None, None) => return Ok(found),
            (Some(c), Some(p)) if p < c => (p, "%}"),
            (Some(c), _) => (c, "}}"),
            (None, Some(p)) => (p, "%}"),
        };
        let start = offset + at;
        let body_start = start + 3;
        let Some(close) = text[body_start..].find(closing) else {
            return Err(Error::new(
                ErrorKind::Syntax,
                format!("unclosed expression: expected {closing:?} but reached end of template"),
                Span::new(start, text.len()),
            )
            .with_help(if closing == "}}" {
                "close it with `}}`; if the expression itself contains `}}`, use `${% ... %}`"
            } else {
                "close it with `%}`"
            }));
        };
        let end = body_start + close + closing.len();
        found.push(Delimited {
            span: Span::new(start, end),
            body: Span::new(body_start, body_start + close),
        });
        offset = end;
    }
}

impl Template {
    /// Compiles a template string; error spans are byte offsets in `text`.
    pub fn compile(text: &str) -> Result<Self, Error> {
        let mut parts = Vec::new();
        let mut last = 0;
        for delimited in scan(text)? {
            if delimited.span.start > last {
                parts.push(Part::Text(last..delimited.span.start));
            }
            let body = &text[delimited.body.start..delimited.body.end];
            let node = parser::parse(body, delimited.body.start)?;
            parts.push(Part::Expr(Expression { node }));
            last = delimited.span.end;
        }
        if last < text.len() && last > 0 {
            parts.push(Part::Text(last..text.len()));
        }
        Ok(Self {
            source: text.to_owned(),
            parts,
        })
    }

    /// Whether the string has any expression (if not, it renders to itself, unchanged).
    pub fn has_expressions(&self) -> bool {
        !self.parts.is_empty()
    }

    /// The compiled expressions.
    pub fn expressions(&self) -> impl Iterator<Item = &Expression> {
        self.parts.iter().filter_map(|part| match part {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// Evaluates with the default limits.
    pub fn render(&self, env: &Value, host: &dyn Host) -> Result<Value, Error> {
        self.render_with(env, host, Limits::default())
    }

    /// Evaluates: each expression's value is inserted (strings raw, anything else as JSON), and
    /// the whole result is coerced with Kargo's rules (see [`coerce`]).
    pub fn render_with(
        &self,
        env: &Value,
        host: &dyn Host,
        limits: Limits,
    ) -> Result<Value, Error> {
        if self.parts.is_empty() {
            return Ok(Value::from(self.source.as_str()));
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(range) => out.push_str(&self.source[range.clone()]),
                Part::Expr(expression) => {
                    let value = expression.eval_with(env, host, limits)?;
                    match value {
                        Value::String(s) => out.push_str(&s),
                        other => out.push_str(&other.to_go_json().map_err(|message| {
                            Error::new(ErrorKind::Runtime, message, expression.node.span)
                        })?),
                    }
                }
            }
            if out.len() > limits.max_string {
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!("the rendered string is over {} bytes", limits.max_string),
                    Span::new(0, self.source.len()),
                ));
            }
        }
        Ok(coerce(out))
    }
}

/// Kargo's coercion of an evaluated template: strip one trailing newline; a string in double
/// quotes loses them and stays a string; then a float (Go `ParseFloat`), a bool (Go
/// `ParseBool`), JSON, or else the string as it was.
pub fn coerce(mut text: String) -> Value {
    let newline = text.ends_with('\n');
    if newline {
        text.pop();
    }
    if text.len() > 1 && text.starts_with('"') && text.ends_with('"') {
        let mut inner = text[1..text.len() - 1].to_owned();
        if newline {
            inner.push('\n');
        }
        return Value::from(inner);
    }
    if let Some(f) = parse_go_float(&text)
        && (f.is_finite() || looks_infinite(&text))
    {
        return Value::Float(f);
    }
    match text.as_str() {
        "t" | "T" | "TRUE" | "true" | "True" => return Value::Bool(true),
        "f" | "F" | "FALSE" | "false" | "False" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        return from_json_float(&json);
    }
    if newline {
        text.push('\n');
    }
    Value::from(text)
}

/// Go's ParseFloat gives ±Inf without error only for the words, not for overflowing numbers.
fn looks_infinite(text: &str) -> bool {
    let body = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    body == "inf" || body == "infinity" || body == "nan"
}

/// The env keys Kargo reserves for its template functions.
pub const RESERVED_ENV_KEYS: [&str; 3] = ["quote", "asYAML", "asJSON"];

/// Rejects an environment that uses a reserved key.
pub fn check_env(env: &Value) -> Result<(), String> {
    if let Value::Map(map) = env {
        for key in RESERVED_ENV_KEYS {
            if map.entries().contains_key(key) {
                return Err(format!(
                    "{key:?} is a forbidden key in the environment map; it is reserved for internal use"
                ));
            }
        }
    }
    Ok(())
}

/// Where in a config a value sits: `steps[2].config.path` style segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// A map key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A template error inside a config, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The path of the failing string.
    pub path: Vec<PathSegment>,
    /// The error; its span is within that string.
    pub error: Error,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.path.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if i == 0 => write!(f, "{key}")?,
                PathSegment::Key(key) => write!(f, ".{key}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        write!(f, ": {}", self.error.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Clone, Debug)]
enum ConfigNode {
    Leaf(Value),
    Template(Template),
    Array(Vec<ConfigNode>),
    Map(Vec<(String, ConfigNode)>),
}

/// A compiled config object: every string is a compiled template, keys are kept as they are.
#[derive(Clone, Debug)]
pub struct Config {
    root: ConfigNode,
}

impl Config {
    /// Compiles every string of a JSON value.
    pub fn compile(json: &serde_json::Value) -> Result<Self, ConfigError> {
        let mut path = Vec::new();
        Ok(Self {
            root: compile_node(json, &mut path)?,
        })
    }

    /// Renders the config; strings that hold no expression stay strings.
    pub fn render(&self, env: &Value, host: &dyn Host) -> Result<Value, ConfigError> {
        let mut path = Vec::new();
        render_node(&self.root, env, host, &mut path)
    }
}

fn compile_node(
    json: &serde_json::Value,
    path: &mut Vec<PathSegment>,
) -> Result<ConfigNode, ConfigError> {
    Ok(match json {
        serde_json::Value::String(s) => {
            let template = Template::compile(s).map_err(|error| ConfigError {
                path: path.clone(),
                error,
            })?;
            if template.has_expressions() {
                ConfigNode::Template(template)
            } else {
                ConfigNode::Leaf(Value::from(s.as_str()))
            }
        }
        serde_json::Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                nodes.push(compile_node(item, path)?);
                path.pop();
            }
            ConfigNode::Array(nodes)
        }
        serde_json::Value::Object(entries) => {
            let mut nodes = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                path.push(PathSegment::Key(key.clone()));
                nodes.push((key.clone(), compile_node(value, path)?));
                path.pop();
            }
            ConfigNode::Map(nodes)
        }
        other => ConfigNode::Leaf(Value::from_json(other)),
    })
}

fn render_node(
    node: &ConfigNode,
    env: &Value,
    host: &dyn Host,
    path: &mut Vec<PathSegment>,
) -> Result<Value, ConfigError> {
    Ok(match node {
        ConfigNode::Leaf(value) => value.clone(),
        ConfigNode::Template(template) => {
            template.render(env, host).map_err(|error| ConfigError {
                path: path.clone(),
                error,
            })?
        }
        ConfigNode::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                values.push(render_node(item, env, host, path)?);
                path.pop();
            }
            Value::array(values)
        }
        ConfigNode::Map(entries) => {
            let mut map = BTreeMap::new();
            for (key, value) in entries {
                path.push(PathSegment::Key(key.clone()));
                map.insert(key.clone(), render_node(value, env, host, path)?);
                path.pop();
            }
            Value::map(map)
        }
    })
}
