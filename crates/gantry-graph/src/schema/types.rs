//! The type part of a SimpleSchema field: `string`, `integer`, `boolean`, `float`, `object`,
//! `[]T`, `map[string]T` and custom type names, nested up to [`MAX_DEPTH`] levels.

/// How deep `[]`/`map[string]` may nest (Kro's limit).
pub const MAX_DEPTH: usize = 16;

/// A parsed type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeExpr {
    /// `string`, `integer`, `boolean` or `float`.
    Atomic(Atomic),
    /// `object`: any mapping, fields kept as given.
    Object,
    /// `[]T`.
    Slice(Box<TypeExpr>),
    /// `map[string]T`.
    Map(Box<TypeExpr>),
    /// A name from `spec.schema.types`.
    Custom(String),
}

/// The scalar types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Atomic {
    /// `string`.
    String,
    /// `integer`.
    Integer,
    /// `boolean`.
    Boolean,
    /// `float` (OpenAPI `number`).
    Float,
}

impl Atomic {
    /// The OpenAPI `type`.
    pub fn openapi_type(self) -> &'static str {
        match self {
            Atomic::String => "string",
            Atomic::Integer => "integer",
            Atomic::Boolean => "boolean",
            Atomic::Float => "number",
        }
    }
}

/// Why a type string does not parse. Messages are Kro's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// Nothing before `|`.
    #[error("empty type")]
    Empty,
    /// `[]` with nothing after it.
    #[error("empty slice element type")]
    EmptySliceElement,
    /// `map[int]...`.
    #[error("map key must be string")]
    MapKey,
    /// `map[string]` alone.
    #[error("map value type is required")]
    MapValue,
    /// Too many nested `[]`/`map[string]`.
    #[error("type nesting too deep (max {MAX_DEPTH}): {0:?}")]
    TooDeep(String),
}

impl TypeExpr {
    /// Parses a type string (the part of a field before `|`).
    pub fn parse(text: &str) -> Result<TypeExpr, TypeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TypeError::Empty);
        }
        parse_at(text, 0)
    }

    /// The custom type names this type refers to.
    pub fn custom_names(&self) -> Vec<&str> {
        match self {
            TypeExpr::Custom(name) => vec![name],
            TypeExpr::Slice(inner) | TypeExpr::Map(inner) => inner.custom_names(),
            TypeExpr::Atomic(_) | TypeExpr::Object => Vec::new(),
        }
    }
}

fn parse_at(text: &str, depth: usize) -> Result<TypeExpr, TypeError> {
    if depth > MAX_DEPTH {
        return Err(TypeError::TooDeep(text.to_owned()));
    }
    let text = text.trim();
    let atomic = match text {
        "string" => Some(Atomic::String),
        "integer" => Some(Atomic::Integer),
        "boolean" => Some(Atomic::Boolean),
        "float" => Some(Atomic::Float),
        _ => None,
    };
    if let Some(atomic) = atomic {
        return Ok(TypeExpr::Atomic(atomic));
    }
    if text == "object" {
        return Ok(TypeExpr::Object);
    }
    if let Some(element) = text.strip_prefix("[]") {
        if element.is_empty() {
            return Err(TypeError::EmptySliceElement);
        }
        return Ok(TypeExpr::Slice(Box::new(parse_at(element, depth + 1)?)));
    }
    if text.starts_with("map[") {
        let Some(value) = text.strip_prefix("map[string]") else {
            return Err(TypeError::MapKey);
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(TypeError::MapValue);
        }
        return Ok(TypeExpr::Map(Box::new(parse_at(value, depth + 1)?)));
    }
    Ok(TypeExpr::Custom(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_collections_parse() {
        assert_eq!(
            TypeExpr::parse(" []map[string]Person ").unwrap(),
            TypeExpr::Slice(Box::new(TypeExpr::Map(Box::new(TypeExpr::Custom(
                "Person".into()
            )))))
        );
        assert_eq!(
            TypeExpr::parse("map[string][]float").unwrap(),
            TypeExpr::Map(Box::new(TypeExpr::Slice(Box::new(TypeExpr::Atomic(
                Atomic::Float
            )))))
        );
    }

    #[test]
    fn bad_types_have_kro_messages() {
        assert_eq!(TypeExpr::parse("  ").unwrap_err().to_string(), "empty type");
        assert_eq!(
            TypeExpr::parse("[]").unwrap_err().to_string(),
            "empty slice element type"
        );
        assert_eq!(
            TypeExpr::parse("map[int]string").unwrap_err().to_string(),
            "map key must be string"
        );
        assert_eq!(
            TypeExpr::parse("map[string]").unwrap_err().to_string(),
            "map value type is required"
        );
        let deep = format!("{}string", "[]".repeat(17));
        assert!(
            TypeExpr::parse(&deep)
                .unwrap_err()
                .to_string()
                .starts_with("type nesting too deep (max 16)")
        );
        assert!(TypeExpr::parse(&format!("{}string", "[]".repeat(16))).is_ok());
    }
}
