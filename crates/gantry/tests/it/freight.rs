//! `gantry freight id`: Kargo's Freight ids from documents.

use crate::{gantry, stderr, stdout};

fn file(suffix: &str, text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

const DEMO: &str = "\
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata:
  name: 452b9784cc35f56db92d6e4c1022502464951b72
  namespace: kargo-demo
origin: {kind: Warehouse, name: kargo-demo}
images:
- repoURL: public.ecr.aws/nginx/nginx
  tag: 1.29.0
  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
commits:
- repoURL: https://github.com/example/repo
  id: 3b5c1e0c8f6f1d2a9a1b2c3d4e5f60718293a4b5
";

#[test]
fn prints_the_id_of_the_reference_example() {
    let yaml = file(".yaml", DEMO);
    let output = gantry(&["freight", "id", "-f", yaml.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "452b9784cc35f56db92d6e4c1022502464951b72\n"
    );
    assert!(stderr(&output).is_empty());
}

#[test]
fn reads_json_and_several_documents() {
    let json = file(
        ".json",
        r#"{"origin": {"name": "w"}, "commits": [{"repoURL": "https://github.com/Example/Repo.git/", "id": "abc", "tag": "v1"}]}"#,
    );
    let same_repo_normalised = file(
        ".yaml",
        "origin: {kind: Warehouse, name: w}\ncommits:\n- {repoURL: https://github.com/example/repo, id: abc, tag: v1}\n---\norigin: {kind: Warehouse, name: other}\ncommits:\n- {repoURL: https://github.com/example/repo, id: abc, tag: v1}\n",
    );
    let first = gantry(&["freight", "id", "--file", json.path().to_str().unwrap()]);
    let both = gantry(&[
        "freight",
        "id",
        "-f",
        same_repo_normalised.path().to_str().unwrap(),
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(both.status.code(), Some(0), "{}", stderr(&both));
    let listed = stdout(&both);
    let ids: Vec<&str> = listed.lines().collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        stdout(&first).trim(),
        ids[0],
        "git URLs are normalised before hashing"
    );
    assert_ne!(ids[0], ids[1], "the origin is part of the id");
    assert!(
        ids.iter()
            .all(|id| id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    );
}

#[test]
fn a_stale_name_is_noted_on_stderr() {
    let yaml = file(
        ".yaml",
        &DEMO.replace("452b9784cc35f56db92d6e4c1022502464951b72", "my-freight"),
    );
    let output = gantry(&["freight", "id", "-f", yaml.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "452b9784cc35f56db92d6e4c1022502464951b72\n"
    );
    assert!(stderr(&output).contains("note:") && stderr(&output).contains("my-freight"));
}

#[test]
fn errors_point_at_the_file_line_and_column() {
    for (text, want) in [
        (
            "origin: {name: w}\nimages:\n- repoURL: x\n  tag: [1]\n",
            ":4:8: `images[0].tag`: invalid type",
        ),
        ("origin: {name: w}\nimages: [\n", ":"),
        (
            "images:\n- {repoURL: x, tag: '1'}\n",
            ":1:1: the Freight has no `origin`",
        ),
        ("origin: {name: w}\n", ":1:1: the Freight has no artifacts"),
        (
            "kind: Warehouse\norigin: {name: w}\n",
            ":1:7: this is a Warehouse, not a Freight",
        ),
        ("", "no Freight document found"),
    ] {
        let yaml = file(".yaml", text);
        let path = yaml.path().to_str().unwrap();
        let output = gantry(&["freight", "id", "-f", path]);
        assert_eq!(output.status.code(), Some(1), "{text:?}");
        let message = stderr(&output);
        assert!(
            message.starts_with(&format!("error: {path}")),
            "{text:?}: {message}"
        );
        assert!(message.contains(want), "{text:?}: {message}");
        assert!(stdout(&output).is_empty());
    }
    let output = gantry(&["freight", "id", "-f", "/nonexistent/freight.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/nonexistent/freight.yaml"));
}
