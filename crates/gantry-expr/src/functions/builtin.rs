//! expr-lang's builtin functions.

use std::collections::BTreeMap;

use super::encode;
use super::named_enum;
use crate::ast::{Kind, Node};
use crate::error::{Error, ErrorKind, Span};
use crate::eval::{Evaluator, R, Stop, compare, rt};
use crate::value::Value;

named_enum! {
    Builtin {
        All = "all",
        Any = "any",
        One = "one",
        None = "none",
        Filter = "filter",
        Map = "map",
        Count = "count",
        Sum = "sum",
        Find = "find",
        FindIndex = "findIndex",
        FindLast = "findLast",
        FindLastIndex = "findLastIndex",
        GroupBy = "groupBy",
        SortBy = "sortBy",
        Reduce = "reduce",
        Len = "len",
        Type = "type",
        Abs = "abs",
        Ceil = "ceil",
        Floor = "floor",
        Round = "round",
        Int = "int",
        Float = "float",
        String = "string",
        Trim = "trim",
        TrimPrefix = "trimPrefix",
        TrimSuffix = "trimSuffix",
        Upper = "upper",
        Lower = "lower",
        Split = "split",
        SplitAfter = "splitAfter",
        Replace = "replace",
        Repeat = "repeat",
        Join = "join",
        IndexOf = "indexOf",
        LastIndexOf = "lastIndexOf",
        HasPrefix = "hasPrefix",
        HasSuffix = "hasSuffix",
        Max = "max",
        Min = "min",
        Mean = "mean",
        Median = "median",
        ToJson = "toJSON",
        FromJson = "fromJSON",
        ToBase64 = "toBase64",
        FromBase64 = "fromBase64",
        First = "first",
        Last = "last",
        Get = "get",
        Take = "take",
        Keys = "keys",
        Values = "values",
        ToPairs = "toPairs",
        FromPairs = "fromPairs",
        Sort = "sort",
        Reverse = "reverse",
        Uniq = "uniq",
        Flatten = "flatten",
        Concat = "concat",
        BitAnd = "bitand",
        BitOr = "bitor",
        BitXor = "bitxor",
        BitNand = "bitnand",
        BitNot = "bitnot",
        BitShl = "bitshl",
        BitShr = "bitshr",
        BitUshr = "bitushr",
        Now = "now",
        Date = "date",
        Duration = "duration",
        Timezone = "timezone",
    }
}

impl Builtin {
    pub(crate) fn closure_args(self) -> &'static [usize] {
        match self {
            Builtin::All
            | Builtin::Any
            | Builtin::One
            | Builtin::None
            | Builtin::Filter
            | Builtin::Map
            | Builtin::Count
            | Builtin::Sum
            | Builtin::Find
            | Builtin::FindIndex
            | Builtin::FindLast
            | Builtin::FindLastIndex
            | Builtin::GroupBy
            | Builtin::SortBy
            | Builtin::Reduce => &[1],
            _ => &[],
        }
    }
}

fn arity(name: &str, args: usize, min: usize, max: usize, span: Span) -> Result<(), Stop> {
    if args < min {
        return Err(rt(format!("not enough arguments to call {name}"), span));
    }
    if args > max {
        return Err(rt(format!("too many arguments to call {name}"), span));
    }
    Ok(())
}

fn bad_arg(name: &str, value: &Value, span: Span) -> Stop {
    rt(
        format!("invalid argument for {name} (type {})", value.type_name()),
        span,
    )
}

fn items<'v>(name: &str, value: &'v Value, span: Span) -> Result<&'v [Value], Stop> {
    match value {
        Value::Array(array) => Ok(array.items()),
        Value::Nil => Ok(&[]),
        other => Err(bad_arg(name, other, span)),
    }
}

fn text<'v>(name: &str, value: &'v Value, span: Span) -> Result<&'v str, Stop> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(bad_arg(name, other, span)),
    }
}

fn int(name: &str, value: &Value, span: Span) -> Result<i64, Stop> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(bad_arg(name, other, span)),
    }
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[allow(clippy::cast_precision_loss, reason = "Go's float64(int)")]
fn number(name: &str, value: &Value, span: Span) -> Result<f64, Stop> {
    match value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => Err(bad_arg(name, other, span)),
    }
}

/// Evaluates a predicate builtin; `args[1]` is the closure.
fn predicate(ev: &mut Evaluator<'_>, b: Builtin, name: &str, args: &[Node], span: Span) -> R {
    let max = match b {
        Builtin::Reduce | Builtin::SortBy => 3,
        _ => 2,
    };
    let min = match b {
        Builtin::Count | Builtin::Sum => 1,
        _ => 2,
    };
    arity(name, args.len(), min, max, span)?;
    let collection = ev.eval(&args[0])?;
    let list = items(name, &collection, args[0].span)?;
    let closure = match args.get(1) {
        Some(Node {
            kind: Kind::Closure(body),
            ..
        }) => Some(&**body),
        Some(other) => Some(other),
        None => None,
    };
    let Some(body) = closure else {
        // count(list) and sum(list) without a predicate
        return match b {
            Builtin::Count => {
                let mut n = 0;
                for item in list {
                    match item {
                        Value::Bool(true) => n += 1,
                        Value::Bool(false) => {}
                        other => return Err(bad_arg(name, other, args[0].span)),
                    }
                }
                Ok(Value::Int(n))
            }
            _ => sum(name, list, args[0].span),
        };
    };
    match b {
        Builtin::All | Builtin::Any | Builtin::One | Builtin::None | Builtin::Count => {
            let mut matched = 0_i64;
            for (i, item) in list.iter().enumerate() {
                let hit = ev.test(body, item, i)?;
                if hit {
                    matched += 1;
                }
                match b {
                    Builtin::All if !hit => return Ok(Value::Bool(false)),
                    Builtin::Any if hit => return Ok(Value::Bool(true)),
                    Builtin::None if hit => return Ok(Value::Bool(false)),
                    Builtin::One if matched > 1 => return Ok(Value::Bool(false)),
                    _ => {}
                }
            }
            Ok(match b {
                Builtin::All | Builtin::None => Value::Bool(true),
                Builtin::Any => Value::Bool(false),
                Builtin::One => Value::Bool(matched == 1),
                _ => Value::Int(matched),
            })
        }
        Builtin::Filter => {
            let mut out = Vec::new();
            for (i, item) in list.iter().enumerate() {
                if ev.test(body, item, i)? {
                    out.push(item.clone());
                }
            }
            ev.array(out, span)
        }
        Builtin::Map => {
            let mut out = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                out.push(ev.predicate(body, item, i, Value::Nil)?);
            }
            ev.array(out, span)
        }
        Builtin::Sum => {
            let mut out = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                out.push(ev.predicate(body, item, i, Value::Nil)?);
            }
            sum(name, &out, body.span)
        }
        Builtin::Find | Builtin::FindIndex | Builtin::FindLast | Builtin::FindLastIndex => {
            let backwards = matches!(b, Builtin::FindLast | Builtin::FindLastIndex);
            let wants_item = matches!(b, Builtin::Find | Builtin::FindLast);
            let mut order: Box<dyn Iterator<Item = (usize, &Value)>> = if backwards {
                Box::new(list.iter().enumerate().rev())
            } else {
                Box::new(list.iter().enumerate())
            };
            let found = loop {
                let Some((i, item)) = order.next() else {
                    break None;
                };
                if ev.test(body, item, i)? {
                    break Some((i, item));
                }
            };
            Ok(match (found, wants_item) {
                (Some((_, item)), true) => item.clone(),
                (Some((i, _)), false) => Value::Int(to_i64(i)),
                (None, true) => Value::Nil,
                (None, false) => Value::Int(-1),
            })
        }
        Builtin::GroupBy => {
            let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (i, item) in list.iter().enumerate() {
                let key = ev.predicate(body, item, i, Value::Nil)?;
                let key = match key {
                    Value::String(s) => s.to_string(),
                    other => other.to_go_string(),
                };
                groups.entry(key).or_default().push(item.clone());
            }
            let mut map = BTreeMap::new();
            for (key, group) in groups {
                map.insert(key, ev.array(group, span)?);
            }
            ev.map(map, span)
        }
        Builtin::SortBy => {
            let order = match args.get(2) {
                Some(node) => {
                    let value = ev.eval(node)?;
                    sort_order(name, &value, node.span)?
                }
                None => false,
            };
            let mut keyed = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                keyed.push((ev.predicate(body, item, i, Value::Nil)?, item.clone()));
            }
            ev.tick(sort_cost(keyed.len()), span)?;
            let mut failed = false;
            keyed.sort_by(|(a, _), (b, _)| {
                compare(a, b).unwrap_or_else(|| {
                    failed = true;
                    std::cmp::Ordering::Equal
                })
            });
            if failed {
                return Err(rt(
                    format!("{name}: the keys must all be numbers or all be strings"),
                    body.span,
                ));
            }
            let mut sorted: Vec<Value> = keyed.into_iter().map(|(_, item)| item).collect();
            if order {
                sorted.reverse();
            }
            ev.array(sorted, span)
        }
        Builtin::Reduce => {
            let (mut acc, start) = match args.get(2) {
                Some(node) => (ev.eval(node)?, 0),
                None => match list.first() {
                    Some(first) => (first.clone(), 1),
                    None => {
                        return Err(rt("reduce of an empty array with no initial value", span));
                    }
                },
            };
            for (i, item) in list.iter().enumerate().skip(start) {
                acc = ev.predicate(body, item, i, acc)?;
            }
            Ok(acc)
        }
        _ => Err(rt(format!("{name} is not a predicate"), span)),
    }
}

fn sort_cost(n: usize) -> u64 {
    let n = n as u64;
    n * u64::from(64 - n.leading_zeros())
}

/// `true` for descending.
fn sort_order(name: &str, value: &Value, span: Span) -> Result<bool, Stop> {
    match value.as_str() {
        Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        _ => Err(rt(
            format!("{name}: the order must be \"asc\" or \"desc\", got {value}"),
            span,
        )),
    }
}

fn sum(name: &str, list: &[Value], span: Span) -> R {
    let mut int_total: i64 = 0;
    let mut float_total = 0.0;
    let mut is_float = false;
    for item in list {
        match item {
            Value::Int(i) => int_total = int_total.wrapping_add(*i),
            Value::Float(f) => {
                is_float = true;
                float_total += f;
            }
            other => return Err(bad_arg(name, other, span)),
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "Go's float64(int)")]
    Ok(if is_float {
        Value::Float(float_total + int_total as f64)
    } else {
        Value::Int(int_total)
    })
}

pub(crate) fn call(ev: &mut Evaluator<'_>, b: Builtin, name: &str, args: &[Node], span: Span) -> R {
    if !b.closure_args().is_empty() {
        return predicate(ev, b, name, args, span);
    }
    let mut values = Vec::with_capacity(args.len());
    for arg in args {
        values.push(ev.eval(arg)?);
    }
    let spans: Vec<Span> = args.iter().map(|a| a.span).collect();
    let at = |i: usize| spans.get(i).copied().unwrap_or(span);
    let v = values.as_slice();
    let fixed = |min: usize, max: usize| arity(name, v.len(), min, max, span);
    match b {
        Builtin::Len => {
            fixed(1, 1)?;
            Ok(Value::Int(to_i64(match &v[0] {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.items().len(),
                Value::Map(m) => m.entries().len(),
                other => return Err(bad_arg(name, other, at(0))),
            })))
        }
        Builtin::Type => {
            fixed(1, 1)?;
            Ok(Value::from(match &v[0] {
                Value::Object(_) => "struct",
                other => other.type_name(),
            }))
        }
        Builtin::Abs => {
            fixed(1, 1)?;
            match &v[0] {
                Value::Int(i) => Ok(Value::Int(i.wrapping_abs())),
                Value::Float(f) => Ok(Value::Float(f.abs())),
                other => Err(bad_arg(name, other, at(0))),
            }
        }
        Builtin::Ceil | Builtin::Floor | Builtin::Round => {
            fixed(1, 1)?;
            let f = number(name, &v[0], at(0))?;
            Ok(Value::Float(match b {
                Builtin::Ceil => f.ceil(),
                Builtin::Floor => f.floor(),
                _ => f.round(),
            }))
        }
        Builtin::Int => {
            fixed(1, 1)?;
            match &v[0] {
                Value::Int(i) => Ok(Value::Int(*i)),
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "Go's int(float64) truncates"
                )]
                Value::Float(f) => Ok(Value::Int(*f as i64)),
                Value::String(s) => go_atoi(s).map(Value::Int).ok_or_else(|| {
                    rt(
                        format!("strconv.Atoi: parsing {s:?}: invalid syntax"),
                        at(0),
                    )
                }),
                other => Err(bad_arg(name, other, at(0))),
            }
        }
        Builtin::Float => {
            fixed(1, 1)?;
            match &v[0] {
                Value::String(s) => parse_go_float(s).map(Value::Float).ok_or_else(|| {
                    rt(
                        format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"),
                        at(0),
                    )
                }),
                other => number(name, other, at(0)).map(Value::Float),
            }
        }
        Builtin::String => {
            fixed(1, 1)?;
            let s = v[0].to_go_string();
            ev.string(s, span)
        }
        Builtin::Trim | Builtin::TrimPrefix | Builtin::TrimSuffix => {
            fixed(1, 2)?;
            let s = text(name, &v[0], at(0))?;
            let cut = match v.get(1) {
                Some(value) => Some(text(name, value, at(1))?),
                None => None,
            };
            Ok(Value::from(match (b, cut) {
                (Builtin::Trim, None) => s.trim(),
                (Builtin::Trim, Some(set)) => s.trim_matches(|c| set.contains(c)),
                (Builtin::TrimPrefix, p) => s.strip_prefix(p.unwrap_or(" ")).unwrap_or(s),
                (_, p) => s.strip_suffix(p.unwrap_or(" ")).unwrap_or(s),
            }))
        }
        Builtin::Upper | Builtin::Lower => {
            fixed(1, 1)?;
            let s = text(name, &v[0], at(0))?;
            // Go maps rune by rune: no expansion such as ß to SS
            let map = |c: char| {
                let mut mapped = if b == Builtin::Upper {
                    c.to_uppercase().collect::<Vec<char>>()
                } else {
                    c.to_lowercase().collect::<Vec<char>>()
                };
                if mapped.len() == 1 {
                    mapped.pop().unwrap_or(c)
                } else {
                    c
                }
            };
            Ok(Value::from(s.chars().map(map).collect::<String>()))
        }
        Builtin::Split | Builtin::SplitAfter => {
            fixed(2, 3)?;
            let s = text(name, &v[0], at(0))?;
            let sep = text(name, &v[1], at(1))?;
            let n = match v.get(2) {
                Some(value) => int(name, value, at(2))?,
                None => -1,
            };
            let parts = go_split(s, sep, n, b == Builtin::SplitAfter);
            ev.check_items(parts.len(), span)?;
            ev.array(parts.into_iter().map(Value::from).collect(), span)
        }
        Builtin::Replace => {
            fixed(3, 3)?;
            let s = text(name, &v[0], at(0))?;
            let old = text(name, &v[1], at(1))?;
            let new = text(name, &v[2], at(2))?;
            let count = if old.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(old).count()
            };
            ev.check_string(s.len() + count.saturating_mul(new.len()), span)?;
            Ok(Value::from(if old.is_empty() {
                go_replace_empty(s, new)
            } else {
                s.replace(old, new)
            }))
        }
        Builtin::Repeat => {
            fixed(2, 2)?;
            let s = text(name, &v[0], at(0))?;
            let n = int(name, &v[1], at(1))?;
            if n < 0 {
                return Err(rt("strings: negative Repeat count", at(1)));
            }
            ev.check_string(s.len().saturating_mul(to_usize(n)), span)?;
            Ok(Value::from(s.repeat(to_usize(n))))
        }
        Builtin::Join => {
            fixed(1, 2)?;
            let list = items(name, &v[0], at(0))?;
            let sep = match v.get(1) {
                Some(value) => text(name, value, at(1))?,
                None => "",
            };
            let mut parts = Vec::with_capacity(list.len());
            for item in list {
                parts.push(text(name, item, at(0))?);
            }
            let joined = parts.join(sep);
            ev.string(joined, span)
        }
        Builtin::IndexOf | Builtin::LastIndexOf => {
            fixed(2, 2)?;
            let s = text(name, &v[0], at(0))?;
            let sub = text(name, &v[1], at(1))?;
            let found = if b == Builtin::IndexOf {
                s.find(sub)
            } else {
                s.rfind(sub)
            };
            Ok(Value::Int(found.map_or(-1, to_i64)))
        }
        Builtin::HasPrefix | Builtin::HasSuffix => {
            fixed(2, 2)?;
            let s = text(name, &v[0], at(0))?;
            let affix = text(name, &v[1], at(1))?;
            Ok(Value::Bool(if b == Builtin::HasPrefix {
                s.starts_with(affix)
            } else {
                s.ends_with(affix)
            }))
        }
        Builtin::Max | Builtin::Min => {
            fixed(1, usize::MAX)?;
            let list: Vec<Value> = flatten_numbers(v);
            let mut best: Option<&Value> = None;
            for item in &list {
                if !matches!(item, Value::Int(_) | Value::Float(_)) {
                    return Err(bad_arg(name, item, span));
                }
                best = Some(match best {
                    None => item,
                    Some(current) => {
                        let ordering = compare(item, current).unwrap_or(std::cmp::Ordering::Equal);
                        if (b == Builtin::Max && ordering.is_gt())
                            || (b == Builtin::Min && ordering.is_lt())
                        {
                            item
                        } else {
                            current
                        }
                    }
                });
            }
            Ok(best.cloned().unwrap_or(Value::Nil))
        }
        Builtin::Mean | Builtin::Median => {
            fixed(1, usize::MAX)?;
            let list = flatten_numbers(v);
            let mut numbers = Vec::with_capacity(list.len());
            for item in &list {
                numbers.push(number(name, item, span)?);
            }
            if numbers.is_empty() {
                return Ok(Value::Float(0.0));
            }
            #[allow(clippy::cast_precision_loss, reason = "lengths are small")]
            if b == Builtin::Mean {
                return Ok(Value::Float(
                    numbers.iter().sum::<f64>() / numbers.len() as f64,
                ));
            }
            numbers.sort_by(f64::total_cmp);
            let mid = numbers.len() / 2;
            Ok(Value::Float(if numbers.len() % 2 == 0 {
                f64::midpoint(numbers[mid - 1], numbers[mid])
            } else {
                numbers[mid]
            }))
        }
        Builtin::ToJson => {
            fixed(1, 1)?;
            let json = v[0].to_go_json_indent("  ").map_err(|m| rt(m, at(0)))?;
            ev.string(json, span)
        }
        Builtin::FromJson => {
            fixed(1, 1)?;
            let s = text(name, &v[0], at(0))?;
            let json: serde_json::Value = serde_json::from_str(s)
                .map_err(|e| rt(format!("fromJSON: invalid JSON: {e}"), at(0)))?;
            Ok(encode::from_json_float(&json))
        }
        Builtin::ToBase64 => {
            fixed(1, 1)?;
            let s = text(name, &v[0], at(0))?;
            ev.string(encode::base64_encode(s.as_bytes()), span)
        }
        Builtin::FromBase64 => {
            fixed(1, 1)?;
            let s = text(name, &v[0], at(0))?;
            let bytes = encode::base64_decode(s)
                .ok_or_else(|| rt("fromBase64: illegal base64 data", at(0)))?;
            Ok(Value::from(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Builtin::First | Builtin::Last => {
            fixed(1, 1)?;
            let list = items(name, &v[0], at(0))?;
            Ok(if b == Builtin::First {
                list.first()
            } else {
                list.last()
            }
            .cloned()
            .unwrap_or(Value::Nil))
        }
        Builtin::Get => {
            fixed(2, 2)?;
            Ok(match (&v[0], &v[1]) {
                (Value::Map(map), Value::String(key)) => {
                    map.entries().get(&**key).cloned().unwrap_or(Value::Nil)
                }
                (Value::Array(array), Value::Int(i)) => {
                    let len = to_i64(array.items().len());
                    let index = if *i < 0 { len + i } else { *i };
                    usize::try_from(index)
                        .ok()
                        .and_then(|index| array.items().get(index))
                        .cloned()
                        .unwrap_or(Value::Nil)
                }
                (Value::Object(object), Value::String(key)) => {
                    object.field(key).unwrap_or(Value::Nil)
                }
                _ => Value::Nil,
            })
        }
        Builtin::Take => {
            fixed(2, 2)?;
            let list = items(name, &v[0], at(0))?;
            let n = to_usize(int(name, &v[1], at(1))?);
            Ok(Value::array(list[..n.min(list.len())].to_vec()))
        }
        Builtin::Keys | Builtin::Values | Builtin::ToPairs => {
            fixed(1, 1)?;
            let Value::Map(map) = &v[0] else {
                return Err(bad_arg(name, &v[0], at(0)));
            };
            let out = map
                .entries()
                .iter()
                .map(|(key, value)| match b {
                    Builtin::Keys => Value::from(key.as_str()),
                    Builtin::Values => value.clone(),
                    _ => Value::array(vec![Value::from(key.as_str()), value.clone()]),
                })
                .collect();
            ev.array(out, span)
        }
        Builtin::FromPairs => {
            fixed(1, 1)?;
            let list = items(name, &v[0], at(0))?;
            let mut map = BTreeMap::new();
            for pair in list {
                let Value::Array(pair) = pair else {
                    return Err(bad_arg(name, pair, at(0)));
                };
                let [key, value] = pair.items() else {
                    return Err(rt("fromPairs: each pair must have 2 items", at(0)));
                };
                let key = match key {
                    Value::String(s) => s.to_string(),
                    other => other.to_go_string(),
                };
                map.insert(key, value.clone());
            }
            ev.map(map, span)
        }
        Builtin::Sort => {
            fixed(1, 2)?;
            let mut list = items(name, &v[0], at(0))?.to_vec();
            let descending = match v.get(1) {
                Some(order) => sort_order(name, order, at(1))?,
                None => false,
            };
            ev.tick(sort_cost(list.len()), span)?;
            let mut failed = false;
            list.sort_by(|a, b| {
                compare(a, b).unwrap_or_else(|| {
                    failed = true;
                    std::cmp::Ordering::Equal
                })
            });
            if failed {
                return Err(rt(
                    "sort: the items must all be numbers or all be strings",
                    at(0),
                ));
            }
            if descending {
                list.reverse();
            }
            Ok(Value::array(list))
        }
        Builtin::Reverse => {
            fixed(1, 1)?;
            let mut list = items(name, &v[0], at(0))?.to_vec();
            list.reverse();
            Ok(Value::array(list))
        }
        Builtin::Uniq => {
            fixed(1, 1)?;
            let list = items(name, &v[0], at(0))?;
            ev.tick(
                to_u64(list.len()).saturating_mul(to_u64(list.len())) / 8,
                span,
            )?;
            let mut out: Vec<Value> = Vec::new();
            for item in list {
                if !out.iter().any(|seen| seen.equals(item)) {
                    out.push(item.clone());
                }
            }
            Ok(Value::array(out))
        }
        Builtin::Flatten => {
            fixed(1, 1)?;
            let list = items(name, &v[0], at(0))?;
            let mut out = Vec::new();
            flatten_into(list, &mut out);
            ev.array(out, span)
        }
        Builtin::Concat => {
            fixed(1, usize::MAX)?;
            let mut out = Vec::new();
            for (i, value) in v.iter().enumerate() {
                out.extend(items(name, value, at(i))?.iter().cloned());
                ev.check_items(out.len(), span)?;
            }
            ev.array(out, span)
        }
        Builtin::BitNot => {
            fixed(1, 1)?;
            Ok(Value::Int(!int(name, &v[0], at(0))?))
        }
        Builtin::BitAnd
        | Builtin::BitOr
        | Builtin::BitXor
        | Builtin::BitNand
        | Builtin::BitShl
        | Builtin::BitShr
        | Builtin::BitUshr => {
            fixed(2, 2)?;
            let a = int(name, &v[0], at(0))?;
            let c = int(name, &v[1], at(1))?;
            let shift = || -> Result<u32, Stop> {
                u32::try_from(c).map_err(|_| rt(format!("{name}: negative shift amount"), at(1)))
            };
            Ok(Value::Int(match b {
                Builtin::BitAnd => a & c,
                Builtin::BitOr => a | c,
                Builtin::BitXor => a ^ c,
                Builtin::BitNand => a & !c,
                Builtin::BitShl => a.checked_shl(shift()?).unwrap_or(0),
                Builtin::BitShr => a
                    .checked_shr(shift()?)
                    .unwrap_or(if a < 0 { -1 } else { 0 }),
                #[allow(
                    clippy::cast_sign_loss,
                    clippy::cast_possible_wrap,
                    reason = "Go's uint conversion"
                )]
                _ => (a as u64).checked_shr(shift()?).unwrap_or(0) as i64,
            }))
        }
        Builtin::Now | Builtin::Date | Builtin::Duration | Builtin::Timezone => Err(Stop::Err(
            Error::new(
                ErrorKind::Runtime,
                format!("{name}() is not supported by gantry yet"),
                span,
            )
            .with_help("time functions are a known difference from Kargo; see the README"),
        )),
        _ => Err(rt(format!("{name} needs a predicate"), span)),
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, nothing else.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn to_u64(n: usize) -> u64 {
    n as u64
}

fn flatten_numbers(values: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::Array(array) => out.extend(flatten_numbers(array.items())),
            other => out.push(other.clone()),
        }
    }
    out
}

fn flatten_into(list: &[Value], out: &mut Vec<Value>) {
    for item in list {
        match item {
            Value::Array(array) => flatten_into(array.items(), out),
            other => out.push(other.clone()),
        }
    }
}

/// Go's `strings.SplitN` / `SplitAfterN` (`n < 0`: all parts).
fn go_split(s: &str, sep: &str, n: i64, after: bool) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { to_usize(n) };
    if sep.is_empty() {
        let chars: Vec<char> = s.chars().collect();
        let mut out: Vec<String> = Vec::new();
        for (i, c) in chars.iter().enumerate() {
            if out.len() + 1 == limit {
                out.push(chars[i..].iter().collect());
                return out;
            }
            out.push(c.to_string());
        }
        return out;
    }
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() + 1 < limit {
        let Some(at) = rest.find(sep) else { break };
        let cut = if after { at + sep.len() } else { at };
        out.push(rest[..cut].to_owned());
        rest = &rest[at + sep.len()..];
    }
    out.push(rest.to_owned());
    out
}

/// Go's `strings.ReplaceAll(s, "", new)`: `new` before every rune and at the end.
fn go_replace_empty(s: &str, new: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        out.push_str(new);
        out.push(c);
    }
    out.push_str(new);
    out
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hex floats, `inf`, `infinity`, `nan` (any
/// case), an optional sign, and `_` between digits only with a base prefix.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ if lower.starts_with("0x") => parse_hex_float(&lower[2..])?,
        _ => {
            let valid = !lower.is_empty()
                && lower
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
                && lower
                    .bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == b'.');
            if !valid {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let s = s.replace('_', "");
    let (mantissa, exponent) = match s.split_once('p') {
        Some((m, e)) => (m.to_owned(), e.parse::<i32>().ok()?),
        None => (s.clone(), 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0.0_f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    if !s.contains('p') && s.contains('.') {
        return None; // Go requires the p exponent for hex floats with a fraction
    }
    Some(value * 2f64.powi(exponent))
}
