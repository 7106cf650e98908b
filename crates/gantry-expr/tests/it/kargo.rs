//! Kargo's functions against an in-memory host.

use std::collections::BTreeMap;

use gantry_api::kargo::{Freight, FreightRequest, Warehouse};
use gantry_expr::{Expression, Host, SecretData, StepStatus, Template, Value};

#[derive(Default)]
struct TestHost {
    freight: Vec<Freight>,
    requests: Vec<FreightRequest>,
    warehouses: Vec<Warehouse>,
    named: Vec<Freight>,
    secrets: BTreeMap<String, SecretData>,
    config_maps: BTreeMap<String, BTreeMap<String, String>>,
    current: Option<String>,
    steps: Vec<StepStatus>,
}

impl Host for TestHost {
    fn freight(&self) -> &[Freight] {
        &self.freight
    }
    fn requested_freight(&self) -> &[FreightRequest] {
        &self.requests
    }
    fn warehouse(&self, name: &str) -> Result<Option<&Warehouse>, String> {
        Ok(self
            .warehouses
            .iter()
            .find(|w| w.metadata.name.as_deref() == Some(name)))
    }
    fn freight_by_name(&self, name: &str) -> Result<Option<&Freight>, String> {
        Ok(self
            .named
            .iter()
            .find(|f| f.metadata.name.as_deref() == Some(name)))
    }
    fn stage_metadata(&self, name: &str) -> Result<Option<serde_json::Value>, String> {
        if name == "broken" {
            return Err("connection refused".into());
        }
        Ok((name == "uat").then(|| serde_json::json!({"lastTicket": "OPS-12", "count": 3})))
    }
    fn config_map(
        &self,
        name: &str,
        _shared: bool,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        Ok(self.config_maps.get(name).cloned())
    }
    fn secret(&self, name: &str, _shared: bool) -> Result<Option<SecretData>, String> {
        Ok(self.secrets.get(name).cloned())
    }
    fn current_step(&self) -> Option<&str> {
        self.current.as_deref()
    }
    fn step_statuses(&self) -> &[StepStatus] {
        &self.steps
    }
}

fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    serde_json::from_value(json).unwrap()
}

fn warehouse(name: &str, subscriptions: &str) -> Warehouse {
    yaml(&format!(
        r#"{{"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse", "metadata": {{"name": "{name}"}}, "spec": {{"subscriptions": {subscriptions}}}}}"#
    ))
}

fn host() -> TestHost {
    let freight: Freight = yaml(
        r#"{"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight", "metadata": {"name": "f1"},
            "origin": {"kind": "Warehouse", "name": "shop"},
            "commits": [{"repoURL": "https://git.example.com/acme/config.git", "id": "c0ffee", "branch": "main"}],
            "images": [{"repoURL": "ghcr.io/acme/shop", "tag": "1.10.0", "digest": "sha256:abc"}],
            "charts": [{"repoURL": "oci://charts.example.com/acme", "name": "shop", "version": "2.3.4"}],
            "artifacts": [{"artifactType": "x", "subscriptionName": "feed", "version": "v7", "metadata": {"k": 1}}],
            "status": {"metadata": {"ticket": "OPS-9", "build": 42}, "currentlyIn": {"uat": {"since": "2026-01-01T00:00:00Z"}}}}"#,
    );
    let other: Freight = yaml(
        r#"{"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight", "metadata": {"name": "f2"},
            "origin": {"kind": "Warehouse", "name": "tools"},
            "images": [{"repoURL": "ghcr.io/acme/shop", "tag": "9.9.9"}]}"#,
    );
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "creds".to_owned(),
        SecretData {
            data: BTreeMap::from([("token".to_owned(), "s3cr3t".to_owned())]),
            generic: false,
        },
    );
    TestHost {
        freight: vec![freight.clone(), other],
        requests: vec![yaml(r#"{"origin": {"kind": "Warehouse", "name": "shop"}}"#)],
        warehouses: vec![
            warehouse(
                "shop",
                r#"[{"image": {"repoURL": "ghcr.io/acme/shop"}}, {"git": {"repoURL": "https://git.example.com/acme/config"}},
                    {"chart": {"repoURL": "oci://charts.example.com/acme", "name": "shop"}}, {"name": "feed", "custom": {"x": 1}}]"#,
            ),
            warehouse("tools", r#"[{"image": {"repoURL": "ghcr.io/acme/shop"}}]"#),
        ],
        named: vec![freight],
        secrets,
        config_maps: BTreeMap::from([(
            "settings".to_owned(),
            BTreeMap::from([("region".to_owned(), "eu-west-1".to_owned())]),
        )]),
        current: Some("task-1::apply".to_owned()),
        steps: vec![
            StepStatus {
                alias: "task-1::clone".into(),
                status: "Succeeded".into(),
                continue_on_error: false,
            },
            StepStatus {
                alias: "clone".into(),
                status: "Failed".into(),
                continue_on_error: true,
            },
        ],
    }
}

fn eval_with(host: &TestHost, source: &str) -> String {
    match Expression::compile(source).unwrap().eval(&Value::Nil, host) {
        Ok(v) => v.to_go_json().unwrap(),
        Err(e) => format!("error: {}", e.message),
    }
}

fn cases(host: &TestHost, cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(source, want)| {
            let got = eval_with(host, source);
            (got != *want).then(|| format!("{source}\n    want {want}\n    got  {got}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn artifact_lookups() {
    let host = host();
    cases(
        &host,
        &[
            ("warehouse('shop')", r#"{"kind":"Warehouse","name":"shop"}"#),
            ("warehouse('')", "error: name must not be empty"),
            ("warehouse(1)", "error: argument must be string, got int"),
            ("warehouse()", "error: expected 1 argument, got 0"),
            (
                "imageFrom('ghcr.io/acme/shop', warehouse('shop')).Tag",
                r#""1.10.0""#,
            ),
            (
                "imageFrom('ghcr.io/acme/shop', warehouse('tools')).Tag",
                r#""9.9.9""#,
            ),
            (
                "imageFrom('ghcr.io/acme/shop')",
                r#"{"digest":"sha256:abc","repoURL":"ghcr.io/acme/shop","tag":"1.10.0"}"#,
            ),
            ("imageFrom('GHCR.io/acme/shop')", "null"),
            (
                "imageFrom('ghcr.io/acme/shop').tag",
                "error: type Image has no field tag",
            ),
            (
                "imageFrom('ghcr.io/acme/shop', 'shop')",
                "error: second argument must be FreightOrigin, got string",
            ),
            (
                "commitFrom('HTTPS://git.example.com/acme/config/').ID",
                r#""c0ffee""#,
            ),
            ("commitFrom('https://git.example.com/other')", "null"),
            (
                "commitFrom('https://git.example.com/other')?.ID ?? 'none'",
                r#""none""#,
            ),
            (
                "chartFrom('oci://charts.example.com/acme', 'shop').Version",
                r#""2.3.4""#,
            ),
            (
                "chartFrom('oci://charts.example.com/acme', 'nope')",
                r#"error: chart "nope" from repo oci://charts.example.com/acme not found in referenced Freight"#,
            ),
            (
                "chartFrom('oci://charts.example.com/acme', warehouse('shop'))",
                "null",
            ),
            (
                "chartFrom('oci://charts.example.com/acme', warehouse('shop'), warehouse('shop'))",
                "error: when using three arguments, second argument must be string, got FreightOrigin",
            ),
            ("artifactFrom('feed').Version", r#""v7""#),
            ("artifactFrom('feed').Metadata.k", "1"),
            ("artifactFrom('other')", "null"),
        ],
    );
}

#[test]
fn ambiguous_origins_need_disambiguation() {
    let mut host = host();
    host.requests.push(yaml(
        r#"{"origin": {"kind": "Warehouse", "name": "tools"}}"#,
    ));
    cases(
        &host,
        &[
            (
                "imageFrom('ghcr.io/acme/shop')",
                "error: multiple requested Freight could potentially provide a container image from repository ghcr.io/acme/shop: please provide a Freight origin to disambiguate",
            ),
            (
                "imageFrom('ghcr.io/acme/shop', warehouse('tools')).Tag",
                r#""9.9.9""#,
            ),
        ],
    );
    host.requests
        .push(yaml(r#"{"origin": {"kind": "Warehouse", "name": "gone"}}"#));
    cases(
        &host,
        &[(
            "commitFrom('https://x')",
            r#"error: Warehouse "gone" not found in the project"#,
        )],
    );
}

#[test]
fn data_functions() {
    let host = host();
    cases(
        &host,
        &[
            ("freightMetadata('f1').ticket", r#""OPS-9""#),
            ("type(freightMetadata('f1').build)", r#""float""#),
            ("freightMetadata('nope')", "null"),
            (
                "freightMetadata('')",
                "error: freight ref name must not be empty",
            ),
            (
                "freightStatus('f1').currentlyIn.uat.since",
                r#""2026-01-01T00:00:00Z""#,
            ),
            ("stageMetadata('uat').lastTicket", r#""OPS-12""#),
            ("stageMetadata('prod')", "null"),
            (
                "stageMetadata('broken')",
                "error: failed to get stage broken: connection refused",
            ),
            ("configMap('settings').region", r#""eu-west-1""#),
            ("configMap('missing')", "{}"),
            ("sharedConfigMap('settings').region", r#""eu-west-1""#),
            ("configMap(7)", "error: argument must be string, got int"),
            ("secret('creds').token", r#""s3cr3t""#),
            ("sharedSecret('creds')", "{}"),
            ("secret('missing')", "{}"),
        ],
    );
}

#[test]
fn semver_functions() {
    let host = host();
    cases(
        &host,
        &[
            ("semverDiff('1.4.2', '1.5.0')", r#""Minor""#),
            ("semverDiff('1.4.2', 'latest')", r#""Incomparable""#),
            (
                "semverDiff(1, '1.0.0')",
                "error: first argument must be string, got int",
            ),
            ("semverParse('v2.7').Minor()", "7"),
            ("semverParse('v2.7')", r#""2.7.0""#),
            ("semverParse('v2.7').Original()", r#""v2.7""#),
            ("semverParse('1.2.3-rc.1').Prerelease()", r#""rc.1""#),
            ("semverParse('1.2.3').IncMinor().String()", r#""1.3.0""#),
            (
                "semverParse('1.2.3').LessThan(semverParse('1.10.0'))",
                "true",
            ),
            ("semverParse('1.2.3').Compare(semverParse('1.2.3'))", "0"),
            (
                "semverParse('banana')",
                "error: invalid semantic version: invalid semantic version",
            ),
            (
                "semverParse('1.0.0').Nope()",
                "error: type *semver.Version has no method Nope",
            ),
        ],
    );
}

#[test]
fn status_functions() {
    let mut host = host();
    cases(
        &host,
        &[
            ("success()", "true"),
            ("failure()", "false"),
            ("always()", "true"),
            ("status('clone')", r#""Succeeded""#),
            ("status('apply')", r#""""#),
            ("status('')", "error: argument must not be empty"),
            ("success(1)", "error: expected 0 arguments, got 1"),
        ],
    );
    host.steps.push(StepStatus {
        alias: "task-1::push".into(),
        status: "Errored".into(),
        continue_on_error: false,
    });
    cases(&host, &[("failure()", "true"), ("success()", "false")]);
    host.current = None;
    cases(&host, &[("status('clone')", r#""Failed""#)]);
}

#[test]
fn the_seed_task_config_renders() {
    // the expressions of the seed PromotionTask (tests/fixtures/seed/pipeline/promotion-task.yaml)
    let host = host();
    let env = Value::from_json(&serde_json::json!({
        "vars": {"imageRepo": "ghcr.io/acme/shop", "warehouseName": "shop", "srcPath": "./src", "outPath": "./out"},
        "ctx": {"stage": "uat", "targetFreight": {"name": "f1"}},
        "task": {"outputs": {"commit": {"commit": "deadbeef"}}},
    }));
    let template = Template::compile(
        "${{ quote(imageFrom(vars.imageRepo, warehouse(vars.warehouseName)).Tag) }}",
    )
    .unwrap();
    assert_eq!(
        template.render(&env, &host).unwrap().to_go_json().unwrap(),
        r#""1.10.0""#
    );
    let template = Template::compile("${{ task.outputs['commit'].commit }}").unwrap();
    assert_eq!(
        template.render(&env, &host).unwrap().to_go_json().unwrap(),
        r#""deadbeef""#
    );
}
