//! `gantry refresh warehouse W [--wait]` and `gantry abort promotion P`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Output, run_remote, segment, text};
use crate::cli::{NamedArgs, RefreshWarehouseArgs};
use crate::commands::ExitStatus;

/// `gantry refresh warehouse W [--wait]`.
pub(crate) fn refresh(args: &RefreshWarehouseArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let wait = if args.wait { "?wait=true" } else { "" };
        let value = client.post(
            &format!(
                "/projects/{project}/warehouses/{}/refresh{wait}",
                segment(&args.name)
            ),
            &json!({}),
        )?;
        let table = if args.wait {
            let freight = text(&value, "/freight");
            let mut line = format!("warehouse {} refreshed", args.name);
            if !freight.is_empty() {
                let created = value.get("created") == Some(&Value::Bool(true));
                let _ = write!(
                    line,
                    ": freight {freight}{}",
                    if created { " (new)" } else { "" }
                );
            }
            let message = text(&value, "/message");
            if !message.is_empty() {
                let _ = write!(line, " ({message})");
            }
            line + "\n"
        } else {
            format!("{}\n", text(&value, "/msg"))
        };
        Ok(Output { value, table })
    })
}

/// `gantry abort promotion P`.
pub(crate) fn abort(args: &NamedArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let value = client.post(
            &format!(
                "/projects/{project}/promotions/{}/abort",
                segment(&args.name)
            ),
            &json!({}),
        )?;
        let table = format!("{}\n", text(&value, "/msg"));
        Ok(Output { value, table })
    })
}
