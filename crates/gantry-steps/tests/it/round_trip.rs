//! Whatever string `yaml-update` writes reads back as that string, in every way a scalar can
//! be written, and nothing else in the document changes.

use gantry_api::yaml::parse_stream;
use gantry_steps::edit::Update;
use gantry_steps::edit::json_update::json_update;
use gantry_steps::edit::toml_update::{toml_parse, toml_update};
use gantry_steps::edit::yaml_merge::yaml_merge;
use gantry_steps::edit::yaml_update::yaml_update;
use proptest::prelude::*;
use serde_json::{Value, json};

/// (document, key, JSON pointer of the key).
const YAML_TARGETS: &[(&str, &str, &str)] = &[
    ("a: old\nb: 1\n", "a", "/a"),
    ("a: 'old' # c\nb: 1\n", "a", "/a"),
    ("a: \"old\"\n", "a", "/a"),
    ("a: |\n  old\n  text\n\nb: 1\n", "a", "/a"),
    ("a: >- # folded\n  old\nb: 1\n", "a", "/a"),
    ("l: [x, old, y]\n", "l.1", "/l/1"),
    ("m: {k: old, j: w}\n", "m.k", "/m/k"),
    ("a:\nb: 1\n", "a", "/a"),
    ("- old\n- |\n  z\n", "1", "/1"),
    ("x:\n  - k: old # c\n    j: 2\n", "x.0.k", "/x/0/k"),
    ("a: &anchor old\nb: 1\n", "a", "/a"),
    ("a: plain\n  continued\nb: 1\n", "a", "/a"),
];

fn yaml_json(text: &str) -> Value {
    let (mut documents, error) = parse_stream(text);
    assert_eq!(error, None, "output does not parse:\n{text}");
    documents.remove(0).root.to_json()
}

fn strings() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        proptest::string::string_regex("[-:#'\" ?&*!|>%@`{}\\[\\],a-z0-9.\\n\\t~_+]{0,10}")
            .unwrap(),
        prop::sample::select(vec![
            "yes",
            "No",
            "on",
            "~",
            "null",
            "true",
            "0755",
            "1_000",
            "1.10",
            ".inf",
            "0x1F",
            "-",
            "---",
            "2024-01-02",
            "a: b",
            "x #y",
            " lead",
            "trail ",
            "\n",
            "a\n",
            "a\n\n",
            "\u{85}",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn yaml_update_writes_strings_that_read_back_unchanged(
        target in 0..YAML_TARGETS.len(),
        value in strings(),
    ) {
        let (text, key, pointer) = YAML_TARGETS[target];
        let edited = yaml_update(text, &[Update::new(key, value.clone())]).unwrap();
        let mut expected = yaml_json(text);
        *expected.pointer_mut(pointer).unwrap() = Value::String(value);
        prop_assert_eq!(yaml_json(&edited.text), expected, "{}", edited.text);
    }

    #[test]
    fn yaml_update_writes_numbers_and_booleans_as_such(
        target in 0..YAML_TARGETS.len(),
        value in prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            (-1e30..1e30_f64).prop_map(Value::from),
        ],
    ) {
        let (text, key, pointer) = YAML_TARGETS[target];
        let edited = yaml_update(text, &[Update::new(key, value.clone())]).unwrap();
        let got = yaml_json(&edited.text).pointer(pointer).cloned().unwrap();
        if let (Value::Number(g), Value::Number(v)) = (&got, &value) {
            prop_assert_eq!(g.as_f64(), v.as_f64(), "{}", edited.text);
        } else {
            prop_assert_eq!(&got, &value, "{}", edited.text);
        }
    }

    #[test]
    fn yaml_merge_output_reads_back_as_the_merged_data(
        a in strings(), b in strings(), c in strings(),
    ) {
        let base = format!("top:\n  keep: {}\n  over: {}\nlist: [1]\n", json!(a), json!(b));
        let overlay = format!("top:\n  over: {}\n  new: {}\nlist: [{}]\n", json!(c), json!(a), json!(b));
        let merged = yaml_merge(&[&base, &overlay]).unwrap();
        prop_assert_eq!(
            yaml_json(&merged),
            json!({"top": {"keep": a, "over": c, "new": a}, "list": [b]}),
            "{}", merged
        );
    }

    #[test]
    fn json_update_keeps_the_document_valid(
        value in strings(),
        key in prop::sample::select(vec!["a", "b.c", "arr.1", "arr.-1", "arr.5", "new.0.x", ":7"]),
    ) {
        let text = "{\n  \"a\": \"old\",\n  \"arr\": [1, 2]\n}\n";
        let edited = json_update(text, &[Update::new(key, value)]).unwrap();
        prop_assert!(serde_json::from_str::<Value>(&edited.text).is_ok(), "{}", edited.text);
    }

    #[test]
    fn toml_update_writes_strings_that_read_back_unchanged(value in strings()) {
        let text = "[t]\nx = \"old\" # c\ny = [1, 'two']\n";
        let edited = toml_update(
            text,
            &[Update::new("t.x", value.clone()), Update::new("t.y.1", value.clone())],
        )
        .unwrap();
        prop_assert_eq!(
            toml_parse(&edited.text).unwrap(),
            json!({"t": {"x": value, "y": [1, value]}}),
            "{}", edited.text
        );
    }
}
