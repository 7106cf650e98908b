//! `gantry promote`, `gantry approve` and `gantry rollback stage`: the commands that queue or
//! unlock a Promotion.

use serde_json::json;

use super::{Output, run_remote, segment, text};
use crate::cli::{ApproveArgs, FreightChoice, PromoteArgs, RollbackStageArgs};
use crate::commands::ExitStatus;

/// The API body naming the Freight.
fn freight_body(choice: &FreightChoice) -> serde_json::Value {
    match (&choice.freight, &choice.freight_alias) {
        (Some(id), _) => json!({ "freight": id }),
        (None, alias) => json!({ "freightAlias": alias }),
    }
}

/// `gantry promote --stage S (--freight ID | --freight-alias A)`.
pub(crate) fn promote(args: &PromoteArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let value = client.post(
            &format!(
                "/projects/{project}/stages/{}/promotions",
                segment(&args.stage)
            ),
            &freight_body(&args.freight),
        )?;
        let table = format!("promotion {} created\n", text(&value, "/promotion"));
        Ok(Output { value, table })
    })
}

/// `gantry approve (--freight ID | --freight-alias A) --stage S`.
pub(crate) fn approve(args: &ApproveArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let freight = args
            .freight
            .freight
            .as_deref()
            .or(args.freight.freight_alias.as_deref())
            .unwrap_or_default();
        let value = client.post(
            &format!("/projects/{project}/freight/{}/approve", segment(freight)),
            &json!({ "stage": args.stage }),
        )?;
        let table = format!("{}\n", text(&value, "/msg"));
        Ok(Output { value, table })
    })
}

/// `gantry rollback stage S [--to FREIGHT]`.
pub(crate) fn rollback(args: &RollbackStageArgs) -> anyhow::Result<ExitStatus> {
    run_remote(&args.server, |client| {
        let project = segment(&client.project(&args.server)?);
        let body = match &args.to {
            Some(to) => json!({ "to": to }),
            None => json!({}),
        };
        let value = client.post(
            &format!(
                "/projects/{project}/stages/{}/rollback",
                segment(&args.name)
            ),
            &body,
        )?;
        let table = format!(
            "promotion {} created (back to freight {})\n",
            text(&value, "/promotion"),
            text(&value, "/freight")
        );
        Ok(Output { value, table })
    })
}
