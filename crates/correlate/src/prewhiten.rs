//! Prewhitening: each detrended series is replaced by the innovations of its own autoregression
//! (order 0 to [`MAX_ORDER`] by AIC, Yule–Walker), so that two independent series have
//! cross-correlations close to independent `N(0, 1/n)` at every lag (Haugh 1976), which the block
//! permutation then needs to respect only for what little dependence is left.

use nalgebra::{DMatrix, DVector};

/// Highest autoregressive order tried.
pub const MAX_ORDER: usize = 6;

/// The innovations `x[t] - Σ φ_i x[t - i]` of the AIC-chosen autoregression of `x` (centred on the
/// mean of its finite weeks); NaN where `x[t]` or one of the `p` weeks before it is missing (so the
/// first `p` weeks are NaN). Order 0 leaves the series centred but otherwise unchanged.
pub fn prewhiten(x: &[f64]) -> Vec<f64> {
    let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 3 * MAX_ORDER {
        return x.to_vec();
    }
    let mean = finite.iter().sum::<f64>() / finite.len() as f64;
    let centred: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let phi = fit(&centred, finite.len());
    let p = phi.len();
    (0..centred.len())
        .map(|t| {
            if t < p || !centred[t].is_finite() {
                return f64::NAN;
            }
            let past: f64 = phi
                .iter()
                .enumerate()
                .map(|(i, f)| f * centred[t - 1 - i])
                .sum();
            // NaN propagates: a missing week among the p before leaves no innovation.
            centred[t] - past
        })
        .collect()
}

/// Autocovariances `γ(0..=MAX_ORDER)` of a centred series, pairs with a missing week skipped, each
/// divided by the count of finite weeks (the biased estimator, whose Toeplitz matrix is positive
/// semi-definite).
fn autocovariances(x: &[f64], count: usize) -> Vec<f64> {
    (0..=MAX_ORDER)
        .map(|k| {
            let sum: f64 = x
                .iter()
                .zip(&x[k.min(x.len())..])
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .map(|(a, b)| a * b)
                .sum();
            sum / count as f64
        })
        .collect()
}

/// The Yule–Walker coefficients of the order with the smallest AIC `n ln σ²_p + 2p` (empty for 0).
fn fit(x: &[f64], count: usize) -> Vec<f64> {
    let gamma = autocovariances(x, count);
    if gamma[0] <= 0.0 {
        return Vec::new();
    }
    let n = count as f64;
    let mut best = (n * gamma[0].ln(), Vec::new());
    for p in 1..=MAX_ORDER {
        let toeplitz = DMatrix::from_fn(p, p, |i, j| gamma[i.abs_diff(j)]);
        let rhs = DVector::from_fn(p, |i, _| gamma[i + 1]);
        let Some(cholesky) = toeplitz.cholesky() else {
            break;
        };
        let phi = cholesky.solve(&rhs);
        let variance = gamma[0] - phi.dot(&rhs);
        if variance <= 0.0 {
            break;
        }
        let aic = n * variance.ln() + 2.0 * p as f64;
        if aic < best.0 {
            best = (aic, phi.iter().copied().collect());
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn lag_one(x: &[f64]) -> f64 {
        let v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let c0: f64 = v.iter().map(|a| (a - m) * (a - m)).sum();
        let c1: f64 = v.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
        c1 / c0
    }

    #[test]
    fn an_ar1_series_becomes_white_and_its_coefficient_is_found() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let noise = Normal::new(0.0, 1.0).unwrap();
        let mut x = vec![0.0; 2000];
        for t in 1..x.len() {
            x[t] = 0.7 * x[t - 1] + noise.sample(&mut rng);
        }
        assert!(lag_one(&x) > 0.6);
        let phi = fit(&x, x.len());
        assert!((phi[0] - 0.7).abs() < 0.05, "{phi:?}");
        let e = prewhiten(&x);
        assert!(e[..phi.len()].iter().all(|v| v.is_nan()));
        assert!(
            lag_one(&e).abs() < 0.06,
            "innovations' lag-1 autocorrelation {}",
            lag_one(&e)
        );
    }

    #[test]
    fn white_noise_gets_small_coefficients_and_missing_weeks_stay_missing() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let noise = Normal::new(5.0, 1.0).unwrap();
        let mut x: Vec<f64> = (0..400).map(|_| noise.sample(&mut rng)).collect();
        x[100] = f64::NAN;
        let e = prewhiten(&x);
        assert!(e[100].is_nan());
        let phi = fit(&x.iter().map(|v| v - 5.0).collect::<Vec<_>>(), 399);
        assert!(
            phi.iter().all(|f| f.abs() < 0.15),
            "white noise has small coefficients at any order: {phi:?}"
        );
        assert!(e.iter().filter(|v| v.is_nan()).count() <= 1 + 2 * phi.len());
    }
}
