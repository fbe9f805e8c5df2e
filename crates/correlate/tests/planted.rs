//! Issue 14's planted association: in one district the weekly 311 volume follows the previous week's
//! crime volume. Over a full-size family (3 dataset pairs x 16 metric pairs x 15 districts x 9 lags =
//! 6,480 tests) it is found at `lag_weeks = +1` (a = crime, b = 311: 311's week w + 1 follows crime's
//! week w) with a positive correlation and q <= 0.05, and no other district is discovered.

mod common;

use common::{CRIME, DISTRICTS, METRICS, Plant, SERVICE, city, pairs, run};
use correlate::{Association, Config, discoveries, test_pair};

const PLANTED: u8 = 7;

fn check_planted(seed: u64, weeks: usize, gain: f64) {
    let config = Config::default();
    let plant = Plant {
        district: PLANTED,
        lag: 1,
        gain,
    };
    let series = city(seed, weeks, Some(plant));
    let pairs = pairs(&series);
    let all = run(&pairs, &config);
    assert_eq!(
        all.len(),
        3 * METRICS.len() * METRICS.len() * DISTRICTS as usize * 9,
        "full-size family"
    );

    let found = discoveries(&all, config.alpha);
    for d in &found {
        println!(
            "seed {seed}, {weeks} weeks: discovery CD {} {}/{} ~ {}/{} lag {:+} r {:.3} p {:.2e} q {:.2e}",
            d.council_district,
            d.dataset_a,
            d.metric_a,
            d.dataset_b,
            d.metric_b,
            d.lag_weeks,
            d.correlation,
            d.p_value,
            d.q_value
        );
    }
    let planted = |a: &&Association| {
        a.council_district == PLANTED
            && a.dataset_a == CRIME
            && a.metric_a == "total"
            && a.dataset_b == SERVICE
            && a.metric_b == "total"
    };
    let at_lag_one = all
        .iter()
        .filter(planted)
        .find(|a| a.lag_weeks == 1)
        .expect("lag +1 tested");
    assert!(at_lag_one.correlation > 0.3, "positive: {at_lag_one:?}");
    assert!(
        at_lag_one.q_value <= config.alpha,
        "discovered: {at_lag_one:?}"
    );
    let strongest = all
        .iter()
        .filter(planted)
        .max_by(|x, y| x.correlation.abs().total_cmp(&y.correlation.abs()));
    assert_eq!(
        strongest.map(|a| a.lag_weeks),
        Some(1),
        "the planted lag is the strongest of its pair"
    );
    // Discoveries are the planted pair only: no other district, no other metric pair.
    for d in &found {
        assert!(planted(d), "unexpected discovery: {d:?}");
    }
}

#[test]
fn planted_lead_is_found_at_lag_plus_one_over_two_years() {
    check_planted(1401, 104, 1.0);
}

#[test]
fn planted_lead_is_found_at_lag_plus_one_over_one_year() {
    // One year (the demo's size) has half the weeks, so it takes a stronger lead to pass 6,480 tests.
    check_planted(1402, 52, 1.5);
}

#[test]
fn swapping_the_datasets_flips_the_sign_of_the_lag() {
    let series = city(
        1403,
        104,
        Some(Plant {
            district: PLANTED,
            lag: 1,
            gain: 1.0,
        }),
    );
    let find = |dataset, metric| {
        series
            .iter()
            .find(|s| s.council_district == PLANTED && s.dataset == dataset && s.metric == metric)
            .unwrap()
    };
    let (crime, service) = (find(CRIME, "total"), find(SERVICE, "total"));
    let config = Config::default();
    let strongest = |rows: Vec<Association>| {
        rows.into_iter()
            .max_by(|x, y| x.correlation.abs().total_cmp(&y.correlation.abs()))
            .unwrap()
    };
    let forward = strongest(test_pair(crime, service, &config));
    let backward = strongest(test_pair(service, crime, &config));
    assert_eq!((forward.lag_weeks, backward.lag_weeks), (1, -1));
    assert!((forward.correlation - backward.correlation).abs() < 1e-12);
    assert!(
        forward.p_value < 1e-4 && backward.p_value < 1e-4,
        "{forward:?} {backward:?}"
    );
}
