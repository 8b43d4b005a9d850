//! Viterbi and forward–backward against brute-force enumeration; locks; the re-rank benchmark.

use phrasewise::choreo::decode::{Chain, path_log_prob};
use phrasewise::choreo::{DecodeSettings, TransitionMatrix, decode, decode_vec};

struct Lcg(u64);
impl Lcg {
    fn f(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
}

fn no_diversity() -> DecodeSettings {
    DecodeSettings::plain()
}

/// Unnormalised weights of every sequence under the locally normalised chain, with locks.
fn brute(
    scores: &[f32],
    dense: &[f32],
    k: usize,
    locks: &[Option<usize>],
    chain: Chain,
) -> Vec<(Vec<usize>, f64)> {
    let t_n = locks.len();
    let f: Vec<Vec<f64>> = (0..t_n)
        .map(|t| {
            let row = &scores[t * k..(t + 1) * k];
            let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            row.iter().map(|&s| f64::from((s - mx).exp())).collect()
        })
        .collect();
    let m = |i: usize, j: usize| f64::from(dense[i * k + j]);
    let z = |t: usize, i: usize| match chain {
        Chain::Local => (0..k).map(|j| f[t][j] * m(i, j)).sum::<f64>(),
        Chain::Global => 1.0,
    };
    let num = |t: usize, j: usize| match locks[t] {
        Some(l) if l == j => f[t][j].max(1e-6),
        Some(_) => 0.0,
        None => f[t][j],
    };
    let mut out = vec![];
    for code in 0..k.pow(t_n as u32) {
        let path: Vec<usize> = (0..t_n).map(|t| code / k.pow(t as u32) % k).collect();
        let mut w = num(0, path[0]) / f[0].iter().sum::<f64>();
        for t in 1..t_n {
            w *= num(t, path[t]) * m(path[t - 1], path[t]) / z(t, path[t - 1]);
        }
        out.push((path, w));
    }
    out
}

fn check_case(seed: u64, with_locks: bool) {
    for chain in [Chain::Global, Chain::Local] {
        check_case_chain(seed, with_locks, chain);
    }
}

fn check_case_chain(seed: u64, with_locks: bool, chain: Chain) {
    let (k, t_n) = (4usize, 5usize);
    let mut r = Lcg(seed);
    let dense: Vec<f32> = (0..k * k).map(|_| 0.01 + 0.99 * r.f()).collect();
    let mut scores: Vec<f32> = (0..t_n * k).map(|_| -4.0 * r.f()).collect();
    scores[(seed as usize * 3) % (t_n * k)] = f32::NEG_INFINITY;
    let mut locks = vec![None; t_n];
    if with_locks {
        locks[2] = Some((seed as usize) % k);
        locks[4] = Some((seed as usize + 1) % k);
    }
    let m = TransitionMatrix::from_dense(k, &dense).unwrap();
    let settings = DecodeSettings {
        chain,
        ..no_diversity()
    };
    let dec = decode(&scores, &locks, &m, &settings).unwrap();
    let all = brute(&scores, &dense, k, &locks, chain);
    let total: f64 = all.iter().map(|(_, w)| w).sum();
    for t in 0..t_n {
        for j in 0..k {
            let want: f64 = all
                .iter()
                .filter(|(p, _)| p[t] == j)
                .map(|(_, w)| w)
                .sum::<f64>()
                / total;
            let got = f64::from(dec.marginals[t * k + j]);
            assert!(
                (got - want).abs() < 1e-4,
                "seed {seed} slot {t} phrase {j}: {got} vs {want}"
            );
        }
    }
    let best = all
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| p.clone())
        .unwrap();
    assert_eq!(dec.path, best, "seed {seed}");
    if !with_locks {
        let w = all.iter().find(|(p, _)| *p == best).unwrap().1;
        assert!((path_log_prob(&scores, &best, &m, chain) - w.ln()).abs() < 1e-3);
    }
    for (t, l) in locks.iter().enumerate() {
        if let Some(l) = l {
            assert_eq!(dec.path[t], *l);
            assert!((dec.marginals[t * k + l] - 1.0).abs() < 1e-5);
        }
    }
}

#[test]
fn viterbi_and_marginals_match_brute_force() {
    for seed in 1..=20 {
        check_case(seed, false);
        check_case(seed, true);
    }
}

#[test]
fn structured_matrix_decodes_like_its_dense_copy() {
    let mut r = Lcg(99);
    let k = 12;
    let styles: Vec<String> = (0..k).map(|i| ["a", "b", "c"][i % 3].to_string()).collect();
    let mut m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).unwrap();
    m.set(0, 5, 0.02).unwrap();
    m.set(7, 1, 0.9).unwrap();
    let d = TransitionMatrix::from_dense(k, &m.to_dense()).unwrap();
    let t_n = 9;
    let scores: Vec<f32> = (0..t_n * k).map(|_| -3.0 * r.f()).collect();
    let mut locks = vec![None; t_n];
    locks[4] = Some(3);
    let a = decode(&scores, &locks, &m, &DecodeSettings::default()).unwrap();
    let b = decode(&scores, &locks, &d, &DecodeSettings::default()).unwrap();
    assert_eq!(a.path, b.path);
    for (x, y) in a.marginals.iter().zip(&b.marginals) {
        assert!((x - y).abs() < 1e-5);
    }
}

#[test]
fn locks_are_respected_and_neighbours_follow() {
    // two styles; every phrase scores the same, so the neighbours of a lock follow its style
    let k = 6;
    let styles: Vec<String> = (0..k)
        .map(|i| if i < 3 { "x" } else { "y" }.to_string())
        .collect();
    let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.05, 0.05).unwrap();
    let t_n = 5;
    let scores = vec![0.0f32; t_n * k];
    let style_at = |p: usize| p / 3;
    let mut locks = vec![None; t_n];
    locks[2] = Some(1);
    // diversity off: with three phrases per style its penalty would push later slots across
    let a = decode(&scores, &locks, &m, &no_diversity()).unwrap();
    assert_eq!(a.path[2], 1);
    assert_eq!(style_at(a.path[1]), 0);
    assert_eq!(style_at(a.path[3]), 0);
    assert_ne!(a.path[1], 1, "no immediate repeat");
    locks[2] = Some(4);
    let b = decode(&scores, &locks, &m, &no_diversity()).unwrap();
    assert_eq!(b.path[2], 4);
    assert_eq!(style_at(b.path[1]), 1);
    assert_eq!(style_at(b.path[3]), 1);
    // the marginals of the neighbours moved to the other style block
    let mass = |d: &phrasewise::choreo::Decoding, t: usize| -> f32 {
        d.marginals[t * k..t * k + 3].iter().sum()
    };
    assert!(
        mass(&a, 1) > 0.8 && mass(&b, 1) < 0.2,
        "{} {}",
        mass(&a, 1),
        mass(&b, 1)
    );
    assert!(mass(&a, 3) > 0.8 && mass(&b, 3) < 0.2);
    // a locked phrase the scorer rules out still holds
    let mut s2 = scores.clone();
    s2[2 * k + 5] = f32::NEG_INFINITY;
    locks[2] = Some(5);
    let c = decode(&s2, &locks, &m, &DecodeSettings::default()).unwrap();
    assert_eq!(c.path[2], 5);
    // a slot where nothing fits is reported
    let mut s3 = scores.clone();
    s3[0..k].fill(f32::NEG_INFINITY);
    let e = decode(&s3, &[None; 5], &m, &DecodeSettings::default()).unwrap();
    assert_eq!(e.empty_slots, vec![0]);
}

#[test]
fn diversity_avoids_reuse_within_the_window() {
    let k = 4;
    let styles = vec!["s".to_string(); k];
    let m = TransitionMatrix::style_blocks(&styles, 1.0, 1.0, 0.05).unwrap();
    // phrase 0 and 1 are the favourites everywhere: without diversity they alternate
    let t_n: usize = 6;
    let scores: Vec<f32> = (0..t_n).flat_map(|_| [0.0f32, -0.1, -1.0, -1.1]).collect();
    let plain = decode(&scores, &[None; 6], &m, &no_diversity()).unwrap();
    // [0,1,0,1,0,1] and [1,0,1,0,1,0] tie under the global chain: either alternation
    assert!(
        plain
            .path
            .windows(2)
            .all(|w| w[0] != w[1] && w[0] < 2 && w[1] < 2),
        "{:?}",
        plain.path
    );
    let div = decode(
        &scores,
        &[None; 6],
        &m,
        &DecodeSettings {
            diversity_window: 3,
            diversity_penalty: 0.01,
            ..DecodeSettings::default()
        },
    )
    .unwrap();
    let reuse = (1..t_n)
        .filter(|&t| div.path[t.saturating_sub(3)..t].contains(&div.path[t]))
        .count();
    assert!(reuse < 4, "{:?}", div.path);
    for t in 1..t_n {
        assert_ne!(div.path[t], div.path[t - 1]);
    }
}

/// Two phrases of one move are one move: the plain chain alternates the favourite move's two
/// phrases in every slot; the default variety penalties spread the dance over the three moves
/// (none back-to-back, none in more than a third of the slots plus one), while a person's
/// locks — even the same phrase twice in a row — are kept.
#[test]
fn variety_spreads_moves_and_keeps_locks() {
    let k = 6;
    let moves = [0u32, 0, 1, 1, 2, 2];
    let styles = vec!["s".to_string(); k];
    let m = TransitionMatrix::style_blocks(&styles, 1.0, 1.0, 0.05).unwrap();
    let t_n = 9usize;
    let row = [0.0f32, -0.1, -1.0, -1.1, -1.5, -1.6];
    let scores: Vec<f32> = (0..t_n).flat_map(|_| row).collect();
    let move_of = |path: &[usize]| -> Vec<u32> { path.iter().map(|&j| moves[j]).collect() };
    let plain = decode_vec(scores.clone(), &[None; 9], &m, &no_diversity(), &moves).unwrap();
    assert!(
        move_of(&plain.path).iter().all(|&mv| mv == 0),
        "{:?}",
        plain.path
    );
    let d = decode_vec(
        scores.clone(),
        &[None; 9],
        &m,
        &DecodeSettings::default(),
        &moves,
    )
    .unwrap();
    let mv = move_of(&d.path);
    assert!(mv.windows(2).all(|w| w[0] != w[1]), "{:?}", d.path);
    for x in 0..3 {
        let n = mv.iter().filter(|&&y| y == x).count();
        assert!(
            (2..=4).contains(&n),
            "move {x} danced {n} times: {:?}",
            d.path
        );
    }
    // the marginals are the chain's, whatever the path
    assert_eq!(d.marginals, plain.marginals);
    // locks win: the same phrase twice in a row where a person chose it
    let mut locks = [None; 9];
    locks[4] = Some(0);
    locks[5] = Some(0);
    let l = decode_vec(scores, &locks, &m, &DecodeSettings::default(), &moves).unwrap();
    assert_eq!((l.path[4], l.path[5]), (0, 0));
    assert_ne!(moves[l.path[3]], 0, "{:?}", l.path);
    assert_ne!(moves[l.path[6]], 0, "{:?}", l.path);
}

/// `cargo test --release --test integration choreo_decode:: -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_rerank_100_slots_1101_phrases() {
    let (k, t_n) = (1101usize, 100usize);
    let mut r = Lcg(5);
    let styles: Vec<String> = (0..k).map(|i| format!("style{}", i % 12)).collect();
    let mut m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).unwrap();
    for i in 0..k {
        m.set(i, (i * 31 + 7) % k, 0.5 + 0.5 * r.f()).unwrap();
    }
    let scores: Vec<f32> = (0..t_n * k)
        .map(|_| {
            let x = r.f();
            if x < 0.3 { f32::NEG_INFINITY } else { -6.0 * x }
        })
        .collect();
    let mut locks = vec![None; t_n];
    let settings = DecodeSettings::default();
    let _ = decode(&scores, &locks, &m, &settings).unwrap();
    let no_div = DecodeSettings::plain();
    for (name, s) in [("diversity on", &settings), ("diversity off", &no_div)] {
        let runs = 100;
        let t0 = std::time::Instant::now();
        for i in 0..runs {
            locks[(i * 7) % t_n] = Some(i % k);
            let d = decode(&scores, &locks, &m, s).unwrap();
            std::hint::black_box(d.path[0]);
        }
        let per = t0.elapsed().as_secs_f64() / runs as f64 * 1e3;
        println!(
            "re-rank {t_n} slots × {k} phrases ({} styles, {} exceptions), {name}: {per:.2} ms per decode",
            m.styles().len(),
            m.exceptions()
        );
    }
}

#[test]
#[ignore]
fn bench_pieces() {
    let k = 1101usize;
    let styles: Vec<String> = (0..k).map(|i| format!("style{}", i % 12)).collect();
    let m = TransitionMatrix::style_blocks(&styles, 1.0, 0.3, 0.05).unwrap();
    let a: Vec<f32> = (0..k).map(|i| (i % 17) as f32).collect();
    let mut out = vec![0.0; k];
    let t0 = std::time::Instant::now();
    for _ in 0..100 {
        m.mul_left(&a, &mut out);
        std::hint::black_box(&out);
    }
    println!("100 mul_left {:.3} ms", t0.elapsed().as_secs_f64() * 1e3);
    let mut arg = vec![0u32; k];
    let mut best = vec![0.0; k];
    let mut tops = vec![];
    let t0 = std::time::Instant::now();
    for _ in 0..100 {
        m.max_left(&a, &mut best, &mut arg, &mut tops);
        std::hint::black_box(&best);
    }
    println!("100 max_left {:.3} ms", t0.elapsed().as_secs_f64() * 1e3);
}

#[test]
fn global_chain_lets_a_later_unlocked_slot_rerank_an_earlier_one() {
    // K = 2; M strongly prefers staying on the same phrase. Slot 1's evidence for phrase 1
    // must pull slot 0 towards phrase 1 in the global chain, and not at all in the local one.
    let k = 2;
    let dense = [1.0, 0.05, 0.05, 1.0];
    let m = TransitionMatrix::from_dense(k, &dense).unwrap();
    let flat = [0.0f32, 0.0, 0.0, 0.0];
    let pulled = [0.0f32, 0.0, -3.0, 0.0];
    let locks = [None, None];
    for (chain, should_move) in [(Chain::Global, true), (Chain::Local, false)] {
        let s = DecodeSettings {
            chain,
            ..no_diversity()
        };
        let a = decode(&flat, &locks, &m, &s).unwrap();
        let b = decode(&pulled, &locks, &m, &s).unwrap();
        let moved = b.marginals[1] - a.marginals[1];
        if should_move {
            assert!(moved > 0.2, "{chain:?}: slot 0 moved by {moved}");
        } else {
            assert!(moved.abs() < 1e-6, "{chain:?}: slot 0 moved by {moved}");
        }
    }
}
