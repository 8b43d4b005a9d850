//! The review data a project stores on each slot: a reviewer's [`Verdict`] and the
//! [`Review`] (verdict, comment, who, when). Kept apart from [`super::review`], whose
//! statistics and reports read whole projects, so the project document can hold reviews
//! without depending on the report code.

use serde::{Deserialize, Serialize};

/// A reviewer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The decision is right.
    Approved,
    /// The decision is wrong (the comment says why).
    Rejected,
}

impl Verdict {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
        }
    }
}

/// A review of one slot's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Verdict.
    pub verdict: Verdict,
    /// Reviewer's comment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Reviewer.
    pub by: String,
    /// When (RFC 3339 UTC).
    pub at: String,
}
