//! Issue 14's seasonality: two independent series that share a strong annual cycle (two and three years,
//! weekly) give no discovery; and a real lead on top of a shared cycle is still found.

mod common;

use common::{CRIME, DISTRICTS, SERVICE, Shape, poisson, rates, rng, run, series};
use correlate::{Config, Series, discoveries, test_pair};

/// Pearson's r of two equally long series, as they are (no transform).
fn raw_r(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

fn seasonal(level: f64) -> Shape {
    // Summer peak at 45 % above the level, winter trough 45 % below.
    Shape {
        season: 0.45,
        season_phase: 3.0,
        ..Shape::counts(level)
    }
}

fn shared_cycle(seed: u64, weeks: usize) {
    let mut rng = rng(seed);
    let mut all: Vec<Series> = Vec::new();
    for district in 1..=DISTRICTS {
        for (dataset, level) in [(CRIME, 60.0), (SERVICE, 120.0)] {
            for (metric, share) in [("total", 1.0), ("cat_1", 0.4)] {
                let expected = rates(&mut rng, weeks, seasonal(level * share));
                all.push(series(
                    dataset,
                    metric,
                    district,
                    poisson(&mut rng, &expected),
                ));
            }
        }
    }
    let pairs: Vec<(&Series, &Series)> = all
        .iter()
        .filter(|a| a.dataset == CRIME)
        .flat_map(|a| {
            all.iter()
                .filter(move |b| b.dataset == SERVICE && b.council_district == a.council_district)
                .map(move |b| (a, b))
        })
        .collect();
    // The cycle is strong: as they are, the totals of every district correlate clearly.
    for (a, b) in &pairs {
        if a.metric == "total" && b.metric == "total" {
            let r = raw_r(&a.values, &b.values);
            assert!(r > 0.5, "CD {}: raw r {r}", a.council_district);
        }
    }
    let config = Config::default();
    let results = run(&pairs, &config);
    assert_eq!(results.len(), 4 * DISTRICTS as usize * 9);
    let found = discoveries(&results, config.alpha);
    assert!(
        found.is_empty(),
        "a shared annual cycle was reported: {found:?}"
    );
    let strongest = results
        .iter()
        .map(|a| a.correlation.abs())
        .fold(0.0, f64::max);
    println!("{weeks} weeks: no discovery; strongest |r| after the transform {strongest:.3}");
}

#[test]
fn a_shared_annual_cycle_over_two_years_is_no_discovery() {
    shared_cycle(52, 104);
}

#[test]
fn a_shared_annual_cycle_over_three_years_is_no_discovery() {
    shared_cycle(53, 156);
}

#[test]
fn a_lead_on_top_of_a_shared_cycle_is_still_found() {
    let weeks = 156;
    let mut rng = rng(54);
    let crime_rates = rates(&mut rng, weeks, seasonal(60.0));
    let crime = poisson(&mut rng, &crime_rates);
    let cycle = rates(&mut rng, weeks, seasonal(60.0));
    let expected: Vec<f64> = (0..weeks)
        .map(|w| cycle[w] + if w >= 2 { crime[w - 2] } else { 60.0 })
        .collect();
    let service = poisson(&mut rng, &expected);
    let a = series(CRIME, "total", 3, crime);
    let b = series(SERVICE, "total", 3, service);
    let rows = test_pair(&a, &b, &Config::default());
    let strongest = rows
        .iter()
        .max_by(|x, y| x.correlation.abs().total_cmp(&y.correlation.abs()))
        .unwrap();
    assert_eq!(strongest.lag_weeks, 2, "{rows:?}");
    assert!(
        strongest.correlation > 0.3 && strongest.p_value < 1e-5,
        "{strongest:?}"
    );
}
