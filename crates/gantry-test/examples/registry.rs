//! A real OCI registry with one repository of many tags, for manual benchmarks of discovery.
//!
//! ```text
//! cargo run --release -p gantry-test --example registry -- \
//!     [--auth anonymous|basic|token] [--tags 1000] [--repository bench/app] \
//!     [--user bench] [--password bench-password] [--index | --distinct]
//! ```
//!
//! It starts [`Registry`] on 127.0.0.1 (random port), pushes one image tagged `1.0.0` (or, with
//! `--index`, a linux/amd64 + linux/arm64 index) and re-tags it until the repository has `--tags`
//! semver tags (`1.0.0` … `1.<n/100>.<n%100>`). With `--distinct`, every tag is an image of its
//! own instead, created one minute after the previous one (for newest-build discovery, which
//! must read every manifest). Then it prints `url=`, `host=`, `repository=`,
//! `auth=`, `user=`, `password=` (both empty when anonymous), `realm=` (token mode) and the
//! timings (`start_ms=`, `push_ms=` for pushes, `tag_ms=` for re-tagging), one per line, then `ready`, and serves until its
//! stdin closes (Ctrl-D by hand; a script closes the pipe). Stop it that way rather than with a
//! signal: only a normal exit kills the registry and removes its temporary directory.

use std::error::Error;
use std::io::{self, Write as _};
use std::time::Instant;

use gantry_test::{ImageSpec, IndexSpec, ManifestFlavour, Platform, Registry};

/// The command line.
struct Options {
    auth: String,
    tags: usize,
    repository: String,
    user: String,
    password: String,
    index: bool,
    distinct: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        auth: "anonymous".to_owned(),
        tags: 1_000,
        repository: "bench/app".to_owned(),
        user: "bench".to_owned(),
        password: "bench-password".to_owned(),
        index: false,
        distinct: false,
    };
    while let Some(flag) = args.next() {
        if flag == "--index" || flag == "--distinct" {
            options.index |= flag == "--index";
            options.distinct |= flag == "--distinct";
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--auth" => options.auth = value,
            "--tags" => {
                options.tags = value
                    .parse::<usize>()
                    .map_err(|_| format!("--tags {value:?} is not a number"))?
                    .max(1);
            }
            "--repository" => options.repository = value,
            "--user" => options.user = value,
            "--password" => options.password = value,
            _ => {
                return Err(format!(
                    "unknown argument {flag:?} (expected --auth, --tags, --repository, --user, \
                     --password, --index, --distinct)"
                ));
            }
        }
    }
    Ok(options)
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse(std::env::args().skip(1))?;
    let started = Instant::now();
    let registry = match options.auth.as_str() {
        "anonymous" => Registry::start_anonymous()?,
        "basic" => Registry::start_basic(&options.user, &options.password)?,
        "token" => Registry::start_token(&options.user, &options.password)?,
        other => {
            return Err(format!("--auth {other:?}: expected anonymous, basic or token").into());
        }
    };
    let start_ms = started.elapsed().as_millis();

    let started = Instant::now();
    let repository = options.repository.as_str();
    let tag = |n: usize| format!("1.{}.{}", n / 100, n % 100);
    let mut tag_ms = 0;
    if options.distinct {
        let images: Vec<(String, ImageSpec)> = (0..options.tags)
            .map(|n| {
                let created = format!(
                    "2024-01-{:02}T{:02}:{:02}:00Z",
                    1 + n / 1440,
                    n / 60 % 24,
                    n % 60
                );
                (tag(n), ImageSpec::new().created(created))
            })
            .collect();
        registry.push_images(repository, &images)?;
    } else {
        if options.index {
            let index = IndexSpec::new(ManifestFlavour::Oci)
                .image(ImageSpec::new().created("2024-01-01T00:00:00Z"))
                .image(
                    ImageSpec::new()
                        .created("2024-01-01T00:00:00Z")
                        .platform(Platform::new("linux", "arm64")),
                );
            registry.push_index(repository, &tag(0), &index)?;
        } else {
            let image = ImageSpec::new()
                .created("2024-01-01T00:00:00Z")
                .label("org.label-schema.build-date", "2024-01-01T00:00:00Z");
            registry.push_image(repository, &tag(0), &image)?;
        }
        let started = Instant::now();
        registry.tag_existing(repository, &tag(0), (1..options.tags).map(tag))?;
        tag_ms = started.elapsed().as_millis();
    }
    let push_ms = started.elapsed().as_millis() - tag_ms;

    let mut out = io::stdout().lock();
    writeln!(out, "url={}", registry.base_url())?;
    writeln!(out, "host={}", registry.host())?;
    writeln!(out, "repository={repository}")?;
    writeln!(out, "auth={}", options.auth)?;
    writeln!(out, "user={}", registry.username().unwrap_or_default())?;
    writeln!(out, "password={}", registry.password().unwrap_or_default())?;
    if let Some(realm) = registry.token_realm() {
        writeln!(out, "realm={realm}")?;
    }
    writeln!(out, "start_ms={start_ms}")?;
    writeln!(out, "push_ms={push_ms}")?;
    writeln!(out, "tag_ms={tag_ms}")?;
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);

    // Serve until stdin reaches its end; the registry stops when it is dropped.
    io::copy(&mut io::stdin().lock(), &mut io::sink())?;
    drop(registry);
    Ok(())
}
