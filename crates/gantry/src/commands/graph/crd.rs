//! `gantry graph crd --rgd FILE`: the CustomResourceDefinition Kro would generate, as YAML.

use std::io::Write;

use crate::cli::GraphCrdArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: &GraphCrdArgs, color: bool) -> anyhow::Result<ExitStatus> {
    let Some((resource, rgd)) = super::load_rgd(&args.rgd, args.name.as_deref(), color)? else {
        return Ok(ExitStatus::Failure);
    };
    match gantry_graph::crd::generate(&rgd) {
        Ok(crd) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            write!(out, "{}", gantry_api::emit::to_yaml(&crd))?;
            Ok(ExitStatus::Success)
        }
        Err(errors) => {
            super::report(&resource, &errors, color)?;
            Ok(ExitStatus::Failure)
        }
    }
}
