//! `kustomize-set-image`: `kustomize edit set image` on the kustomization in `path`, natively.
//! Without `images`, every image of the Promotion's Freight is set (name = repository, tag and
//! digest from the Freight), unless two Freight carry the same repository (ambiguous: configure
//! `images` explicitly). Only the `images:` block of the file is rewritten. Output:
//! `commitMessage`.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::edit::kustomize_image::{ImageSet, commit_message, find_kustomization, set_images};
use crate::registry::{Step, StepContext, output};
use crate::update_file::{edit_error, write_file};

/// The `kustomize-set-image` step.
pub struct KustomizeSetImage;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    path: String,
    #[serde(default)]
    images: Option<Vec<ImageConfig>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImageConfig {
    image: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    new_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.filter(|v| !v.is_empty()).cloned()
}

impl Step for KustomizeSetImage {
    fn kind(&self) -> &'static str {
        "kustomize-set-image"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let images: Vec<ImageSet> = if let Some(images) = &config.images {
            images
                .iter()
                .map(|i| ImageSet {
                    name: i.name.clone().unwrap_or_else(|| i.image.clone()),
                    new_name: non_empty(i.new_name.as_ref()),
                    tag: non_empty(i.tag.as_ref()),
                    digest: non_empty(i.digest.as_ref()),
                })
                .collect()
        } else {
            {
                let mut sets: Vec<ImageSet> = Vec::new();
                for freight in context.request.data.freight() {
                    for image in &freight.images {
                        if sets.iter().any(|s| s.name == image.repo_url) {
                            return Err(StepError::failed(format!(
                                "manual configuration required due to ambiguous result: several Freight carry image {}; list `images` explicitly",
                                image.repo_url
                            )));
                        }
                        sets.push(ImageSet {
                            name: image.repo_url.clone(),
                            new_name: None,
                            tag: non_empty(image.tag.as_ref()),
                            digest: non_empty(image.digest.as_ref()),
                        });
                    }
                }
                if sets.is_empty() {
                    return Err(StepError::failed(
                        "no images to set: the Freight has no images and `images` is not configured",
                    ));
                }
                sets
            }
        };
        let dir = context.write_path(&config.path)?;
        let names: Vec<String> = fs_err::read_dir(&dir)
            .map_err(|e| {
                StepError::failed(format!(
                    "failed to read {}: {}",
                    config.path,
                    crate::parse_outputs::io_reason(&e)
                ))
            })?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let file = find_kustomization(names.iter().map(String::as_str))
            .map_err(|e| edit_error(&config.path, &e))?;
        let path = dir.join(file);
        let shown = format!("{}/{file}", config.path.trim_end_matches('/'));
        let text = fs_err::read_to_string(&path)
            .map_err(|e| StepError::failed(format!("failed to read {shown}: {}", e.kind())))?;
        let result = set_images(&text, &images).map_err(|e| edit_error(&shown, &e))?;
        if result.text != text {
            write_file(&path, &result.text, &shown)?;
        }
        Ok(StepResult::succeeded(output([(
            "commitMessage",
            commit_message(&config.path, &result.images).into(),
        )])))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn sets_explicit_images_keeping_the_rest_of_the_file() {
        let harness = Harness::new();
        harness.write(
            "repo/app/kustomization.yaml",
            "# app\nresources:\n- deployment.yaml\nimages:\n- name: nginx\n  newTag: 1.0.0\n",
        );
        let result = harness
            .run(
                "kustomize-set-image",
                json!({"path": "repo/app", "images": [{"image": "nginx", "tag": "1.29.0"}]}),
            )
            .unwrap();
        let text = harness.read("repo/app/kustomization.yaml");
        assert!(
            text.starts_with("# app\nresources:\n- deployment.yaml\n"),
            "{text}"
        );
        assert!(text.contains("newTag: 1.29.0"), "{text}");
        assert_eq!(
            result.output["commitMessage"],
            json!("Updated repo/app to use new image\n\n- nginx:1.29.0")
        );
    }

    #[test]
    fn without_images_the_freight_images_are_set() {
        let mut harness = Harness::new();
        harness.data.freight = vec![
            serde_json::from_value(json!({
                "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
                "origin": {"kind": "Warehouse", "name": "w"},
                "images": [{"repoURL": "ghcr.io/acme/app", "tag": "v2", "digest": ""}]
            }))
            .unwrap(),
        ];
        harness.write("k/kustomization.yaml", "resources: []\n");
        harness
            .run("kustomize-set-image", json!({"path": "k"}))
            .unwrap();
        let text = harness.read("k/kustomization.yaml");
        assert!(
            text.contains("name: ghcr.io/acme/app") && text.contains("newTag: v2"),
            "{text}"
        );
        let error = harness
            .run("kustomize-set-image", json!({"path": "nope"}))
            .unwrap_err();
        assert!(
            error.message.starts_with("failed to read nope"),
            "{}",
            error.message
        );
    }
}
