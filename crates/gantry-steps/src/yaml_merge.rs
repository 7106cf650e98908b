//! `yaml-merge`: merges YAML files into one (later files override scalars, maps merge deeply,
//! sequences are replaced, `null` deletes a key). Output: `commitMessage`.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::registry::{Step, StepContext, output};
use crate::update_file::{edit_error, write_file};

/// The `yaml-merge` step.
pub struct YamlMerge;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    in_files: Vec<String>,
    out_file: String,
    #[serde(default)]
    ignore_missing_files: bool,
}

impl Step for YamlMerge {
    fn kind(&self) -> &'static str {
        "yaml-merge"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let mut texts = Vec::new();
        let mut used = Vec::new();
        for file in &config.in_files {
            let path = context.path(file)?;
            match fs_err::read_to_string(&path) {
                Ok(text) => {
                    texts.push(text);
                    used.push(file.as_str());
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound && config.ignore_missing_files => {}
                Err(e) => {
                    return Err(StepError::failed(format!(
                        "failed to read {file}: {}",
                        crate::parse_outputs::io_reason(&e)
                    )));
                }
            }
        }
        let documents: Vec<&str> = texts.iter().map(String::as_str).collect();
        let merged = crate::edit::yaml_merge::yaml_merge(&documents)
            .map_err(|e| edit_error(&config.out_file, &e))?;
        let out = context.write_path(&config.out_file)?;
        if let Some(parent) = out.parent() {
            fs_err::create_dir_all(parent).map_err(|e| StepError::failed(e.to_string()))?;
        }
        write_file(&out, &merged, &config.out_file)?;
        let message = if used.is_empty() {
            format!("Updated {}\n", config.out_file)
        } else {
            format!(
                "Updated {}\n\nMerged from:\n- {}",
                config.out_file,
                used.join("\n- ")
            )
        };
        Ok(StepResult::succeeded(output([(
            "commitMessage",
            message.into(),
        )])))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn merges_in_order_and_skips_missing_files_when_asked() {
        let harness = Harness::new();
        harness.write("base.yaml", "a: 1\nb:\n  c: 2\n  d: 3\nl: [1, 2]\n");
        harness.write("over.yaml", "b:\n  c: 20\n  d: null\nl: [9]\n");
        harness
            .run(
                "yaml-merge",
                json!({"inFiles": ["base.yaml", "over.yaml", "missing.yaml"], "outFile": "out/merged.yaml", "ignoreMissingFiles": true}),
            )
            .unwrap();
        let merged = harness.read("out/merged.yaml");
        let value = crate::yaml_parse::parse_yaml(&merged).unwrap();
        assert_eq!(value, json!({"a": 1, "b": {"c": 20}, "l": [9]}));
        let error = harness
            .run(
                "yaml-merge",
                json!({"inFiles": ["missing.yaml"], "outFile": "x.yaml"}),
            )
            .unwrap_err();
        assert_eq!(error.message, "failed to read missing.yaml: no such file");
    }
}
