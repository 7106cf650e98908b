//! CEL evaluation for `${...}` expressions, with the `cel` crate (cel-rust).
//!
//! [`Evaluator`] holds a CEL environment shaped like Kro's: the standard library with optional
//! types (`a.?b`, `.orValue(x)`), cel-go's strings, lists and encoders extensions, `cel.bind`,
//! the two-variable comprehensions, Kro's own library and the Kubernetes list and regex
//! functions ([`functions`] lists them and what is missing). [`Evaluator::compile`] parses an
//! expression and rejects calls to functions the environment does not have, each error with
//! the byte range of the offending text inside the expression. Evaluation takes variables as
//! JSON and gives JSON back (plus the CEL type of the result, for the callers' type checks).
//!
//! Values cross between JSON and CEL like this: JSON integers are CEL `int` (`uint` only past
//! `i64::MAX`), other numbers `double`; back in JSON, a `double` with no fractional part is
//! written as an integer (as Kubernetes' YAML does), `bytes` as standard base64 (as Go's JSON
//! does), map keys as text in sorted order, an optional as its value, and `omit()` or an empty
//! optional leaves the field (or list element) out.
//!
//! cel-rust has no type checker: types are checked on the values at evaluation time, not
//! against resource schemas at build time as Kro does with a cluster's OpenAPI schemas.

pub mod digest;
pub mod functions;
mod macros;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use ::cel::common::ast::{EntryExpr, Expr, IdedExpr, SourceInfo};
use ::cel::common::value::Val;
use ::cel::objects::{Key, Map, OptionalValue};
use ::cel::{Context, Env, ExecutionError, Value};

pub use functions::{GLOBAL, MEMBER, UNSUPPORTED};

/// How deeply brackets may nest in one expression (deeper input could exhaust the stack of
/// the parser or the interpreter).
pub const MAX_NESTING: usize = 64;

/// A CEL environment like Kro's.
pub struct Evaluator {
    env: Arc<Env>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

impl Default for Evaluator {
    fn default() -> Self {
        Self::new()
    }
}

/// A compiled expression.
#[derive(Debug)]
pub struct Program {
    source: String,
    program: ::cel::Program,
}

impl Program {
    /// The CEL source it was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Why an expression does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct CompileError {
    /// The offending bytes of the expression source.
    pub span: Range<usize>,
    /// What is wrong.
    pub kind: CompileErrorKind,
}

/// What is wrong with an expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileErrorKind {
    /// The text is not CEL.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A call to a function nobody declares.
    #[error("undeclared reference to '{0}': no such function")]
    UnknownFunction(String),
    /// A function Kro has that gantry does not evaluate.
    #[error(
        "function '{0}' is part of Kro's CEL environment but gantry cannot evaluate it offline"
    )]
    UnsupportedFunction(String),
    /// Brackets nested deeper than [`MAX_NESTING`].
    #[error("expression nests more than {MAX_NESTING} levels deep")]
    TooDeep,
}

/// Why an evaluation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A map or object lacks the key read.
    #[error("no such key: {0}")]
    NoSuchKey(String),
    /// An identifier that is not a variable.
    #[error("undeclared reference to '{0}'")]
    Undeclared(String),
    /// Any other failure (no overload, division by zero, a function's own error...).
    #[error("{0}")]
    Failed(String),
    /// The result has no JSON form (NaN, a type value...).
    #[error("the result cannot be written into a manifest: {0}")]
    NotJson(String),
}

impl From<ExecutionError> for EvalError {
    fn from(error: ExecutionError) -> Self {
        match error {
            ExecutionError::NoSuchKey(key) => EvalError::NoSuchKey(key.to_string()),
            ExecutionError::UndeclaredReference(name) => EvalError::Undeclared(name.to_string()),
            other => {
                let text = other.to_string();
                let mut chars = text.chars();
                let lowered = match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => text,
                };
                EvalError::Failed(lowered)
            }
        }
    }
}

/// The result of an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The value; `None` when the expression asked for the field to be left out (`omit()`, an
    /// empty optional).
    pub value: Option<serde_json::Value>,
    /// The CEL type of the result (`string`, `int`, `map`...).
    pub type_name: String,
}

impl Evaluator {
    /// The environment.
    ///
    /// # Panics
    ///
    /// Never in practice: the declarations are fixed, and a test builds them.
    pub fn new() -> Self {
        let mut env = Env::stdlib();
        let declared = env
            .add_extension(::cel::extensions::strings)
            .and_then(|()| env.add_extension(::cel::extensions::lists))
            .and_then(|()| env.add_extension(::cel::extensions::encoders))
            .and_then(|()| macros::register(&mut env))
            .and_then(|()| functions::register(&mut env));
        declared.expect("the declarations are fixed and do not overlap, as the tests show");
        Evaluator { env: Arc::new(env) }
    }

    /// Parses `source` and checks that every function it calls exists.
    pub fn compile(&self, source: &str) -> Result<Program, Vec<CompileError>> {
        if let Some(span) = too_deep(source) {
            return Err(vec![CompileError {
                span,
                kind: CompileErrorKind::TooDeep,
            }]);
        }
        let program = self.env.compile(source).map_err(|errors| {
            errors
                .errors
                .iter()
                .map(|error| {
                    let offset = offset_of(source, error.pos);
                    CompileError {
                        span: offset..(offset + 1).min(source.len()).max(offset),
                        kind: CompileErrorKind::Syntax(syntax_message(&error.msg)),
                    }
                })
                .collect::<Vec<_>>()
        })?;
        let mut errors = Vec::new();
        check_functions(
            program.expression(),
            program.source_info(),
            source,
            &mut errors,
        );
        errors.sort_by_key(|error| (error.span.start, error.span.end));
        if errors.is_empty() {
            Ok(Program {
                source: source.to_owned(),
                program,
            })
        } else {
            Err(errors)
        }
    }

    /// Evaluates `program` with `variables` (name → CEL value).
    pub(crate) fn evaluate(
        &self,
        program: &Program,
        variables: &[(&str, &Value)],
    ) -> Result<Output, EvalError> {
        let mut context = Context::with_env(Arc::clone(&self.env));
        for (name, value) in variables {
            let boxed: Box<dyn Val> = Box::<dyn Val>::try_from((*value).clone())?;
            context.add_variable_as_val(*name, boxed);
        }
        let value = program.program.execute(&context)?;
        output(&value)
    }

    /// Evaluates `program` with JSON variables.
    pub fn evaluate_json(
        &self,
        program: &Program,
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Output, EvalError> {
        let converted: Vec<(String, Value)> = variables
            .iter()
            .map(|(name, value)| (name.clone(), from_json(value)))
            .collect();
        let borrowed: Vec<(&str, &Value)> = converted
            .iter()
            .map(|(name, value)| (name.as_str(), value))
            .collect();
        self.evaluate(program, &borrowed)
    }
}

fn syntax_message(message: &str) -> String {
    let message = message.strip_prefix("Syntax error: ").unwrap_or(message);
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid expression".to_owned(),
    }
}

/// The byte offset of a 1-based (line, column-in-characters) position.
fn offset_of(source: &str, (line, column): (isize, isize)) -> usize {
    let line = usize::try_from(line).unwrap_or(1).max(1);
    let column = usize::try_from(column).unwrap_or(1).max(1);
    let mut start = 0;
    for (i, text) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return text
                .char_indices()
                .nth(column - 1)
                .map_or(start + text.len(), |(offset, _)| start + offset);
        }
        start += text.len();
    }
    source.len()
}

fn too_deep(source: &str) -> Option<Range<usize>> {
    let mut depth = 0usize;
    for (i, c) in source.char_indices() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i..i + 1);
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// `a.b.c` for an identifier and selections on it.
fn qualified_name(expr: &IdedExpr) -> Option<String> {
    match &expr.expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Select(select) if !select.test => Some(format!(
            "{}.{}",
            qualified_name(&select.operand)?,
            select.field
        )),
        _ => None,
    }
}

/// The bytes of the name of the call whose `(` is at `open`.
fn call_name_span(source: &str, open: usize, name: &str) -> Range<usize> {
    let before = source.get(..open).unwrap_or(source).trim_end();
    if before.ends_with(name) {
        before.len() - name.len()..before.len()
    } else {
        open.min(source.len())..(open + 1).min(source.len())
    }
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_functions(
    expr: &IdedExpr,
    info: &SourceInfo,
    source: &str,
    errors: &mut Vec<CompileError>,
) {
    match &expr.expr {
        Expr::Call(call) => {
            let name = call.func_name.as_str();
            // Operators (`_+_`, `@in`...) and the macros' helpers are not user functions.
            if is_identifier(name) {
                let known = match &call.target {
                    Some(target) => {
                        qualified_name(target)
                            .is_some_and(|ns| GLOBAL.contains(&format!("{ns}.{name}").as_str()))
                            || MEMBER.contains(&name)
                    }
                    None => GLOBAL.contains(&name),
                };
                if !known {
                    let open = info
                        .offset_for(expr.id)
                        .and_then(|(start, _)| usize::try_from(start).ok())
                        .unwrap_or(0);
                    let kind = if UNSUPPORTED.contains(&name) {
                        CompileErrorKind::UnsupportedFunction(name.to_owned())
                    } else {
                        CompileErrorKind::UnknownFunction(name.to_owned())
                    };
                    errors.push(CompileError {
                        span: call_name_span(source, open, name),
                        kind,
                    });
                }
            }
            if let Some(target) = &call.target {
                // `base64.encode(...)`: the namespace is not an expression of its own.
                let namespaced = qualified_name(target)
                    .is_some_and(|ns| GLOBAL.contains(&format!("{ns}.{name}").as_str()));
                if !namespaced {
                    check_functions(target, info, source, errors);
                }
            }
            for arg in &call.args {
                check_functions(arg, info, source, errors);
            }
        }
        Expr::Comprehension(comprehension) => {
            for part in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                check_functions(part, info, source, errors);
            }
        }
        Expr::Select(select) => check_functions(&select.operand, info, source, errors),
        Expr::List(list) => {
            for element in &list.elements {
                check_functions(element, info, source, errors);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(entry) => {
                        check_functions(&entry.key, info, source, errors);
                        check_functions(&entry.value, info, source, errors);
                    }
                    EntryExpr::StructField(field) => {
                        check_functions(&field.value, info, source, errors);
                    }
                }
            }
        }
        Expr::Struct(structure) => {
            for entry in &structure.entries {
                if let EntryExpr::StructField(field) = &entry.expr {
                    check_functions(&field.value, info, source, errors);
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// JSON to CEL: integers are `int`, other numbers `double`.
pub(crate) fn from_json(value: &serde_json::Value) -> Value {
    from_json_with(value, false)
}

/// JSON to CEL; with `doubles`, every number is a `double` (as Go decodes JSON).
pub(crate) fn from_json_with(value: &serde_json::Value, doubles: bool) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if !doubles {
                if let Some(i) = n.as_i64() {
                    return Value::Int(i);
                }
                if let Some(u) = n.as_u64() {
                    return Value::UInt(u);
                }
            }
            Value::Float(n.as_f64().unwrap_or(f64::NAN))
        }
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => Value::List(Arc::new(
            items
                .iter()
                .map(|item| from_json_with(item, doubles))
                .collect(),
        )),
        serde_json::Value::Object(entries) => {
            let map: std::collections::HashMap<Key, Value> = entries
                .iter()
                .map(|(key, item)| {
                    (
                        Key::String(Arc::new(key.clone())),
                        from_json_with(item, doubles),
                    )
                })
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

fn type_name(value: &Value) -> String {
    match value {
        Value::List(_) => "list".into(),
        Value::Map(_) => "map".into(),
        Value::Function(..) => "function".into(),
        Value::Int(_) => "int".into(),
        Value::UInt(_) => "uint".into(),
        Value::Float(_) => "double".into(),
        Value::String(_) => "string".into(),
        Value::Bytes(_) => "bytes".into(),
        Value::Bool(_) => "bool".into(),
        Value::Opaque(opaque) => opaque.runtime_type_name().to_owned(),
        Value::Struct(_) => "struct".into(),
        Value::Null => "null_type".into(),
    }
}

fn output(value: &Value) -> Result<Output, EvalError> {
    Ok(Output {
        value: to_json_or_omit(value)?,
        type_name: type_name(value),
    })
}

/// CEL to JSON; `omit()` or an empty optional anywhere is an error (see [`to_json_or_omit`]).
pub(crate) fn to_json(value: &Value) -> Result<serde_json::Value, EvalError> {
    to_json_or_omit(value)?.ok_or_else(|| EvalError::NotJson("omit() has no value".into()))
}

/// CEL to JSON; `None` when the value says "leave me out" (`omit()`, an empty optional).
/// Inside lists and maps such values drop the element or the entry.
fn to_json_or_omit(value: &Value) -> Result<Option<serde_json::Value>, EvalError> {
    Ok(Some(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(n) => serde_json::Value::from(*n),
        Value::UInt(n) => serde_json::Value::from(*n),
        Value::Float(f) => float_json(*f)?,
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Bytes(bytes) => serde_json::Value::String(base64_standard(bytes)),
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                if let Some(item) = to_json_or_omit(item)? {
                    out.push(item);
                }
            }
            serde_json::Value::Array(out)
        }
        Value::Map(map) => {
            let mut sorted: BTreeMap<String, serde_json::Value> = BTreeMap::new();
            for (key, item) in map.map.iter() {
                if let Some(item) = to_json_or_omit(item)? {
                    sorted.insert(key_text(key), item);
                }
            }
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        Value::Opaque(opaque) => {
            if opaque.runtime_type_name() == functions::OMIT_TYPE {
                return Ok(None);
            }
            match opaque.downcast_ref::<OptionalValue>() {
                Some(optional) => match optional.value() {
                    Some(inner) => return to_json_or_omit(inner),
                    None => return Ok(None),
                },
                None => {
                    return Err(EvalError::NotJson(format!(
                        "a value of type {}",
                        opaque.runtime_type_name()
                    )));
                }
            }
        }
        Value::Function(..) | Value::Struct(_) => {
            return Err(EvalError::NotJson(format!(
                "a value of type {}",
                type_name(value)
            )));
        }
    }))
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Int(n) => n.to_string(),
        Key::Uint(n) => n.to_string(),
        Key::Bool(b) => b.to_string(),
        Key::String(s) => s.to_string(),
    }
}

/// Integral doubles become JSON integers, as Kubernetes' YAML writes them.
fn float_json(f: f64) -> Result<serde_json::Value, EvalError> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if !f.is_finite() {
        return Err(EvalError::NotJson(format!("the double {f}")));
    }
    if f.fract() == 0.0 && f.abs() < EXACT {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "integral and below 2^53 in magnitude, so exact in i64"
        )]
        return Ok(serde_json::Value::from(f as i64));
    }
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .ok_or_else(|| EvalError::NotJson(format!("the double {f}")))
}

fn base64_standard(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(ALPHABET[index]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Unpadded URL-safe base64 (RFC 4648 §5), as ApplySet ids use.
pub(crate) fn base64_url(bytes: &[u8]) -> String {
    base64_standard(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

#[cfg(test)]
mod tests;
