//! The tree-walking evaluator, with bounded work: every node and every predicate iteration costs
//! a step, and collections, strings and nesting have size limits.

use std::collections::BTreeMap;

use crate::ast::{Binary, Kind, Node, Unary};
use crate::error::{Error, ErrorKind, Span};
use crate::functions;
use crate::host::Host;
use crate::value::Value;

/// Bounds on one evaluation. The defaults are far above what a promotion config needs and far
/// below what could hurt the process.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Nodes evaluated plus predicate iterations, per evaluation.
    pub max_steps: u64,
    /// Longest array (ranges, `repeat`, concatenation, ...).
    pub max_items: usize,
    /// Longest string, in bytes.
    pub max_string: usize,
    /// Deepest nesting of arrays and maps built by an expression.
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps: 1_000_000,
            max_items: 100_000,
            max_string: 1 << 20,
            max_depth: 256,
        }
    }
}

/// Why evaluation of a node stopped early.
pub(crate) enum Stop {
    Err(Error),
    /// A `?.` met nil: the enclosing chain evaluates to nil.
    NilChain,
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Err(error)
    }
}

pub(crate) type R = Result<Value, Stop>;

/// A predicate's frame: the current element, its index, and the accumulator of `reduce`.
struct Frame {
    item: Value,
    index: i64,
    acc: Value,
}

pub(crate) struct Evaluator<'a> {
    pub(crate) env: &'a Value,
    pub(crate) host: &'a dyn Host,
    pub(crate) limits: Limits,
    steps: u64,
    scopes: Vec<(String, Value)>,
    frames: Vec<Frame>,
}

/// `Ok` when `ok`, else a limit error.
fn within(ok: bool, message: impl FnOnce() -> String, span: Span) -> Result<(), Stop> {
    if ok {
        Ok(())
    } else {
        Err(Stop::Err(Error::new(ErrorKind::Limit, message(), span)))
    }
}

pub(crate) fn rt(message: impl Into<String>, span: Span) -> Stop {
    Stop::Err(Error::new(ErrorKind::Runtime, message, span))
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(env: &'a Value, host: &'a dyn Host, limits: Limits) -> Self {
        Self {
            env,
            host,
            limits,
            steps: 0,
            scopes: Vec::new(),
            frames: Vec::new(),
        }
    }

    pub(crate) fn run(&mut self, node: &Node) -> Result<Value, Error> {
        match self.eval(node) {
            Ok(value) => Ok(value),
            Err(Stop::NilChain) => Ok(Value::Nil),
            Err(Stop::Err(error)) => Err(error),
        }
    }

    /// Counts `n` steps of work; fails past the limit.
    pub(crate) fn tick(&mut self, n: u64, span: Span) -> Result<(), Stop> {
        self.steps += n;
        within(
            self.steps <= self.limits.max_steps,
            || {
                format!(
                    "evaluation took more than {} steps and was stopped",
                    self.limits.max_steps
                )
            },
            span,
        )
    }

    pub(crate) fn check_items(&self, len: usize, span: Span) -> Result<(), Stop> {
        within(
            len <= self.limits.max_items,
            || {
                format!(
                    "array of {len} items is over the limit of {}",
                    self.limits.max_items
                )
            },
            span,
        )
    }

    pub(crate) fn check_string(&self, len: usize, span: Span) -> Result<(), Stop> {
        within(
            len <= self.limits.max_string,
            || {
                format!(
                    "string of {len} bytes is over the limit of {} bytes",
                    self.limits.max_string
                )
            },
            span,
        )
    }

    /// Builds an array, checking its size and nesting.
    pub(crate) fn array(&self, items: Vec<Value>, span: Span) -> R {
        self.check_items(items.len(), span)?;
        let value = Value::array(items);
        self.check_depth(&value, span)?;
        Ok(value)
    }

    /// Builds a map, checking its nesting.
    pub(crate) fn map(&self, entries: BTreeMap<String, Value>, span: Span) -> R {
        self.check_items(entries.len(), span)?;
        let value = Value::map(entries);
        self.check_depth(&value, span)?;
        Ok(value)
    }

    pub(crate) fn string(&self, text: String, span: Span) -> R {
        self.check_string(text.len(), span)?;
        Ok(Value::from(text))
    }

    fn check_depth(&self, value: &Value, span: Span) -> Result<(), Stop> {
        within(
            value.depth() <= self.limits.max_depth,
            || format!("value nests deeper than {} levels", self.limits.max_depth),
            span,
        )
    }

    pub(crate) fn eval(&mut self, node: &Node) -> R {
        self.tick(1, node.span)?;
        match &node.kind {
            Kind::Literal(value) => Ok(value.clone()),
            Kind::Ident(name) => Ok(self.lookup(name)),
            Kind::Env => Ok(self.env.clone()),
            Kind::Pointer(name) => self.pointer(name, node.span),
            Kind::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item)?);
                }
                self.array(values, node.span)
            }
            Kind::Map(entries) => {
                let mut map = BTreeMap::new();
                for (key, value) in entries {
                    let key_value = self.eval(key)?;
                    let key_text = match key_value {
                        Value::String(s) => s.to_string(),
                        Value::Int(i) => i.to_string(),
                        other => {
                            return Err(rt(
                                format!("a map key must be a string, got {}", other.type_name()),
                                key.span,
                            ));
                        }
                    };
                    let value = self.eval(value)?;
                    map.insert(key_text, value);
                }
                self.map(map, node.span)
            }
            Kind::Unary(op, operand) => {
                let value = self.eval(operand)?;
                unary(*op, value, node.span)
            }
            Kind::Binary(op, left, right) => self.binary(*op, left, right, node.span),
            Kind::Member {
                object,
                property,
                optional,
            } => {
                let object_value = self.eval(object)?;
                if *optional && matches!(object_value, Value::Nil) {
                    return Err(Stop::NilChain);
                }
                let key = self.eval(property)?;
                fetch(&object_value, &key, node.span, property.span)
            }
            Kind::Slice { object, from, to } => {
                let value = self.eval(object)?;
                let from = match from {
                    Some(node) => Some(self.eval(node)?),
                    None => None,
                };
                let to = match to {
                    Some(node) => Some(self.eval(node)?),
                    None => None,
                };
                slice(&value, from.as_ref(), to.as_ref(), node.span)
            }
            Kind::Call { func, name, args } => functions::call(self, *func, name, args, node.span),
            Kind::Method {
                object,
                name,
                optional,
                args,
            } => {
                let target = self.eval(object)?;
                if *optional && matches!(target, Value::Nil) {
                    return Err(Stop::NilChain);
                }
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg)?);
                }
                method(&target, name, &values, node.span)
            }
            Kind::Closure(body) => self.eval(body),
            Kind::Matches(text, regex) => match self.eval(text)? {
                Value::String(s) => Ok(Value::Bool(regex.is_match(&s))),
                Value::Nil => Ok(Value::Bool(false)),
                other => Err(rt(
                    format!("invalid operation: {} matches string", other.go_type_name()),
                    node.span,
                )),
            },
            Kind::Sequence(nodes) => {
                let mut last = Value::Nil;
                for node in nodes {
                    last = self.eval(node)?;
                }
                Ok(last)
            }
            Kind::Conditional(condition, then, otherwise) => match self.eval(condition)? {
                Value::Bool(true) => self.eval(then),
                Value::Bool(false) => self.eval(otherwise),
                other => Err(rt(
                    format!("the condition must be a bool, got {}", other.type_name()),
                    condition.span,
                )),
            },
            Kind::Let { name, value, body } => {
                let value = self.eval(value)?;
                self.scopes.push((name.clone(), value));
                let result = self.eval(body);
                self.scopes.pop();
                result
            }
            Kind::Chain(inner) => match self.eval(inner) {
                Err(Stop::NilChain) => Ok(Value::Nil),
                other => other,
            },
        }
    }

    fn lookup(&self, name: &str) -> Value {
        if let Some((_, value)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
            return value.clone();
        }
        match self.env {
            Value::Map(map) => map.entries().get(name).cloned().unwrap_or(Value::Nil),
            _ => Value::Nil,
        }
    }

    fn pointer(&self, name: &str, span: Span) -> R {
        let Some(frame) = self.frames.last() else {
            return Err(rt("`#` used outside a predicate", span));
        };
        match name {
            "" => Ok(frame.item.clone()),
            "index" => Ok(Value::Int(frame.index)),
            "acc" => Ok(frame.acc.clone()),
            other => Err(rt(
                format!("unknown pointer `#{other}`: use `#`, `#index` or `#acc`"),
                span,
            )),
        }
    }

    /// Evaluates a predicate body for one element.
    pub(crate) fn predicate(&mut self, body: &Node, item: &Value, index: usize, acc: Value) -> R {
        self.tick(1, body.span)?;
        self.frames.push(Frame {
            item: item.clone(),
            index: i64::try_from(index).unwrap_or(i64::MAX),
            acc,
        });
        let result = self.eval(body);
        self.frames.pop();
        result
    }

    /// Evaluates a predicate that must return a bool.
    pub(crate) fn test(&mut self, body: &Node, item: &Value, index: usize) -> Result<bool, Stop> {
        match self.predicate(body, item, index, Value::Nil)? {
            Value::Bool(b) => Ok(b),
            other => Err(rt(
                format!(
                    "the predicate must return a bool, got {}",
                    other.type_name()
                ),
                body.span,
            )),
        }
    }

    fn binary(&mut self, op: Binary, left: &Node, right: &Node, span: Span) -> R {
        match op {
            Binary::And | Binary::Or => {
                let l = self.eval(left)?;
                let Value::Bool(l) = l else {
                    return Err(rt(
                        format!(
                            "invalid operation: `{}` needs bools, got {} on the left",
                            op.symbol(),
                            l.go_type_name()
                        ),
                        left.span,
                    ));
                };
                if (op == Binary::And && !l) || (op == Binary::Or && l) {
                    return Ok(Value::Bool(l));
                }
                // like expr-lang, the right side is returned as it is
                self.eval(right)
            }
            Binary::Coalesce => {
                let l = match self.eval(left) {
                    Err(Stop::NilChain) => Value::Nil,
                    other => other?,
                };
                if matches!(l, Value::Nil) {
                    self.eval(right)
                } else {
                    Ok(l)
                }
            }
            _ => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                self.binary_values(op, &l, &r, span, right.span)
            }
        }
    }

    fn binary_values(
        &mut self,
        op: Binary,
        l: &Value,
        r: &Value,
        span: Span,
        right_span: Span,
    ) -> R {
        let mismatch = || {
            rt(
                format!(
                    "invalid operation: {} {} {}",
                    l.go_type_name(),
                    op.symbol(),
                    r.go_type_name()
                ),
                span,
            )
        };
        match op {
            Binary::Eq => Ok(Value::Bool(l.equals(r))),
            Binary::Ne => Ok(Value::Bool(!l.equals(r))),
            Binary::Lt | Binary::Gt | Binary::Le | Binary::Ge => {
                let ordering = compare(l, r).ok_or_else(mismatch)?;
                Ok(Value::Bool(match op {
                    Binary::Lt => ordering.is_lt(),
                    Binary::Gt => ordering.is_gt(),
                    Binary::Le => ordering.is_le(),
                    _ => ordering.is_ge(),
                }))
            }
            Binary::In => contains_value(r, l, span),
            Binary::Matches => {
                if matches!(l, Value::Nil) || matches!(r, Value::Nil) {
                    return Ok(Value::Bool(false));
                }
                let (Value::String(text), Value::String(pattern)) = (l, r) else {
                    return Err(mismatch());
                };
                let regex = regex::Regex::new(pattern).map_err(|e| {
                    rt(
                        format!("invalid regular expression: {}", one_line(&e.to_string())),
                        right_span,
                    )
                })?;
                Ok(Value::Bool(regex.is_match(text)))
            }
            Binary::Contains | Binary::StartsWith | Binary::EndsWith => {
                if matches!(l, Value::Nil) || matches!(r, Value::Nil) {
                    return Ok(Value::Bool(false));
                }
                let (Value::String(a), Value::String(b)) = (l, r) else {
                    return Err(mismatch());
                };
                Ok(Value::Bool(match op {
                    Binary::Contains => a.contains(&**b),
                    Binary::StartsWith => a.starts_with(&**b),
                    _ => a.ends_with(&**b),
                }))
            }
            Binary::Range => {
                let (Value::Int(from), Value::Int(to)) = (l, r) else {
                    return Err(mismatch());
                };
                if to < from {
                    return Ok(Value::array(Vec::new()));
                }
                let len = usize::try_from(to.abs_diff(*from))
                    .unwrap_or(usize::MAX)
                    .saturating_add(1);
                self.check_items(len, span)?;
                self.tick(len as u64, span)?;
                Ok(Value::array((*from..=*to).map(Value::Int).collect()))
            }
            Binary::Add => match (l, r) {
                (Value::String(a), Value::String(b)) => {
                    self.check_string(a.len() + b.len(), span)?;
                    Ok(Value::from(format!("{a}{b}")))
                }
                _ => arithmetic(op, l, r).ok_or_else(mismatch),
            },
            Binary::Sub | Binary::Mul | Binary::Div | Binary::Pow => {
                arithmetic(op, l, r).ok_or_else(mismatch)
            }
            Binary::Mod => match (l, r) {
                (Value::Int(_), Value::Int(0)) => Err(rt("integer divide by zero", span)),
                (Value::Int(a), Value::Int(b)) => Ok(Value::Int(a.wrapping_rem(*b))),
                _ => Err(mismatch()),
            },
            Binary::Or | Binary::And | Binary::Coalesce => Err(mismatch()),
        }
    }
}

pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[allow(
    clippy::cast_precision_loss,
    reason = "Go converts int to float64 the same way"
)]
fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn arithmetic(op: Binary, l: &Value, r: &Value) -> Option<Value> {
    if let (Value::Int(a), Value::Int(b)) = (l, r) {
        match op {
            Binary::Add => return Some(Value::Int(a.wrapping_add(*b))),
            Binary::Sub => return Some(Value::Int(a.wrapping_sub(*b))),
            Binary::Mul => return Some(Value::Int(a.wrapping_mul(*b))),
            _ => {}
        }
    }
    let (a, b) = (as_float(l)?, as_float(r)?);
    Some(Value::Float(match op {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Div => a / b,
        Binary::Pow => a.powf(b),
        _ => return None,
    }))
}

fn unary(op: Unary, value: Value, span: Span) -> R {
    match (op, &value) {
        (Unary::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (Unary::Neg, Value::Int(i)) => Ok(Value::Int(i.wrapping_neg())),
        (Unary::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
        (Unary::Plus, Value::Int(_) | Value::Float(_)) => Ok(value),
        _ => Err(rt(
            format!(
                "invalid operation: {} {}",
                match op {
                    Unary::Not => "!",
                    Unary::Neg => "-",
                    Unary::Plus => "+",
                },
                value.go_type_name()
            ),
            span,
        )),
    }
}

/// Ordering of numbers (int and float mixed) and of strings.
pub(crate) fn compare(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => as_float(l)?.partial_cmp(&as_float(r)?),
    }
}

fn contains_value(container: &Value, needle: &Value, span: Span) -> R {
    Ok(Value::Bool(match container {
        Value::Array(array) => array.items().iter().any(|item| item.equals(needle)),
        Value::Map(map) => match needle {
            Value::String(key) => map.entries().contains_key(&**key),
            Value::Nil => false,
            other => {
                return Err(rt(
                    format!(
                        "cannot use {} as type string in map key",
                        other.go_type_name()
                    ),
                    span,
                ));
            }
        },
        Value::Object(object) => match needle {
            Value::String(name) => object.field(name).is_some(),
            _ => false,
        },
        Value::Nil => false,
        other => {
            return Err(rt(
                format!("operator \"in\" not defined on {}", other.go_type_name()),
                span,
            ));
        }
    }))
}

/// `object[key]` and `object.key`.
pub(crate) fn fetch(object: &Value, key: &Value, span: Span, key_span: Span) -> R {
    match object {
        Value::Map(map) => match key {
            Value::String(name) => Ok(map.entries().get(&**name).cloned().unwrap_or(Value::Nil)),
            Value::Int(i) => Ok(map
                .entries()
                .get(&i.to_string())
                .cloned()
                .unwrap_or(Value::Nil)),
            other => Err(rt(
                format!("cannot use {} as a map key", other.type_name()),
                key_span,
            )),
        },
        Value::Array(array) => {
            let index = index_of(key, array.items().len(), key_span)?;
            Ok(array.items()[index].clone())
        }
        Value::String(text) => {
            // Go indexes strings by byte, and expr-lang returns the byte as a number
            let index = index_of(key, text.len(), key_span)?;
            Ok(Value::Int(i64::from(text.as_bytes()[index])))
        }
        Value::Object(object) => {
            let Value::String(name) = key else {
                return Err(rt(
                    format!("cannot fetch {key} from {}", object.type_name()),
                    key_span,
                ));
            };
            object.field(name).ok_or_else(|| {
                let mut error = Error::new(
                    ErrorKind::Runtime,
                    format!("type {} has no field {name}", object.type_name()),
                    key_span,
                );
                let names = object.field_names();
                if let Some(similar) = gantry_api::suggest::similar(name, names.iter().copied()) {
                    error = error.with_help(format!("did you mean `.{similar}`?"));
                } else {
                    error = error.with_help(format!(
                        "{} has: {}",
                        object.type_name(),
                        names.join(", ")
                    ));
                }
                Stop::Err(error)
            })
        }
        Value::Nil => Err(Stop::Err(
            Error::new(
                ErrorKind::Runtime,
                format!("cannot fetch {key} from <nil>"),
                span,
            )
            .with_help(
                "use `?.` to get nil instead of an error, and `??` for a default: `a?.b ?? 'x'`",
            ),
        )),
        other => Err(rt(
            format!("cannot fetch {key} from {}", other.go_type_name()),
            span,
        )),
    }
}

fn index_of(key: &Value, len: usize, span: Span) -> Result<usize, Stop> {
    let Value::Int(i) = key else {
        return Err(rt(
            format!("an index must be an int, got {}", key.type_name()),
            span,
        ));
    };
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let index = if *i < 0 { len_i + i } else { *i };
    if index < 0 || index >= len_i {
        return Err(rt(
            format!("index out of range: {index} (array length is {len})"),
            span,
        ));
    }
    Ok(usize::try_from(index).unwrap_or(0))
}

fn slice_bound(value: Option<&Value>, default: i64, len: i64, span: Span) -> Result<usize, Stop> {
    let mut bound = match value {
        None => default,
        Some(Value::Int(i)) => *i,
        Some(other) => {
            return Err(rt(
                format!("a slice bound must be an int, got {}", other.type_name()),
                span,
            ));
        }
    };
    if bound < 0 {
        bound += len;
    }
    Ok(usize::try_from(bound.clamp(0, len)).unwrap_or(0))
}

fn slice(value: &Value, from: Option<&Value>, to: Option<&Value>, span: Span) -> R {
    let len = match value {
        Value::Array(array) => array.items().len(),
        Value::String(text) => text.len(),
        Value::Nil => return Ok(Value::Nil),
        other => {
            return Err(rt(format!("cannot slice {}", other.type_name()), span));
        }
    };
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let end = slice_bound(to, len_i, len_i, span)?;
    let start = slice_bound(from, 0, len_i, span)?.min(end);
    Ok(match value {
        Value::Array(array) => Value::array(array.items()[start..end].to_vec()),
        Value::String(text) => {
            Value::from(String::from_utf8_lossy(&text.as_bytes()[start..end]).into_owned())
        }
        _ => Value::Nil,
    })
}

fn method(target: &Value, name: &str, args: &[Value], span: Span) -> R {
    if let Value::Object(object) = target
        && let Some(result) = object.call(name, args)
    {
        return result.map_err(|message| rt(message, span));
    }
    Err(rt(
        format!("type {} has no method {name}", target.type_name()),
        span,
    ))
}
