//! The dance-phrase transition matrix `M(d_{t−1}→d_t)` of Duan et al. 2020 (Eq. 5).
//!
//! `M` is K×K with entries in `[MIN_WEIGHT, 1]`. It is stored structurally: every phrase has
//! a style `s(i)`, a dense S×S block table gives `base[s(i)][s(j)]`, and a sparse list of
//! exceptions overrides single entries (the diagonal "same phrase twice" by default, and any
//! learned or user-set pair). A product with a vector then costs O(K + S² + nnz) instead of
//! O(K²): sum the vector per style, multiply by the block table, and correct the exceptions.

use super::ChoreoError;
use crate::motion::library::LibraryIndex;

/// Smallest weight an entry may have (nothing is ever strictly impossible).
pub const MIN_WEIGHT: f32 = 0.01;
/// Default weight between phrases of the same style.
pub const SAME_STYLE: f32 = 1.0;
/// Default weight between phrases of different styles.
pub const OTHER_STYLE: f32 = 0.3;
/// Default weight of a phrase following itself ("avoid the same phrase twice in a row
/// unless nothing else fits").
pub const REPEAT: f32 = 0.05;

/// Sparse exceptions indexed one way (CSR): for row `r`, entries `ptr[r]..ptr[r+1]`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Csr {
    ptr: Vec<u32>,
    idx: Vec<u32>,
    /// `value − base` at that entry.
    delta: Vec<f32>,
    /// `ln` of the entry's value.
    log_value: Vec<f32>,
}

impl Csr {
    fn build(k: usize, entries: impl Iterator<Item = (usize, usize, f32, f32)>) -> Csr {
        let mut rows: Vec<Vec<(u32, f32, f32)>> = vec![Vec::new(); k];
        for (r, c, d, v) in entries {
            rows[r].push((c as u32, d, v));
        }
        let mut out = Csr {
            ptr: Vec::with_capacity(k + 1),
            ..Csr::default()
        };
        out.ptr.push(0);
        for row in rows {
            for (c, d, v) in row {
                out.idx.push(c);
                out.delta.push(d);
                out.log_value.push(v.ln());
            }
            out.ptr.push(out.idx.len() as u32);
        }
        out
    }

    fn range(&self, r: usize) -> std::ops::Range<usize> {
        self.ptr[r] as usize..self.ptr[r + 1] as usize
    }
}

/// The K×K transition matrix, style blocks plus sparse exceptions.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionMatrix {
    k: usize,
    styles: Vec<String>,
    style_of: Vec<u32>,
    /// S×S, row = style of the previous phrase.
    base: Vec<f32>,
    /// Exceptions `(from, to) → value`, sorted.
    exceptions: Vec<(u32, u32, f32)>,
    by_from: Csr,
    by_to: Csr,
    /// `ln base`.
    log_base: Vec<f32>,
    /// Most exceptions pointing into one phrase.
    max_col_exceptions: usize,
    /// The weights to use next to a slot whose phrase is known (a locked slot), when they
    /// differ from these ([`Self::with_locked`]).
    locked: Option<Box<TransitionMatrix>>,
}

fn check_weight(v: f32) -> Result<f32, ChoreoError> {
    if v.is_finite() && (MIN_WEIGHT..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(ChoreoError::Invalid(format!(
            "transition weight {v} outside [{MIN_WEIGHT}, 1]"
        )))
    }
}

impl TransitionMatrix {
    /// A matrix from per-phrase style names, a style block table (`styles.len()²`, row =
    /// previous style) and exceptions `(from, to, value)`.
    pub fn new(
        style_names: &[String],
        base: Vec<f32>,
        styles_of_phrases: &[String],
        exceptions: &[(usize, usize, f32)],
    ) -> Result<TransitionMatrix, ChoreoError> {
        let s = style_names.len();
        if base.len() != s * s {
            return Err(ChoreoError::Invalid(format!(
                "style table has {} entries for {s} styles",
                base.len()
            )));
        }
        for &v in &base {
            check_weight(v)?;
        }
        let mut style_of = Vec::with_capacity(styles_of_phrases.len());
        for name in styles_of_phrases {
            let Some(i) = style_names.iter().position(|n| n == name) else {
                return Err(ChoreoError::Invalid(format!("unknown style `{name}`")));
            };
            style_of.push(i as u32);
        }
        let mut m = TransitionMatrix {
            k: styles_of_phrases.len(),
            styles: style_names.to_vec(),
            style_of,
            base,
            exceptions: Vec::new(),
            by_from: Csr::default(),
            by_to: Csr::default(),
            log_base: Vec::new(),
            max_col_exceptions: 0,
            locked: None,
        };
        let mut ex = Vec::with_capacity(exceptions.len());
        for &(i, j, v) in exceptions {
            if i >= m.k || j >= m.k {
                return Err(ChoreoError::Invalid(format!(
                    "exception ({i}, {j}) outside a {0}×{0} matrix",
                    m.k
                )));
            }
            ex.push((i as u32, j as u32, check_weight(v)?));
        }
        ex.sort_by_key(|a| (a.0, a.1));
        ex.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0 && later.1 == earlier.1;
            if same {
                earlier.2 = later.2;
            }
            same
        });
        m.exceptions = ex;
        m.rebuild();
        Ok(m)
    }

    /// The default matrix over `styles_of_phrases`: [`SAME_STYLE`] within a style,
    /// [`OTHER_STYLE`] across styles and `repeat` on the diagonal.
    pub fn style_blocks(
        styles_of_phrases: &[String],
        same: f32,
        other: f32,
        repeat: f32,
    ) -> Result<TransitionMatrix, ChoreoError> {
        let mut names: Vec<String> = styles_of_phrases.to_vec();
        names.sort();
        names.dedup();
        let s = names.len();
        let base = (0..s * s)
            .map(|x| if x / s == x % s { same } else { other })
            .collect();
        let diag: Vec<(usize, usize, f32)> = (0..styles_of_phrases.len())
            .map(|i| (i, i, repeat))
            .collect();
        TransitionMatrix::new(&names, base, styles_of_phrases, &diag)
    }

    /// The cold-start matrix for a library (phrase order = index order).
    pub fn for_library(index: &LibraryIndex) -> Result<TransitionMatrix, ChoreoError> {
        let styles: Vec<String> = index.phrases.iter().map(|p| p.style.clone()).collect();
        TransitionMatrix::style_blocks(&styles, SAME_STYLE, OTHER_STYLE, REPEAT)
    }

    /// A matrix given densely (row-major K×K); every phrase becomes its own style, so this is
    /// exact but costs O(K²) per step. For tests and small libraries.
    pub fn from_dense(k: usize, dense: &[f32]) -> Result<TransitionMatrix, ChoreoError> {
        if dense.len() != k * k {
            return Err(ChoreoError::Invalid(format!(
                "dense matrix has {} entries, expected {}",
                dense.len(),
                k * k
            )));
        }
        let names: Vec<String> = (0..k).map(|i| format!("#{i}")).collect();
        TransitionMatrix::new(&names, dense.to_vec(), &names, &[])
    }

    fn rebuild(&mut self) {
        let s = self.styles.len();
        let base = &self.base;
        let so = &self.style_of;
        let entries = || {
            self.exceptions.iter().map(|&(i, j, v)| {
                let b = base[so[i as usize] as usize * s + so[j as usize] as usize];
                (i as usize, j as usize, v - b, v)
            })
        };
        self.by_from = Csr::build(self.k, entries());
        self.by_to = Csr::build(self.k, entries().map(|(i, j, d, v)| (j, i, d, v)));
        self.log_base = self.base.iter().map(|b| b.ln()).collect();
        self.max_col_exceptions = (0..self.k)
            .map(|j| self.by_to.range(j).len())
            .max()
            .unwrap_or(0);
    }

    /// Number of phrases K.
    pub fn len(&self) -> usize {
        self.k
    }

    /// True for a 0×0 matrix.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }

    /// Number of styles S.
    pub fn styles(&self) -> &[String] {
        &self.styles
    }

    /// Number of sparse exceptions.
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// This matrix with `locked` as the weights next to a locked slot: a trained model's M
    /// raised to the weight fitted for a known neighbour (`w_L`) where this one holds `M^w`
    /// for two slots the decoder chooses (`crate::model::evaluation::ChainModel`). Applied by
    /// [`Self::add_locked_neighbours`].
    pub fn with_locked(mut self, locked: TransitionMatrix) -> Result<Self, ChoreoError> {
        if locked.k != self.k {
            return Err(ChoreoError::Invalid(format!(
                "a {}-phrase matrix for locked neighbours of a {}-phrase matrix",
                locked.k, self.k
            )));
        }
        self.locked = Some(Box::new(TransitionMatrix {
            locked: None,
            ..locked
        }));
        Ok(self)
    }

    /// The weights next to a locked slot, when they differ from these.
    pub fn locked(&self) -> Option<&TransitionMatrix> {
        self.locked.as_deref()
    }

    /// Moves the difference between the locked-neighbour weights and these into the unary
    /// scores (row-major T×K) of each unlocked slot next to a locked one: after a slot locked
    /// to `a`, `ln L(a→j) − ln M(a→j)` is added to phrase `j`; before a slot locked to `b`,
    /// `ln L(i→b) − ln M(i→b)`. The locked phrase is a single value, so its edges are unary
    /// terms of the neighbour and the chain's decoder keeps one matrix. No-op without
    /// locked-neighbour weights; `−∞` scores stay `−∞`.
    pub fn add_locked_neighbours(&self, scores: &mut [f32], locks: &[Option<usize>]) {
        let Some(l) = self.locked() else {
            return;
        };
        let k = self.k;
        if scores.len() != locks.len() * k {
            return;
        }
        let diff = |i: usize, j: usize| l.get(i, j).ln() - self.get(i, j).ln();
        for (t, lock) in locks.iter().enumerate() {
            let Some(a) = *lock else { continue };
            if a >= k {
                continue;
            }
            if let Some(None) = locks.get(t + 1) {
                for (j, s) in scores[(t + 1) * k..(t + 2) * k].iter_mut().enumerate() {
                    if s.is_finite() {
                        *s += diff(a, j);
                    }
                }
            }
            if t > 0 && locks[t - 1].is_none() {
                for (i, s) in scores[(t - 1) * k..t * k].iter_mut().enumerate() {
                    if s.is_finite() {
                        *s += diff(i, a);
                    }
                }
            }
        }
    }

    /// `M(i→j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        if let Ok(p) = self
            .exceptions
            .binary_search_by_key(&(i as u32, j as u32), |e| (e.0, e.1))
        {
            return self.exceptions[p].2;
        }
        self.base[self.style_of[i] as usize * self.styles.len() + self.style_of[j] as usize]
    }

    /// Sets `M(i→j)` (as an exception to the style block).
    pub fn set(&mut self, i: usize, j: usize, v: f32) -> Result<(), ChoreoError> {
        let v = check_weight(v)?;
        if i >= self.k || j >= self.k {
            return Err(ChoreoError::Invalid(format!(
                "({i}, {j}) outside the matrix"
            )));
        }
        match self
            .exceptions
            .binary_search_by_key(&(i as u32, j as u32), |e| (e.0, e.1))
        {
            Ok(p) => self.exceptions[p].2 = v,
            Err(p) => self.exceptions.insert(p, (i as u32, j as u32, v)),
        }
        self.rebuild();
        Ok(())
    }

    /// The dense row-major K×K matrix.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut d = Vec::with_capacity(self.k * self.k);
        for i in 0..self.k {
            for j in 0..self.k {
                d.push(self.get(i, j));
            }
        }
        d
    }

    /// `out[j] = Σ_i a[i]·M(i→j)` (propagate forward). `out.len() == a.len() == K`.
    pub fn mul_left(&self, a: &[f32], out: &mut [f32]) {
        let s = self.styles.len();
        let mut per_style = vec![0.0f32; s];
        for (x, &st) in a.iter().zip(&self.style_of) {
            per_style[st as usize] += x;
        }
        // col[sj] = Σ_si per_style[si]·base[si][sj]
        let mut col = vec![0.0f32; s];
        for (si, &ps) in per_style.iter().enumerate() {
            if ps != 0.0 {
                let row = &self.base[si * s..(si + 1) * s];
                for (c, &b) in col.iter_mut().zip(row) {
                    *c += ps * b;
                }
            }
        }
        for (o, &st) in out.iter_mut().zip(&self.style_of) {
            *o = col[st as usize];
        }
        let t = &self.by_to;
        for (j, o) in out.iter_mut().enumerate() {
            for e in t.range(j) {
                *o += a[t.idx[e] as usize] * t.delta[e];
            }
        }
    }

    /// `out[i] = Σ_j M(i→j)·v[j]` (propagate backward).
    pub fn mul_right(&self, v: &[f32], out: &mut [f32]) {
        let s = self.styles.len();
        let mut per_style = vec![0.0f32; s];
        for (x, &st) in v.iter().zip(&self.style_of) {
            per_style[st as usize] += x;
        }
        let row: Vec<f32> = (0..s)
            .map(|si| {
                self.base[si * s..(si + 1) * s]
                    .iter()
                    .zip(&per_style)
                    .map(|(b, p)| b * p)
                    .sum()
            })
            .collect();
        for (o, &st) in out.iter_mut().zip(&self.style_of) {
            *o = row[st as usize];
        }
        let f = &self.by_from;
        for (i, o) in out.iter_mut().enumerate() {
            for e in f.range(i) {
                *o += f.delta[e] * v[f.idx[e] as usize];
            }
        }
    }

    /// Max-product step of Viterbi in log space:
    /// `best[j] = max_i (d[i] + ln M(i→j))`, `arg[j]` the maximising `i`. Exact: at most
    /// `c` exceptions point into any `j`, so per style the `c + 1` largest `d` (ties to the
    /// lower index) contain the style's best block entry for every `j`, and the `c + 1`
    /// largest of those plus the block weight contain the best block entry into any phrase of
    /// a destination style; exceptions into `j` are scored explicitly.
    /// O(K·(c + 1) + S²·(c + 1)² + nnz). `tops` is scratch, reused between calls.
    pub fn max_left(
        &self,
        d: &[f32],
        best: &mut [f32],
        arg: &mut [u32],
        tops: &mut Vec<(f32, u32)>,
    ) {
        let s = self.styles.len();
        let m = self.max_col_exceptions + 1;
        const NONE: (f32, u32) = (f32::NEG_INFINITY, u32::MAX);
        tops.clear();
        // S·m per source style, then S·m per destination style.
        tops.resize(2 * s * m, NONE);
        let (tops, cands) = tops.split_at_mut(s * m);
        for (i, (&v, &st)) in d.iter().zip(&self.style_of).enumerate() {
            if v == f32::NEG_INFINITY {
                continue;
            }
            let row = &mut tops[st as usize * m..(st as usize + 1) * m];
            if v > row[m - 1].0 {
                let mut p = m - 1;
                while p > 0 && v > row[p - 1].0 {
                    row[p] = row[p - 1];
                    p -= 1;
                }
                row[p] = (v, i as u32);
            }
        }
        // Per destination style: the m best of every style's top entries plus the block
        // weight, best first (ties to the lower index); the first one that is not an
        // exception into `j` is the best block entry for `j`.
        let better = |a: (f32, u32), b: (f32, u32)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
        for sj in 0..s {
            let out = &mut cands[sj * m..(sj + 1) * m];
            for si in 0..s {
                let lb = self.log_base[si * s + sj];
                for &(v, i) in &tops[si * m..(si + 1) * m] {
                    if i == u32::MAX {
                        break;
                    }
                    let e = (v + lb, i);
                    if !better(e, out[m - 1]) {
                        continue;
                    }
                    let mut p = m - 1;
                    while p > 0 && better(e, out[p - 1]) {
                        out[p] = out[p - 1];
                        p -= 1;
                    }
                    out[p] = e;
                }
            }
        }
        let t = &self.by_to;
        for j in 0..self.k {
            let sj = self.style_of[j] as usize;
            let c = &cands[sj * m..(sj + 1) * m];
            let exc = &t.idx[t.range(j)];
            // The first candidate that is not an exception into `j` (an empty slot, index
            // u32::MAX, ends the list). One exception (the diagonal, in every default
            // matrix) is the common case and gets a branch of its own: then m ≥ 2.
            let (mut bv, mut ba) = match exc {
                [] => c[0],
                [e] if c[0].1 != *e => c[0],
                [_] => c[1],
                _ => c
                    .iter()
                    .copied()
                    .find(|&(_, i)| i == u32::MAX || !exc.contains(&i))
                    .unwrap_or(NONE),
            };
            for e in t.range(j) {
                let i = t.idx[e];
                let v = d[i as usize] + t.log_value[e];
                if v > bv || (v == bv && i < ba) {
                    bv = v;
                    ba = i;
                }
            }
            best[j] = bv;
            arg[j] = if ba == u32::MAX { 0 } else { ba };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32) / (1u64 << 24) as f32
    }

    fn random_matrix(seed: &mut u64, k: usize) -> TransitionMatrix {
        let names: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        let styles: Vec<String> = (0..k).map(|i| names[i % 3].clone()).collect();
        let base = (0..9).map(|_| 0.01 + 0.99 * lcg(seed)).collect();
        let mut ex = vec![];
        for i in 0..k {
            ex.push((i, i, 0.05));
            ex.push((i, (i * 7 + 3) % k, 0.01 + 0.99 * lcg(seed)));
        }
        TransitionMatrix::new(&names, base, &styles, &ex).unwrap()
    }

    #[test]
    fn structured_products_match_dense() {
        let mut seed = 7;
        let k = 23;
        let m = random_matrix(&mut seed, k);
        let dense = m.to_dense();
        let a: Vec<f32> = (0..k).map(|_| lcg(&mut seed)).collect();
        let mut out = vec![0.0; k];
        m.mul_left(&a, &mut out);
        for j in 0..k {
            let want: f32 = (0..k).map(|i| a[i] * dense[i * k + j]).sum();
            assert!((out[j] - want).abs() < 1e-4, "{j}: {} vs {want}", out[j]);
        }
        m.mul_right(&a, &mut out);
        for i in 0..k {
            let want: f32 = (0..k).map(|j| dense[i * k + j] * a[j]).sum();
            assert!((out[i] - want).abs() < 1e-4);
        }
        let (mut best, mut arg, mut order) = (vec![0.0; k], vec![0u32; k], vec![]);
        max_left_matches_dense(&m, &mut seed, &mut best, &mut arg, &mut order);
        // Many exceptions into a few phrases (c up to 9), several styles with nothing
        // possible, the scratch reused between matrices of different shapes.
        for round in 0..20 {
            let k = 40 + round;
            let names: Vec<String> = (0..5).map(|s| format!("s{s}")).collect();
            let styles: Vec<String> = (0..k).map(|i| names[i % 5].clone()).collect();
            let base = (0..25).map(|_| 0.01 + 0.99 * lcg(&mut seed)).collect();
            let mut ex = vec![];
            for i in 0..k {
                ex.push((i, i, 0.05));
                if i % 4 == 0 {
                    ex.push((i, round % 3, 0.01 + 0.99 * lcg(&mut seed)));
                }
            }
            let m = TransitionMatrix::new(&names, base, &styles, &ex).unwrap();
            let (mut best, mut arg) = (vec![0.0; k], vec![0u32; k]);
            max_left_matches_dense(&m, &mut seed, &mut best, &mut arg, &mut order);
        }
    }

    fn max_left_matches_dense(
        m: &TransitionMatrix,
        seed: &mut u64,
        best: &mut [f32],
        arg: &mut [u32],
        order: &mut Vec<(f32, u32)>,
    ) {
        let k = m.len();
        let dense = m.to_dense();
        let mut d: Vec<f32> = (0..k).map(|_| -5.0 * lcg(seed)).collect();
        d[4] = f32::NEG_INFINITY;
        // A style with nothing possible (indices ≡ 1 mod the style count, for even seeds).
        if seed.is_multiple_of(2) {
            for i in (1..k).step_by(m.styles().len()) {
                d[i] = f32::NEG_INFINITY;
            }
        }
        m.max_left(&d, best, arg, order);
        for j in 0..k {
            let (mut bv, mut ba) = (f32::NEG_INFINITY, 0);
            for i in 0..k {
                let v = d[i] + dense[i * k + j].ln();
                if v > bv {
                    bv = v;
                    ba = i;
                }
            }
            assert!((best[j] - bv).abs() < 1e-5, "{j}: {} vs {bv}", best[j]);
            assert_eq!(arg[j] as usize, ba, "{j}");
        }
    }

    #[test]
    fn defaults_and_validation() {
        let st: Vec<String> = ["x", "x", "y"]
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        let mut m = TransitionMatrix::style_blocks(&st, 1.0, 0.3, 0.05).unwrap();
        assert_eq!(m.get(0, 1), 1.0);
        assert_eq!(m.get(0, 2), 0.3);
        assert_eq!(m.get(1, 1), 0.05);
        assert!(m.set(0, 2, 2.0).is_err());
        m.set(0, 2, 0.5).unwrap();
        assert_eq!(m.get(0, 2), 0.5);
        assert!(TransitionMatrix::from_dense(2, &[1.0, 0.0, 1.0, 1.0]).is_err());
    }

    #[test]
    fn locked_neighbours_take_the_locked_weights_as_unary_terms() {
        let m = TransitionMatrix::from_dense(3, &[0.5, 0.25, 0.25, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6])
            .unwrap();
        let l = TransitionMatrix::from_dense(3, &[0.9, 0.05, 0.05, 0.1, 0.8, 0.1, 0.01, 0.01, 1.0])
            .unwrap();
        // Without locked weights nothing changes.
        let mut scores = vec![0.0f32; 9];
        m.add_locked_neighbours(&mut scores, &[None, Some(0), None]);
        assert!(scores.iter().all(|&s| s == 0.0));
        let m = m.with_locked(l.clone()).unwrap();
        assert_eq!(m.locked(), Some(&l));
        let mut scores = vec![0.0f32; 9];
        scores[2] = f32::NEG_INFINITY;
        m.add_locked_neighbours(&mut scores, &[None, Some(0), None]);
        // slot 2 follows phrase 0: ln L(0→j) − ln M(0→j)
        for j in 0..3 {
            let want = l.get(0, j).ln() - m.get(0, j).ln();
            assert!(
                (scores[6 + j] - want).abs() < 1e-6,
                "{j}: {}",
                scores[6 + j]
            );
        }
        // slot 0 precedes phrase 0: ln L(i→0) − ln M(i→0); −∞ stays −∞
        assert!((scores[0] - (l.get(0, 0).ln() - m.get(0, 0).ln())).abs() < 1e-6);
        assert!((scores[1] - (l.get(1, 0).ln() - m.get(1, 0).ln())).abs() < 1e-6);
        assert_eq!(scores[2], f32::NEG_INFINITY);
        // the locked slot itself is untouched
        assert!(scores[3..6].iter().all(|&s| s == 0.0));
        // sizes must agree
        assert!(
            TransitionMatrix::from_dense(2, &[1.0; 4])
                .unwrap()
                .with_locked(l)
                .is_err()
        );
    }
}
