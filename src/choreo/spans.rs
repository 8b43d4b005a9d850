//! Changing where music phrases start and end: split a slot at a bar line, merge two
//! neighbours, move the boundary between two. Each builds one [`Edit::Spans`] (undoable like
//! every other edit). Boundaries snap to downbeats, as the analysis cuts phrases on bar lines;
//! every resulting phrase keeps at least one bar. Slots whose span changed go back to
//! "suggested" (a decision was made for other music); the others keep theirs.

use super::ChoreoError;
use super::project::{Edit, Project, Slot, SlotDecision, SpanSet};
use crate::analysis::{Phrase, SongAnalysis};

fn invalid(msg: String) -> ChoreoError {
    ChoreoError::Invalid(msg)
}

/// Beat indices of downbeats strictly inside `(lo, hi)` (and inside the beat list).
fn downbeats_between(a: &SongAnalysis, lo: usize, hi: usize) -> Vec<usize> {
    let hi = hi.min(a.beats.len()).min(a.beat_in_bar.len());
    (lo.saturating_add(1)..hi)
        .filter(|&i| a.beat_in_bar.get(i).is_some_and(|&k| k == 1))
        .collect()
}

/// A phrase over beats `first..last` (exclusive), ending at `end` for the song's last phrase.
fn phrase(a: &SongAnalysis, first: usize, last: usize, end: f64, section: &str) -> Phrase {
    let bars = (first..last.min(a.beat_in_bar.len()))
        .filter(|&i| a.beat_in_bar.get(i).is_some_and(|&k| k == 1))
        .count()
        .max(1);
    Phrase {
        start: a.beats.get(first).copied().unwrap_or(0.0),
        end: a.beats.get(last).copied().unwrap_or(end),
        bars,
        beats: last.saturating_sub(first),
        first_beat: first,
        section: section.to_string(),
    }
}

fn fresh_slot(p: &Phrase) -> Slot {
    Slot {
        start: p.start,
        end: p.end,
        bars: p.bars,
        beats: p.beats,
        section: p.section.clone(),
        candidates: Vec::new(),
        decision: SlotDecision::default(),
    }
}

fn nearest(cands: &[usize], beats: &[f64], t: f64) -> Option<usize> {
    let dist = |x: usize| beats.get(x).map_or(f64::INFINITY, |b| (b - t).abs());
    cands
        .iter()
        .copied()
        .min_by(|&x, &y| dist(x).total_cmp(&dist(y)))
}

fn check(project: &Project, t: usize) -> Result<(), ChoreoError> {
    let n = project.slots.len();
    if t >= n || project.analysis.phrases.len() != n {
        return Err(invalid(format!("slot {t} out of range (0..{n})")));
    }
    Ok(())
}

/// Splits slot `t` at the downbeat nearest to `at` seconds.
pub fn split(project: &Project, t: usize, at: f64) -> Result<Edit, ChoreoError> {
    check(project, t)?;
    let a = &project.analysis;
    let p = &a.phrases[t];
    let last = p.first_beat.saturating_add(p.beats);
    let cands = downbeats_between(a, p.first_beat, last);
    let Some(i) = nearest(&cands, &a.beats, at) else {
        return Err(invalid(format!(
            "slot {t} is a single bar: there is no bar line to split it at"
        )));
    };
    let left = phrase(a, p.first_beat, i, p.end, &p.section);
    let mut right = phrase(a, i, last, p.end, &p.section);
    right.end = p.end;
    let mut phrases = a.phrases.clone();
    let mut slots = project.slots.clone();
    phrases.splice(t..=t, [left.clone(), right.clone()]);
    let mut l = fresh_slot(&left);
    l.start = p.start;
    slots.splice(t..=t, [l, fresh_slot(&right)]);
    phrases[t].start = p.start;
    Ok(Edit::Spans {
        slot: t,
        spans: Box::new(SpanSet { phrases, slots }),
    })
}

/// Merges slot `t` with slot `t + 1`.
pub fn merge(project: &Project, t: usize) -> Result<Edit, ChoreoError> {
    check(project, t)?;
    if t + 1 >= project.slots.len() {
        return Err(invalid(format!(
            "slot {t} is the last one: nothing to merge it with"
        )));
    }
    let a = &project.analysis;
    let (p, q) = (&a.phrases[t], &a.phrases[t + 1]);
    let merged = Phrase {
        start: p.start,
        end: q.end,
        bars: p.bars.saturating_add(q.bars),
        beats: p.beats.saturating_add(q.beats),
        first_beat: p.first_beat,
        section: p.section.clone(),
    };
    let mut phrases = a.phrases.clone();
    let mut slots = project.slots.clone();
    phrases.splice(t..=t + 1, [merged.clone()]);
    slots.splice(t..=t + 1, [fresh_slot(&merged)]);
    Ok(Edit::Spans {
        slot: t,
        spans: Box::new(SpanSet { phrases, slots }),
    })
}

/// Moves the boundary between slot `t` and slot `t + 1` to the downbeat nearest to `to`
/// seconds (each side keeps at least one bar).
pub fn move_boundary(project: &Project, t: usize, to: f64) -> Result<Edit, ChoreoError> {
    check(project, t)?;
    if t + 1 >= project.slots.len() {
        return Err(invalid(format!("slot {t} has no boundary after it")));
    }
    let a = &project.analysis;
    let (p, q) = (&a.phrases[t], &a.phrases[t + 1]);
    let last = q.first_beat.saturating_add(q.beats);
    let cands = downbeats_between(a, p.first_beat, last);
    let Some(i) = nearest(&cands, &a.beats, to) else {
        return Err(invalid(format!(
            "slots {t} and {} have no other bar line for their boundary",
            t + 1
        )));
    };
    if i == q.first_beat {
        return Err(invalid("the boundary is already there".to_string()));
    }
    let mut left = phrase(a, p.first_beat, i, q.end, &p.section);
    left.start = p.start;
    let mut right = phrase(a, i, last, q.end, &q.section);
    right.end = q.end;
    let mut phrases = a.phrases.clone();
    let mut slots = project.slots.clone();
    phrases[t] = left.clone();
    phrases[t + 1] = right.clone();
    slots[t] = fresh_slot(&left);
    slots[t + 1] = fresh_slot(&right);
    Ok(Edit::Spans {
        slot: t,
        spans: Box::new(SpanSet { phrases, slots }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::song::ANALYSIS_SCHEMA;
    use crate::choreo::project::{Actor, History};

    /// 4/4 at 120 BPM, 32 beats (8 bars), two phrases of 4 bars.
    fn project() -> Project {
        let beats: Vec<f64> = (0..32).map(|i| f64::from(i) * 0.5).collect();
        let beat_in_bar: Vec<u32> = (0..32).map(|i| i % 4 + 1).collect();
        let ph = |first: usize, n: usize, sec: &str| Phrase {
            start: beats[first],
            end: if first + n < 32 {
                beats[first + n]
            } else {
                16.0
            },
            bars: n / 4,
            beats: n,
            first_beat: first,
            section: sec.into(),
        };
        let phrases = vec![ph(0, 16, "A"), ph(16, 16, "B")];
        let analysis = SongAnalysis {
            schema: ANALYSIS_SCHEMA.into(),
            duration: 16.0,
            sample_rate: 22_050,
            tempo_bpm: 120.0,
            beats_per_bar: 4,
            downbeats: beats.iter().step_by(4).copied().collect(),
            beats,
            beat_in_bar,
            onsets: vec![],
            sections: vec![],
            phrases: phrases.clone(),
            melody: Default::default(),
            warnings: vec![],
            timing: Default::default(),
        };
        let slots = phrases.iter().map(fresh_slot).collect();
        let json = serde_json::json!({
            "schema": crate::choreo::PROJECT_SCHEMA,
            "song": {"path": "s.wav", "content_hash": "x"},
            "analysis": analysis,
            "library": {"path": "<starter>", "name": "n", "fingerprint": "f", "phrases": 0},
            "model": "cold-start",
            "settings": {"top_k": 5, "decode": crate::choreo::DecodeSettings::default()},
            "slots": [],
            "created_at": "t",
            "modified_at": "t"
        });
        let mut p: Project = serde_json::from_value(json).expect("project");
        p.slots = slots;
        p
    }

    fn actor() -> Actor {
        Actor::now("t")
    }

    #[test]
    fn split_snaps_to_the_nearest_bar_line_and_undoes() {
        let mut p = project();
        p.slots[1].decision.note = "keep me".into();
        let original = p.clone();
        // 3.1 s is nearest to the downbeat at 4.0 s (beat 8), not 2.0 s.
        let e = split(&p, 0, 3.1).expect("split");
        let mut h = History::new();
        h.apply(&mut p, &e, &actor()).expect("apply");
        assert_eq!(p.slots.len(), 3);
        assert_eq!(p.analysis.phrases.len(), 3);
        assert_eq!((p.slots[0].start, p.slots[0].end), (0.0, 4.0));
        assert_eq!((p.slots[1].start, p.slots[1].end), (4.0, 8.0));
        assert_eq!((p.slots[0].bars, p.slots[1].bars), (2, 2));
        assert_eq!(p.analysis.phrases[1].first_beat, 8);
        assert_eq!(
            p.slots[2].decision.note, "keep me",
            "untouched slot keeps its decision"
        );
        h.undo(&mut p).expect("undo");
        assert_eq!(p, original);
        h.redo(&mut p).expect("redo");
        assert_eq!(p.slots.len(), 3);
    }

    #[test]
    fn merge_and_move_boundary_keep_spans_contiguous() {
        let mut p = project();
        let e = merge(&p, 0).expect("merge");
        p.apply(&e, &actor()).expect("apply");
        assert_eq!(p.slots.len(), 1);
        assert_eq!(
            (p.slots[0].start, p.slots[0].end, p.slots[0].bars),
            (0.0, 16.0, 8)
        );
        assert!(merge(&p, 0).is_err(), "nothing to merge with");

        let mut p = project();
        let e = move_boundary(&p, 0, 10.3).expect("move"); // nearest downbeat: 10.0 s
        p.apply(&e, &actor()).expect("apply");
        assert_eq!(p.slots[0].end, 10.0);
        assert_eq!(p.slots[1].start, 10.0);
        assert_eq!(p.slots[1].end, 16.0);
        assert_eq!(p.analysis.phrases[1].first_beat, 20);
        assert_eq!(p.slots[0].beats + p.slots[1].beats, 32);
        // A one-bar slot cannot be split.
        let mut q = project();
        let e = move_boundary(&q, 0, 2.0).expect("move to bar 2");
        q.apply(&e, &actor()).expect("apply");
        assert_eq!(q.slots[0].bars, 1);
        assert!(split(&q, 0, 1.0).is_err());
        assert!(move_boundary(&q, 0, 2.1).is_err(), "already there");
    }
}
