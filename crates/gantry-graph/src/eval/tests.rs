use serde_json::{Value, json};

use super::*;

fn eval_with(source: &str, variables: Value) -> Result<Output, EvalError> {
    let evaluator = Evaluator::new();
    let program = evaluator
        .compile(source)
        .unwrap_or_else(|errors| panic!("{source}: {errors:?}"));
    let Value::Object(variables) = variables else {
        panic!("variables must be an object")
    };
    evaluator.evaluate_json(&program, &variables)
}

fn eval(source: &str) -> Value {
    eval_with(
        source,
        json!({"schema": {"spec": {"name": "web", "replicas": 3, "ports": [80, 443],
            "labels": {"b": "2", "a": "1"}}}}),
    )
    .unwrap_or_else(|error| panic!("{source}: {error}"))
    .value
    .unwrap_or(Value::String("<omitted>".into()))
}

fn compile_errors(source: &str) -> Vec<String> {
    Evaluator::new()
        .compile(source)
        .err()
        .unwrap_or_default()
        .iter()
        .map(|e| format!("{:?} `{}`: {e}", e.span, &source[e.span.clone()]))
        .collect()
}

#[test]
fn schema_values_keep_their_json_types() {
    assert_eq!(eval("schema.spec.replicas + 1"), json!(4));
    let output = eval_with(
        "schema.spec.replicas",
        json!({"schema": {"spec": {"replicas": 2}}}),
    );
    assert_eq!(output.unwrap().type_name, "int");
    assert_eq!(eval("schema.spec.ports"), json!([80, 443]));
    assert_eq!(eval("schema.spec.labels"), json!({"a": "1", "b": "2"}));
    assert_eq!(eval("2.0 * 2.0"), json!(4));
    assert_eq!(eval("1.5"), json!(1.5));
}

#[test]
fn optional_access_and_or_value() {
    assert_eq!(
        eval("schema.spec.?missing.orValue('fallback')"),
        json!("fallback")
    );
    assert_eq!(eval("schema.spec.?name.orValue('fallback')"), json!("web"));
    assert_eq!(eval("schema.spec.?name"), json!("web"));
    assert_eq!(eval("schema.spec.?missing"), json!("<omitted>"));
    assert_eq!(eval("schema.?spec.?labels.?a.orValue('x')"), json!("1"));
    assert_eq!(
        eval_with("schema.spec.missing", json!({"schema": {"spec": {}}})),
        Err(EvalError::NoSuchKey("missing".into()))
    );
}

#[test]
fn strings_lists_and_encoders_extensions() {
    assert_eq!(
        eval("schema.spec.name.upperAscii() + '-' + 'a,b'.split(',')[1]"),
        json!("WEB-b")
    );
    assert_eq!(eval("['a', 'b'].join('-')"), json!("a-b"));
    assert_eq!(
        eval("'%s:%d'.format([schema.spec.name, schema.spec.replicas])"),
        json!("web:3")
    );
    assert_eq!(eval("base64.encode(b'hi')"), json!("aGk="));
    assert_eq!(eval("string(base64.decode('aGk='))"), json!("hi"));
    assert_eq!(eval("[3, 1, 2].sort()"), json!([1, 2, 3]));
    assert_eq!(eval("[[1], [2, 3]].flatten()"), json!([1, 2, 3]));
    assert_eq!(eval("lists.range(3)"), json!([0, 1, 2]));
    assert_eq!(eval("[3, 1].sortBy(x, x)"), json!([1, 3]));
    assert_eq!(eval("strings.quote('a\"b')"), json!("\"a\\\"b\""));
}

#[test]
fn bind_and_two_variable_comprehensions() {
    assert_eq!(eval("cel.bind(n, schema.spec.replicas, n * n)"), json!(9));
    assert_eq!(eval("cel.bind(a, 1, cel.bind(b, 2, a + b))"), json!(3));
    assert_eq!(eval("schema.spec.labels.all(k, v, k != v)"), json!(true));
    assert_eq!(
        eval("schema.spec.labels.exists(k, v, k == 'a' && v == '1')"),
        json!(true)
    );
    assert_eq!(eval("[1, 2, 2].existsOne(i, v, v == 2)"), json!(false));
    assert_eq!(eval("[10, 20].transformList(i, v, i + v)"), json!([10, 21]));
    assert_eq!(
        eval("[10, 20, 30].transformList(i, v, i > 0, v)"),
        json!([20, 30])
    );
    assert_eq!(
        eval("schema.spec.labels.transformMap(k, v, k + v)"),
        json!({"a": "a1", "b": "b2"})
    );
    assert_eq!(
        eval("schema.spec.labels.transformMapEntry(k, v, {v: k})"),
        json!({"1": "a", "2": "b"})
    );
    assert_eq!(eval("[1, 2].map(x, x * 2)"), json!([2, 4]));
    assert_eq!(eval("[1, 2].all(x, x > 0)"), json!(true));
}

#[test]
fn kro_library_functions() {
    assert_eq!(
        eval("base64.encode(hash.fnv64a('hello world'))"),
        json!("d5pl5wI80uc=")
    );
    assert_eq!(
        eval("base64.encode(hash.md5('hello'))"),
        json!("XUFAKrxLKna5cZ2REBfFkg==")
    );
    assert_eq!(eval("size(hash.sha256('x'))"), json!(32));
    assert_eq!(
        eval("json.marshal({'b': [1, 2.5], 'a': '<&>'})"),
        json!("{\"a\":\"\\u003c\\u0026\\u003e\",\"b\":[1,2.5]}")
    );
    assert_eq!(eval("json.unmarshal('{\"n\": 1}').n"), json!(1));
    assert_eq!(
        eval("type(json.unmarshal('{\"n\": 1}').n) == double"),
        json!(true)
    );
    assert_eq!(eval("random.seededString(10, 'abc')"), json!("r6qfjs5dr6"));
    assert_eq!(eval("random.seededInt(30000, 32768, 'abc')"), json!(32138));
    assert_eq!(
        eval("{'a': 1}.merge({'a': 2, 'b': 2})"),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        eval("lists.setAtIndex([1, 2, 3], 1, 99)"),
        json!([1, 99, 3])
    );
    assert_eq!(
        eval("lists.insertAtIndex([1, 2, 3], 3, 99)"),
        json!([1, 2, 3, 99])
    );
    assert_eq!(eval("lists.removeAtIndex([1, 2, 3], 0)"), json!([2, 3]));
    assert_eq!(
        eval("[1, 3, 2].max() + [4, 2].min() + [1, 2].sum()"),
        json!(8)
    );
    assert_eq!(
        eval("[1, 2].isSorted() && [1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2"),
        json!(true)
    );
    assert_eq!(
        eval("'abc 123 def 456'.findAll('[0-9]+')"),
        json!(["123", "456"])
    );
    assert_eq!(eval("'abc 123'.find('[0-9]+')"), json!("123"));
    assert_eq!(
        eval("schema.spec.replicas > 5 ? schema.spec.replicas : omit()"),
        json!("<omitted>")
    );
    assert_eq!(eval("[1, omit(), 3]"), json!([1, 3]));
    let error = eval_with("lists.setAtIndex([1], 5, 0)", json!({})).unwrap_err();
    assert_eq!(
        error.to_string(),
        "error executing function 'lists.setAtIndex': lists.setAtIndex: index 5 out of bounds [0, 1)"
    );
}

#[test]
fn every_catalogued_function_is_declared() {
    let evaluator = Evaluator::new();
    let context = Context::with_env(Arc::clone(&evaluator.env));
    for name in GLOBAL {
        let program = evaluator
            .env
            .compile(&format!("{name}(1, 2, 3, 4)"))
            .unwrap();
        let result = program.execute(&context);
        assert!(
            !matches!(result, Err(ExecutionError::UndeclaredReference(_))),
            "{name}: {result:?}"
        );
    }
    for name in MEMBER {
        let program = evaluator
            .env
            .compile(&format!("[1].{name}(1, 2, 3, 4)"))
            .unwrap();
        let result = program.execute(&context);
        assert!(
            !matches!(result, Err(ExecutionError::UndeclaredReference(_))),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn unknown_and_unsupported_functions_are_located_at_their_name() {
    assert_eq!(
        compile_errors("size(schema.spec.x) + frobnicate(1)"),
        ["22..32 `frobnicate`: undeclared reference to 'frobnicate': no such function"]
    );
    assert_eq!(
        compile_errors("schema.spec.name.toUpper ()"),
        ["17..24 `toUpper`: undeclared reference to 'toUpper': no such function"]
    );
    assert_eq!(
        compile_errors("quantity('1Gi')"),
        [
            "0..8 `quantity`: function 'quantity' is part of Kro's CEL environment but gantry cannot evaluate it offline"
        ]
    );
    assert_eq!(
        compile_errors("hash.sha256('a') == b''"),
        Vec::<String>::new()
    );
    assert_eq!(
        compile_errors("hash.crc32('a')"),
        ["5..10 `crc32`: undeclared reference to 'crc32': no such function"]
    );
}

#[test]
fn syntax_errors_point_into_the_expression() {
    let errors = compile_errors("schema.spec.replicas +");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("22..22 ``: syntax error: mismatched input '<EOF>'"),
        "{errors:?}"
    );
    let errors = compile_errors("'é' + )");
    assert!(
        errors[0].starts_with("7..8 `)`: syntax error"),
        "{errors:?}"
    );
    assert_eq!(
        compile_errors(&"(".repeat(100)),
        ["64..65 `(`: expression nests more than 64 levels deep"]
    );
}
