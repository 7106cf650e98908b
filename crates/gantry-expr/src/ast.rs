//! The syntax tree of a compiled expression.

use crate::error::Span;
use crate::functions::Func;
use crate::value::Value;

/// A node with the span of the source it came from.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) span: Span,
    pub(crate) kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unary {
    Not,
    Neg,
    Plus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binary {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Range,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Coalesce,
}

impl Binary {
    /// Precedence and right-associativity, as expr-lang defines them.
    pub(crate) fn from_token(text: &str) -> Option<(Binary, u16, bool)> {
        Some(match text {
            "or" | "||" => (Binary::Or, 10, false),
            "and" | "&&" => (Binary::And, 15, false),
            "==" => (Binary::Eq, 20, false),
            "!=" => (Binary::Ne, 20, false),
            "<" => (Binary::Lt, 20, false),
            ">" => (Binary::Gt, 20, false),
            "<=" => (Binary::Le, 20, false),
            ">=" => (Binary::Ge, 20, false),
            "in" => (Binary::In, 20, false),
            "matches" => (Binary::Matches, 20, false),
            "contains" => (Binary::Contains, 20, false),
            "startsWith" => (Binary::StartsWith, 20, false),
            "endsWith" => (Binary::EndsWith, 20, false),
            ".." => (Binary::Range, 25, false),
            "+" => (Binary::Add, 30, false),
            "-" => (Binary::Sub, 30, false),
            "*" => (Binary::Mul, 60, false),
            "/" => (Binary::Div, 60, false),
            "%" => (Binary::Mod, 60, false),
            "**" | "^" => (Binary::Pow, 100, true),
            "??" => (Binary::Coalesce, 500, false),
            _ => return None,
        })
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Binary::Or => "||",
            Binary::And => "&&",
            Binary::Eq => "==",
            Binary::Ne => "!=",
            Binary::Lt => "<",
            Binary::Gt => ">",
            Binary::Le => "<=",
            Binary::Ge => ">=",
            Binary::In => "in",
            Binary::Matches => "matches",
            Binary::Contains => "contains",
            Binary::StartsWith => "startsWith",
            Binary::EndsWith => "endsWith",
            Binary::Range => "..",
            Binary::Add => "+",
            Binary::Sub => "-",
            Binary::Mul => "*",
            Binary::Div => "/",
            Binary::Mod => "%",
            Binary::Pow => "**",
            Binary::Coalesce => "??",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Literal(Value),
    /// A variable: a `let` binding or an environment key.
    Ident(String),
    /// `$env`.
    Env,
    /// `#`, `#index`, `#acc` inside a predicate.
    Pointer(String),
    Array(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Unary(Unary, Box<Node>),
    Binary(Binary, Box<Node>, Box<Node>),
    /// `!(a op b)` for `not in`, `not matches`, ...
    Member {
        object: Box<Node>,
        property: Box<Node>,
        optional: bool,
    },
    Slice {
        object: Box<Node>,
        from: Option<Box<Node>>,
        to: Option<Box<Node>>,
    },
    Call {
        func: Func,
        name: String,
        args: Vec<Node>,
    },
    Method {
        object: Box<Node>,
        name: String,
        optional: bool,
        args: Vec<Node>,
    },
    Closure(Box<Node>),
    /// `text matches 'literal pattern'`, compiled once.
    Matches(Box<Node>, std::sync::Arc<regex::Regex>),
    /// `a; b; c`: evaluates each, the value is the last.
    Sequence(Vec<Node>),
    Conditional(Box<Node>, Box<Node>, Box<Node>),
    Let {
        name: String,
        value: Box<Node>,
        body: Box<Node>,
    },
    /// The root of a member chain that contains `?.`: a nil met at a `?.` makes the whole
    /// chain nil.
    Chain(Box<Node>),
}
