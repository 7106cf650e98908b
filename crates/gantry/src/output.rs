//! Rendering diagnostics: rustc-style snippets through miette, or JSON.
//!
//! Snippets are cut from [`SourceFile::redacted_text`], so Secret values and credentials inside
//! URLs never reach the terminal.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

use gantry_api::diagnostic::{Diagnostic, Location, Severity};
use gantry_api::source::SourceFile;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{Value, json};

use crate::cli::Color;

/// Whether to colour, from the flag, `NO_COLOR` and whether stdout is a terminal.
pub(crate) fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<String>>,
    help: Option<String>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}({})",
            self.diagnostic.check.code, self.diagnostic.check.name
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|source| source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.diagnostic.location.as_ref()?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            self.diagnostic.label.clone(),
            span(location),
        )];
        for related in &self.diagnostic.related {
            if Arc::ptr_eq(&related.location.file, &location.file) {
                labels.push(LabeledSpan::new_with_span(
                    Some(related.message.clone()),
                    span(&related.location),
                ));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
}

fn span(location: &Location) -> SourceSpan {
    SourceSpan::from((location.span.start, location.span.len()))
}

fn position(location: &Location) -> String {
    let (line, column) = location.line_col();
    format!("{}:{line}:{column}", location.file.name())
}

/// One diagnostic as a rustc-style snippet.
pub(crate) fn human(diagnostic: &Diagnostic, color: bool) -> String {
    let source = diagnostic.location.as_ref().map(|location| {
        let file: &SourceFile = &location.file;
        NamedSource::new(file.name(), file.redacted_text().into_owned())
    });
    // Related places in other files are listed in the help, with their position.
    let mut help = diagnostic.help.clone();
    for related in &diagnostic.related {
        let same_file = diagnostic
            .location
            .as_ref()
            .is_some_and(|location| Arc::ptr_eq(&location.file, &related.location.file));
        if !same_file {
            let line = format!("{}: {}", related.message, position(&related.location));
            help = Some(match help {
                Some(help) => format!("{help}\n{line}"),
                None => line,
            });
        }
    }
    let rendered = Rendered {
        diagnostic,
        source,
        help,
    };
    let mut out = render(&rendered, color)
        .unwrap_or_else(|| format!("{}: {}\n", diagnostic.severity, diagnostic.message));
    out.push('\n');
    out
}

/// A miette report as rustc-style text, 100 columns wide; `None` if rendering fails.
fn render(report: &dyn miette::Diagnostic, color: bool) -> Option<String> {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    handler.render_report(&mut out, report).ok()?;
    Some(out)
}

/// The closing line of a human report.
pub(crate) fn summary(
    errors: usize,
    warnings: usize,
    notes: usize,
    resources: usize,
    files: usize,
) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}: {}, {}, {} in {} from {}",
        if errors > 0 { "failed" } else { "ok" },
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(notes, "note"),
        plural(resources, "resource"),
        plural(files, "file"),
    )
}

/// The findings as a JSON list.
pub(crate) fn json(diagnostics: &[Diagnostic]) -> Value {
    Value::Array(
        diagnostics
            .iter()
            .map(|diagnostic| {
                let mut object = json!({
                    "code": diagnostic.check.code,
                    "name": diagnostic.check.name,
                    "severity": diagnostic.severity.as_str(),
                    "message": diagnostic.message,
                });
                if let Some(location) = &diagnostic.location {
                    let (line, column) = location.line_col();
                    let (end_line, end_column) = location.file.line_col(location.span.end);
                    object["file"] = json!(location.file.name());
                    object["line"] = json!(line);
                    object["column"] = json!(column);
                    object["endLine"] = json!(end_line);
                    object["endColumn"] = json!(end_column);
                }
                if let Some(label) = &diagnostic.label {
                    object["label"] = json!(label);
                }
                if let Some(help) = &diagnostic.help {
                    object["help"] = json!(help);
                }
                if !diagnostic.related.is_empty() {
                    object["related"] = Value::Array(
                        diagnostic
                            .related
                            .iter()
                            .map(|related| {
                                let (line, column) = related.location.line_col();
                                json!({
                                    "file": related.location.file.name(),
                                    "line": line,
                                    "column": column,
                                    "message": related.message,
                                })
                            })
                            .collect(),
                    );
                }
                object
            })
            .collect(),
    )
}

#[derive(Debug)]
struct Snippet {
    message: String,
    help: Option<String>,
    source: NamedSource<String>,
    span: SourceSpan,
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(None, self.span),
        )))
    }
}

/// An error about a piece of text given on the command line, with a caret under `span`.
pub(crate) fn snippet(
    name: &str,
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
    help: Option<&str>,
    color: bool,
) -> String {
    let snippet = Snippet {
        message: message.to_owned(),
        help: help.map(str::to_owned),
        source: NamedSource::new(name, text.to_owned()),
        span: SourceSpan::from((span.start, span.len())),
    };
    render(&snippet, color).unwrap_or_else(|| format!("error: {message}\n"))
}
