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
    gantry_api::suggest::similar(name, names())
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
