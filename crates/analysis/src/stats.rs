//! Order statistics used by the analysis: quantiles (linear interpolation), median, MAD, robust z-score.

/// The `q`-quantile (0..=1) of `sorted` (ascending) by linear interpolation; `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Median of unsorted values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

/// Median absolute deviation around `center`.
pub fn mad(values: &[f64], center: f64) -> Option<f64> {
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&deviations)
}

/// Robust z-score (Iglewicz & Hoaglin): `0.6745 * (x - median) / max(MAD, floor)`, with the baseline's
/// median and MAD. Returns (z, median).
pub fn robust_z(x: f64, baseline: &[f64], mad_floor: f64) -> Option<(f64, f64)> {
    let m = median(baseline)?;
    let d = mad(baseline, m)?.max(mad_floor);
    Some((0.6745 * (x - m) / d, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), Some(2.5));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert!((quantile(&v, 0.9).unwrap() - 3.7).abs() < 1e-9);
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
    }

    #[test]
    fn robust_z_ignores_one_outlier_in_the_baseline() {
        let baseline = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 10.0, 100.0];
        let (z, m) = robust_z(30.0, &baseline, 1.0).unwrap();
        assert_eq!(m, 10.0);
        assert!(z > 10.0, "{z}");
        let (z, _) = robust_z(10.0, &[10.0; 8], 1.0).unwrap();
        assert_eq!(z, 0.0);
    }
}
