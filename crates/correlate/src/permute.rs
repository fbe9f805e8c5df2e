//! The permutation machinery of one pair: its seeded stream, the block permutation of `b`, and the
//! per-lag Pearson correlation of `a` against a (permuted) `b` from window sums.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The random stream of one pair: keyed by the SHA-256 of the run's seed and the pair's identity, so
/// it does not depend on which tests ran before it.
pub(crate) fn stream(seed: u64, identity: &[&str], district: u8) -> ChaCha8Rng {
    let mut hash = Sha256::new();
    hash.update(b"correlate/pair/v1");
    hash.update(seed.to_le_bytes());
    for part in identity {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.update([district]);
    ChaCha8Rng::from_seed(hash.finalize().into())
}

/// Block length for a series of `n` weeks: `max(4, ⌈n^{1/3}⌉)`, at most a third of the series.
pub(crate) fn block_weeks(n: usize) -> usize {
    let cube_root = (n as f64).cbrt().ceil() as usize;
    cube_root.max(4).min((n / 3).max(1))
}

/// `b`'s values and validity mask, twice over (so any rotation's block is one contiguous slice), and
/// the buffers a permutation is written into.
pub(crate) struct BlockPermuter {
    n: usize,
    block: usize,
    doubled_values: Vec<f64>,
    doubled_mask: Vec<f64>,
    order: Vec<usize>,
    pub(crate) values: Vec<f64>,
    pub(crate) mask: Vec<f64>,
}

impl BlockPermuter {
    /// `values` with NaN already replaced by 0 and `mask` 1 for valid weeks, 0 for missing ones.
    pub(crate) fn new(values: &[f64], mask: &[f64]) -> Self {
        let n = values.len();
        let block = block_weeks(n);
        BlockPermuter {
            n,
            block,
            doubled_values: values.iter().chain(values).copied().collect(),
            doubled_mask: mask.iter().chain(mask).copied().collect(),
            order: (0..n.div_ceil(block)).collect(),
            values: values.to_vec(),
            mask: mask.to_vec(),
        }
    }

    /// Rotates `b` by a uniform offset, cuts it into blocks and writes them in a uniform order.
    pub(crate) fn permute(&mut self, rng: &mut ChaCha8Rng, with_mask: bool) {
        let offset = rng.random_range(0..self.n);
        self.order.shuffle(rng);
        let mut at = 0;
        for &b in &self.order {
            let start = b * self.block;
            let len = self.block.min(self.n - start);
            let from = offset + start;
            self.values[at..at + len].copy_from_slice(&self.doubled_values[from..from + len]);
            if with_mask {
                self.mask[at..at + len].copy_from_slice(&self.doubled_mask[from..from + len]);
            }
            at += len;
        }
    }
}

/// The weeks one lag pairs: `a[a_start + i]` with `b[b_start + i]` for `i < len`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub a_start: usize,
    pub b_start: usize,
    pub len: usize,
}

/// `Σ x[i] y[i]` in four independent lanes, so the loop vectorizes without reassociating one sum.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let (x4, x_rest) = x.split_at(x.len() - x.len() % 4);
    let (y4, y_rest) = y.split_at(x4.len());
    for (xs, ys) in x4.chunks_exact(4).zip(y4.chunks_exact(4)) {
        for l in 0..4 {
            lanes[l] += xs[l] * ys[l];
        }
    }
    let tail: f64 = x_rest.iter().zip(y_rest).map(|(a, b)| a * b).sum();
    lanes.iter().sum::<f64>() + tail
}

/// Pearson's r from the six sums; `None` when either side has no variance in the window.
fn pearson(n: f64, sa: f64, saa: f64, sb: f64, sbb: f64, sab: f64) -> Option<f64> {
    let va = n * saa - sa * sa;
    let vb = n * sbb - sb * sb;
    // Relative to the scale of the sums: a constant window leaves only rounding.
    let tiny = 1e-12;
    let constant = |v: f64, squares: f64| v.is_nan() || v <= 0.0 || v <= tiny * n * squares.abs();
    if constant(va, saa) || constant(vb, sbb) {
        return None;
    }
    Some(((n * sab - sa * sb) / (va * vb).sqrt()).clamp(-1.0, 1.0))
}

/// `a` prepared for repeated correlations against permutations of `b`: values with NaN as 0, their
/// squares and the mask, plus the window sums that do not change when `b` has no missing week.
pub(crate) struct Side {
    values: Vec<f64>,
    squares: Vec<f64>,
    mask: Vec<f64>,
}

impl Side {
    pub(crate) fn new(values: &[f64], mask: &[f64]) -> Self {
        Side {
            values: values.to_vec(),
            squares: values.iter().map(|v| v * v).collect(),
            mask: mask.to_vec(),
        }
    }

    /// Paired (both valid) weeks of a window against `b_mask`.
    pub(crate) fn pairs(&self, w: Window, b_mask: &[f64]) -> usize {
        let a = &self.mask[w.a_start..w.a_start + w.len];
        let b = &b_mask[w.b_start..w.b_start + w.len];
        a.iter()
            .zip(b)
            .filter(|(x, y)| **x > 0.0 && **y > 0.0)
            .count()
    }

    /// r of a window when neither `a` nor `b` has a missing week: `dense` holds `a`'s window sums and
    /// `b_total` `b`'s (sum, sum of squares) over all its weeks, which no permutation changes, so only
    /// the cross product runs over the window and `b`'s window sums come from the few weeks outside it.
    pub(crate) fn r_dense(
        &self,
        w: Window,
        dense: (f64, f64),
        b: &[f64],
        b_total: (f64, f64),
    ) -> Option<f64> {
        let a = &self.values[w.a_start..w.a_start + w.len];
        let inside = &b[w.b_start..w.b_start + w.len];
        let outside = b.len() - w.len;
        let (sb, sbb) = if outside < w.len {
            let (head, tail) = (&b[..w.b_start], &b[w.b_start + w.len..]);
            let (s, ss) = head
                .iter()
                .chain(tail)
                .fold((0.0, 0.0), |(s, ss), y| (s + y, ss + y * y));
            (b_total.0 - s, b_total.1 - ss)
        } else {
            inside
                .iter()
                .fold((0.0, 0.0), |(s, ss), y| (s + y, ss + y * y))
        };
        pearson(w.len as f64, dense.0, dense.1, sb, sbb, dot(a, inside))
    }

    /// `a`'s (sum, sum of squares) over a window: the fixed half of [`Side::r_dense`].
    pub(crate) fn dense_sums(&self, w: Window) -> (f64, f64) {
        let a = &self.values[w.a_start..w.a_start + w.len];
        let s = &self.squares[w.a_start..w.a_start + w.len];
        (a.iter().sum(), s.iter().sum())
    }

    /// r of a window with missing weeks on either side, pairs with a missing side dropped.
    pub(crate) fn r_masked(&self, w: Window, b: &[f64], b_mask: &[f64]) -> Option<f64> {
        let range = w.a_start..w.a_start + w.len;
        let (av, asq, am) = (
            &self.values[range.clone()],
            &self.squares[range.clone()],
            &self.mask[range],
        );
        let bv = &b[w.b_start..w.b_start + w.len];
        let bm = &b_mask[w.b_start..w.b_start + w.len];
        let (mut n, mut sa, mut saa, mut sb, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..w.len {
            let (mb, ma, y) = (bm[i], am[i], bv[i]);
            n += ma * mb;
            sa += av[i] * mb;
            saa += asq[i] * mb;
            sb += ma * y;
            sbb += ma * y * y;
            sab += av[i] * y;
        }
        pearson(n, sa, saa, sb, sbb, sab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_permutation_is_a_permutation() {
        let values: Vec<f64> = (0..53).map(f64::from).collect();
        let mask = vec![1.0; 53];
        let mut p = BlockPermuter::new(&values, &mask);
        let mut rng = stream(1, &["a", "b"], 3);
        let mut moved = 0;
        for _ in 0..50 {
            p.permute(&mut rng, true);
            let mut sorted = p.values.clone();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(sorted, values);
            moved += usize::from(p.values != values);
        }
        assert!(
            moved >= 49,
            "almost every permutation differs from the identity"
        );
    }

    #[test]
    fn the_mask_travels_with_its_values() {
        let values: Vec<f64> = (0..30)
            .map(|i| if i % 7 == 0 { 0.0 } else { f64::from(i) })
            .collect();
        let mask: Vec<f64> = (0..30)
            .map(|i| if i % 7 == 0 { 0.0 } else { 1.0 })
            .collect();
        let mut p = BlockPermuter::new(&values, &mask);
        let mut rng = stream(2, &["x"], 1);
        for _ in 0..20 {
            p.permute(&mut rng, true);
            for (v, m) in p.values.iter().zip(&p.mask) {
                assert_eq!(*m == 0.0, *v == 0.0);
            }
        }
    }

    #[test]
    fn streams_differ_by_identity_and_repeat_by_seed() {
        let draw = |seed, id: &[&str], d| stream(seed, id, d).random::<u64>();
        assert_eq!(draw(7, &["a", "b"], 1), draw(7, &["a", "b"], 1));
        assert_ne!(draw(7, &["a", "b"], 1), draw(7, &["a", "b"], 2));
        assert_ne!(draw(7, &["a", "b"], 1), draw(8, &["a", "b"], 1));
        assert_ne!(draw(7, &["ab", ""], 1), draw(7, &["a", "b"], 1));
    }

    #[test]
    fn dense_and_masked_correlations_agree_without_missing_weeks() {
        let a: Vec<f64> = (0..41)
            .map(|i| (f64::from(i) * 0.7).sin() + 0.1 * f64::from(i % 5))
            .collect();
        let b: Vec<f64> = (0..45)
            .map(|i| (f64::from(i - 3) * 0.7).sin() + 0.05 * f64::from(i % 3))
            .collect();
        let side = Side::new(&a, &vec![1.0; a.len()]);
        let w = Window {
            a_start: 2,
            b_start: 5,
            len: 37,
        };
        let total = (b.iter().sum(), b.iter().map(|y| y * y).sum());
        let dense = side.r_dense(w, side.dense_sums(w), &b, total).unwrap();
        // A window covering most of b takes b's sums from the weeks outside it.
        let wide = Window {
            a_start: 0,
            b_start: 2,
            len: 41,
        };
        let dense_wide = side
            .r_dense(wide, side.dense_sums(wide), &b, total)
            .unwrap();
        let masked_wide = side.r_masked(wide, &b, &vec![1.0; b.len()]).unwrap();
        assert!(
            (dense_wide - masked_wide).abs() < 1e-12,
            "{dense_wide} vs {masked_wide}"
        );
        let masked = side.r_masked(w, &b, &vec![1.0; b.len()]).unwrap();
        assert!((dense - masked).abs() < 1e-12, "{dense} vs {masked}");
        assert!(dense > 0.8);
    }

    #[test]
    fn block_weeks_grow_with_the_cube_root() {
        assert_eq!(block_weeks(52), 4);
        assert_eq!(block_weeks(104), 5);
        assert_eq!(block_weeks(520), 9);
        assert_eq!(block_weeks(9), 3);
    }
}
