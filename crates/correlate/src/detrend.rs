//! The transform applied to every series before it is correlated: minus its robust local level
//! (centred running median) and, with two years or more, minus an annual component (harmonics
//! fitted by Huber IRLS). NaN weeks stay NaN. See the crate docs for why not first differences.

use nalgebra::{SMatrix, SVector};

/// Width of the centred running median, in weeks (a quarter: six weeks either side).
pub const TREND_WEEKS: usize = 13;
/// Annual harmonics removed when the series is long enough.
pub const HARMONICS: usize = 3;
/// Weeks in a year.
pub const WEEKS_PER_YEAR: f64 = 365.2425 / 7.0;
/// Shortest span (first to last non-NaN week, inclusive) over which the annual component is fitted.
pub const MIN_SEASONAL_WEEKS: usize = 104;

/// Huber's tuning constant (95 % efficiency under normal errors).
const HUBER_K: f64 = 1.345;
/// IRLS iterations: enough for the weights to settle on weekly series.
const IRLS_ITERATIONS: usize = 6;
/// Columns of the seasonal design: a constant, a linear trend, and a sine and a cosine per harmonic.
const COLUMNS: usize = 2 + 2 * HARMONICS;

/// The transformed series: same length as `values`, NaN exactly where `values` is not finite.
///
/// With two years or more, the annual component is removed first (so that the running median never
/// sees the cycle, whose slopes it would follow late at the ends of the series), then the robust local
/// level of what is left.
pub fn detrend(values: &[f64]) -> Vec<f64> {
    let mut series: Vec<f64> = values
        .iter()
        .map(|&v| if v.is_finite() { v } else { f64::NAN })
        .collect();
    let finite: Vec<usize> = (0..series.len())
        .filter(|&i| series[i].is_finite())
        .collect();
    if let (Some(&first), Some(&last)) = (finite.first(), finite.last())
        && last - first + 1 >= MIN_SEASONAL_WEEKS
    {
        remove_annual(&mut series, &finite);
    }
    minus_running_median(&series)
}

/// `values[i]` minus the median of the finite values among weeks `i - 6 ..= i + 6` (truncated at the
/// ends); non-finite weeks become NaN.
pub fn minus_running_median(values: &[f64]) -> Vec<f64> {
    let half = TREND_WEEKS / 2;
    let mut window = Vec::with_capacity(TREND_WEEKS);
    (0..values.len())
        .map(|i| {
            if !values[i].is_finite() {
                return f64::NAN;
            }
            window.clear();
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            window.extend(values[lo..hi].iter().copied().filter(|v| v.is_finite()));
            values[i] - median(&mut window)
        })
        .collect()
}

/// Median of a non-empty slice of finite values (mean of the middle two for an even count).
fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = values[..mid]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// The seasonal design row of week index `t`: 1, the trend `t` in years, then sin/cos of each
/// harmonic of the year.
fn design(t: f64) -> SVector<f64, COLUMNS> {
    let mut row = SVector::<f64, COLUMNS>::zeros();
    row[0] = 1.0;
    row[1] = t / WEEKS_PER_YEAR;
    for h in 0..HARMONICS {
        let angle = std::f64::consts::TAU * (h + 1) as f64 * t / WEEKS_PER_YEAR;
        row[2 + 2 * h] = angle.sin();
        row[3 + 2 * h] = angle.cos();
    }
    row
}

/// Subtracts the Huber-IRLS fit of the seasonal design (level, trend, harmonics) from the finite weeks
/// `finite` of `residual`.
/// Leaves the series as it is when the weighted normal equations are singular.
fn remove_annual(residual: &mut [f64], finite: &[usize]) {
    let rows: Vec<SVector<f64, COLUMNS>> = finite.iter().map(|&i| design(i as f64)).collect();
    let y: Vec<f64> = finite.iter().map(|&i| residual[i]).collect();
    let mut weights = vec![1.0; y.len()];
    let mut beta = SVector::<f64, COLUMNS>::zeros();
    let mut errors = vec![0.0; y.len()];
    for _ in 0..IRLS_ITERATIONS {
        let mut xtx = SMatrix::<f64, COLUMNS, COLUMNS>::zeros();
        let mut xty = SVector::<f64, COLUMNS>::zeros();
        for ((row, &yi), &wi) in rows.iter().zip(&y).zip(&weights) {
            xtx += row * row.transpose() * wi;
            xty += row * (yi * wi);
        }
        let Some(cholesky) = xtx.cholesky() else {
            return;
        };
        beta = cholesky.solve(&xty);
        for ((e, row), &yi) in errors.iter_mut().zip(&rows).zip(&y) {
            *e = yi - row.dot(&beta);
        }
        let scale = 1.4826 * median(&mut errors.iter().map(|e| e.abs()).collect::<Vec<_>>());
        if scale <= f64::EPSILON {
            // Most weeks fitted exactly (a sparse series): ordinary least squares is as robust.
            weights.iter_mut().for_each(|w| *w = 1.0);
            continue;
        }
        for (w, e) in weights.iter_mut().zip(&errors) {
            let u = e.abs() / (HUBER_K * scale);
            *w = if u <= 1.0 { 1.0 } else { 1.0 / u };
        }
    }
    for (&i, row) in finite.iter().zip(&rows) {
        residual[i] -= row.dot(&beta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_median_follows_a_step_and_keeps_nan_weeks() {
        let mut values: Vec<f64> = (0..40).map(|i| if i < 20 { 10.0 } else { 30.0 }).collect();
        values[5] = f64::NAN;
        values[30] = 90.0; // one spike: stays in the residual
        let r = minus_running_median(&values);
        assert!(r[5].is_nan());
        assert_eq!(r[30], 60.0);
        for (i, v) in r.iter().enumerate() {
            if i != 5 && i != 30 {
                assert_eq!(*v, 0.0, "week {i}: a step is not left in the residual");
            }
        }
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [7.0]), 7.0);
    }

    #[test]
    fn an_annual_cycle_is_removed_from_two_years_and_not_from_one() {
        let cycle = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let t = std::f64::consts::TAU * i as f64 / WEEKS_PER_YEAR;
                    100.0 + 40.0 * t.sin() + 15.0 * (2.0 * t).cos()
                })
                .collect()
        };
        let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
        let two_years = detrend(&cycle(156));
        assert!(rms(&two_years) < 1e-6, "left {}", rms(&two_years));
        // One year: the running median alone; it keeps only a small part of the cycle near its turns.
        let one_year = detrend(&cycle(60));
        assert!(
            rms(&one_year) > 1e-3 && rms(&one_year) < 5.0,
            "left {}",
            rms(&one_year)
        );
    }

    #[test]
    fn a_spike_does_not_bend_the_seasonal_fit() {
        let mut values: Vec<f64> = (0..130)
            .map(|i| 50.0 + 20.0 * (std::f64::consts::TAU * i as f64 / WEEKS_PER_YEAR).sin())
            .collect();
        values[60] += 500.0;
        let r = detrend(&values);
        assert!((r[60] - 500.0).abs() < 5.0, "spike kept: {}", r[60]);
        let others = r.iter().enumerate().filter(|(i, _)| *i != 60);
        let worst = others.map(|(_, v)| v.abs()).fold(0.0, f64::max);
        assert!(worst < 1.0, "largest residual elsewhere {worst}");
    }
}
