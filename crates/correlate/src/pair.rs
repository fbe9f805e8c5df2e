//! One pair of series: transform both, correlate them at every lag, and find each lag's p-value by the
//! sequential block-permutation test (Besag–Clifford), one permuted `b` shared by all open lags.

use crate::permute::{BlockPermuter, Side, Window, stream};
use crate::{Association, Config, Series, transform};

/// A series transformed once for all the pairs it is in ([`transform`]), its leading and trailing
/// missing weeks trimmed (the autoregression's first weeks among them).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub dataset: String,
    pub metric: String,
    pub council_district: u8,
    /// Week of `values[0]` after trimming.
    pub first_week: i64,
    /// The transformed weeks, NaN where missing.
    pub values: Vec<f64>,
}

/// [`transform`]s a series for [`test_prepared`]. A series with no week left is kept empty (its pairs
/// are not tested).
pub fn prepare(series: &Series) -> Prepared {
    let values = transform(&series.values);
    let start = values
        .iter()
        .position(|v| v.is_finite())
        .unwrap_or(values.len());
    let end = values
        .iter()
        .rposition(|v| v.is_finite())
        .map_or(start, |i| i + 1);
    Prepared {
        dataset: series.dataset.clone(),
        metric: series.metric.clone(),
        council_district: series.council_district,
        first_week: series.first_week + start as i64,
        values: values[start..end].to_vec(),
    }
}

/// Every lag of one pair of series of the same district (different datasets); p-values by a seeded
/// permutation test; `q_value` left NaN. Empty when they overlap by fewer than `min_weeks` (at any lag)
/// after detrending, or when either transformed series is constant over the overlap.
pub fn test_pair(a: &Series, b: &Series, config: &Config) -> Vec<Association> {
    test_prepared(&prepare(a), &prepare(b), config)
}

/// [`test_pair`] of series already [`prepare`]d: a run prepares each series once, not once per pair.
pub fn test_prepared(a: &Prepared, b: &Prepared, config: &Config) -> Vec<Association> {
    let lags: Vec<i32> = config.lags.clone().collect();
    if lags.is_empty() || a.values.is_empty() || b.values.is_empty() {
        return Vec::new();
    }
    let (a_values, a_mask) = zeroed(&a.values);
    let (b_values, b_mask) = zeroed(&b.values);
    let side = Side::new(&a_values, &a_mask);
    let windows: Vec<Window> = lags
        .iter()
        .map(|&k| {
            window(
                a.first_week,
                a.values.len(),
                b.first_week,
                b.values.len(),
                k,
            )
        })
        .collect();
    let min_weeks = config.min_weeks.max(3);
    let weeks: Vec<usize> = windows.iter().map(|&w| side.pairs(w, &b_mask)).collect();
    if weeks.iter().any(|&n| n < min_weeks) {
        return Vec::new();
    }
    let dense = a_mask.iter().chain(&b_mask).all(|&m| m > 0.0);
    let dense_sums: Vec<(f64, f64)> = windows.iter().map(|&w| side.dense_sums(w)).collect();
    let b_total = (
        b_values.iter().sum::<f64>(),
        b_values.iter().map(|y| y * y).sum::<f64>(),
    );
    let r_of = |l: usize, values: &[f64], mask: &[f64]| {
        if dense {
            side.r_dense(windows[l], dense_sums[l], values, b_total)
        } else {
            side.r_masked(windows[l], values, mask)
        }
    };
    let Some(observed) = (0..lags.len())
        .map(|l| r_of(l, &b_values, &b_mask))
        .collect::<Option<Vec<f64>>>()
    else {
        return Vec::new();
    };

    let identity = [
        a.dataset.as_str(),
        a.metric.as_str(),
        b.dataset.as_str(),
        b.metric.as_str(),
    ];
    let mut rng = stream(config.seed, &identity, a.council_district);
    let p_values = sequential_p_values(
        &observed,
        config,
        |permuter, open, hits| {
            permuter.permute(&mut rng, !dense);
            for &l in open {
                // A permuted window without variance carries no correlation: it does not reach |r|.
                let r = r_of(l, &permuter.values, &permuter.mask).unwrap_or(0.0);
                hits[l] = reaches(r, observed[l]);
            }
        },
        BlockPermuter::new(&b_values, &b_mask),
    );

    lags.iter()
        .enumerate()
        .map(|(l, &lag)| Association {
            dataset_a: a.dataset.clone(),
            metric_a: a.metric.clone(),
            dataset_b: b.dataset.clone(),
            metric_b: b.metric.clone(),
            council_district: a.council_district,
            lag_weeks: lag,
            correlation: observed[l],
            p_value: p_values[l],
            q_value: f64::NAN,
            weeks: u32::try_from(weeks[l]).unwrap_or(u32::MAX),
        })
        .collect()
}

/// A permuted `|r|` at least the observed one, with a little slack so that ties from rounding count
/// (the conservative side).
fn reaches(permuted: f64, observed: f64) -> bool {
    permuted.abs() >= observed.abs() - 1e-12
}

/// Besag–Clifford per lag: runs `step` (one permutation, setting `hits[l]` for each open lag `l`) until
/// every lag has `config.exceedances` hits or `config.permutations` permutations ran. A lag closed
/// after `L` permutations has `p = h / L`; one still open at the cap `B` with `e` hits `(e + 1) / (B + 1)`.
fn sequential_p_values<P>(
    observed: &[f64],
    config: &Config,
    mut step: impl FnMut(&mut P, &[usize], &mut [bool]),
    mut state: P,
) -> Vec<f64> {
    let h = config.exceedances.max(1);
    let mut open: Vec<usize> = (0..observed.len()).collect();
    let mut exceed = vec![0usize; observed.len()];
    let mut closed_at: Vec<Option<usize>> = vec![None; observed.len()];
    let mut hits = vec![false; observed.len()];
    let mut done = 0usize;
    while !open.is_empty() && done < config.permutations {
        step(&mut state, &open, &mut hits);
        done += 1;
        open.retain(|&l| {
            if hits[l] {
                exceed[l] += 1;
                if exceed[l] >= h {
                    closed_at[l] = Some(done);
                    return false;
                }
            }
            true
        });
    }
    (0..observed.len())
        .map(|l| match closed_at[l] {
            Some(at) => h as f64 / at as f64,
            None => (exceed[l] + 1) as f64 / (done + 1) as f64,
        })
        .collect()
}

/// The transformed values with NaN as 0, and the mask (1 valid, 0 missing).
fn zeroed(values: &[f64]) -> (Vec<f64>, Vec<f64>) {
    values
        .iter()
        .map(|&v| if v.is_finite() { (v, 1.0) } else { (0.0, 0.0) })
        .unzip()
}

/// The weeks lag `k` pairs: `a`'s index `i` (week `a_first + i`) with `b`'s week `a_first + i + k`.
fn window(a_first: i64, a_len: usize, b_first: i64, b_len: usize, k: i32) -> Window {
    // b index = i + shift
    let shift = a_first + i64::from(k) - b_first;
    let lo = 0i64.max(-shift);
    let hi = (a_len as i64).min(b_len as i64 - shift);
    if hi <= lo {
        return Window {
            a_start: 0,
            b_start: 0,
            len: 0,
        };
    }
    Window {
        a_start: lo as usize,
        b_start: (lo + shift) as usize,
        len: (hi - lo) as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_pair_a_week_with_b_week_plus_k() {
        // a covers weeks 10..20, b weeks 12..30.
        let w = window(10, 10, 12, 18, 1);
        // a index 1 is week 11, paired with b's week 12 = b index 0.
        assert_eq!((w.a_start, w.b_start, w.len), (1, 0, 9));
        let w = window(10, 10, 12, 18, -2);
        // a's week w with b's week w - 2: the first b week 12 pairs with a's 14 = index 4.
        assert_eq!((w.a_start, w.b_start, w.len), (4, 0, 6));
        assert_eq!(window(0, 5, 100, 5, 4).len, 0);
    }

    #[test]
    fn besag_clifford_stops_at_h_hits_and_caps_at_b() {
        let config = Config {
            permutations: 1000,
            exceedances: 3,
            ..Config::default()
        };
        // Lag 0 is hit by every permutation, lag 1 by every other one, lag 2 never.
        let p = sequential_p_values(
            &[0.1, 0.2, 0.9],
            &config,
            |count: &mut usize, open, hits| {
                *count += 1;
                for &l in open {
                    hits[l] = match l {
                        0 => true,
                        1 => count.is_multiple_of(2),
                        _ => false,
                    };
                }
            },
            0usize,
        );
        assert_eq!(p, vec![1.0, 0.5, 1.0 / 1001.0]);
    }
}
