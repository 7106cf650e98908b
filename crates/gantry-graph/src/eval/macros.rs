//! The comprehension macros Kro's CEL environment has and `cel` (cel-rust) lacks:
//! `cel.bind(name, init, expr)` (cel-go's bindings extension) and the two-variable
//! comprehensions of cel-go's `TwoVarComprehensions` (`all`, `exists`, `existsOne` with two
//! variables, `transformList`, `transformMap`, `transformMapEntry`).
//!
//! cel-rust's interpreter binds one iteration variable, so a two-variable comprehension is
//! expanded into a one-variable one over `@pairs(target)` (a list of `[index, value]` for a
//! list, `[key, value]` for a map), whose step binds the two user variables with nested
//! `cel.bind`s of `@pair[0]` and `@pair[1]`. Names starting with `@` cannot be written in an
//! expression, so they never clash with the user's.

use ::cel::common::ast::{
    CallExpr, ComprehensionExpr, Expr, IdedExpr, ListExpr, LiteralValue, operators,
};
use ::cel::parser::{Macro, MacroExprHelper};
use ::cel::{Env, ParseError};

/// The runtime helper turning a list or a map into `[first, second]` pairs.
pub(crate) const PAIRS: &str = "@pairs";
/// The runtime helper inserting `key: value` into a map (`transformMap`).
pub(crate) const MAP_INSERT: &str = "@mapInsert";
/// The runtime helper merging a one-entry map into a map (`transformMapEntry`).
pub(crate) const MAP_ENTRY: &str = "@mapEntry";

const PAIR: &str = "@pair";
const RESULT: &str = "@result";

type Expansion = Result<Option<IdedExpr>, ParseError>;

/// Adds the macros to `env`.
pub(crate) fn register(env: &mut Env) -> Result<(), ::cel::DeclarationError> {
    env.add_macro(Macro::receiver("bind", 3, bind))?;
    env.add_macro(Macro::receiver("all", 3, |h, t, a| {
        two_variables(h, t, a, Kind::All)
    }))?;
    env.add_macro(Macro::receiver("exists", 3, |h, t, a| {
        two_variables(h, t, a, Kind::Exists)
    }))?;
    for name in ["existsOne", "exists_one"] {
        env.add_macro(Macro::receiver(name, 3, |h, t, a| {
            two_variables(h, t, a, Kind::ExistsOne)
        }))?;
    }
    for (name, kind) in [
        ("transformList", Kind::TransformList),
        ("transformMap", Kind::TransformMap),
        ("transformMapEntry", Kind::TransformMapEntry),
    ] {
        env.add_macro(Macro::receiver(name, 3, move |h, t, a| {
            two_variables(h, t, a, kind)
        }))?;
        env.add_macro(Macro::receiver(name, 4, move |h, t, a| {
            two_variables(h, t, a, kind)
        }))?;
    }
    Ok(())
}

fn ident(helper: &mut MacroExprHelper<'_>, name: &str) -> IdedExpr {
    helper.next_expr(Expr::Ident(name.to_owned()))
}

fn call(helper: &mut MacroExprHelper<'_>, name: &str, args: Vec<IdedExpr>) -> IdedExpr {
    helper.next_expr(Expr::Call(CallExpr {
        func_name: name.to_owned(),
        target: None,
        args,
    }))
}

fn literal(helper: &mut MacroExprHelper<'_>, value: LiteralValue) -> IdedExpr {
    helper.next_expr(Expr::Literal(value))
}

/// `cel.bind(name, init, body)` as cel-go expands it: a comprehension over nothing whose
/// accumulator is `name`.
fn binding(
    helper: &mut MacroExprHelper<'_>,
    name: String,
    init: IdedExpr,
    body: IdedExpr,
) -> IdedExpr {
    let range = helper.next_expr(Expr::List(ListExpr::new(Vec::new())));
    let condition = literal(helper, LiteralValue::Boolean(false.into()));
    let step = ident(helper, &name);
    helper.next_expr(Expr::Comprehension(Box::new(ComprehensionExpr {
        iter_range: range,
        iter_var: "#unused".to_owned(),
        iter_var2: None,
        accu_var: name,
        accu_init: init,
        loop_cond: condition,
        loop_step: step,
        result: body,
    })))
}

fn variable_name(helper: &MacroExprHelper<'_>, expr: &IdedExpr) -> Result<String, ParseError> {
    match &expr.expr {
        Expr::Ident(name) => Ok(name.clone()),
        _ => Err(helper.new_error(expr.id, "argument must be a simple name")),
    }
}

fn bind(
    helper: &mut MacroExprHelper<'_>,
    target: &mut Option<IdedExpr>,
    args: &mut Vec<IdedExpr>,
) -> Expansion {
    if !matches!(target.as_ref().map(|t| &t.expr), Some(Expr::Ident(name)) if name == "cel") {
        return Ok(None);
    }
    let [name, init, body]: [IdedExpr; 3] = std::mem::take(args)
        .try_into()
        .map_err(|_| helper.new_error(0, "cel.bind takes three arguments"))?;
    let name = variable_name(helper, &name)?;
    Ok(Some(binding(helper, name, init, body)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    All,
    Exists,
    ExistsOne,
    TransformList,
    TransformMap,
    TransformMapEntry,
}

fn two_variables(
    helper: &mut MacroExprHelper<'_>,
    target: &mut Option<IdedExpr>,
    args: &mut Vec<IdedExpr>,
    kind: Kind,
) -> Expansion {
    let Some(range) = target.take() else {
        return Ok(None);
    };
    let mut rest = std::mem::take(args).into_iter();
    let (Some(first), Some(second)) = (rest.next(), rest.next()) else {
        return Err(helper.new_error(range.id, "expected two variables"));
    };
    let first = variable_name(helper, &first)?;
    let second = variable_name(helper, &second)?;
    if first == second {
        return Err(helper.new_error(range.id, format!("duplicate variable name: {first}")));
    }
    let rest: Vec<IdedExpr> = rest.collect();
    // Binds the user's two variables around `body` for the current pair.
    let bound = |helper: &mut MacroExprHelper<'_>, body: IdedExpr| {
        let pair = ident(helper, PAIR);
        let zero = literal(helper, LiteralValue::Int(0.into()));
        let key = call(helper, operators::INDEX, vec![pair, zero]);
        let pair = ident(helper, PAIR);
        let one = literal(helper, LiteralValue::Int(1.into()));
        let value = call(helper, operators::INDEX, vec![pair, one]);
        let inner = binding(helper, second.clone(), value, body);
        binding(helper, first.clone(), key, inner)
    };
    let (filter, body) = match rest.as_slice() {
        [body] => (None, body.clone()),
        [filter, body] => (Some(filter.clone()), body.clone()),
        _ => return Err(helper.new_error(range.id, "unexpected number of arguments")),
    };
    let result = |helper: &mut MacroExprHelper<'_>| ident(helper, RESULT);
    let (init, condition, step, output) = match kind {
        Kind::All | Kind::Exists => {
            let all = kind == Kind::All;
            let init = literal(helper, LiteralValue::Boolean(all.into()));
            let accumulated = result(helper);
            let keep_going = if all {
                accumulated
            } else {
                call(helper, operators::LOGICAL_NOT, vec![accumulated])
            };
            let condition = call(helper, operators::NOT_STRICTLY_FALSE, vec![keep_going]);
            let predicate = bound(helper, body);
            let accumulated = result(helper);
            let operator = if all {
                operators::LOGICAL_AND
            } else {
                operators::LOGICAL_OR
            };
            let step = call(helper, operator, vec![accumulated, predicate]);
            (init, condition, step, result(helper))
        }
        Kind::ExistsOne => {
            let init = literal(helper, LiteralValue::Int(0.into()));
            let condition = literal(helper, LiteralValue::Boolean(true.into()));
            let predicate = bound(helper, body);
            let accumulated = result(helper);
            let one = literal(helper, LiteralValue::Int(1.into()));
            let plus_one = call(helper, operators::ADD, vec![accumulated, one]);
            let unchanged = result(helper);
            let step = call(
                helper,
                operators::CONDITIONAL,
                vec![predicate, plus_one, unchanged],
            );
            let accumulated = result(helper);
            let one = literal(helper, LiteralValue::Int(1.into()));
            let output = call(helper, operators::EQUALS, vec![accumulated, one]);
            (init, condition, step, output)
        }
        Kind::TransformList | Kind::TransformMap | Kind::TransformMapEntry => {
            let init = if kind == Kind::TransformList {
                helper.next_expr(Expr::List(ListExpr::new(Vec::new())))
            } else {
                helper.next_expr(Expr::Map(::cel::common::ast::MapExpr {
                    entries: Vec::new(),
                }))
            };
            let condition = literal(helper, LiteralValue::Boolean(true.into()));
            let produced = bound(helper, body);
            let accumulated = result(helper);
            let grown = match kind {
                Kind::TransformList => {
                    let element = helper.next_expr(Expr::List(ListExpr::new(vec![produced])));
                    call(helper, operators::ADD, vec![accumulated, element])
                }
                Kind::TransformMap => {
                    let pair = ident(helper, PAIR);
                    let zero = literal(helper, LiteralValue::Int(0.into()));
                    let key = call(helper, operators::INDEX, vec![pair, zero]);
                    call(helper, MAP_INSERT, vec![accumulated, key, produced])
                }
                _ => call(helper, MAP_ENTRY, vec![accumulated, produced]),
            };
            let step = match filter {
                Some(filter) => {
                    let keep = bound(helper, filter);
                    let unchanged = result(helper);
                    call(helper, operators::CONDITIONAL, vec![keep, grown, unchanged])
                }
                None => grown,
            };
            (init, condition, step, result(helper))
        }
    };
    let pairs = call(helper, PAIRS, vec![range]);
    Ok(Some(helper.next_expr(Expr::Comprehension(Box::new(
        ComprehensionExpr {
            iter_range: pairs,
            iter_var: PAIR.to_owned(),
            iter_var2: None,
            accu_var: RESULT.to_owned(),
            accu_init: init,
            loop_cond: condition,
            loop_step: step,
            result: output,
        },
    )))))
}
