//! The functions Kro's CEL environment has on top of what `cel` (cel-rust) provides, and the
//! catalogue of every function name an expression may call.
//!
//! Added here, with Kro's names, signatures and error messages: the Kro library (`hash.*`,
//! `json.*`, `random.*`, `map.merge`, `lists.setAtIndex/insertAtIndex/removeAtIndex`,
//! `omit()`), the Kubernetes list library (`isSorted`, `sum`, `min`, `max`, list
//! `indexOf`/`lastIndexOf`) and regex library (`find`, `findAll`), and the runtime helpers of
//! the two-variable comprehension macros. Each function converts its arguments to
//! [`::cel::Value`]s, computes, and converts back.
//!
//! Not available offline (Kro has them; an expression calling one is reported at build time as
//! unsupported rather than unknown): timestamps and durations, and the Kubernetes URL,
//! quantity, IP, CIDR and semver libraries. See [`UNSUPPORTED`].

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use ::cel::common::types::{DYN_TYPE, INT_TYPE, LIST_TYPE, MAP_TYPE, STRING_TYPE};
use ::cel::common::value::{CowVal, Val};
use ::cel::objects::{Key, Map, Opaque};
use ::cel::{DeclarationError, Env, ExecutionError, Value};

use super::digest;
use super::macros::{MAP_ENTRY, MAP_INSERT, PAIRS};

/// Global functions an expression may call (besides operators and macros).
pub const GLOBAL: &[&str] = &[
    "size",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "dyn",
    "type",
    "matches",
    "optional.of",
    "optional.none",
    "optional.ofNonZeroValue",
    "base64.encode",
    "base64.decode",
    "strings.quote",
    "lists.range",
    "hash.fnv64a",
    "hash.sha256",
    "hash.md5",
    "json.marshal",
    "json.unmarshal",
    "random.seededString",
    "random.seededInt",
    "lists.setAtIndex",
    "lists.insertAtIndex",
    "lists.removeAtIndex",
    "omit",
];

/// Member functions (`x.name(...)`) an expression may call.
pub const MEMBER: &[&str] = &[
    "size",
    "contains",
    "endsWith",
    "startsWith",
    "matches",
    "value",
    "hasValue",
    "or",
    "orValue",
    "charAt",
    "indexOf",
    "lastIndexOf",
    "join",
    "lowerAscii",
    "upperAscii",
    "trim",
    "replace",
    "split",
    "substring",
    "format",
    "reverse",
    "slice",
    "flatten",
    "distinct",
    "sort",
    "merge",
    "isSorted",
    "sum",
    "min",
    "max",
    "find",
    "findAll",
];

/// Functions Kro's environment has that gantry does not evaluate offline.
pub const UNSUPPORTED: &[&str] = &[
    "timestamp",
    "duration",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    "url",
    "isURL",
    "getScheme",
    "getHost",
    "getHostname",
    "getPort",
    "getEscapedPath",
    "getQuery",
    "quantity",
    "isQuantity",
    "isInteger",
    "asInteger",
    "asApproximateFloat",
    "sign",
    "add",
    "sub",
    "compareTo",
    "isGreaterThan",
    "isLessThan",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "containsIP",
    "containsCIDR",
    "prefixLength",
    "masked",
    "family",
    "isUnspecified",
    "isLoopback",
    "isLinkLocalMulticast",
    "isLinkLocalUnicast",
    "isGlobalUnicast",
    "isCanonical",
    "semver",
    "isSemver",
    "major",
    "minor",
    "patch",
];

/// The value `omit()` returns: the field (or list element) holding it is left out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Omit;

/// The runtime type name of [`Omit`].
pub(crate) const OMIT_TYPE: &str = "kro.omit";

impl Opaque for Omit {
    fn runtime_type_name(&self) -> &str {
        OMIT_TYPE
    }
}

fn fail(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

type Values = [Value];

/// Wraps `fn(&[Value]) -> Result<Value, ExecutionError>` as a cel overload.
macro_rules! overload {
    ($name:ident => $inner:expr) => {
        fn $name<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
            let values = args
                .iter()
                .map(|arg| Value::try_from(&**arg))
                .collect::<Result<Vec<Value>, ExecutionError>>()?;
            let inner: fn(&Values) -> Result<Value, ExecutionError> = $inner;
            let boxed: Box<dyn Val> = inner(&values)?.try_into()?;
            Ok(CowVal::Owned(boxed))
        }
    };
}

fn string_arg<'a>(function: &str, value: &'a Value) -> Result<&'a str, ExecutionError> {
    match value {
        Value::String(text) => Ok(text.as_str()),
        _ => Err(fail(
            function,
            format!("{function} argument must be a string"),
        )),
    }
}

fn int_arg(function: &str, what: &str, value: &Value) -> Result<i64, ExecutionError> {
    match value {
        Value::Int(n) => Ok(*n),
        _ => Err(fail(
            function,
            format!("{function}: {what} must be an integer"),
        )),
    }
}

fn list_arg<'a>(function: &str, value: &'a Value) -> Result<&'a [Value], ExecutionError> {
    match value {
        Value::List(items) => Ok(items.as_slice()),
        _ => Err(fail(
            function,
            format!("{function}: first argument must be a list"),
        )),
    }
}

fn map_arg<'a>(function: &str, value: &'a Value) -> Result<&'a Map, ExecutionError> {
    match value {
        Value::Map(map) => Ok(map),
        _ => Err(fail(
            function,
            format!("{function}: argument must be a map"),
        )),
    }
}

fn bytes(data: &[u8]) -> Value {
    Value::Bytes(Arc::new(data.to_vec()))
}

overload!(hash_fnv64a => |args| Ok(bytes(&digest::fnv64a(string_arg("hash.fnv64a", &args[0])?.as_bytes()))));
overload!(hash_sha256 => |args| Ok(bytes(&digest::sha256(string_arg("hash.sha256", &args[0])?.as_bytes()))));
overload!(hash_md5 => |args| Ok(bytes(&digest::md5(string_arg("hash.md5", &args[0])?.as_bytes()))));

overload!(json_marshal => |args| {
    let json = super::to_json(&args[0])
        .map_err(|error| fail("json.marshal", format!("json.marshal failed to convert value: {error}")))?;
    let text = serde_json::to_string(&json)
        .map_err(|error| fail("json.marshal", format!("json.marshal failed to encode value: {error}")))?;
    Ok(Value::String(Arc::new(go_json_escapes(&text))))
});

/// Go's `json.Marshal` escapes `<`, `>`, `&`, U+2028 and U+2029; they can only appear inside
/// strings, so replacing them in the whole text is safe.
fn go_json_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

overload!(json_unmarshal => |args| {
    let text = string_arg("json.unmarshal", &args[0])?;
    let parsed: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| fail("json.unmarshal", format!("json.unmarshal failed to parse JSON: {error}")))?;
    // Go decodes every JSON number as float64, so CEL sees doubles.
    Ok(super::from_json_with(&parsed, true))
});

const ALPHANUMERIC: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

overload!(random_seeded_string => |args| {
    let length = match &args[0] {
        Value::Int(n) => *n,
        _ => return Err(fail("random.seededString", "random.seededString length must be an integer")),
    };
    let Value::String(seed) = &args[1] else {
        return Err(fail("random.seededString", "random.seededString seed must be a string"));
    };
    let length = usize::try_from(length)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| fail("random.seededString", "random.seededString length must be positive"))?;
    let mut hash = digest::sha256(seed.as_bytes());
    let mut result = Vec::with_capacity(length);
    for i in 0..length {
        let mut start = (i * 4) % hash.len();
        if start + 4 > hash.len() {
            let mut input = hash.to_vec();
            input.extend_from_slice(&result);
            hash = digest::sha256(&input);
            start = 0;
        }
        let index = u32::from_be_bytes([hash[start], hash[start + 1], hash[start + 2], hash[start + 3]]);
        let index = usize::try_from(index).unwrap_or(0) % ALPHANUMERIC.len();
        result.push(ALPHANUMERIC[index]);
    }
    Ok(Value::String(Arc::new(String::from_utf8_lossy(&result).into_owned())))
});

overload!(random_seeded_int => |args| {
    let function = "random.seededInt";
    let (Value::Int(min), Value::Int(max)) = (&args[0], &args[1]) else {
        return Err(fail(function, "random.seededInt min and max must be integers"));
    };
    let Value::String(seed) = &args[2] else {
        return Err(fail(function, "random.seededInt seed must be a string"));
    };
    if min >= max {
        return Err(fail(function, "random.seededInt min must be less than max"));
    }
    let hash = digest::sha256(seed.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    let value = u64::from_be_bytes(first);
    let range = max.abs_diff(*min);
    let offset = value % range;
    // offset < max - min, so min + offset fits.
    Ok(Value::Int(min.wrapping_add_unsigned(offset)))
});

fn index_in(
    function: &str,
    index: i64,
    size: usize,
    inclusive: bool,
) -> Result<usize, ExecutionError> {
    let limit = if inclusive { size + 1 } else { size };
    usize::try_from(index)
        .ok()
        .filter(|i| *i < limit)
        .ok_or_else(|| {
            let bracket = if inclusive { ']' } else { ')' };
            fail(
                function,
                format!("{function}: index {index} out of bounds [0, {size}{bracket}"),
            )
        })
}

overload!(lists_set_at_index => |args| {
    let function = "lists.setAtIndex";
    let list = list_arg(function, &args[0])?;
    let index = index_in(function, int_arg(function, "index", &args[1])?, list.len(), false)?;
    let mut items = list.to_vec();
    items[index] = args[2].clone();
    Ok(Value::List(Arc::new(items)))
});

overload!(lists_insert_at_index => |args| {
    let function = "lists.insertAtIndex";
    let list = list_arg(function, &args[0])?;
    let index = index_in(function, int_arg(function, "index", &args[1])?, list.len(), true)?;
    let mut items = list.to_vec();
    items.insert(index, args[2].clone());
    Ok(Value::List(Arc::new(items)))
});

overload!(lists_remove_at_index => |args| {
    let function = "lists.removeAtIndex";
    let list = list_arg(function, &args[0])?;
    let index = index_in(function, int_arg(function, "index", &args[1])?, list.len(), false)?;
    let mut items = list.to_vec();
    items.remove(index);
    Ok(Value::List(Arc::new(items)))
});

overload!(omit => |_| Ok(Value::Opaque(Arc::new(Omit))));

overload!(map_merge => |args| {
    let first = map_arg("merge", &args[0])?;
    let second = map_arg("merge", &args[1])?;
    let mut merged: HashMap<Key, Value> = (*second.map).clone();
    for (key, value) in first.map.iter() {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Map(Map { map: Arc::new(merged) }))
});

/// Orders two values of one comparable kind (numbers across kinds, as CEL does).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::UInt(a), Value::UInt(b)) => Some(a.cmp(b)),
        _ => number(a)?.partial_cmp(&number(b)?),
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "CEL compares mixed numbers as doubles"
)]
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(n) => Some(*n as f64),
        Value::UInt(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn comparable(function: &str, list: &[Value]) -> Result<(), ExecutionError> {
    for pair in list.windows(2) {
        if compare(&pair[0], &pair[1]).is_none() {
            return Err(fail(
                function,
                format!("{function}: list elements are not comparable"),
            ));
        }
    }
    Ok(())
}

overload!(list_is_sorted => |args| {
    let list = list_arg("isSorted", &args[0])?;
    comparable("isSorted", list)?;
    Ok(Value::Bool(list.windows(2).all(|pair| compare(&pair[0], &pair[1]) != Some(Ordering::Greater))))
});

overload!(list_sum => |args| {
    let list = list_arg("sum", &args[0])?;
    let mut total = list.first().map_or(Value::Int(0), |first| match first {
        Value::UInt(_) => Value::UInt(0),
        Value::Float(_) => Value::Float(0.0),
        _ => Value::Int(0),
    });
    for item in list {
        total = match (&total, item) {
            (Value::Int(a), Value::Int(b)) => Value::Int(a.checked_add(*b).ok_or_else(|| fail("sum", "integer overflow"))?),
            (Value::UInt(a), Value::UInt(b)) => Value::UInt(a.checked_add(*b).ok_or_else(|| fail("sum", "integer overflow"))?),
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            _ => return Err(fail("sum", "sum: list elements must all be int, uint or double")),
        };
    }
    Ok(total)
});

fn extreme(function: &str, args: &[Value], wanted: Ordering) -> Result<Value, ExecutionError> {
    let list = list_arg(function, &args[0])?;
    comparable(function, list)?;
    let mut best = list
        .first()
        .ok_or_else(|| fail(function, format!("{function} called on empty list")))?;
    for item in list {
        if compare(item, best) == Some(wanted) {
            best = item;
        }
    }
    Ok(best.clone())
}

overload!(list_min => |args| extreme("min", args, Ordering::Less));
overload!(list_max => |args| extreme("max", args, Ordering::Greater));

overload!(list_index_of => |args| {
    let list = list_arg("indexOf", &args[0])?;
    Ok(Value::Int(list.iter().position(|item| item == &args[1]).and_then(|i| i64::try_from(i).ok()).unwrap_or(-1)))
});

overload!(list_last_index_of => |args| {
    let list = list_arg("lastIndexOf", &args[0])?;
    Ok(Value::Int(list.iter().rposition(|item| item == &args[1]).and_then(|i| i64::try_from(i).ok()).unwrap_or(-1)))
});

fn regex(function: &str, pattern: &Value) -> Result<regex::Regex, ExecutionError> {
    let pattern = string_arg(function, pattern)?;
    regex::Regex::new(pattern).map_err(|error| fail(function, error))
}

overload!(string_find => |args| {
    let text = string_arg("find", &args[0])?;
    let found = regex("find", &args[1])?.find(text).map_or("", |m| m.as_str());
    Ok(Value::String(Arc::new(found.to_owned())))
});

fn find_all(args: &[Value], limit: Option<i64>) -> Result<Value, ExecutionError> {
    let text = string_arg("findAll", &args[0])?;
    let regex = regex("findAll", &args[1])?;
    let limit = limit
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    let found: Vec<Value> = regex
        .find_iter(text)
        .take(limit)
        .map(|m| Value::String(Arc::new(m.as_str().to_owned())))
        .collect();
    Ok(Value::List(Arc::new(found)))
}

overload!(string_find_all => |args| find_all(args, None));
overload!(string_find_all_n => |args| find_all(args, Some(int_arg("findAll", "limit", &args[2])?)));

overload!(pairs => |args| {
    let pairs: Vec<Value> = match &args[0] {
        Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| Value::List(Arc::new(vec![Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), item.clone()])))
            .collect(),
        Value::Map(map) => {
            let mut entries: Vec<(&Key, &Value)> = map.map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            entries
                .into_iter()
                .map(|(key, value)| Value::List(Arc::new(vec![key_value(key), value.clone()])))
                .collect()
        }
        other => return Err(fail("comprehension", format!("cannot iterate over {}", other.type_of()))),
    };
    Ok(Value::List(Arc::new(pairs)))
});

fn key_value(key: &Key) -> Value {
    match key {
        Key::Int(n) => Value::Int(*n),
        Key::Uint(n) => Value::UInt(*n),
        Key::Bool(b) => Value::Bool(*b),
        Key::String(s) => Value::String(Arc::clone(s)),
    }
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Int(n) => n.to_string(),
        Key::Uint(n) => format!("{n}u"),
        Key::Bool(b) => b.to_string(),
        Key::String(s) => format!("{s:?}"),
    }
}

fn to_key(value: &Value) -> Result<Key, ExecutionError> {
    match value {
        Value::Int(n) => Ok(Key::Int(*n)),
        Value::UInt(n) => Ok(Key::Uint(*n)),
        Value::Bool(b) => Ok(Key::Bool(*b)),
        Value::String(s) => Ok(Key::String(Arc::clone(s))),
        other => Err(ExecutionError::UnsupportedKeyType(other.clone())),
    }
}

overload!(map_insert => |args| {
    let map = map_arg("transformMap", &args[0])?;
    let mut entries = (*map.map).clone();
    entries.insert(to_key(&args[1])?, args[2].clone());
    Ok(Value::Map(Map { map: Arc::new(entries) }))
});

overload!(map_entry => |args| {
    let map = map_arg("transformMapEntry", &args[0])?;
    let entry = map_arg("transformMapEntry", &args[1])?;
    let mut entries = (*map.map).clone();
    for (key, value) in entry.map.iter() {
        if entries.insert(key.clone(), value.clone()).is_some() {
            return Err(fail("transformMapEntry", format!("insert failed: key {} already exists", key_text(key))));
        }
    }
    Ok(Value::Map(Map { map: Arc::new(entries) }))
});

/// Adds every function of this module to `env`.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(
        "hash.fnv64a",
        "hash.fnv64a_string",
        vec![STRING_TYPE],
        hash_fnv64a,
    )?;
    env.add_overload(
        "hash.sha256",
        "hash.sha256_string",
        vec![STRING_TYPE],
        hash_sha256,
    )?;
    env.add_overload("hash.md5", "hash.md5_string", vec![STRING_TYPE], hash_md5)?;
    env.add_overload(
        "json.marshal",
        "json.marshal_dyn",
        vec![DYN_TYPE],
        json_marshal,
    )?;
    env.add_overload(
        "json.unmarshal",
        "json.unmarshal_string",
        vec![STRING_TYPE],
        json_unmarshal,
    )?;
    env.add_overload(
        "random.seededString",
        "random.seededString_int_string",
        vec![INT_TYPE, STRING_TYPE],
        random_seeded_string,
    )?;
    env.add_overload(
        "random.seededInt",
        "random.seededInt_int_int_string",
        vec![INT_TYPE, INT_TYPE, STRING_TYPE],
        random_seeded_int,
    )?;
    env.add_overload(
        "lists.setAtIndex",
        "lists.setAtIndex_list_int_T",
        vec![LIST_TYPE, INT_TYPE, DYN_TYPE],
        lists_set_at_index,
    )?;
    env.add_overload(
        "lists.insertAtIndex",
        "lists.insertAtIndex_list_int_T",
        vec![LIST_TYPE, INT_TYPE, DYN_TYPE],
        lists_insert_at_index,
    )?;
    env.add_overload(
        "lists.removeAtIndex",
        "lists.removeAtIndex_list_int",
        vec![LIST_TYPE, INT_TYPE],
        lists_remove_at_index,
    )?;
    env.add_overload("omit", "omit_void", vec![], omit)?;
    env.add_member_overload("merge", "map_merge", MAP_TYPE, vec![MAP_TYPE], map_merge)?;
    env.add_member_overload(
        "isSorted",
        "list_is_sorted",
        LIST_TYPE,
        vec![],
        list_is_sorted,
    )?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], list_sum)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], list_min)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], list_max)?;
    env.add_member_overload(
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_last_index_of,
    )?;
    env.add_member_overload(
        "find",
        "string_find",
        STRING_TYPE,
        vec![STRING_TYPE],
        string_find,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all",
        STRING_TYPE,
        vec![STRING_TYPE],
        string_find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_n",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        string_find_all_n,
    )?;
    env.add_overload(PAIRS, "pairs_dyn", vec![DYN_TYPE], pairs)?;
    env.add_overload(
        MAP_INSERT,
        "map_insert",
        vec![MAP_TYPE, DYN_TYPE, DYN_TYPE],
        map_insert,
    )?;
    env.add_overload(MAP_ENTRY, "map_entry", vec![MAP_TYPE, DYN_TYPE], map_entry)?;
    Ok(())
}
