//! Evaluation measures with mir_eval 0.8 conventions, used by the tests and the benchmarks.

/// Number of one-to-one matches between two increasing event lists within `window` seconds.
/// On a line with a symmetric window, matching greedily in time order is a maximum matching
/// (mir_eval `util.match_events` gives the same count).
pub fn count_matches(reference: &[f64], estimate: &[f64], window: f64) -> usize {
    let (mut i, mut j, mut hits) = (0, 0, 0);
    while i < reference.len() && j < estimate.len() {
        let d = estimate[j] - reference[i];
        if d.abs() <= window {
            hits += 1;
            i += 1;
            j += 1;
        } else if d < 0.0 {
            j += 1;
        } else {
            i += 1;
        }
    }
    hits
}

/// F-measure of matched events (precision = hits / estimates, recall = hits / references).
pub fn f_measure(reference: &[f64], estimate: &[f64], window: f64) -> f64 {
    if reference.is_empty() || estimate.is_empty() {
        return 0.0;
    }
    let hits = count_matches(reference, estimate, window) as f64;
    let p = hits / estimate.len() as f64;
    let r = hits / reference.len() as f64;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// mir_eval `beat.f_measure`: beats before 5 s are ignored on both sides, ±70 ms window.
pub fn beat_f_measure(reference: &[f64], estimate: &[f64]) -> f64 {
    let trim = |v: &[f64]| -> Vec<f64> { v.iter().copied().filter(|t| *t >= 5.0).collect() };
    f_measure(&trim(reference), &trim(estimate), 0.07)
}

/// mir_eval `segment.detection` (trim = False): boundary hit rate F within `window` seconds;
/// the lists hold every boundary including the first (0) and the last (end of the song).
pub fn boundary_f_measure(reference: &[f64], estimate: &[f64], window: f64) -> f64 {
    f_measure(reference, estimate, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_shifted_and_half_tempo() {
        let r: Vec<f64> = (0..100).map(|i| i as f64 * 0.5).collect();
        assert!((beat_f_measure(&r, &r) - 1.0).abs() < 1e-12);
        let shifted: Vec<f64> = r.iter().map(|t| t + 0.06).collect();
        assert!((beat_f_measure(&r, &shifted) - 1.0).abs() < 1e-12);
        let late: Vec<f64> = r.iter().map(|t| t + 0.08).collect();
        assert_eq!(beat_f_measure(&r, &late), 0.0);
        let half: Vec<f64> = r.iter().step_by(2).copied().collect();
        let f = beat_f_measure(&r, &half);
        assert!((f - 2.0 / 3.0).abs() < 0.01, "{f}");
    }
}
