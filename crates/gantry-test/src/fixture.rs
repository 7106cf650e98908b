//! Fixture repositories built with real git, and a git runner for assertions.
//!
//! Every git process started here has a clean environment: no system or global config, a fixed
//! author and committer, the C locale. Repositories use `main` as their first branch.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::FixtureError;

/// The author and committer of fixture commits.
const AUTHOR: (&str, &str) = ("Fixture", "fixture@gantry.test");

/// A `git` command in `dir` with a clean environment.
fn command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", AUTHOR.0)
        .env("GIT_AUTHOR_EMAIL", AUTHOR.1)
        .env("GIT_COMMITTER_NAME", AUTHOR.0)
        .env("GIT_COMMITTER_EMAIL", AUTHOR.1)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    command
}

/// Runs `git args...` in `dir` and returns its stdout without the trailing newline.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, FixtureError> {
    git_with_input(dir, args, None)
}

fn git_with_input(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Result<String, FixtureError> {
    let mut command = command(dir);
    command
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|source| FixtureError::io("start git (is it installed?)", source))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input)
            .map_err(|source| FixtureError::io("write to git's stdin", source))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|source| FixtureError::io("wait for git", source))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned())
    } else {
        Err(FixtureError::Git {
            args: args.join(" "),
            dir: dir.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Writes `files` (`(relative path, contents)`) under `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) -> Result<(), FixtureError> {
    for (path, contents) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)
                .map_err(|source| FixtureError::io("create a fixture folder", source))?;
        }
        fs_err::write(&path, contents)
            .map_err(|source| FixtureError::io("write a fixture file", source))?;
    }
    Ok(())
}

/// Stages everything in the repository at `dir` and commits it; returns the new commit.
pub fn commit_all(dir: &Path, message: &str) -> Result<String, FixtureError> {
    git(dir, &["add", "--all"])?;
    git(dir, &["commit", "--quiet", "--allow-empty", "-m", message])?;
    git(dir, &["rev-parse", "HEAD"])
}

/// Creates a repository at `dir` (branch `main`) holding `files` in one commit "Initial files";
/// returns `dir`.
pub fn fixture_repo(dir: &Path, files: &[(&str, &str)]) -> Result<PathBuf, FixtureError> {
    fs_err::create_dir_all(dir)
        .map_err(|source| FixtureError::io("create the fixture repository", source))?;
    git(dir, &["init", "--quiet", "--initial-branch=main"])?;
    write_files(dir, files)?;
    commit_all(dir, "Initial files")?;
    Ok(dir.to_owned())
}

/// Fills the (bare or not) repository at `repo` with a generated history on `main`: `files`
/// files spread over folders of 100 (`dir-NNN/file-NNNNN.yaml`) in the first commit, then
/// `commits - 1` commits each changing one file. Built with `git fast-import`, so 5,000 files and
/// 2,000 commits take well under a second.
pub fn generate_history(repo: &Path, files: usize, commits: usize) -> Result<(), FixtureError> {
    generate_history_with(repo, files, commits, &[])
}

/// [`generate_history`] with `extra` files (`(relative path, contents)`) added in the first
/// commit and never changed afterwards, e.g. a real manifest among the generated ones.
pub fn generate_history_with(
    repo: &Path,
    files: usize,
    commits: usize,
    extra: &[(&str, &str)],
) -> Result<(), FixtureError> {
    let mut stream = String::new();
    let mut mark = 0usize;
    let blob = |stream: &mut String, mark: &mut usize, data: &str| {
        *mark += 1;
        // Writing to a String cannot fail.
        let _ = write!(stream, "blob\nmark :{mark}\ndata {}\n{data}\n", data.len());
        *mark
    };
    let path = |index: usize| format!("dir-{:03}/file-{index:05}.yaml", index / 100);
    let mut first = Vec::with_capacity(files);
    for index in 0..files {
        let id = blob(
            &mut stream,
            &mut mark,
            &format!("name: file-{index}\nversion: 0\n"),
        );
        first.push((path(index), id));
    }
    for (extra_path, contents) in extra {
        let id = blob(&mut stream, &mut mark, contents);
        first.push(((*extra_path).to_owned(), id));
    }
    for number in 0..commits.max(1) {
        let changed = if number == 0 {
            Vec::new()
        } else {
            let index = number % files.max(1);
            let id = blob(
                &mut stream,
                &mut mark,
                &format!("name: file-{index}\nversion: {number}\n"),
            );
            vec![(path(index), id)]
        };
        let message = format!("commit {number}\n");
        let _ = write!(
            stream,
            "commit refs/heads/main\ncommitter {} <{}> {} +0000\ndata {}\n{message}",
            AUTHOR.0,
            AUTHOR.1,
            1_700_000_000 + number,
            message.len()
        );
        let entries = if number == 0 { &first } else { &changed };
        for (path, id) in entries {
            let _ = writeln!(stream, "M 100644 :{id} {path}");
        }
        stream.push('\n');
    }
    git_with_input(repo, &["fast-import", "--quiet"], Some(stream.as_bytes()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_history_holds_the_extra_files_next_to_the_generated_ones() {
        let temp = tempfile::tempdir().unwrap();
        let repo = temp.path().join("repo.git");
        fs_err::create_dir_all(&repo).unwrap();
        git(
            &repo,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        )
        .unwrap();
        generate_history_with(
            &repo,
            250,
            30,
            &[("develop/frontend/instance.yaml", "tag: 1.0.0\n")],
        )
        .unwrap();
        assert_eq!(git(&repo, &["rev-list", "--count", "main"]).unwrap(), "30");
        let listed = git(&repo, &["ls-tree", "-r", "--name-only", "main"]).unwrap();
        assert_eq!(listed.lines().count(), 251);
        assert!(listed.lines().any(|line| line == "dir-002/file-00249.yaml"));
        assert_eq!(
            git(&repo, &["show", "main:develop/frontend/instance.yaml"]).unwrap(),
            "tag: 1.0.0"
        );
        assert_eq!(
            git(&repo, &["show", "main:dir-000/file-00029.yaml"]).unwrap(),
            "name: file-29\nversion: 29"
        );
    }
}
