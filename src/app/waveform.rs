//! Min/max waveform envelope at every zoom level: a pyramid of (min, max) buckets, each level
//! halving the previous one (the mip-map approach audio editors such as Audacity's
//! "summary" blocks use). Drawing a view of any width reads one level whose bucket is no
//! wider than a screen column, so a 10-minute song draws in O(columns), not O(samples).

/// Samples per bucket at the finest level.
pub const BASE_BUCKET: usize = 32;

/// The envelope pyramid of one song.
#[derive(Debug, Clone)]
pub struct Envelope {
    sample_rate: u32,
    len: usize,
    /// `levels[l]` holds (min, max) buckets of `BASE_BUCKET · 2^l` samples.
    levels: Vec<Vec<(f32, f32)>>,
}

impl Envelope {
    /// Builds the pyramid of mono `samples` at `sample_rate` Hz.
    pub fn new(samples: &[f32], sample_rate: u32) -> Envelope {
        let base: Vec<(f32, f32)> = samples
            .chunks(BASE_BUCKET)
            .map(|c| {
                c.iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    })
            })
            .collect();
        let mut levels = vec![base];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next: Vec<(f32, f32)> = levels
                .last()
                .map(|l| {
                    l.chunks(2)
                        .map(|p| {
                            p.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| {
                                (a.0.min(b.0), a.1.max(b.1))
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            levels.push(next);
        }
        Envelope {
            sample_rate,
            len: samples.len(),
            levels,
        }
    }

    /// Song length (s).
    pub fn duration(&self) -> f64 {
        self.len as f64 / f64::from(self.sample_rate.max(1))
    }

    /// (min, max) of each of `columns` equal slices of `[t0, t1)` seconds; `None` for a
    /// column outside the song.
    pub fn columns(&self, t0: f64, t1: f64, columns: usize) -> Vec<Option<(f32, f32)>> {
        let sr = f64::from(self.sample_rate.max(1));
        let per_col = ((t1 - t0) * sr / columns.max(1) as f64).max(1e-9);
        // Coarsest level whose bucket still fits in a column.
        let mut level = 0;
        while level + 1 < self.levels.len() && (BASE_BUCKET << (level + 1)) as f64 <= per_col {
            level += 1;
        }
        let bucket = (BASE_BUCKET << level) as f64;
        let data = &self.levels[level];
        (0..columns)
            .map(|c| {
                let s0 = t0 * sr + c as f64 * per_col;
                let s1 = s0 + per_col;
                if s1 <= 0.0 || s0 >= self.len as f64 {
                    return None;
                }
                let b0 = (s0.max(0.0) / bucket).floor() as usize;
                let b1 = ((s1 / bucket).ceil() as usize).clamp(b0 + 1, data.len());
                let (lo, hi) = data
                    .get(b0..b1)?
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| {
                        (a.0.min(b.0), a.1.max(b.1))
                    });
                lo.is_finite().then_some((lo, hi))
            })
            .collect()
    }

    /// Number of pyramid levels (for tests and diagnostics).
    pub fn levels(&self) -> usize {
        self.levels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_cover_the_true_extremes() {
        let sr = 1000;
        let s: Vec<f32> = (0..10_000)
            .map(|i| ((i as f32) * 0.013).sin() * (i as f32 / 10_000.0))
            .collect();
        let env = Envelope::new(&s, sr);
        assert!(env.levels() > 5);
        for cols in [7usize, 100, 900, 5000] {
            let c = env.columns(1.0, 9.0, cols);
            assert_eq!(c.len(), cols);
            let per = 8000.0 / cols as f64;
            for (k, col) in c.iter().enumerate() {
                let a = 1000 + (k as f64 * per) as usize;
                let b = (1000 + ((k + 1) as f64 * per) as usize).max(a + 1);
                let lo = s[a..b].iter().copied().fold(f32::INFINITY, f32::min);
                let hi = s[a..b].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let (elo, ehi) = col.expect("inside the song");
                // The envelope may be wider (bucket rounding) but never narrower.
                assert!(elo <= lo + 1e-6 && ehi >= hi - 1e-6, "col {k} of {cols}");
                // ... and not much wider than the column plus one bucket either side.
                let pad = (BASE_BUCKET << 8).min(b - a + 2 * BASE_BUCKET * 64);
                let a2 = a.saturating_sub(pad);
                let b2 = (b + pad).min(s.len());
                let lo2 = s[a2..b2].iter().copied().fold(f32::INFINITY, f32::min);
                let hi2 = s[a2..b2].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                assert!(elo >= lo2 - 1e-6 && ehi <= hi2 + 1e-6);
            }
        }
        let outside = env.columns(-5.0, -1.0, 4);
        assert!(outside.iter().all(Option::is_none));
        assert!((env.duration() - 10.0).abs() < 1e-9);
    }
}
