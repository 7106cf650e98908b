//! `gantry history stage S`: the Freight a Stage held, newest first (`*` marks the current
//! one), with the Promotion that put each there and the commits its steps pushed.

use super::{Output, run_remote, segment};
use crate::cli::NamedArgs;
use crate::commands::ExitStatus;

pub(crate) fn run(args: &NamedArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let value = client.get(&format!(
            "/projects/{project}/stages/{}/history",
            segment(&args.name)
        ))?;
        let table = super::describe::history_table(&value);
        Ok(Output { value, table })
    })
}
