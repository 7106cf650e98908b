//! A smart-HTTP git server with basic auth and one big GitOps repository, for manual benchmarks
//! (`scripts/bench-promotion.sh` drives it).
//!
//! ```text
//! cargo run --release -p gantry-test --example git-server -- \
//!     [--files 5000] [--commits 2000] [--user bench] [--password secret]
//! ```
//!
//! It starts [`GitServer`] on 127.0.0.1 (random port) and creates the repository `gitops`, shaped
//! like the seeds': `develop/frontend/instance.yaml` (`spec.values.deployment.tag: 1.0.0`),
//! `production/frontend/instance.yaml` and `README.md`, next to `--files` generated manifests in
//! folders of 100, over `--commits` commits, repacked as a served repository would be. Then it
//! prints `url=<repository URL without credentials>`, `repo=<path of the bare repository>` and
//! `ready`, one per line, and serves until its stdin closes (Ctrl-D by hand; a script closes the
//! pipe). Stop it that way rather than with a signal: only a normal exit stops nginx and fcgiwrap
//! and removes the server's temporary directory.

use std::error::Error;
use std::io::{self, Write as _};

use gantry_test::{GitServer, generate_history_with, git};

/// The seeds' frontend instance, with the comments a promotion must keep.
const INSTANCE: &str = "# The frontend of the develop environment.\napiVersion: kro.run/v1alpha1\nkind: WebApplication\nmetadata:\n  name: frontend # keep this name\nspec:\n  values:\n    # image settings\n    deployment:\n      image: docker.io/zxc204fghasd/wsp-web-server-v2\n      tag: 1.0.0\n      replicas: 2 # scaled by hand\n";

/// The command line: sizes and credentials.
struct Options {
    files: usize,
    commits: usize,
    user: String,
    password: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        files: 5_000,
        commits: 2_000,
        user: "bench".to_owned(),
        password: "bench-password".to_owned(),
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--files" => options.files = number()?,
            "--commits" => options.commits = number()?.max(1),
            "--user" => options.user = value,
            "--password" => options.password = value,
            _ => {
                return Err(format!(
                    "unknown argument {flag:?} (expected --files, --commits, --user, --password)"
                ));
            }
        }
    }
    Ok(options)
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse(std::env::args().skip(1))?;
    let server = GitServer::start(&options.user, &options.password)?;
    let repo = server.create_repo("gitops")?;
    generate_history_with(
        &repo,
        options.files,
        options.commits,
        &[
            ("develop/frontend/instance.yaml", INSTANCE),
            ("production/frontend/instance.yaml", INSTANCE),
            ("README.md", "# gitops\n"),
        ],
    )?;
    git(&repo, &["repack", "-a", "-d", "-q"])?;

    let mut out = io::stdout().lock();
    writeln!(out, "url={}", server.url("gitops"))?;
    writeln!(out, "repo={}", repo.display())?;
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);

    // Serve until stdin reaches its end; the server stops when it is dropped.
    io::copy(&mut io::stdin().lock(), &mut io::sink())?;
    drop(server);
    Ok(())
}
