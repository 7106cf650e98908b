//! What can go wrong building a fixture or starting a server.

use std::io;
use std::path::PathBuf;

/// A fixture could not be built or a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A program the fixture needs is not installed.
    #[error(
        "`{program}` is not installed (Debian package `{package}`): run scripts/test.sh, which \
         installs the packages the tests need"
    )]
    MissingProgram {
        /// The program looked for.
        program: String,
        /// The Debian package that ships it.
        package: String,
    },
    /// A file system operation or process start failed.
    #[error("failed to {action}")]
    Io {
        /// What was being done.
        action: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A git command failed.
    #[error("git {args} failed in {dir}: {stderr}")]
    Git {
        /// The arguments.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// What git printed on stderr.
        stderr: String,
    },
    /// A helper program (openssl, htpasswd) failed.
    #[error("{program} failed to {action}: {stderr}")]
    Program {
        /// The program.
        program: String,
        /// What it was asked to do.
        action: String,
        /// What it printed on stderr, or what was wrong with its output.
        stderr: String,
    },
    /// The server did not come up.
    #[error("the {server} did not start: {log}")]
    ServerStart {
        /// Which server.
        server: String,
        /// Its log, or why it was not ready.
        log: String,
    },
}

impl FixtureError {
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}
