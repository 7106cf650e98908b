//! The JSON Schemas of the built-in step configs (`crates/gantry-core/schemas/<kind>.json`),
//! compiled once on first use.
//!
//! A step's config is validated against its schema after its expressions are evaluated and
//! before the step runs; a violation is a terminal failure of the step. Expression strings are
//! just strings to the schemas, so an unevaluated config can be checked too, except where a
//! field expects another type. The schemas are strict like Kargo's (`additionalProperties:
//! false` at every object level); their top-level `properties` and `required` lists agree with
//! [`crate::steps::STEP_KINDS`], which a test checks.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::schema::Schema;

macro_rules! sources {
    ($($kind:literal),* $(,)?) => {
        &[$(($kind, include_str!(concat!("../schemas/", $kind, ".json")))),*]
    };
}

/// Every step kind with a schema and the schema's JSON text, sorted by kind.
pub const SCHEMA_SOURCES: &[(&str, &str)] = sources![
    "argocd-update",
    "compose-output",
    "copy",
    "delete",
    "fail",
    "file-write",
    "git-clear",
    "git-clone",
    "git-commit",
    "git-push",
    "git-tag",
    "helm-template",
    "http",
    "http-download",
    "json-parse",
    "json-update",
    "kustomize-build",
    "kustomize-set-image",
    "set-metadata",
    "tar",
    "toml-parse",
    "toml-update",
    "untar",
    "yaml-merge",
    "yaml-parse",
    "yaml-update",
];

static SCHEMAS: LazyLock<BTreeMap<&'static str, Schema>> = LazyLock::new(|| {
    SCHEMA_SOURCES
        .iter()
        .map(|(kind, text)| {
            let value: serde_json::Value = serde_json::from_str(text)
                .expect("built-in step schemas are valid JSON because a unit test parses them");
            let schema = Schema::parse(&value)
                .expect("built-in step schemas compile because a unit test compiles them");
            (*kind, schema)
        })
        .collect()
});

/// The compiled config schema of step kind `kind`, if it has one.
pub fn step_schema(kind: &str) -> Option<&'static Schema> {
    SCHEMAS.get(kind)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::steps;

    fn messages(kind: &str, config: &Value) -> Vec<String> {
        step_schema(kind)
            .unwrap()
            .validate(config)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_schema_parses_compiles_and_is_listed_once_in_order() {
        assert!(SCHEMA_SOURCES.windows(2).all(|w| w[0].0 < w[1].0));
        for (kind, text) in SCHEMA_SOURCES {
            let value: Value = serde_json::from_str(text).unwrap();
            Schema::parse(&value).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(value["title"], json!(kind), "{kind}");
            assert!(step_schema(kind).is_some());
        }
        assert_eq!(SCHEMA_SOURCES.len(), 26);
        assert!(step_schema("no-such-step").is_none());
    }

    /// Every object level that lists `properties` forbids others: Kargo's schemas are strict.
    #[test]
    fn every_object_with_properties_forbids_unknown_ones() {
        fn walk(kind: &str, at: &str, value: &Value) {
            match value {
                Value::Object(map) => {
                    if map.contains_key("type") && map.contains_key("properties") {
                        assert_eq!(
                            map.get("additionalProperties"),
                            Some(&json!(false)),
                            "{kind} {at}"
                        );
                    }
                    for (key, child) in map {
                        walk(kind, &format!("{at}/{key}"), child);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(kind, &format!("{at}/{i}"), child);
                    }
                }
                _ => {}
            }
        }
        for (kind, text) in SCHEMA_SOURCES {
            walk(kind, "#", &serde_json::from_str(text).unwrap());
        }
    }

    #[test]
    fn top_level_properties_and_required_match_the_step_catalogue() {
        for (kind, text) in SCHEMA_SOURCES {
            let value: Value = serde_json::from_str(text).unwrap();
            let catalogue = steps::find(kind).unwrap_or_else(|| panic!("{kind} not in STEP_KINDS"));
            let mut properties: Vec<&str> = value
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut fields = catalogue.fields.to_vec();
            properties.sort_unstable();
            fields.sort_unstable();
            assert_eq!(
                properties, fields,
                "{kind}: properties vs STEP_KINDS fields"
            );
            let mut required: Vec<&str> = value
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut catalogue_required = catalogue.required.to_vec();
            required.sort_unstable();
            catalogue_required.sort_unstable();
            assert_eq!(required, catalogue_required, "{kind}: required");
            assert_eq!(
                catalogue.open,
                value.get("additionalProperties") != Some(&json!(false)),
                "{kind}: open"
            );
        }
    }

    /// (kind, config, expected violations as `path: message`; empty = valid).
    fn cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
        vec![
            // git-clone
            (
                "git-clone",
                json!({"repoURL": "https://git.example/repo.git", "checkout": [
                    {"branch": "main", "path": "./main", "create": true, "sparse": ["apps"]},
                    {"commit": "abc123", "path": "./pinned", "as": "pinned"},
                    {"path": "./default"}],
                    "author": {"name": "Kargo", "email": "kargo@example.com"},
                    "blobless": true, "recurseSubmodules": false, "insecureSkipTLSVerify": false}),
                vec![],
            ),
            (
                "git-clone",
                json!({"repoURL": "r", "checkout": [{"branch": "main", "tag": "", "path": "a"}]}),
                vec![],
            ),
            (
                "git-clone",
                json!({"repoURL": "r", "checkout": [{"branch": "main"}]}),
                vec!["checkout[0].path: required property is missing"],
            ),
            (
                "git-clone",
                json!({"repoURL": "r", "checkout": [{"path": "a", "branch": "main", "tag": "v1"}]}),
                vec![
                    "checkout[0]: at most one of `branch`, `commit`, `tag` may be set, found `branch`, `tag`",
                ],
            ),
            (
                "git-clone",
                json!({"repoURL": "", "checkout": []}),
                vec!["repoURL: must not be empty", "checkout: must not be empty"],
            ),
            (
                "git-clone",
                json!({"checkout": [{"path": "a", "sparse": ["x/*", ""]}], "depth": 1}),
                vec![
                    "repoURL: required property is missing",
                    "checkout[0].sparse[1]: must not be empty",
                    "depth: unknown property (known: `repoURL`, `checkout`, `author`, `blobless`, `recurseSubmodules`, `insecureSkipTLSVerify`)",
                ],
            ),
            (
                "git-clone",
                json!({"repoURL": "r", "checkout": [{"path": "a"}], "author": {"name": "n"}}),
                vec!["author.email: required property is missing"],
            ),
            // git-clear, git-commit, git-tag
            ("git-clear", json!({"path": "./repo"}), vec![]),
            (
                "git-clear",
                json!({"path": 1}),
                vec!["path: expected string, found number"],
            ),
            (
                "git-commit",
                json!({"path": "./repo", "message": "Update"}),
                vec![],
            ),
            (
                "git-commit",
                json!({"path": "./repo", "messageFromSteps": ["update-image"]}),
                vec![],
            ),
            (
                "git-commit",
                json!({"path": "./repo"}),
                vec!["exactly one of `message`, `messageFromSteps` must be set"],
            ),
            (
                "git-commit",
                json!({"path": "./repo", "message": "m", "messageFromSteps": ["a"]}),
                vec![
                    "exactly one of `message`, `messageFromSteps` must be set, found `message`, `messageFromSteps`",
                ],
            ),
            (
                "git-commit",
                json!({"path": "./repo", "mesage": "m"}),
                vec![
                    "mesage: unknown property, did you mean `message`?",
                    "exactly one of `message`, `messageFromSteps` must be set",
                ],
            ),
            (
                "git-tag",
                json!({"path": "./repo", "tag": "v1.0.0", "message": "Release", "force": true}),
                vec![],
            ),
            (
                "git-tag",
                json!({"path": "./repo", "tag": "v1"}),
                vec!["message: required property is missing"],
            ),
            // git-push
            ("git-push", json!({"path": "./repo"}), vec![]),
            (
                "git-push",
                json!({"path": "./repo", "targetBranch": "env/prod", "maxAttempts": 3}),
                vec![],
            ),
            (
                "git-push",
                json!({"path": "./repo", "generateTargetBranch": true}),
                vec![],
            ),
            (
                "git-push",
                json!({"path": "./repo", "tag": "v1", "generateTargetBranch": false, "force": true}),
                vec![],
            ),
            (
                "git-push",
                json!({"path": "./repo", "targetBranch": "main", "generateTargetBranch": true}),
                vec![
                    "at most one of `targetBranch`, `generateTargetBranch`, `tag` may be set, found `targetBranch`, `generateTargetBranch`",
                ],
            ),
            (
                "git-push",
                json!({"path": "./repo", "maxAttempts": 0, "provider": "svn"}),
                vec![
                    "maxAttempts: must be at least 1, found 0",
                    "provider: expected one of \"azure\", \"bitbucket\", \"gitea\", \"github\", \"gitlab\", found \"svn\"",
                ],
            ),
            (
                "git-push",
                json!({"path": "./repo", "maxAttempts": 2.5}),
                vec!["maxAttempts: expected integer, found number"],
            ),
            // parse / update steps
            (
                "yaml-parse",
                json!({"path": "values.yaml", "outputs": [{"name": "tag", "fromExpression": "image.tag"}]}),
                vec![],
            ),
            (
                "json-parse",
                json!({"path": "p.json", "outputs": [{"name": "tag"}]}),
                vec!["outputs[0].fromExpression: required property is missing"],
            ),
            (
                "toml-parse",
                json!({"path": "p.toml"}),
                vec!["outputs: required property is missing"],
            ),
            (
                "yaml-update",
                json!({"path": "values.yaml", "updates": [
                    {"key": "image.tag", "value": "v1"}, {"key": "replicas", "value": 3},
                    {"key": "flags", "value": {"a": [true, null]}}, {"key": "gone", "value": null}]}),
                vec![],
            ),
            (
                "json-update",
                json!({"path": "p.json", "updates": [{"key": "a", "value": 1}, {"key": 2, "value": 1}]}),
                vec!["updates[1].key: expected string, found number"],
            ),
            (
                "toml-update",
                json!({"path": "p.toml", "updates": [{"key": "a"}]}),
                vec!["updates[0].value: required property is missing"],
            ),
            (
                "yaml-update",
                json!({"path": "v.yaml", "updates": []}),
                vec!["updates: must not be empty"],
            ),
            (
                "yaml-merge",
                json!({"inFiles": ["base.yaml", "prod.yaml"], "outFile": "out.yaml", "ignoreMissingFiles": true}),
                vec![],
            ),
            (
                "yaml-merge",
                json!({"inFiles": "base.yaml", "outFile": "o"}),
                vec!["inFiles: expected array, found string"],
            ),
            // kustomize-set-image
            (
                "kustomize-set-image",
                json!({"path": "./env/prod", "images": [
                    {"image": "ghcr.io/acme/app", "tag": "1.2.3"},
                    {"image": "ghcr.io/acme/db", "digest": "sha256:abc", "newName": "db", "name": "database"}]}),
                vec![],
            ),
            ("kustomize-set-image", json!({"path": "./env/prod"}), vec![]),
            (
                "kustomize-set-image",
                json!({"path": ".", "images": [{"image": "app"}]}),
                vec!["images[0]: exactly one of `tag`, `digest` must be set"],
            ),
            (
                "kustomize-set-image",
                json!({"path": ".", "images": [{"image": "app", "tag": "1", "digest": "sha256:a"}]}),
                vec![
                    "images[0]: exactly one of `tag`, `digest` must be set, found `tag`, `digest`",
                ],
            ),
            (
                "kustomize-set-image",
                json!({"path": ".", "images": [{"image": "app", "tag": "", "digest": "sha256:a"}]}),
                vec![],
            ),
            // files
            (
                "copy",
                json!({"inPath": "a", "outPath": "b", "ignore": "*.tmp\n.git"}),
                vec![],
            ),
            (
                "copy",
                json!({"inPath": "a"}),
                vec!["outPath: required property is missing"],
            ),
            ("delete", json!({"path": "a", "strict": true}), vec![]),
            (
                "delete",
                json!({"paths": ["a/*", "b"], "pathsAreGlobs": true}),
                vec![],
            ),
            (
                "delete",
                json!({}),
                vec!["exactly one of `path`, `paths` must be set"],
            ),
            (
                "delete",
                json!({"path": "a", "paths": ["b"]}),
                vec!["exactly one of `path`, `paths` must be set, found `path`, `paths`"],
            ),
            (
                "file-write",
                json!({"path": "f", "contents": "", "permissions": "0644", "overwrite": true}),
                vec![],
            ),
            (
                "file-write",
                json!({"path": "f", "contents": "x", "permissions": "rw-r--r--"}),
                vec!["permissions: does not match the pattern `^[0-7]{3,4}$`"],
            ),
            (
                "tar",
                json!({"inPath": "dir", "outPath": "out.tgz", "gzip": true}),
                vec![],
            ),
            (
                "untar",
                json!({"inPath": "a.tgz", "outPath": "dir", "stripComponents": 1}),
                vec![],
            ),
            (
                "untar",
                json!({"inPath": "a.tgz", "outPath": "dir", "stripComponents": -1}),
                vec!["stripComponents: must be at least 0, found -1"],
            ),
            // misc
            (
                "compose-output",
                json!({"anything": {"goes": [1]}, "x": null}),
                vec![],
            ),
            ("compose-output", json!({}), vec!["must not be empty"]),
            (
                "compose-output",
                json!("text"),
                vec!["expected object, found string"],
            ),
            (
                "set-metadata",
                json!({"updates": [{"kind": "Stage", "name": "prod", "values": {"ticket": "OPS-1"}}]}),
                vec![],
            ),
            (
                "set-metadata",
                json!({"updates": [{"kind": "Warehouse", "name": "w", "values": {}}]}),
                vec![
                    "updates[0].kind: expected one of \"Stage\", \"Freight\", found \"Warehouse\"",
                    "updates[0].values: must not be empty",
                ],
            ),
            ("fail", json!({"message": "no"}), vec![]),
            ("fail", json!({}), vec![]),
            // http
            (
                "http",
                json!({"url": "https://api.example/x", "method": "POST", "headers": [{"name": "Accept", "value": "application/json"}],
                    "queryParams": [{"name": "q", "value": "1"}], "body": "{}", "timeout": "1m30s", "pollInterval": "1.5s",
                    "responseContentType": "application/json", "successExpression": "response.status == 200",
                    "failureExpression": "response.status == 404", "errorExpression": "false",
                    "outputs": [{"name": "id", "fromExpression": "response.body.id"}], "proxy": "http://proxy:3128",
                    "insecureSkipTLSVerify": false}),
                vec![],
            ),
            (
                "http",
                json!({"url": "u", "body": "b", "bodyFromFile": "f", "timeout": "5 minutes", "method": "get"}),
                vec![
                    "timeout: does not match the pattern `^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`",
                    "method: expected one of \"GET\", \"HEAD\", \"POST\", \"PUT\", \"PATCH\", \"DELETE\", found \"get\"",
                    "`body` and `bodyFromFile` must not both be set",
                ],
            ),
            (
                "http-download",
                json!({"url": "https://x/y.tgz", "outPath": "y.tgz", "allowOverwrite": true, "timeout": "5m",
                    "headers": [{"name": "Authorization", "value": "Bearer t"}]}),
                vec![],
            ),
            (
                "http-download",
                json!({"url": "u", "outPath": "o", "headers": [{"name": "A"}]}),
                vec!["headers[0].value: required property is missing"],
            ),
            // argocd-update
            (
                "argocd-update",
                json!({"apps": [
                    {"name": "app", "sources": [{"repoURL": "https://git/r", "desiredRevision": "abc", "updateTargetRevision": true}]},
                    {"selector": {"matchLabels": {"team": "a"}}, "namespace": "argocd"},
                    {"name": "img", "sources": [{"repoURL": "r", "kustomize": {"images": [{"repoURL": "ghcr.io/a", "tag": "1"}]},
                        "helm": {"images": [{"key": "image.tag", "value": "1"}]}}]}]}),
                vec![],
            ),
            (
                "argocd-update",
                json!({"apps": []}),
                vec!["apps: must not be empty"],
            ),
            (
                "argocd-update",
                json!({"apps": [{"namespace": "argocd"}, {"name": "a", "selector": {"matchLabels": {"x": "y"}}}]}),
                vec![
                    "apps[0]: exactly one of `name`, `selector` must be set",
                    "apps[1]: exactly one of `name`, `selector` must be set, found `name`, `selector`",
                ],
            ),
            (
                "argocd-update",
                json!({"apps": [{"selector": {"matchLabels": {}}}]}),
                vec!["apps[0].selector.matchLabels: must not be empty"],
            ),
            (
                "argocd-update",
                json!({"apps": [{"name": "a", "sources": [{"repoURL": "r", "updateTargetRevision": true}]}]}),
                vec![
                    "apps[0].sources[0]: matches no alternative: (#1) updateTargetRevision: expected one of false, null, found true or (#2) desiredRevision: required property is missing",
                ],
            ),
            (
                "argocd-update",
                json!({"apps": [{"name": "a", "sources": [{"repoURL": "r", "kustomize": {"images": [{"repoURL": "i", "tag": "1", "digest": "d"}]}}]}]}),
                vec![
                    "apps[0].sources[0].kustomize.images[0]: at most one of `tag`, `digest` may be set, found `tag`, `digest`",
                ],
            ),
            // render steps
            (
                "kustomize-build",
                json!({"path": "env/prod", "outPath": "out", "outputFormat": "kustomize",
                    "plugin": {"helm": {"apiVersions": ["monitoring.coreos.com/v1"], "kubeVersion": "1.30"}}}),
                vec![],
            ),
            (
                "kustomize-build",
                json!({"path": "p", "outPath": "o", "plugin": {"kustomize": {}}}),
                vec!["plugin.kustomize: unknown property (known: `helm`)"],
            ),
            (
                "helm-template",
                json!({"path": "chart", "outPath": "out.yaml", "releaseName": "app", "outLayout": "flat", "namespace": "prod",
                    "valuesFiles": ["values.yaml"], "setValues": [{"key": "image.tag", "value": "1", "literal": true}],
                    "includeCRDs": true, "kubeVersion": "1.30", "apiVersions": ["v1"], "useReleaseName": false,
                    "ignoreMissingValueFiles": true, "buildDependencies": true, "disableHooks": true, "skipTests": true}),
                vec![],
            ),
            (
                "helm-template",
                json!({"path": "chart", "outPath": "o", "releaseName": "r", "setValues": [{"key": "a", "value": 1}]}),
                vec!["setValues[0].value: expected string, found number"],
            ),
        ]
    }

    #[test]
    fn valid_and_invalid_configs_of_every_step_give_the_expected_violations() {
        let mut covered = std::collections::BTreeSet::new();
        for (kind, config, expected) in cases() {
            covered.insert(kind);
            assert_eq!(messages(kind, &config), expected, "{kind} {config}");
        }
        let all: std::collections::BTreeSet<_> = SCHEMA_SOURCES.iter().map(|(k, _)| *k).collect();
        assert_eq!(covered, all);
    }
}
