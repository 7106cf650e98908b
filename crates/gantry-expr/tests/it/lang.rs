//! expr-lang semantics, one table per area (values chosen for these tests).

use crate::check;

#[test]
fn literals() {
    check(&[
        ("7", "7"),
        ("-7", "-7"),
        ("2_500", "2500"),
        ("0x1F", "31"),
        ("0o17", "15"),
        ("0b1010", "10"),
        ("2.5", "2.5"),
        ("3.", "3"),
        (".75", "0.75"),
        ("6e2", "600"),
        ("'it''s'", "error~"),
        (r#""tab\there""#, r#""tab\there""#),
        (r"'caf\u00e9'", r#""café""#),
        (r"'\x41\101'", r#""AA""#),
        ("`raw \\n stays`", r#""raw \\n stays""#),
        ("true", "true"),
        ("nil", "null"),
        ("[1, 'two', [3],]", r#"[1,"two",[3]]"#),
        (
            "{b: 2, 'a': 1, 3: 'x', ('k' + 'ey'): nil}",
            r#"{"3":"x","a":1,"b":2,"key":null}"#,
        ),
        ("/* note */ 4 // trailing", "4"),
        ("12abc", "error~bad number syntax"),
        ("99999999999999999999", "error~invalid integer literal"),
    ]);
}

#[test]
fn arithmetic() {
    check(&[
        ("17 + 4", "21"),
        ("17 - 4 * 2", "9"),
        ("(17 - 4) * 2", "26"),
        ("9 / 3", "3"),
        ("7 / 2", "3.5"),
        ("7 % 3", "1"),
        ("-7 % 3", "-1"),
        ("7 % 0", "error~integer divide by zero"),
        ("7.5 % 2", "error~invalid operation: float64 % int"),
        ("2 ** 10", "1024"),
        ("2 ^ 3 ^ 2", "512"),
        ("-2 ** 2", "-4"),
        ("1 / 0 > 1e300", "true"),
        ("9223372036854775807 + 1", "-9223372036854775808"),
        ("1 + 2.5", "3.5"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("'a' + 1", "error~invalid operation: string + int"),
        ("'con' + 'cat'", r#""concat""#),
        ("-'x'", "error~invalid operation: - string"),
        ("vars.replicas * 2", "6"),
        ("vars.ratio * 4", "1"),
    ]);
}

#[test]
fn comparison_and_logic() {
    check(&[
        ("3 == 3.0", "true"),
        ("'3' == 3", "false"),
        ("nil == nil", "true"),
        ("0 == nil", "false"),
        ("[1, 2] == [1.0, 2]", "true"),
        ("{a: 1} == {a: 1}", "true"),
        ("{a: 1} == {a: 1.0}", "false"),
        ("2 < 3 < 4", "true"),
        ("2 < 3 > 4", "false"),
        ("'apple' < 'banana'", "true"),
        ("1 < 'x'", "error~invalid operation: int < string"),
        ("true && false || true", "true"),
        ("true and not false", "true"),
        ("!true", "false"),
        ("not (1 > 2)", "true"),
        ("false && (1 / 0 == 'boom')", "false"),
        ("1 && true", "error~needs bools"),
        ("false || 7", "7"),
        ("vars.flag ? 'on' : 'off'", r#""on""#),
        ("1 ? 2 : 3", "error~condition must be a bool"),
        ("false ?: 'fallback'", r#""fallback""#),
        (
            "if vars.replicas > 2 { 'many' } else { 'few' }",
            r#""many""#,
        ),
        ("if false { 1 } else if true { 2 } else { 3 }", "2"),
    ]);
}

#[test]
fn strings_and_membership() {
    check(&[
        ("'payments-api' contains 'api'", "true"),
        ("'payments-api' startsWith 'pay'", "true"),
        ("'payments-api' endsWith 'web'", "false"),
        ("'v1.10.0' matches '^v[0-9]+\\\\.'", "true"),
        ("'abc' matches '('", "error~invalid regular expression"),
        ("'x' matches vars.ctx", "false"),
        ("nil contains 'a'", "false"),
        ("'team' in vars.labels", "true"),
        ("'owner' in vars.labels", "false"),
        ("'1.9.0' in vars.tags", "true"),
        ("2 in [1.0, 2.0]", "true"),
        ("'1.9.0' not in vars.tags", "false"),
        ("'abc' not contains 'z'", "true"),
        ("1 in 5", "error~operator \"in\" not defined on int"),
        ("'x' in nil", "false"),
    ]);
}

#[test]
fn members_indexes_and_slices() {
    check(&[
        ("vars.labels.team", r#""payments""#),
        ("vars['labels']['tier']", r#""backend""#),
        ("vars.labels.missing", "null"),
        (
            "vars.missing.deeper",
            "error~cannot fetch deeper from <nil>",
        ),
        ("vars.missing?.deeper", "null"),
        ("vars.missing?.deeper.evenDeeper", "null"),
        ("vars.missing?.[0]", "null"),
        ("unknownRoot", "null"),
        ("vars.tags[0]", r#""1.9.0""#),
        ("vars.tags[-1]", r#""1.10.1-rc.1""#),
        (
            "vars.tags[3]",
            "error~index out of range: 3 (array length is 3)",
        ),
        (
            "vars.tags[-5]",
            "error~index out of range: -2 (array length is 3)",
        ),
        ("vars.tags[1:]", r#"["1.10.0","1.10.1-rc.1"]"#),
        ("vars.tags[:-1]", r#"["1.9.0","1.10.0"]"#),
        ("vars.tags[5:]", "[]"),
        ("vars.tags[-99:1]", r#"["1.9.0"]"#),
        ("'gantry'[1:3]", r#""an""#),
        ("'gantry'[0]", "103"),
        ("vars.replicas.x", "error~cannot fetch x from int"),
        ("$env.ctx.stage", r#""uat""#),
        ("'ctx' in $env", "true"),
        ("outputs['update-image'].commit", r#""0a1b2c3""#),
        ("vars.nothing ?? 'default'", r#""default""#),
        ("vars.flag ?? 'default'", "true"),
        ("vars.missing?.x ?? 'deep default'", r#""deep default""#),
        ("vars.a ?? vars.b ?? 5", "5"),
        ("vars.a ?? 1 + 2", "error~cannot be mixed"),
        ("1 + (vars.a ?? 2)", "3"),
    ]);
}

#[test]
fn let_pipes_and_sequences() {
    check(&[
        ("let x = 4; x * x", "16"),
        ("let x = 2; let y = x + 1; x * y", "6"),
        ("let vars = 1; vars", "1"),
        ("1; 2; 3", "3"),
        (
            "vars.tags | map(upper(#)) | join(',')",
            r#""1.9.0,1.10.0,1.10.1-RC.1""#,
        ),
        ("'a,b,c' | split(',') | len()", "3"),
        ("[3, 1, 2] | sort() | first()", "1"),
        ("1..4 | filter(# % 2 == 0) | map(# * 10)", "[20,40]"),
        ("'x' | upper", "error~unexpected"),
    ]);
}

#[test]
fn predicates() {
    check(&[
        ("map(vars.people, .name)", r#"["ana","bo","cy"]"#),
        ("map(vars.people, #.age > 18)", "[true,false,true]"),
        ("map([10, 20], #index)", "[0,1]"),
        (
            "filter(vars.people, .age >= 29) | map(.name)",
            r#"["ana","cy"]"#,
        ),
        ("all(vars.people, .age > 10)", "true"),
        ("any(vars.people, .age > 40)", "true"),
        ("one(vars.people, .age > 40)", "true"),
        ("none(vars.people, .name == 'zed')", "true"),
        ("all([], false)", "true"),
        ("any([], true)", "false"),
        ("count(vars.people, .age > 20)", "2"),
        ("count([true, false, true])", "2"),
        ("sum(vars.people, .age)", "87"),
        ("sum([1, 2.5])", "3.5"),
        ("sum([])", "0"),
        ("find(vars.people, .age < 20).name", r#""bo""#),
        ("find(vars.people, .age > 99)", "null"),
        ("findIndex(vars.people, .name == 'cy')", "2"),
        ("findLast(vars.people, .age > 18).name", r#""cy""#),
        ("findLastIndex([1, 2, 1], # == 1)", "2"),
        (
            "groupBy(1..6, # % 2 == 0 ? 'even' : 'odd')",
            r#"{"even":[2,4,6],"odd":[1,3,5]}"#,
        ),
        (
            "sortBy(vars.people, .age) | map(.name)",
            r#"["bo","cy","ana"]"#,
        ),
        (
            "sortBy(vars.people, .name, 'desc') | map(.name)",
            r#"["cy","bo","ana"]"#,
        ),
        ("reduce(1..5, #acc + #)", "15"),
        ("reduce(1..3, #acc * #, 10)", "60"),
        ("reduce([], #acc + #)", "error~reduce of an empty array"),
        ("reduce([], #acc + #, 42)", "42"),
        (
            "filter(vars.people, { let a = .age; a > 20 && a < 40 }) | map(.name)",
            r#"["cy"]"#,
        ),
        ("map([[1, 2], [3]], map(#, # * 2))", "[[2,4],[6]]"),
        (
            "filter([1, 2], 'yes')",
            "error~predicate must return a bool",
        ),
        ("#", "error~can only be used inside a predicate"),
        ("map(5, #)", "error~invalid argument for map (type int)"),
    ]);
}

#[test]
fn builtins() {
    check(&[
        ("len('héllo')", "5"),
        ("len(vars.tags)", "3"),
        ("len(vars.labels)", "2"),
        ("len(5)", "error~invalid argument for len (type int)"),
        ("type(1)", r#""int""#),
        ("type(1.5)", r#""float""#),
        ("type(nil)", r#""nil""#),
        ("type([])", r#""array""#),
        ("abs(-4)", "4"),
        ("abs(-4.5)", "4.5"),
        ("ceil(1.2)", "2"),
        ("floor(-1.2)", "-2"),
        ("round(2.5)", "3"),
        ("round(-2.5)", "-3"),
        ("int('42')", "42"),
        ("int(' 42')", "error~"),
        ("int(3.99)", "3"),
        ("int(-3.99)", "-3"),
        ("float('1.25')", "1.25"),
        ("float('x')", "error~"),
        ("string(1.0)", r#""1""#),
        ("string(1234567.0)", r#""1.234567e+06""#),
        ("string(0.00001)", r#""1e-05""#),
        ("string([1, 'a', nil])", r#""[1 a \u003cnil\u003e]""#),
        ("string({b: 1, a: true})", r#""map[a:true b:1]""#),
        ("trim('  pad  ')", r#""pad""#),
        ("trim('__x__', '_')", r#""x""#),
        ("trimPrefix('v1.2.3', 'v')", r#""1.2.3""#),
        ("trimSuffix('app.yaml', '.yaml')", r#""app""#),
        ("trimPrefix(' x')", r#""x""#),
        ("upper('straße')", r#""STRAßE""#),
        ("lower('ÀB')", r#""àb""#),
        ("split('a/b/c', '/')", r#"["a","b","c"]"#),
        ("split('a/b/c', '/', 2)", r#"["a","b/c"]"#),
        ("split('abc', '')", r#"["a","b","c"]"#),
        ("split('', ',')", r#"[""]"#),
        ("splitAfter('a,b', ',')", r#"["a,","b"]"#),
        ("replace('a-b-c', '-', '+')", r#""a+b+c""#),
        ("repeat('ab', 3)", r#""ababab""#),
        ("repeat('ab', -1)", "error~"),
        ("join(['x', 'y'], '-')", r#""x-y""#),
        ("join(['x', 'y'])", r#""xy""#),
        ("indexOf('héllo', 'l')", "3"),
        ("lastIndexOf('hello', 'l')", "3"),
        ("indexOf('hello', 'z')", "-1"),
        ("hasPrefix('gantry', 'gan')", "true"),
        ("hasSuffix('gantry', 'try')", "true"),
        ("max(3, 2.5)", "3"),
        ("max([1, 9], 4, [[12]])", "12"),
        ("min(vars.people | map(.age))", "17"),
        ("max([])", "null"),
        ("mean([1, 2, 3, 4])", "2.5"),
        ("median([5, 1, 3])", "3"),
        ("median([4, 1, 3, 2])", "2.5"),
        ("mean([])", "0"),
        (
            "toJSON({b: [1, 2], a: '<x>'})",
            r#""{\n  \"a\": \"\\u003cx\\u003e\",\n  \"b\": [\n    1,\n    2\n  ]\n}""#,
        ),
        ("type(fromJSON('{\"n\": 1}').n)", r#""float""#),
        ("fromJSON('[1, {\"a\": true}]')", r#"[1,{"a":true}]"#),
        ("fromJSON('{')", "error~invalid JSON"),
        ("toBase64('gantry')", r#""Z2FudHJ5""#),
        ("fromBase64('Z2FudHJ5')", r#""gantry""#),
        ("fromBase64('Z2FudHJ5=')", "error~illegal base64"),
        ("first(vars.tags)", r#""1.9.0""#),
        ("last(vars.tags)", r#""1.10.1-rc.1""#),
        ("first([])", "null"),
        ("get(vars.labels, 'team')", r#""payments""#),
        ("get(vars.tags, 10)", "null"),
        ("get(vars.tags, -1)", r#""1.10.1-rc.1""#),
        ("get(nil, 'x')", "null"),
        ("take([1, 2, 3], 2)", "[1,2]"),
        ("take([1], 5)", "[1]"),
        ("keys(vars.labels)", r#"["team","tier"]"#),
        ("values(vars.labels)", r#"["payments","backend"]"#),
        ("toPairs({a: 1})", r#"[["a",1]]"#),
        ("fromPairs([['k', 'v'], ['n', 2]])", r#"{"k":"v","n":2}"#),
        ("sort([3, 1.5, 2])", "[1.5,2,3]"),
        ("sort(['b', 'a'], 'desc')", r#"["b","a"]"#),
        ("sort([1, 'a'])", "error~"),
        ("sort([1], 'up')", "error~asc"),
        ("reverse([1, 2, 3])", "[3,2,1]"),
        ("uniq([1, 1.0, 2, 'a', 'a'])", r#"[1,2,"a"]"#),
        ("flatten([1, [2, [3, [4]]]])", "[1,2,3,4]"),
        ("concat([1], [2, 3], [])", "[1,2,3]"),
        ("bitand(12, 10)", "8"),
        ("bitor(12, 10)", "14"),
        ("bitxor(12, 10)", "6"),
        ("bitnand(12, 10)", "4"),
        ("bitnot(12)", "-13"),
        ("bitshl(1, 4)", "16"),
        ("bitshr(-16, 2)", "-4"),
        ("bitushr(-1, 60)", "15"),
        ("bitshl(1, -1)", "error~negative shift"),
        ("len()", "error~not enough arguments to call len"),
        ("upper('a', 'b')", "error~too many arguments to call upper"),
        ("uppr('a')", "error~unknown function `uppr`"),
        ("now()", "error~not supported"),
    ]);
}

#[test]
fn parse_errors_say_what_was_expected() {
    check(&[
        ("", "error~empty expression"),
        (
            "1 +",
            "error~unexpected end of the expression: expected a value",
        ),
        ("(1 + 2", "error~opened parenthesis is not closed"),
        ("[1, 2", "error~expected `,` or `]`"),
        ("{a 1}", "error~expected `:` after the map key"),
        ("a.", "error~expected a field name"),
        ("1 2", "error~expected the end of the expression"),
        ("'open", "error~unterminated string"),
        ("a @ b", "error~unexpected character '@'"),
        ("1 not 2", "error~after `not`"),
        ("let = 1; 2", "error~a variable name after `let`"),
        ("if true { 1 }", "error~`else`"),
        ("true ? 1", "error~`:` of the conditional"),
        ("'\\q'", "error~invalid escape"),
    ]);
}
