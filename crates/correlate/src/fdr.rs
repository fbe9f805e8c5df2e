//! Benjamini–Hochberg step-up q-values across everything tested in a run.

use crate::Association;

/// Benjamini–Hochberg q-values of `p`, in the same order: `q_(i) = min_{j >= i} p_(j) m / j` over the
/// p-values sorted ascending, capped at 1, so q is monotone in p and never below it. A NaN p-value gets
/// a NaN q-value and is not counted in `m`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&x, &y| p[x].total_cmp(&p[y]));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        // q >= p holds exactly in arithmetic; the max keeps it when p * m / m rounds below p.
        q[i] = running.max(p[i]);
    }
    q
}

/// Benjamini–Hochberg q-values across everything tested in a run, in place (monotone, capped at 1).
pub fn adjust(all: &mut [Association]) {
    let p: Vec<f64> = all.iter().map(|a| a.p_value).collect();
    for (a, q) in all.iter_mut().zip(benjamini_hochberg(&p)) {
        a.q_value = q;
    }
}
