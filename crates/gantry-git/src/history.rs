//! Reading history out of a mirror: first-parent commit logs with the paths each commit
//! changed, and tags with the metadata Warehouse discovery needs. Nothing here writes.
//!
//! Changed paths are what `git show --first-parent --name-only` lists, the way Kargo reads
//! them: a merge commit's paths are its diff against its *first* parent (what the merge brought
//! into the branch), a root commit lists every file, and renames count under their new name
//! only. Blobless mirrors are the exception: spotting a rename needs file contents they do not
//! have, so there renames list both the old and the new path (`--no-renames`) instead of
//! fetching blobs.
//!
//! Output is read with `-z` and ASCII record/unit separators, so paths are never quoted and
//! any byte but NUL may appear in a path.

use std::collections::HashMap;

use crate::error::{GitError, Result};
use crate::mirror::Mirror;

/// One commit of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full commit id.
    pub id: String,
    /// Parent ids, first parent first (none for a root commit).
    pub parents: Vec<String>,
    /// Committer date, seconds since the Unix epoch.
    pub time: i64,
    /// `Name <email>` of the author.
    pub author: String,
    /// `Name <email>` of the committer.
    pub committer: String,
    /// First line of the message.
    pub subject: String,
    /// The paths the commit changed, when they were asked for (see the module documentation).
    pub paths: Option<Vec<String>>,
}

/// What [`Mirror::log`] lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// At most this many commits (0: no limit).
    pub max_count: usize,
    /// Only commits whose committer date is at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Whether to list each commit's changed paths.
    pub changed_paths: bool,
}

/// One tag, with what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    /// The tag's name, without `refs/tags/`.
    pub name: String,
    /// The object the ref points at: the tag object for annotated tags, else the commit.
    pub object_id: String,
    /// The commit the tag points at (annotated tags peeled, nested ones too).
    pub commit_id: String,
    /// Whether the tag is annotated.
    pub annotated: bool,
    /// Tagger date for annotated tags, committer date for lightweight ones (Unix seconds).
    pub creator_time: i64,
    /// The commit's author, `Name <email>`.
    pub author: String,
    /// The commit's committer, `Name <email>`.
    pub committer: String,
    /// The commit's subject.
    pub subject: String,
    /// `Name <email>` of the tagger (annotated tags).
    pub tagger: Option<String>,
    /// First line of the tag message (annotated tags).
    pub annotation: Option<String>,
}

/// Record separator: starts every commit in log output.
const RECORD: char = '\u{1e}';
/// Unit separator: between fields.
const UNIT: char = '\u{1f}';
/// Fields of a log record: id, parents, committer time, author, committer, subject (last, so
/// that nothing it contains can shift the other fields).
const LOG_FORMAT: &str = "--format=%x1e%H%x1f%P%x1f%ct%x1f%an <%ae>%x1f%cn <%ce>%x1f%s";
/// Fields of a tag line; `*` fields are those of the commit an annotated tag peels to.
const TAG_FORMAT: &str = "--format=%(refname)%1f%(objecttype)%1f%(objectname)%1f\
    %(*objecttype)%1f%(*objectname)%1f%(creatordate:unix)%1f\
    %(authorname) %(authoremail)%1f%(committername) %(committeremail)%1f\
    %(*authorname) %(*authoremail)%1f%(*committername) %(*committeremail)%1f\
    %(taggername) %(taggeremail)%1f%(*subject)%1f%(subject)";

impl Mirror {
    /// The first-parent history from `revision` (a branch ref or commit id), newest first.
    pub fn log(&self, revision: &str, options: &LogOptions) -> Result<Vec<CommitInfo>> {
        let mut command = self.git().runner().git(self.path(), "log").args([
            "log",
            "--first-parent",
            "--no-color",
            "-z",
            LOG_FORMAT,
        ]);
        if options.max_count > 0 {
            command = command.arg(format!("--max-count={}", options.max_count));
        }
        if let Some(since) = options.since {
            command = command.arg(format!("--since=@{since}"));
        }
        if options.changed_paths {
            command = command.args(self.path_args()?);
        }
        let output = command.args(["--end-of-options", revision, "--"]).run()?;
        parse_log(&output.stdout, options.changed_paths)
    }

    /// The paths each commit changed (see the module documentation), keyed by commit id. One
    /// git process for all of them.
    pub fn changed_paths(&self, commits: &[&str]) -> Result<HashMap<String, Vec<String>>> {
        if commits.is_empty() {
            return Ok(HashMap::new());
        }
        let mut input = commits.join("\n");
        input.push('\n');
        let output = self
            .git()
            .runner()
            .git(self.path(), "log")
            .args([
                "log",
                "--no-walk=unsorted",
                "--first-parent",
                "--no-color",
                "-z",
                LOG_FORMAT,
            ])
            .args(self.path_args()?)
            .args(["--stdin", "--"])
            .stdin(input)
            .run()?;
        Ok(parse_log(&output.stdout, true)?
            .into_iter()
            .map(|commit| (commit.id, commit.paths.unwrap_or_default()))
            .collect())
    }

    /// Every tag that points (perhaps through other tags) at a commit, newest first by creator
    /// date; tags created in the same second are ordered by name, as `git for-each-ref
    /// --sort=-creatordate` orders them.
    pub fn tags(&self) -> Result<Vec<TagInfo>> {
        let output = self
            .git()
            .runner()
            .git(self.path(), "for-each-ref")
            .args([
                "for-each-ref",
                "--sort=-creatordate",
                TAG_FORMAT,
                "refs/tags/",
            ])
            .run()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut tags = Vec::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            if let Some(tag) = parse_tag(line)? {
                tags.push(tag);
            }
        }
        Ok(tags)
    }

    /// Diff options for changed paths.
    fn path_args(&self) -> Result<Vec<&'static str>> {
        let mut args = vec!["--name-only", "-m", "--root"];
        if self.is_partial()? {
            args.push("--no-renames");
        }
        Ok(args)
    }
}

fn unexpected(action: &str, detail: impl Into<String>) -> GitError {
    GitError::Command {
        action: action.to_owned(),
        stderr: format!("unexpected output: {}", detail.into()),
    }
}

/// Reads `-z` log output: each commit is `RS fields NUL`, followed (with paths) by
/// `\n path NUL path NUL ...`.
fn parse_log(stdout: &[u8], with_paths: bool) -> Result<Vec<CommitInfo>> {
    let text = String::from_utf8_lossy(stdout);
    let mut commits: Vec<CommitInfo> = Vec::new();
    for token in text.split('\0') {
        let token = token.strip_prefix('\n').unwrap_or(token);
        if let Some(header) = token.strip_prefix(RECORD) {
            let fields: Vec<&str> = header.splitn(6, UNIT).collect();
            let [id, parents, time, author, committer, subject] = fields[..] else {
                return Err(unexpected("log", format!("commit record `{header}`")));
            };
            let time = time
                .parse()
                .map_err(|_| unexpected("log", format!("commit time `{time}`")))?;
            commits.push(CommitInfo {
                id: id.to_owned(),
                parents: parents.split_whitespace().map(str::to_owned).collect(),
                time,
                author: author.to_owned(),
                committer: committer.to_owned(),
                subject: subject.to_owned(),
                paths: with_paths.then(Vec::new),
            });
        } else if !token.is_empty() {
            let Some(paths) = commits.last_mut().and_then(|commit| commit.paths.as_mut()) else {
                return Err(unexpected(
                    "log",
                    format!("path `{token}` outside a commit"),
                ));
            };
            paths.push(token.to_owned());
        }
    }
    Ok(commits)
}

/// Reads one `for-each-ref` line; `None` for tags that do not lead to a commit.
fn parse_tag(line: &str) -> Result<Option<TagInfo>> {
    let fields: Vec<&str> = line.splitn(13, UNIT).collect();
    let [
        refname,
        object_type,
        object_id,
        peeled_type,
        peeled_id,
        time,
        author,
        committer,
        peeled_author,
        peeled_committer,
        tagger,
        peeled_subject,
        subject,
    ] = fields[..]
    else {
        return Err(unexpected("for-each-ref", format!("tag line `{line}`")));
    };
    let name = refname.strip_prefix("refs/tags/").unwrap_or(refname);
    let annotated = object_type == "tag";
    let leads_to_commit = if annotated {
        peeled_type == "commit"
    } else {
        object_type == "commit"
    };
    if !leads_to_commit {
        return Ok(None);
    }
    let creator_time = time.parse().map_err(|_| {
        unexpected(
            "for-each-ref",
            format!("creator date `{time}` of tag {name}"),
        )
    })?;
    let tag = if annotated {
        TagInfo {
            name: name.to_owned(),
            object_id: object_id.to_owned(),
            commit_id: peeled_id.to_owned(),
            annotated,
            creator_time,
            author: peeled_author.to_owned(),
            committer: peeled_committer.to_owned(),
            subject: peeled_subject.to_owned(),
            tagger: Some(tagger.trim().to_owned()),
            annotation: Some(subject.to_owned()),
        }
    } else {
        TagInfo {
            name: name.to_owned(),
            object_id: object_id.to_owned(),
            commit_id: object_id.to_owned(),
            annotated,
            creator_time,
            author: author.to_owned(),
            committer: committer.to_owned(),
            subject: subject.to_owned(),
            tagger: None,
            annotation: None,
        }
    };
    Ok(Some(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_with_paths_empty_commits_and_odd_names_are_read() {
        let stdout = "\u{1e}c3\u{1f}c2 m1\u{1f}30\u{1f}A <a@x>\u{1f}C <c@x>\u{1f}merge: \u{1f} odd\0\n\
                      b/side\0\u{1e}c2\u{1f}c1\u{1f}20\u{1f}A <a@x>\u{1f}C <c@x>\u{1f}empty\0\
                      \u{1e}c1\u{1f}\u{1f}10\u{1f}A <a@x>\u{1f}C <c@x>\u{1f}root\0\na/x\0b/\u{e4} y\0";
        let commits = parse_log(stdout.as_bytes(), true).unwrap();
        assert_eq!(commits.len(), 3);
        assert_eq!(commits[0].parents, ["c2", "m1"]);
        assert_eq!(commits[0].subject, "merge: \u{1f} odd");
        assert_eq!(
            commits[0].paths.as_deref(),
            Some(&["b/side".to_owned()][..])
        );
        assert_eq!(commits[1].paths.as_deref(), Some(&[][..]));
        assert!(commits[2].parents.is_empty());
        assert_eq!(commits[2].time, 10);
        assert_eq!(
            commits[2].paths.as_deref().unwrap(),
            ["a/x".to_owned(), "b/\u{e4} y".to_owned()]
        );
    }

    #[test]
    fn tag_lines_of_annotated_lightweight_and_non_commit_tags_are_read() {
        let line = |fields: [&str; 13]| fields.join("\u{1f}");
        let annotated = parse_tag(&line([
            "refs/tags/v1",
            "tag",
            "t1",
            "commit",
            "c1",
            "100",
            " ",
            " ",
            "A <a@x>",
            "C <c@x>",
            "T <t@x>",
            "commit subject",
            "Release 1",
        ]))
        .unwrap()
        .unwrap();
        assert!(annotated.annotated);
        assert_eq!(
            (
                annotated.commit_id.as_str(),
                annotated.subject.as_str(),
                annotated.author.as_str()
            ),
            ("c1", "commit subject", "A <a@x>")
        );
        assert_eq!(annotated.tagger.as_deref(), Some("T <t@x>"));
        assert_eq!(annotated.annotation.as_deref(), Some("Release 1"));

        let lightweight = parse_tag(&line([
            "refs/tags/nightly",
            "commit",
            "c2",
            "",
            "",
            "200",
            "A <a@x>",
            "C <c@x>",
            " ",
            " ",
            " ",
            "",
            "fix: it",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (lightweight.commit_id.as_str(), lightweight.subject.as_str()),
            ("c2", "fix: it")
        );
        assert!(lightweight.tagger.is_none() && lightweight.annotation.is_none());

        let tree = parse_tag(&line([
            "refs/tags/tree",
            "tree",
            "t3",
            "",
            "",
            "",
            " ",
            " ",
            " ",
            " ",
            " ",
            "",
            "",
        ]))
        .unwrap();
        assert!(tree.is_none(), "tags of trees and blobs are skipped");
    }
}
