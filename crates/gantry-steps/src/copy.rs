//! `copy`: copies a file, or a directory's contents, inside the work dir. `ignore` takes
//! gitignore-style lines (`#` comments, `!` negation, a leading `/` anchors, a trailing `/`
//! matches directories only); `.git` is never copied.

use std::path::{Path, PathBuf};

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::registry::{Step, StepContext};

/// The `copy` step.
pub struct Copy;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    in_path: String,
    out_path: String,
    #[serde(default)]
    ignore: Option<String>,
}

/// Gitignore-style rules; the last matching rule decides.
pub(crate) struct Ignore {
    rules: Vec<(bool, bool, bool, String)>, // (negated, anchored, dir_only, pattern)
}

impl Ignore {
    pub(crate) fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (negated, line) = line.strip_prefix('!').map_or((false, line), |l| (true, l));
                let (dir_only, line) = line.strip_suffix('/').map_or((false, line), |l| (true, l));
                let anchored = line.starts_with('/') || line.trim_start_matches('/').contains('/');
                (
                    negated,
                    anchored,
                    dir_only,
                    line.trim_start_matches('/').to_owned(),
                )
            })
            .collect();
        Self { rules }
    }

    /// Whether `relative` (slash-separated, relative to the copied root) is ignored.
    pub(crate) fn ignored(&self, relative: &str, is_dir: bool) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let mut ignored = false;
        for (negated, anchored, dir_only, pattern) in &self.rules {
            if *dir_only && !is_dir {
                continue;
            }
            let hit = if *anchored {
                gantry_core::glob::matches(pattern, relative)
            } else {
                gantry_core::glob::matches(pattern, name)
            };
            if hit {
                ignored = !negated;
            }
        }
        ignored
    }
}

fn copy_tree(
    from: &Path,
    to: &Path,
    relative: &str,
    ignore: &Ignore,
    root: &Path,
) -> Result<(), StepError> {
    let io = |e: std::io::Error| StepError::failed(format!("copy failed: {e}"));
    fs_err::create_dir_all(to).map_err(io)?;
    let mut entries: Vec<_> = fs_err::read_dir(from)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(fs_err::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let child = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        let kind = entry.file_type().map_err(io)?;
        if ignore.ignored(&child, kind.is_dir()) {
            continue;
        }
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, &child, ignore, root)?;
        } else if kind.is_symlink() {
            let link = fs_err::read_link(entry.path()).map_err(io)?;
            let resolved = entry
                .path()
                .parent()
                .map_or(link.clone(), |p| p.join(&link));
            let inside = resolved.canonicalize().is_ok_and(|p| p.starts_with(root));
            if !inside {
                return Err(StepError::failed(format!(
                    "refusing to copy symlink {child}: it points outside the work dir"
                )));
            }
            let _ = fs_err::remove_file(&target);
            std::os::unix::fs::symlink(&link, &target).map_err(io)?;
        } else {
            fs_err::copy(entry.path(), &target).map_err(io)?;
        }
    }
    Ok(())
}

impl Step for Copy {
    fn kind(&self) -> &'static str {
        "copy"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let from = context.path(&config.in_path)?;
        let to: PathBuf = context.write_path(&config.out_path)?;
        let ignore = Ignore::parse(config.ignore.as_deref().unwrap_or_default());
        let root = context
            .services
            .work_dir
            .path()
            .canonicalize()
            .map_err(|e| StepError::failed(format!("work dir: {e}")))?;
        if from.is_dir() {
            copy_tree(&from, &to, "", &ignore, &root)?;
        } else if from.is_file() {
            let target = if to.is_dir() {
                to.join(from.file_name().unwrap_or_default())
            } else {
                to
            };
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent).map_err(|e| StepError::failed(e.to_string()))?;
            }
            fs_err::copy(&from, &target)
                .map_err(|e| StepError::failed(format!("copy failed: {e}")))?;
        } else {
            return Err(StepError::failed(format!(
                "{}: no such file or directory",
                config.in_path
            )));
        }
        Ok(StepResult::succeeded(serde_json::Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Ignore;
    use crate::testing::Harness;

    #[test]
    fn copies_directory_contents_minus_ignored_and_git() {
        let harness = Harness::new();
        harness.write("src/a.yaml", "a");
        harness.write("src/sub/b.yaml", "b");
        harness.write("src/sub/c.tmp", "c");
        harness.write("src/.git/HEAD", "x");
        harness.write("src/keep/d.tmp", "d");
        harness
            .run(
                "copy",
                json!({"inPath": "src", "outPath": "dst", "ignore": "*.tmp\n!keep/d.tmp\n"}),
            )
            .unwrap();
        assert_eq!(harness.read("dst/a.yaml"), "a");
        assert_eq!(harness.read("dst/sub/b.yaml"), "b");
        assert_eq!(harness.read("dst/keep/d.tmp"), "d");
        assert!(!harness.dir().join("dst/sub/c.tmp").exists());
        assert!(!harness.dir().join("dst/.git").exists());
    }

    #[test]
    fn copies_a_file_into_a_directory_or_to_a_name() {
        let harness = Harness::new();
        harness.write("a.txt", "a");
        harness.write("dir/x", "x");
        harness
            .run("copy", json!({"inPath": "a.txt", "outPath": "dir"}))
            .unwrap();
        harness
            .run("copy", json!({"inPath": "a.txt", "outPath": "b.txt"}))
            .unwrap();
        assert_eq!(harness.read("dir/a.txt"), "a");
        assert_eq!(harness.read("b.txt"), "a");
        let error = harness
            .run("copy", json!({"inPath": "nope", "outPath": "b"}))
            .unwrap_err();
        assert_eq!(error.message, "nope: no such file or directory");
    }

    #[test]
    fn ignore_rules_follow_gitignore_order() {
        let ignore = Ignore::parse("# c\n/build/\nlogs\n*.log\n!important.log\n");
        assert!(ignore.ignored("build", true));
        assert!(!ignore.ignored("build", false));
        assert!(!ignore.ignored("sub/build", true));
        assert!(ignore.ignored("sub/logs", false));
        assert!(ignore.ignored("x.log", false));
        assert!(!ignore.ignored("important.log", false));
    }
}
