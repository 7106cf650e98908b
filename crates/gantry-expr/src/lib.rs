//! gantry's expression language: expr-lang (v1.17) syntax and semantics, Kargo's `${{ }}`
//! templates with their type coercion, and Kargo's function library.
//!
//! - [`Expression`]: a bare expression, compiled once and evaluated many times.
//! - [`Template`]: a string with `${{ expr }}` / `${% expr %}` parts; rendering inserts each
//!   value and coerces the result the way Kargo does ([`coerce`]).
//! - [`Config`]: a whole step config (any JSON value) with every string compiled as a template.
//! - [`Host`]: where functions such as `imageFrom()` and `secret()` get promotion data; the
//!   engine implements it, so this crate does no I/O.
//!
//! Every error carries the byte span of the failing part of the source. Evaluation is bounded
//! ([`Limits`]) and never panics.

mod ast;
mod error;
mod eval;
pub mod functions;
mod host;
mod lexer;
mod parser;
mod template;
mod value;

pub use error::{Error, ErrorKind, Span};
pub use eval::Limits;
pub use host::{Host, NoHost, SecretData, StepStatus};
pub use template::{
    Config, ConfigError, Delimited, Expression, PathSegment, RESERVED_ENV_KEYS, Reference,
    Template, check_env, coerce, scan,
};
pub use value::{Object, Struct, Value, format_float_g, format_float_json};
