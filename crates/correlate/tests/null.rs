//! Issue 14's null data: over 20 seeds of independent (autocorrelated, Poisson) series for 15 districts,
//! the share of runs with any discovery at q <= 0.05 stays near the nominal rate; and the p-values
//! themselves are calibrated (about 5 % of them at or below 0.05).

mod common;

use common::{CRIME, SERVICE, city, pairs, run};
use correlate::{Config, discoveries};

const SEEDS: u64 = 20;

#[test]
fn independent_series_give_discoveries_in_few_runs_and_calibrated_p_values() {
    let config = Config::default();
    let mut runs_with_discovery = 0;
    let mut p_values = Vec::new();
    for seed in 0..SEEDS {
        let series = city(9_000 + seed, 104, None);
        // Crime x 311, total and the first category of each: 4 metric pairs x 15 districts x 9 lags.
        let kept: Vec<_> = series
            .into_iter()
            .filter(|s| {
                (s.dataset == CRIME || s.dataset == SERVICE)
                    && (s.metric == "total" || s.metric == "cat_1")
            })
            .collect();
        let all = run(&pairs(&kept), &config);
        assert_eq!(all.len(), 4 * 15 * 9);
        let found = discoveries(&all, config.alpha);
        for d in &found {
            println!("seed {seed}: discovery {d:?}");
        }
        runs_with_discovery += usize::from(!found.is_empty());
        p_values.extend(all.iter().map(|a| a.p_value));
    }
    let rate = runs_with_discovery as f64 / SEEDS as f64;
    println!(
        "null: {runs_with_discovery} of {SEEDS} runs with any discovery at q <= 0.05 (rate {rate:.2}; nominal 0.05)"
    );
    assert!(
        runs_with_discovery <= 3,
        "{runs_with_discovery} of {SEEDS} null runs had a discovery"
    );

    let share =
        |t: f64| p_values.iter().filter(|&&p| p <= t).count() as f64 / p_values.len() as f64;
    let (s05, s01) = (share(0.05), share(0.01));
    println!(
        "null: share of p <= 0.05 {s05:.4}, of p <= 0.01 {s01:.4} over {} tests",
        p_values.len()
    );
    // 10,800 tests, correlated within a pair (nine lags): generous bands that a miscalibrated test
    // (e.g. one that ignores autocorrelation) leaves.
    assert!((0.03..=0.07).contains(&s05), "share of p <= 0.05 is {s05}");
    assert!(s01 <= 0.02, "share of p <= 0.01 is {s01}");
}
