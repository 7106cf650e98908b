//! Runtime values, with the Go semantics expr-lang gives them: `%v` formatting, `encoding/json`
//! encoding (sorted keys, HTML-safe escapes, Go float formatting) and equality.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

/// A value an expression reads or produces.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// `nil`.
    #[default]
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A Go `int` (64-bit, wrapping).
    Int(i64),
    /// A Go `float64`.
    Float(f64),
    /// A string.
    String(Arc<str>),
    /// An array (`[]any`).
    Array(Arc<Array>),
    /// A map with string keys (`map[string]any`).
    Map(Arc<Map>),
    /// A typed object (a Kargo struct such as `Image`, or a semver version) with fields and
    /// methods of its own.
    Object(Arc<dyn Object>),
}

/// The items of an array value, with the nesting depth cached so that bounds are cheap to check.
#[derive(Debug, Default)]
pub struct Array {
    items: Vec<Value>,
    depth: u32,
}

/// The entries of a map value (sorted by key, as Go prints and encodes maps).
#[derive(Debug, Default)]
pub struct Map {
    entries: BTreeMap<String, Value>,
    depth: u32,
}

impl Array {
    /// The items.
    pub fn items(&self) -> &[Value] {
        &self.items
    }
}

impl Map {
    /// The entries, sorted by key.
    pub fn entries(&self) -> &BTreeMap<String, Value> {
        &self.entries
    }
}

/// A typed value with named fields and methods: Kargo's `Image`, `GitCommit`, a semver version.
pub trait Object: fmt::Debug + Send + Sync {
    /// The Go type name, for messages (`Image`).
    fn type_name(&self) -> &'static str;
    /// A field by its Go name (`Tag`), or `None` when the type has no such field.
    fn field(&self, name: &str) -> Option<Value>;
    /// The field names, for "did you mean" hints.
    fn field_names(&self) -> Vec<&'static str>;
    /// Calls a method; `None` when the type has no such method.
    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (method, args);
        None
    }
    /// What `encoding/json` makes of the value (a map with the JSON field names, or a string).
    fn to_json(&self) -> Value;
}

/// A Go struct: ordered fields with a Go name (for `.Field` access) and a JSON name.
#[derive(Debug)]
pub struct Struct {
    type_name: &'static str,
    fields: Vec<Field>,
}

#[derive(Debug)]
struct Field {
    go: &'static str,
    json: &'static str,
    omit_empty: bool,
    value: Value,
}

impl Struct {
    /// An empty struct of the given Go type.
    pub fn new(type_name: &'static str) -> Self {
        Self {
            type_name,
            fields: Vec::new(),
        }
    }

    /// Adds a field that is always encoded.
    #[must_use]
    pub fn field(mut self, go: &'static str, json: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push(Field {
            go,
            json,
            omit_empty: false,
            value: value.into(),
        });
        self
    }

    /// Adds a field encoded only when it is not empty (`json:",omitempty"`).
    #[must_use]
    pub fn field_omit_empty(
        mut self,
        go: &'static str,
        json: &'static str,
        value: impl Into<Value>,
    ) -> Self {
        self.fields.push(Field {
            go,
            json,
            omit_empty: true,
            value: value.into(),
        });
        self
    }

    /// The finished value.
    pub fn into_value(self) -> Value {
        Value::Object(Arc::new(self))
    }
}

impl Object for Struct {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn field(&self, name: &str) -> Option<Value> {
        self.fields
            .iter()
            .find(|f| f.go == name)
            .map(|f| f.value.clone())
    }

    fn field_names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.go).collect()
    }

    fn to_json(&self) -> Value {
        let mut entries = BTreeMap::new();
        for field in &self.fields {
            if field.omit_empty && field.value.is_empty() {
                continue;
            }
            entries.insert(field.json.to_owned(), field.value.json_form());
        }
        Value::map(entries)
    }
}

impl Value {
    /// A string value.
    pub fn string(text: impl Into<Arc<str>>) -> Self {
        Self::String(text.into())
    }

    /// An array value.
    pub fn array(items: Vec<Value>) -> Self {
        let depth = items.iter().map(Value::depth).max().unwrap_or(0) + 1;
        Self::Array(Arc::new(Array { items, depth }))
    }

    /// A map value.
    pub fn map(entries: BTreeMap<String, Value>) -> Self {
        let depth = entries.values().map(Value::depth).max().unwrap_or(0) + 1;
        Self::Map(Arc::new(Map { entries, depth }))
    }

    /// Nesting depth: 0 for scalars, 1 for a flat array or map.
    pub fn depth(&self) -> u32 {
        match self {
            Self::Array(array) => array.depth,
            Self::Map(map) => map.depth,
            Self::Object(_) => 2,
            _ => 0,
        }
    }

    /// The expr-lang type name (`int`, `float`, `string`, `bool`, `nil`, `array`, `map`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Nil => "nil",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Map(_) => "map",
            Self::Object(object) => object.type_name(),
        }
    }

    /// The Go type name used in error messages (`int`, `float64`, `<nil>`, `[]interface {}`).
    pub fn go_type_name(&self) -> String {
        match self {
            Self::Nil => "<nil>".to_owned(),
            Self::Bool(_) => "bool".to_owned(),
            Self::Int(_) => "int".to_owned(),
            Self::Float(_) => "float64".to_owned(),
            Self::String(_) => "string".to_owned(),
            Self::Array(_) => "[]interface {}".to_owned(),
            Self::Map(_) => "map[string]interface {}".to_owned(),
            Self::Object(object) => object.type_name().to_owned(),
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// Go's zero-value test used by `omitempty`.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Nil => true,
            Self::Bool(b) => !b,
            Self::Int(i) => *i == 0,
            Self::Float(f) => *f == 0.0,
            Self::String(s) => s.is_empty(),
            Self::Array(a) => a.items.is_empty(),
            Self::Map(m) => m.entries.is_empty(),
            Self::Object(_) => false,
        }
    }

    /// The value with objects replaced by their JSON form, recursively.
    #[must_use]
    pub fn json_form(&self) -> Value {
        match self {
            Self::Object(object) => object.to_json().json_form(),
            Self::Array(array) => Value::array(array.items.iter().map(Value::json_form).collect()),
            Self::Map(map) => Value::map(
                map.entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.json_form()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Converts a JSON value. Integers that fit `i64` become `Int`, other numbers `Float`.
    pub fn from_json(json: &serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Self::Nil,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Self::string(s.as_str()),
            serde_json::Value::Array(items) => {
                Self::array(items.iter().map(Self::from_json).collect())
            }
            serde_json::Value::Object(entries) => Self::map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON; fails on NaN and infinities, as Go's `encoding/json` does.
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        Ok(match self {
            Self::Nil => serde_json::Value::Null,
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Int(i) => serde_json::Value::from(*i),
            // an integral float becomes an integer, so that it prints as Go prints it (`42`)
            #[allow(
                clippy::cast_possible_truncation,
                reason = "checked to be integral and in range"
            )]
            Self::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                serde_json::Value::from(*f as i64)
            }
            Self::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .ok_or_else(|| unsupported_float(*f))?,
            Self::String(s) => serde_json::Value::String(s.to_string()),
            Self::Array(array) => serde_json::Value::Array(
                array
                    .items
                    .iter()
                    .map(Value::to_json)
                    .collect::<Result<_, _>>()?,
            ),
            Self::Map(map) => serde_json::Value::Object(
                map.entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_json()?)))
                    .collect::<Result<_, String>>()?,
            ),
            Self::Object(object) => object.to_json().to_json()?,
        })
    }

    /// Go's `json.Marshal`: compact, map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
    pub fn to_go_json(&self) -> Result<String, String> {
        let mut out = String::new();
        write_json(&mut out, self, None, 0)?;
        Ok(out)
    }

    /// Go's `json.MarshalIndent(v, "", indent)`.
    pub fn to_go_json_indent(&self, indent: &str) -> Result<String, String> {
        let mut out = String::new();
        write_json(&mut out, self, Some(indent), 0)?;
        Ok(out)
    }

    /// Go's `fmt.Sprint` (`%v`): `<nil>`, `[1 2]`, `map[a:1]`, floats in `%g` style.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        write_go(&mut out, self);
        out
    }

    /// expr-lang equality: numbers compare by value across int and float; values of different
    /// types are unequal; arrays and maps compare deeply.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::Nil, Self::Nil) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            #[allow(
                clippy::cast_precision_loss,
                reason = "Go compares int and float as floats"
            )]
            (Self::Int(a), Self::Float(b)) | (Self::Float(b), Self::Int(a)) => {
                (*a as f64).partial_cmp(b) == Some(std::cmp::Ordering::Equal)
            }
            #[allow(clippy::float_cmp, reason = "Go's == on float64")]
            (Self::Float(a), Self::Float(b)) => a == b,
            (Self::String(a), Self::String(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.items.len() == b.items.len()
                        && a.items.iter().zip(&b.items).all(|(x, y)| x.equals(y)))
            }
            (Self::Map(a), Self::Map(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.entries.len() == b.entries.len()
                        && a.entries
                            .iter()
                            .zip(&b.entries)
                            .all(|((ka, va), (kb, vb))| ka == kb && va.strict_equals(vb)))
            }
            (Self::Object(a), Self::Object(b)) => {
                a.type_name() == b.type_name() && a.to_json().equals(&b.to_json())
            }
            _ => false,
        }
    }

    /// `reflect.DeepEqual` inside maps: an int never equals a float there.
    fn strict_equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::Int(_), Self::Float(_)) | (Self::Float(_), Self::Int(_)) => false,
            _ => self.equals(other),
        }
    }
}

fn unsupported_float(f: f64) -> String {
    format!("json: unsupported value: {}", format_float_g(f))
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::string(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::string(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Nil, Into::into)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_go_string())
    }
}

fn write_go(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::Array(array) => {
            out.push('[');
            for (i, item) in array.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, item);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push_str("map[");
            for (i, (key, item)) in map.entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_go(out, item);
            }
            out.push(']');
        }
        Value::Object(object) => write_go(out, &object.to_json()),
    }
}

/// Shortest decimal digits and decimal exponent of a finite, non-zero float:
/// `1234.5` gives (`"12345"`, 3), meaning 1.2345e3.
fn shortest_digits(f: f64) -> (String, i32) {
    let formatted = format!("{:e}", f.abs());
    let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// `d.ddde±XX`, with at least `exp_digits` exponent digits (2 for `%v`, 1 for JSON).
fn exponent_form(digits: &str, exp: i32, negative: bool, exp_digits: usize) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let sign = if exp < 0 { '-' } else { '+' };
    let _ = write!(out, "e{sign}{:0exp_digits$}", exp.abs());
    out
}

fn fixed_form(digits: &str, exp: i32, negative: bool) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if digits.len() <= point {
            out.push_str(digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

fn special_float(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        None
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which `%v` uses: shortest digits, exponent form
/// when the decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
pub fn format_float_g(f: f64) -> String {
    if let Some(special) = special_float(f) {
        return special.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (digits, exp) = shortest_digits(f);
    if (-4..6).contains(&exp) {
        fixed_form(&digits, exp, f < 0.0)
    } else {
        exponent_form(&digits, exp, f < 0.0, 2)
    }
}

/// How Go's `encoding/json` writes a float64: fixed notation for 1e-6 <= |f| < 1e21, otherwise
/// exponent notation with a one- or two-digit exponent (`1e-7`, `1e+21`).
pub fn format_float_json(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (digits, exp) = shortest_digits(f);
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) {
        fixed_form(&digits, exp, f < 0.0)
    } else {
        exponent_form(&digits, exp, f < 0.0, 1)
    }
}

/// Writes a string the way Go's `encoding/json` does (HTML-safe escaping).
pub(crate) fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, indent: Option<&str>, level: usize) {
    if let Some(indent) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(indent);
        }
    }
}

fn write_json(
    out: &mut String,
    value: &Value,
    indent: Option<&str>,
    level: usize,
) -> Result<(), String> {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(unsupported_float(*f));
            }
            out.push_str(&format_float_json(*f));
        }
        Value::String(s) => write_json_string(out, s),
        Value::Array(array) => {
            if array.items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in array.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_json(out, item, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Map(map) => {
            if map.entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (key, item)) in map.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_json_string(out, key);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, item, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push('}');
        }
        Value::Object(object) => write_json(out, &object.to_json(), indent, level)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formatting() {
        assert_eq!(format_float_g(1.0), "1");
        assert_eq!(format_float_g(1.5), "1.5");
        assert_eq!(format_float_g(0.000_01), "1e-05");
        assert_eq!(format_float_g(123_456.0), "123456");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(123_456_789.0), "1.23456789e+08");
        assert_eq!(format_float_g(-0.25), "-0.25");
        assert_eq!(format_float_g(f64::INFINITY), "+Inf");
        assert_eq!(format_float_json(1.0), "1");
        assert_eq!(format_float_json(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(1e20), "100000000000000000000");
        assert_eq!(format_float_json(0.000_000_1), "1e-7");
        assert_eq!(format_float_json(0.000_001), "0.000001");
        assert_eq!(format_float_json(-12.5e-9), "-1.25e-8");
    }

    #[test]
    fn go_json_encoding() {
        let mut m = BTreeMap::new();
        m.insert("b".to_owned(), Value::from("<x> & y"));
        m.insert(
            "a".to_owned(),
            Value::array(vec![Value::Int(1), Value::Float(2.5)]),
        );
        let v = Value::map(m);
        assert_eq!(
            v.to_go_json().unwrap(),
            r#"{"a":[1,2.5],"b":"\u003cx\u003e \u0026 y"}"#
        );
        assert_eq!(
            v.to_go_json_indent("  ").unwrap(),
            "{\n  \"a\": [\n    1,\n    2.5\n  ],\n  \"b\": \"\\u003cx\\u003e \\u0026 y\"\n}"
        );
        assert!(Value::Float(f64::NAN).to_go_json().is_err());
        assert_eq!(Value::array(vec![]).to_go_json().unwrap(), "[]");
    }

    #[test]
    fn go_print_formatting() {
        let mut m = BTreeMap::new();
        m.insert(
            "k".to_owned(),
            Value::array(vec![Value::Int(1), Value::Nil]),
        );
        assert_eq!(Value::map(m).to_go_string(), "map[k:[1 <nil>]]");
        assert_eq!(Value::Float(3.0).to_go_string(), "3");
    }

    #[test]
    fn equality_follows_expr() {
        assert!(Value::Int(1).equals(&Value::Float(1.0)));
        assert!(!Value::Int(1).equals(&Value::from("1")));
        assert!(Value::array(vec![Value::Int(1)]).equals(&Value::array(vec![Value::Int(1)])));
        assert!(Value::array(vec![Value::Int(1)]).equals(&Value::array(vec![Value::Float(1.0)])));
        let map = |v: Value| Value::map(BTreeMap::from([("a".to_owned(), v)]));
        assert!(!map(Value::Int(1)).equals(&map(Value::Float(1.0))));
        assert!(Value::Nil.equals(&Value::Nil));
    }

    #[test]
    fn struct_encodes_json_names() {
        let image = Struct::new("Image")
            .field("RepoURL", "repoURL", "ghcr.io/x")
            .field_omit_empty("Tag", "tag", "1.0")
            .field_omit_empty("Digest", "digest", "")
            .into_value();
        assert_eq!(
            image.to_go_json().unwrap(),
            r#"{"repoURL":"ghcr.io/x","tag":"1.0"}"#
        );
    }
}
