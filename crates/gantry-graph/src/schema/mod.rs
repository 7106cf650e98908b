//! SimpleSchema: Kro's compact way to write the `spec` of a generated kind, compiled into an
//! OpenAPI v3 schema (as JSON).
//!
//! A field is either a string `TYPE | markers` (see [`types`] and [`markers`]) or a mapping of
//! fields (a nested struct). Custom types live in `spec.schema.types`: each is a struct or a
//! type string (an alias, whose own `required=true` makes every field of that type required);
//! they may refer to each other, are resolved in dependency order (a cycle is an error) and
//! are inlined wherever they are used. A struct whose fields have defaults and none of which is
//! required gets `default: {}` so the nested defaults materialise. `required` lists are sorted.
//!
//! Start at [`compile`]; [`validate()`] checks and defaults an instance's `spec` against the
//! result. Errors carry the [`FieldPath`] of the offending SimpleSchema field from the RGD's
//! root (`spec.schema.spec.values.tag`), so callers can point at the file position.

pub mod markers;
pub mod types;
pub mod validate;

use std::collections::HashMap;

use gantry_api::kro::RgdSchema;
use gantry_api::path::FieldPath;
use serde_json::{Map, Value, json};

use crate::dag::{Dag, DagError};
pub use markers::{Marker, MarkerError, MarkerKey};
pub use types::{Atomic, TypeError, TypeExpr};
pub use validate::{ValidationError, validate};

/// A SimpleSchema that does not compile, with where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct SchemaError {
    /// The offending field, from the RGD's root.
    pub path: FieldPath,
    /// What is wrong.
    pub kind: SchemaErrorKind,
}

/// What is wrong with a SimpleSchema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaErrorKind {
    /// The type part does not parse.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// The markers do not parse or do not apply.
    #[error(transparent)]
    Marker(#[from] MarkerError),
    /// A type name that is neither built in nor in `spec.schema.types`.
    #[error("unknown type: {0}")]
    UnknownType(String),
    /// A field that is neither a type string nor a mapping.
    #[error("unexpected value: a field must be a type string or a mapping of fields, found {0}")]
    UnexpectedValue(&'static str),
    /// `spec` or `types` is not a mapping.
    #[error("{0} must be a mapping")]
    NotAMapping(&'static str),
    /// Custom types that refer to each other in a circle (or a type to itself).
    #[error("cyclic dependency in type {name}: {cycle}")]
    CyclicType {
        /// The type whose references closed the cycle.
        name: String,
        /// Kro's graph message (`graph contains a cycle: A -> B -> A`).
        cycle: String,
    },
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Compiles `spec.schema.spec` (with `spec.schema.types`) into the OpenAPI schema of the
/// instance's `spec`.
pub fn compile(schema: &RgdSchema) -> Result<Value, SchemaError> {
    let base = FieldPath::root().key("spec").key("schema");
    let compiler = Compiler::with_types(&schema.types, &base.key("types"))?;
    compiler.compile_spec(&schema.spec, &base.key("spec"))
}

/// Compiles SimpleSchema with a fixed set of custom types.
#[derive(Clone, Debug, Default)]
pub struct Compiler {
    types: HashMap<String, CustomType>,
}

#[derive(Clone, Debug)]
struct CustomType {
    schema: Map<String, Value>,
    required: bool,
}

impl Compiler {
    /// Resolves the custom types (`types` is the `spec.schema.types` mapping, or null; `path`
    /// is where it is, for errors).
    pub fn with_types(types: &Value, path: &FieldPath) -> Result<Compiler, SchemaError> {
        let mut compiler = Compiler::default();
        let entries = match types {
            Value::Null => return Ok(compiler),
            Value::Object(entries) => entries,
            _ => {
                return Err(SchemaError {
                    path: path.clone(),
                    kind: SchemaErrorKind::NotAMapping("types"),
                });
            }
        };
        // Each type's references, located, for the dependency order.
        let mut dag = Dag::new();
        for (order, name) in entries.keys().enumerate() {
            // Keys of a JSON object are unique.
            let _ = dag.add_vertex(name, order);
        }
        for (name, spec) in entries {
            let mut references = Vec::new();
            collect_references(spec, &path.key(name), &mut references)?;
            let mut known = Vec::new();
            for (reference, at) in references {
                if !entries.contains_key(&reference) {
                    return Err(SchemaError {
                        path: at,
                        kind: SchemaErrorKind::UnknownType(reference),
                    });
                }
                known.push(reference);
            }
            dag.add_dependencies(name, &known)
                .map_err(|error| SchemaError {
                    path: path.key(name),
                    kind: SchemaErrorKind::CyclicType {
                        name: name.clone(),
                        cycle: match error {
                            DagError::SelfReference => {
                                format!("graph contains a cycle: {name} -> {name}")
                            }
                            other => other.to_string(),
                        },
                    },
                })?;
        }
        for name in dag.topological_order() {
            let spec = &entries[&name];
            let at = path.key(&name);
            let custom = match spec {
                Value::String(text) => {
                    let mut required = Vec::new();
                    let schema = compiler.field_from_string(&name, text, &at, &mut required)?;
                    CustomType {
                        schema,
                        required: !required.is_empty(),
                    }
                }
                Value::Object(fields) => CustomType {
                    schema: compiler.struct_schema(fields, &at)?,
                    required: false,
                },
                other => {
                    return Err(SchemaError {
                        path: at,
                        kind: SchemaErrorKind::UnexpectedValue(type_name(other)),
                    });
                }
            };
            compiler.types.insert(name, custom);
        }
        Ok(compiler)
    }

    /// Compiles a `spec` SimpleSchema (a mapping of fields, or null for an empty spec).
    pub fn compile_spec(&self, spec: &Value, path: &FieldPath) -> Result<Value, SchemaError> {
        match spec {
            Value::Null => Ok(json!({"type": "object", "properties": {}})),
            Value::Object(fields) => Ok(Value::Object(self.struct_schema(fields, path)?)),
            _ => Err(SchemaError {
                path: path.clone(),
                kind: SchemaErrorKind::NotAMapping("spec"),
            }),
        }
    }

    /// Compiles one field string (`TYPE | markers`) on its own.
    pub fn compile_field(&self, text: &str, path: &FieldPath) -> Result<Value, SchemaError> {
        let mut required = Vec::new();
        self.field_from_string("", text, path, &mut required)
            .map(Value::Object)
    }

    fn struct_schema(
        &self,
        fields: &Map<String, Value>,
        path: &FieldPath,
    ) -> Result<Map<String, Value>, SchemaError> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut child_has_default = false;
        for (name, spec) in fields {
            let at = path.key(name);
            let schema = match spec {
                Value::String(text) => self.field_from_string(name, text, &at, &mut required)?,
                Value::Object(children) => self.struct_schema(children, &at)?,
                other => {
                    return Err(SchemaError {
                        path: at,
                        kind: SchemaErrorKind::UnexpectedValue(type_name(other)),
                    });
                }
            };
            child_has_default |= schema.contains_key("default");
            properties.insert(name.clone(), Value::Object(schema));
        }
        let mut schema = Map::new();
        schema.insert("type".to_owned(), json!("object"));
        schema.insert("properties".to_owned(), Value::Object(properties));
        required.sort();
        required.dedup();
        if required.is_empty() {
            if child_has_default {
                schema.insert("default".to_owned(), json!({}));
            }
        } else {
            schema.insert("required".to_owned(), json!(required));
        }
        Ok(schema)
    }

    fn field_from_string(
        &self,
        name: &str,
        text: &str,
        path: &FieldPath,
        parent_required: &mut Vec<String>,
    ) -> Result<Map<String, Value>, SchemaError> {
        let fail = |kind: SchemaErrorKind| SchemaError {
            path: path.clone(),
            kind,
        };
        let (type_text, markers_text) = match text.split_once('|') {
            Some((type_text, markers)) => (type_text, Some(markers)),
            None => (text, None),
        };
        let parsed = TypeExpr::parse(type_text).map_err(|e| fail(e.into()))?;
        let markers = match markers_text {
            Some(markers) => markers::parse(markers).map_err(|e| fail(e.into()))?,
            None => Vec::new(),
        };
        let mut schema = self.type_schema(&parsed).map_err(fail)?;
        if let TypeExpr::Custom(custom) = &parsed
            && self.types.get(custom).is_some_and(|t| t.required)
        {
            parent_required.push(name.to_owned());
        }
        for marker in &markers {
            if markers::apply(&mut schema, marker).map_err(|e| fail(e.into()))? {
                parent_required.push(name.to_owned());
            }
        }
        markers::check_combinations(&schema).map_err(|e| fail(e.into()))?;
        Ok(schema)
    }

    fn type_schema(&self, parsed: &TypeExpr) -> Result<Map<String, Value>, SchemaErrorKind> {
        let mut schema = Map::new();
        match parsed {
            TypeExpr::Atomic(atomic) => {
                schema.insert("type".to_owned(), json!(atomic.openapi_type()));
            }
            TypeExpr::Object => {
                schema.insert("type".to_owned(), json!("object"));
                schema.insert(
                    "x-kubernetes-preserve-unknown-fields".to_owned(),
                    json!(true),
                );
            }
            TypeExpr::Slice(element) => {
                schema.insert("type".to_owned(), json!("array"));
                schema.insert(
                    "items".to_owned(),
                    Value::Object(self.type_schema(element)?),
                );
            }
            TypeExpr::Map(value) => {
                schema.insert("type".to_owned(), json!("object"));
                schema.insert(
                    "additionalProperties".to_owned(),
                    Value::Object(self.type_schema(value)?),
                );
            }
            TypeExpr::Custom(name) => {
                return self
                    .types
                    .get(name)
                    .map(|custom| custom.schema.clone())
                    .ok_or_else(|| SchemaErrorKind::UnknownType(name.clone()));
            }
        }
        Ok(schema)
    }
}

/// The custom type names a type definition refers to, with where.
fn collect_references(
    spec: &Value,
    path: &FieldPath,
    out: &mut Vec<(String, FieldPath)>,
) -> Result<(), SchemaError> {
    match spec {
        Value::String(text) => {
            let type_text = text.split_once('|').map_or(text.as_str(), |(t, _)| t);
            let parsed = TypeExpr::parse(type_text).map_err(|e| SchemaError {
                path: path.clone(),
                kind: e.into(),
            })?;
            for name in parsed.custom_names() {
                out.push((name.to_owned(), path.clone()));
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields {
                collect_references(field, &path.key(name), out)?;
            }
        }
        other => {
            return Err(SchemaError {
                path: path.clone(),
                kind: SchemaErrorKind::UnexpectedValue(type_name(other)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_yaml(spec: Value, types: Value) -> Result<Value, SchemaError> {
        compile(&RgdSchema {
            api_version: "v1alpha1".into(),
            kind: "Test".into(),
            spec,
            types,
            ..RgdSchema::default()
        })
    }

    #[test]
    fn nested_structs_get_default_objects_and_sorted_required_lists() {
        let schema = compile_yaml(
            json!({
                "name": "string | required=true",
                "image": "string | required=true",
                "ingress": {"enabled": "boolean | default=false", "host": "string | default=\"example.com\""},
                "ports": "[]integer",
                "labels": "map[string]string",
                "values": "object"
            }),
            Value::Null,
        )
        .unwrap();
        assert_eq!(schema["required"], json!(["image", "name"]));
        assert_eq!(schema["properties"]["ingress"]["default"], json!({}));
        assert_eq!(
            schema["properties"]["ingress"]["properties"]["host"]["default"],
            json!("example.com")
        );
        assert_eq!(
            schema["properties"]["ports"],
            json!({"type": "array", "items": {"type": "integer"}})
        );
        assert_eq!(
            schema["properties"]["labels"],
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert_eq!(
            schema["properties"]["values"],
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        );
        assert!(
            schema.get("default").is_none(),
            "required children block default {{}}"
        );
    }

    #[test]
    fn custom_types_resolve_in_dependency_order_and_inline() {
        let schema = compile_yaml(
            json!({"ceo": "Employee", "people": "[]Address | required=true", "id": "Id"}),
            json!({
                "Employee": {"name": "string", "company": "Company"},
                "Company": {"name": "string", "headquarters": "Address"},
                "Address": {"street": "string", "city": "string | default=Paris"},
                "Id": "string | required=true minLength=3"
            }),
        )
        .unwrap();
        let company = &schema["properties"]["ceo"]["properties"]["company"];
        assert_eq!(
            company["properties"]["headquarters"]["properties"]["city"]["default"],
            json!("Paris")
        );
        assert_eq!(company["default"], json!({}));
        assert_eq!(
            schema["properties"]["people"]["items"]["properties"]["street"],
            json!({"type": "string"})
        );
        assert_eq!(schema["required"], json!(["id", "people"]));
        assert_eq!(
            schema["properties"]["id"],
            json!({"type": "string", "minLength": 3})
        );
    }

    #[test]
    fn type_cycles_and_unknown_types_are_located() {
        let error = compile_yaml(
            json!({"p": "Person"}),
            json!({"Person": {"employer": "Company"}, "Company": {"staff": "[]Person"}}),
        )
        .unwrap_err();
        assert_eq!(error.path.to_string(), "spec.schema.types.Company");
        assert_eq!(
            error.to_string(),
            "cyclic dependency in type Company: graph contains a cycle: Person -> Company -> Person"
        );
        let error =
            compile_yaml(json!({"a": {"b": "[]Nope | required=true"}}), Value::Null).unwrap_err();
        assert_eq!(error.path.to_string(), "spec.schema.spec.a.b");
        assert_eq!(error.to_string(), "unknown type: Nope");
        let error = compile_yaml(json!({}), json!({"T": {"x": "map[string]Missing"}})).unwrap_err();
        assert_eq!(error.path.to_string(), "spec.schema.types.T.x");
        let error = compile_yaml(json!({"a": 5}), Value::Null).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unexpected value: a field must be a type string or a mapping of fields, found a number"
        );
        let error = compile_yaml(json!({}), json!({"Loop": {"next": "Loop"}})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cyclic dependency in type Loop: graph contains a cycle: Loop -> Loop"
        );
    }
}
