//! The function table: expr-lang's builtins and Kargo's functions, resolved by name when an
//! expression is compiled.

pub(crate) mod builtin;
pub(crate) mod encode;
pub(crate) mod kargo;

use crate::ast::Node;
use crate::error::Span;
use crate::eval::{Evaluator, R};

pub(crate) use builtin::Builtin;
pub(crate) use kargo::Kargo;

/// Declares a fieldless enum with the source name of each variant.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name { $($variant),* }

        impl $name {
            pub(crate) const ALL: &'static [($name, &'static str)] = &[$(($name::$variant, $text)),*];

            pub(crate) fn from_name(name: &str) -> Option<$name> {
                Self::ALL.iter().find(|(_, text)| *text == name).map(|(value, _)| *value)
            }
        }
    };
}
pub(crate) use named_enum;

/// A resolved function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Builtin(Builtin),
    Kargo(Kargo),
}

impl Func {
    /// Which argument positions are predicates (parsed as closures).
    pub(crate) fn closure_args(self) -> &'static [usize] {
        match self {
            Func::Builtin(b) => b.closure_args(),
            Func::Kargo(_) => &[],
        }
    }
}

/// Resolves a function name.
pub(crate) fn lookup(name: &str) -> Option<Func> {
    Kargo::from_name(name)
        .map(Func::Kargo)
        .or_else(|| Builtin::from_name(name).map(Func::Builtin))
}

/// Every function name (for completion and "did you mean").
pub fn names() -> impl Iterator<Item = &'static str> {
    Builtin::ALL
        .iter()
        .map(|(_, name)| *name)
        .chain(Kargo::ALL.iter().map(|(_, name)| *name))
}

/// The closest known function name, for "did you mean".
pub(crate) fn similar(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    names()
        .filter_map(|candidate| {
            let distance = edit_distance(&lower, &candidate.to_ascii_lowercase());
            (distance <= 2.max(name.len() / 4)).then_some((distance, candidate))
        })
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

/// Calls a function.
pub(crate) fn call(ev: &mut Evaluator<'_>, func: Func, name: &str, args: &[Node], span: Span) -> R {
    match func {
        Func::Builtin(b) => builtin::call(ev, b, name, args, span),
        Func::Kargo(k) => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(ev.eval(arg)?);
            }
            kargo::call(ev, k, &values, span)
        }
    }
}
