//! QA review: verdicts on slot decisions, per-annotator statistics, agreement between two
//! annotators of the same song (Cohen's kappa on phrase labels), and a review report
//! (Markdown or HTML, one table per song).
//!
//! Cohen's kappa: `κ = (p_o − p_e) / (1 − p_e)` with `p_o` the observed agreement and
//! `p_e = Σ_c p_A(c)·p_B(c)` the agreement expected from each annotator's label frequencies
//! (Cohen 1960; the same statistic as `sklearn.metrics.cohen_kappa_score`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ChoreoError;
use super::project::{Project, Slot, SlotStatus};
pub use super::review_data::{Review, Verdict};

/// Cohen's kappa of two equally long label sequences; `None` when empty. When both raters
/// use one and the same label everywhere (`p_e = 1`) the result is 1 if they agree.
pub fn cohen_kappa(a: &[&str], b: &[&str]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let n = a.len() as f64;
    let agree = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n;
    let mut fa: BTreeMap<&str, f64> = BTreeMap::new();
    let mut fb: BTreeMap<&str, f64> = BTreeMap::new();
    for (x, y) in a.iter().zip(b) {
        *fa.entry(x).or_default() += 1.0 / n;
        *fb.entry(y).or_default() += 1.0 / n;
    }
    let pe: f64 = fa
        .iter()
        .map(|(c, p)| p * fb.get(c).copied().unwrap_or(0.0))
        .sum();
    if (1.0 - pe).abs() < 1e-12 {
        return Some(if agree >= 1.0 - 1e-12 { 1.0 } else { 0.0 });
    }
    Some((agree - pe) / (1.0 - pe))
}

/// Agreement of two annotators on the slots they both labeled (same music span).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agreement {
    /// First annotator(s) (the `by` of the first project's labels).
    pub a: String,
    /// Second annotator(s).
    pub b: String,
    /// Slots both labeled.
    pub n: usize,
    /// Fraction with the same label.
    pub observed: f64,
    /// Cohen's kappa.
    pub kappa: Option<f64>,
}

fn label_of(s: &Slot) -> Option<&str> {
    (s.decision.status.is_label())
        .then_some(s.decision.chosen.as_deref())
        .flatten()
}

fn annotators(p: &Project) -> String {
    let mut names: Vec<&str> = p
        .slots
        .iter()
        .filter(|s| s.decision.status.is_label())
        .filter_map(|s| s.decision.by.as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        "—".to_string()
    } else {
        names.join(", ")
    }
}

/// Agreement between two projects of the same song (matched by content hash); slots are
/// paired by span (start and end within 10 ms).
pub fn agreement(p: &Project, q: &Project) -> Option<Agreement> {
    if p.song.content_hash != q.song.content_hash {
        return None;
    }
    let mut a = Vec::new();
    let mut b = Vec::new();
    for s in &p.slots {
        let Some(la) = label_of(s) else { continue };
        let other = q
            .slots
            .iter()
            .find(|o| (o.start - s.start).abs() < 0.01 && (o.end - s.end).abs() < 0.01);
        if let Some(lb) = other.and_then(label_of) {
            a.push(la);
            b.push(lb);
        }
    }
    let n = a.len();
    let observed = if n == 0 {
        0.0
    } else {
        a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / n as f64
    };
    Some(Agreement {
        a: annotators(p),
        b: annotators(q),
        n,
        observed,
        kappa: cohen_kappa(&a, &b),
    })
}

/// Counts over slots.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Slots.
    pub slots: usize,
    /// By status name.
    pub status: BTreeMap<String, usize>,
    /// Marked "no good phrase in the library".
    pub no_match: usize,
    /// Reviews approving the decision.
    pub approved: usize,
    /// Reviews rejecting it.
    pub rejected_in_review: usize,
}

impl Counts {
    fn add(&mut self, p: &Project) {
        for s in &p.slots {
            self.slots += 1;
            *self
                .status
                .entry(s.decision.status.name().to_string())
                .or_default() += 1;
            self.no_match += usize::from(s.decision.no_match);
            match s.decision.review.as_ref().map(|r| r.verdict) {
                Some(Verdict::Approved) => self.approved += 1,
                Some(Verdict::Rejected) => self.rejected_in_review += 1,
                None => {}
            }
        }
    }

    /// Slots with a label (accepted, swapped, relabeled).
    pub fn labeled(&self) -> usize {
        ["accepted", "swapped", "relabeled"]
            .iter()
            .map(|k| self.status.get(*k).copied().unwrap_or(0))
            .sum()
    }
}

/// Per-annotator numbers: decisions made and how review judged them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnnotatorStats {
    /// Labels made (accepted + swapped + relabeled).
    pub labels: usize,
    /// Of which the suggestion was accepted as is.
    pub accepted: usize,
    /// Reviews approving this annotator's labels.
    pub approved: usize,
    /// Reviews rejecting them.
    pub rejected_in_review: usize,
}

/// The review report of a set of projects.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReviewReport {
    /// Projects (path, project).
    #[serde(skip)]
    pub projects: Vec<(PathBuf, Project)>,
    /// Totals.
    pub totals: Counts,
    /// By annotator.
    pub annotators: BTreeMap<String, AnnotatorStats>,
    /// Pairwise agreement on songs annotated more than once.
    pub agreements: Vec<(String, Agreement)>,
}

impl ReviewReport {
    /// Builds the report.
    pub fn new(projects: Vec<(PathBuf, Project)>) -> ReviewReport {
        let mut totals = Counts::default();
        let mut annotators: BTreeMap<String, AnnotatorStats> = BTreeMap::new();
        for (_, p) in &projects {
            totals.add(p);
            for s in &p.slots {
                if !s.decision.status.is_label() {
                    continue;
                }
                let who = s.decision.by.clone().unwrap_or_else(|| "—".into());
                let a = annotators.entry(who).or_default();
                a.labels += 1;
                a.accepted += usize::from(s.decision.status == SlotStatus::Accepted);
                match s.decision.review.as_ref().map(|r| r.verdict) {
                    Some(Verdict::Approved) => a.approved += 1,
                    Some(Verdict::Rejected) => a.rejected_in_review += 1,
                    None => {}
                }
            }
        }
        let mut agreements = Vec::new();
        for i in 0..projects.len() {
            for j in i + 1..projects.len() {
                if let Some(ag) = agreement(&projects[i].1, &projects[j].1) {
                    agreements.push((song_name(&projects[i].1), ag));
                }
            }
        }
        ReviewReport {
            projects,
            totals,
            annotators,
            agreements,
        }
    }

    /// Markdown: summary, annotators, agreement, then one table per song.
    pub fn to_markdown(&self) -> String {
        let mut o = String::from("# Phrasewise review report\n\n");
        let t = &self.totals;
        o += &format!(
            "{} projects · {} slots · {} labeled · {} approved · {} rejected in review · {} marked \"no good phrase\"\n\n",
            self.projects.len(),
            t.slots,
            t.labeled(),
            t.approved,
            t.rejected_in_review,
            t.no_match
        );
        o += "## Annotators\n\n| annotator | labels | accepted as suggested | approved | rejected in review |\n|---|---|---|---|---|\n";
        for (who, a) in &self.annotators {
            o += &format!(
                "| {} | {} | {} | {} | {} |\n",
                md(who),
                a.labels,
                a.accepted,
                a.approved,
                a.rejected_in_review
            );
        }
        if !self.agreements.is_empty() {
            o += "\n## Agreement (same song, two projects)\n\n| song | annotators | slots both labeled | observed | Cohen's κ |\n|---|---|---|---|---|\n";
            for (song, a) in &self.agreements {
                o += &format!(
                    "| {} | {} / {} | {} | {:.2} | {} |\n",
                    md(song),
                    md(&a.a),
                    md(&a.b),
                    a.n,
                    a.observed,
                    a.kappa.map_or("—".into(), |k| format!("{k:.3}"))
                );
            }
        }
        for (path, p) in &self.projects {
            o += &format!("\n## {} \n\n`{}`\n\n", md(&song_name(p)), path.display());
            o += "| # | span (s) | phrase | status | by | review | comment / note |\n|---|---|---|---|---|---|---|\n";
            for (i, s) in p.slots.iter().enumerate() {
                let c = SlotCells::of(i, s);
                let review = c.review.map_or(String::new(), |(v, by)| {
                    let v = match v {
                        Verdict::Approved => v.name().to_string(),
                        Verdict::Rejected => format!("**{}**", v.name()),
                    };
                    format!("{v} ({})", md(by))
                });
                let comment: Vec<String> = c.comments.iter().map(|x| md(x)).collect();
                o += &format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    c.number,
                    c.span,
                    md(c.phrase),
                    c.status,
                    md(c.by),
                    review,
                    comment.join(" · ")
                );
            }
        }
        o
    }

    /// HTML (a standalone page with the same content as the Markdown).
    pub fn to_html(&self) -> String {
        let mut o = String::from(
            "<!doctype html><meta charset=\"utf-8\"><title>Phrasewise review report</title>\
             <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}\
             td,th{border:1px solid #ccc;padding:3px 8px}tr.rej{background:#fde}</style>\n",
        );
        o += "<h1>Phrasewise review report</h1>\n";
        let t = &self.totals;
        o += &format!(
            "<p>{} projects · {} slots · {} labeled · {} approved · {} rejected in review · {} marked “no good phrase”</p>\n",
            self.projects.len(),
            t.slots,
            t.labeled(),
            t.approved,
            t.rejected_in_review,
            t.no_match
        );
        o += "<h2>Annotators</h2><table><tr><th>annotator</th><th>labels</th><th>accepted as suggested</th><th>approved</th><th>rejected in review</th></tr>\n";
        for (who, a) in &self.annotators {
            o += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                html(who),
                a.labels,
                a.accepted,
                a.approved,
                a.rejected_in_review
            );
        }
        o += "</table>\n";
        if !self.agreements.is_empty() {
            o += "<h2>Agreement</h2><table><tr><th>song</th><th>annotators</th><th>slots both labeled</th><th>observed</th><th>Cohen's κ</th></tr>\n";
            for (song, a) in &self.agreements {
                o += &format!(
                    "<tr><td>{}</td><td>{} / {}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>\n",
                    html(song),
                    html(&a.a),
                    html(&a.b),
                    a.n,
                    a.observed,
                    a.kappa.map_or("—".into(), |k| format!("{k:.3}"))
                );
            }
            o += "</table>\n";
        }
        for (path, p) in &self.projects {
            o += &format!(
                "<h2>{}</h2><p><code>{}</code></p><table><tr><th>#</th><th>span (s)</th><th>phrase</th><th>status</th><th>by</th><th>review</th><th>comment / note</th></tr>\n",
                html(&song_name(p)),
                html(&path.display().to_string())
            );
            for (i, s) in p.slots.iter().enumerate() {
                let c = SlotCells::of(i, s);
                let rej = c.review.is_some_and(|(v, _)| v == Verdict::Rejected);
                let review = c.review.map_or(String::new(), |(v, by)| {
                    format!("{} ({})", v.name(), html(by))
                });
                let comment: Vec<String> = c.comments.iter().map(|x| html(x)).collect();
                o += &format!(
                    "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    if rej { " class=\"rej\"" } else { "" },
                    c.number,
                    c.span,
                    html(c.phrase),
                    c.status,
                    html(c.by),
                    review,
                    comment.join(" · ")
                );
            }
            o += "</table>\n";
        }
        o
    }
}

/// One slot's row of the per-song table, unescaped (each format escapes its own way).
struct SlotCells<'a> {
    number: usize,
    span: String,
    phrase: &'a str,
    status: String,
    by: &'a str,
    review: Option<(Verdict, &'a str)>,
    /// Review comment and reviewer note, the non-empty ones.
    comments: Vec<&'a str>,
}

impl<'a> SlotCells<'a> {
    fn of(i: usize, s: &'a super::project::Slot) -> SlotCells<'a> {
        let d = &s.decision;
        SlotCells {
            number: i + 1,
            span: format!("{:.2}–{:.2}", s.start, s.end),
            phrase: d.chosen.as_deref().unwrap_or("—"),
            status: format!(
                "{}{}",
                d.status.name(),
                if d.no_match { " · no good phrase" } else { "" }
            ),
            by: d.by.as_deref().unwrap_or(""),
            review: d.review.as_ref().map(|r| (r.verdict, r.by.as_str())),
            comments: [
                d.review.as_ref().map_or("", |r| r.comment.as_str()),
                d.note.as_str(),
            ]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
        }
    }
}

fn song_name(p: &Project) -> String {
    Path::new(&p.song.path)
        .file_name()
        .map_or_else(|| p.song.path.clone(), |n| n.to_string_lossy().into_owned())
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Every `*.phrasewise.json` under `dir` (recursively, sorted), read without checking that
/// their songs exist (a report needs no audio).
pub fn find_projects(dir: &Path) -> Result<Vec<(PathBuf, Project)>, ChoreoError> {
    let files = crate::confine::files_under(dir, true, |p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".phrasewise.json"))
    })
    .map_err(|(p, e)| ChoreoError::io(&p, e))?;
    files
        .into_iter()
        .map(|f| Project::read(&f).map(|p| (f, p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kappa_matches_hand_computed_values() {
        // Perfect agreement.
        assert_eq!(cohen_kappa(&["a", "b", "a"], &["a", "b", "a"]), Some(1.0));
        // 2×2 table: both say a on 20, both b on 15, a/b 5, b/a 10 (n = 50):
        // p_o = 0.7, p_A(a) = 0.5, p_B(a) = 0.6, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.4.
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (x, y, n) in [
            ("a", "a", 20),
            ("b", "b", 15),
            ("a", "b", 5),
            ("b", "a", 10),
        ] {
            for _ in 0..n {
                a.push(x);
                b.push(y);
            }
        }
        let k = cohen_kappa(&a, &b).expect("kappa");
        assert!((k - 0.4).abs() < 1e-12, "{k}");
        // Systematic disagreement is below zero.
        let k = cohen_kappa(&["a", "b", "a", "b"], &["b", "a", "b", "a"]).expect("kappa");
        assert!(k < 0.0);
        assert_eq!(cohen_kappa(&[], &[]), None);
        assert_eq!(cohen_kappa(&["a"], &["a", "b"]), None);
    }
}
