//! glibc's allocator set for training while a [`TrainingHeap`] is alive.
//!
//! Why: a pretraining step allocates and frees the same activation, gradient and im2col
//! buffers (up to tens of MB) at every step. glibc serves each block above its `mmap`
//! threshold (128 KiB at start, adapting up to 32 MiB) with a fresh `mmap` and unmaps it when
//! freed, so every step paid page faults, TLB shootdowns between the two rayon threads and the
//! kernel's zeroing again: ~19 % of a compact pretraining step's samples in `perf`. With the
//! threshold at glibc's maximum (32 MiB on 64-bit; a larger value is refused, which an earlier
//! attempt at 256 MiB fell into) and freed memory kept instead of trimmed, the buffers are
//! reused from the heap (`mallopt(3)`: `M_MMAP_THRESHOLD`, `M_TRIM_THRESHOLD`), and the heap
//! grows and shrinks by a 64 MiB pad (`M_TOP_PAD`; measured to halve the remaining page
//! faults). Blocks above 32 MiB are still mapped per
//! use, so the training ops build their im2col matrices in batch chunks below it
//! ([`super::kernels::COLS_BYTES`]).
//!
//! The settings are process-wide, so the guard counts its holders (the editor trains inside
//! its own process) and the last one to go puts glibc's start values back and hands the
//! kept memory to the system (`malloc_trim(3)`). Any `mallopt` of the two thresholds turns glibc's
//! dynamic raising of the threshold off for the rest of the process, so afterwards it stays
//! at its start value, 128 KiB, the conservative end. Elsewhere than linux-gnu it does
//! nothing.

use std::sync::Mutex;

/// Largest `M_MMAP_THRESHOLD` glibc accepts on 64-bit (`HEAP_MAX_SIZE / 2`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Freed memory at the top of the heap kept for the next step rather than given back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 1 << 30;
/// Extra memory asked of the system whenever a heap grows, and kept when it shrinks
/// (`M_TOP_PAD`): with the trim threshold alone the step still faulted in ≈ 70 MB of fresh
/// pages (`perf stat -e page-faults`, 18 000 a step of 16); 64 MiB halves that (256 MiB no
/// better).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TOP_PAD: i32 = 64 << 20;
/// glibc's start value of `M_TOP_PAD` (`DEFAULT_TOP_PAD`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const GLIBC_TOP_PAD: i32 = 128 << 10;
/// glibc's start value of both thresholds (`DEFAULT_MMAP_THRESHOLD_MIN`,
/// `DEFAULT_TRIM_THRESHOLD`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const GLIBC_DEFAULT: i32 = 128 << 10;

/// A count of holders and whether the first one's settings were taken: the first to come
/// sets, the last to go resets, both under the lock so that a holder never sees the settings
/// half made.
struct Holders(Mutex<(usize, bool)>);

impl Holders {
    /// Counts one more, running `set` for the first; whether the settings were taken.
    fn enter(&self, set: impl FnOnce() -> bool) -> bool {
        let mut g = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.0 == 0 {
            g.1 = set();
        }
        g.0 += 1;
        g.1
    }

    /// Counts one less, running `reset` for the last.
    fn leave(&self, reset: impl FnOnce()) {
        let mut g = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.0 = g.0.saturating_sub(1);
        if g.0 == 0 {
            reset();
        }
    }
}

/// The [`TrainingHeap`]s alive.
static HOLDERS: Holders = Holders(Mutex::new((0, false)));

/// While alive, glibc keeps training's large buffers for reuse (see the module doc).
#[derive(Debug)]
pub struct TrainingHeap {
    applied: bool,
}

impl TrainingHeap {
    /// Sets the training values if this is the first holder.
    pub fn hold() -> Self {
        TrainingHeap {
            applied: HOLDERS.enter(|| set_thresholds(true)),
        }
    }

    /// Whether glibc took the training values (false elsewhere than linux-gnu, or if it
    /// refused one).
    pub fn applied(&self) -> bool {
        self.applied
    }
}

impl Drop for TrainingHeap {
    fn drop(&mut self) {
        HOLDERS.leave(|| {
            set_thresholds(false);
        });
    }
}

/// Training values (`on`) or glibc's start values, then (when off) the kept memory back to
/// the system. Returns whether glibc took every value.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds(on: bool) -> bool {
    let (mmap, trim, pad) = if on {
        (MMAP_THRESHOLD, TRIM_THRESHOLD, TOP_PAD)
    } else {
        (GLIBC_DEFAULT, GLIBC_DEFAULT, GLIBC_TOP_PAD)
    };
    let mut ok = true;
    for (param, value) in [
        (libc::M_MMAP_THRESHOLD, mmap),
        (libc::M_TRIM_THRESHOLD, trim),
        (libc::M_TOP_PAD, pad),
    ] {
        // SAFETY: `mallopt` takes two integers, touches no memory of ours and sets allocator
        // parameters under glibc's own lock; it may be called from any thread at any time.
        // It returns 0 when it refuses a value.
        if unsafe { libc::mallopt(param, value) } == 0 {
            tracing::debug!("mallopt({param}, {value}) refused; allocator unchanged");
            ok = false;
        }
    }
    if !on {
        // SAFETY: `malloc_trim` only returns free heap pages to the system, under glibc's lock.
        unsafe { libc::malloc_trim(0) };
    }
    ok
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds(_on: bool) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_holder_sets_and_the_last_resets() {
        let h = Holders(Mutex::new((0, false)));
        let (mut sets, mut resets) = (0, 0);
        assert!(h.enter(|| {
            sets += 1;
            true
        }));
        assert!(
            h.enter(|| unreachable!("set twice")),
            "a later holder sees the first's"
        );
        h.leave(|| resets += 1);
        assert_eq!(resets, 0);
        h.leave(|| resets += 1);
        assert_eq!((sets, resets), (1, 1));
        assert!(
            !h.enter(|| false),
            "counting starts again, a refusal is reported"
        );
        h.leave(|| resets += 1);
        assert_eq!(resets, 2);
    }

    #[test]
    fn glibc_takes_the_training_values() {
        // on linux-gnu all values are within glibc's limits: a refused value (a threshold
        // above 32 MiB) leaves the allocator as it was and training pays the page faults again
        let gnu = cfg!(all(target_os = "linux", target_env = "gnu"));
        let heap = TrainingHeap::hold();
        assert_eq!(heap.applied(), gnu);
        assert_eq!(set_thresholds(true), gnu);
        drop(heap);
    }
}
