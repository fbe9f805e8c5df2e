//! `test_pair` as a caller sees it: deterministic for a seed and independent of the order tests run
//! in, one row per lag with its paired weeks, missing weeks dropped pairwise, too-short or constant
//! pairs not tested.

mod common;

use common::{CRIME, SERVICE, Shape, poisson, rates, rng, series};
use correlate::{Config, Series, test_pair};

fn two(seed: u64, weeks: usize) -> (Series, Series) {
    let mut rng = rng(seed);
    let a_rates = rates(&mut rng, weeks, Shape::counts(40.0));
    let a = series(CRIME, "total", 2, poisson(&mut rng, &a_rates));
    let b_rates = rates(&mut rng, weeks, Shape::counts(90.0));
    let b = series(SERVICE, "total", 2, poisson(&mut rng, &b_rates));
    (a, b)
}

/// A quick configuration for tests that do not need the p-value floor.
fn quick() -> Config {
    Config {
        permutations: 5_000,
        ..Config::default()
    }
}

#[test]
fn one_row_per_lag_in_order_with_the_pair_named() {
    let (a, b) = two(1, 60);
    let rows = test_pair(&a, &b, &quick());
    assert_eq!(
        rows.iter().map(|r| r.lag_weeks).collect::<Vec<_>>(),
        (-4..=4).collect::<Vec<_>>()
    );
    for r in &rows {
        assert_eq!(
            (
                r.dataset_a.as_str(),
                r.metric_a.as_str(),
                r.dataset_b.as_str(),
                r.metric_b.as_str()
            ),
            (CRIME, "total", SERVICE, "total")
        );
        assert_eq!(r.council_district, 2);
        assert!(r.q_value.is_nan(), "q is left to adjust()");
        assert!(r.p_value > 0.0 && r.p_value <= 1.0);
        assert!((-1.0..=1.0).contains(&r.correlation));
    }
    // The transform's autoregression costs its first weeks; the lag costs |k| more.
    let weeks = |k: i32| rows.iter().find(|r| r.lag_weeks == k).unwrap().weeks;
    assert!(weeks(0) <= 60 && weeks(0) >= 50, "{}", weeks(0));
    assert!(weeks(4) < weeks(0) && weeks(-4) < weeks(0));
}

#[test]
fn results_depend_on_the_seed_and_the_pair_not_on_the_order_tests_run_in() {
    let (a, b) = two(2, 80);
    let (c, d) = two(3, 80);
    let config = quick();
    let first = (test_pair(&a, &b, &config), test_pair(&c, &d, &config));
    let second_cd = test_pair(&c, &d, &config);
    let second_ab = test_pair(&a, &b, &config);
    assert_eq!(format!("{:?}", first.0), format!("{second_ab:?}"));
    assert_eq!(format!("{:?}", first.1), format!("{second_cd:?}"));
    let other_seed = test_pair(
        &a,
        &b,
        &Config {
            seed: 99,
            ..quick()
        },
    );
    assert_ne!(
        first.0.iter().map(|r| r.p_value).collect::<Vec<_>>(),
        other_seed.iter().map(|r| r.p_value).collect::<Vec<_>>(),
        "a different seed draws other permutations"
    );
}

#[test]
fn missing_weeks_are_dropped_pairwise() {
    let (a, mut b) = two(4, 90);
    let full = test_pair(&a, &b, &quick());
    for w in [20, 21, 50] {
        b.values[w] = f64::NAN;
    }
    let holes = test_pair(&a, &b, &quick());
    assert_eq!(holes.len(), 9);
    for (f, h) in full.iter().zip(&holes) {
        assert!(
            h.weeks < f.weeks,
            "lag {}: {} paired weeks with holes, {} without",
            f.lag_weeks,
            h.weeks,
            f.weeks
        );
        assert!(h.correlation.is_finite() && h.p_value.is_finite());
    }
}

#[test]
fn series_offset_in_time_pair_by_week_number() {
    let (a, b) = two(5, 70);
    // The same data, b starting ten weeks later: the pair overlaps by 60 weeks.
    let late = Series {
        first_week: b.first_week + 10,
        ..b.clone()
    };
    let rows = test_pair(&a, &late, &quick());
    let at = |k: i32| rows.iter().find(|r| r.lag_weeks == k).unwrap().weeks;
    assert!(at(0) <= 60 && at(0) > 50, "{}", at(0));
    // b starts inside a and ends after it: a positive lag reaches one week further back into a (its
    // week w meets b's w + 1), a negative one one week less.
    assert_eq!(at(1), at(0) + 1);
    assert_eq!(at(-1), at(0) - 1);
}

#[test]
fn too_little_overlap_or_a_constant_series_is_not_tested() {
    let (a, b) = two(6, 60);
    let far = Series {
        first_week: a.first_week + 40,
        ..b.clone()
    };
    assert!(
        test_pair(&a, &far, &quick()).is_empty(),
        "20 weeks of overlap < min_weeks 26"
    );
    let rows = test_pair(
        &a,
        &far,
        &Config {
            min_weeks: 5,
            ..quick()
        },
    );
    assert_eq!(rows.len(), 9);
    // min_weeks holds at every lag: the least paired lag decides.
    let least = rows.iter().map(|r| r.weeks as usize).min().unwrap();
    assert!(least < 20);
    assert_eq!(
        test_pair(
            &a,
            &far,
            &Config {
                min_weeks: least,
                ..quick()
            }
        )
        .len(),
        9
    );
    assert!(
        test_pair(
            &a,
            &far,
            &Config {
                min_weeks: least + 1,
                ..quick()
            }
        )
        .is_empty()
    );
    let flat = Series {
        values: vec![3.0; 60],
        ..b.clone()
    };
    assert!(test_pair(&a, &flat, &quick()).is_empty());
    let empty = Series {
        values: Vec::new(),
        ..b
    };
    assert!(test_pair(&a, &empty, &quick()).is_empty());
}
