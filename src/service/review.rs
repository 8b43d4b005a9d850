//! QA review report over every project of a workspace folder (Markdown or HTML).

use std::path::Path;

use super::{Result, invalid};
use crate::choreo::review::{ReviewReport, find_projects};

/// The report over every `*.phrasewise.json` below `workspace`.
pub fn review_report(workspace: &Path) -> Result<ReviewReport> {
    let projects = find_projects(workspace)?;
    if projects.is_empty() {
        invalid!(
            "no *.phrasewise.json projects under {}",
            workspace.display()
        );
    }
    Ok(ReviewReport::new(projects))
}

/// Writes `report` to `out` (atomically): HTML for `.html`/`.htm`, Markdown otherwise.
pub fn write_report(report: &ReviewReport, out: &Path) -> Result<()> {
    let html = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = if html {
        report.to_html()
    } else {
        report.to_markdown()
    };
    crate::files::write_atomic(out, text.as_bytes())?;
    Ok(())
}
