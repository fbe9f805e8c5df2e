//! Benjamini–Hochberg: a worked example, the properties q-values must have, and `adjust` on rows.

use correlate::{Association, adjust, benjamini_hochberg};
use proptest::prelude::*;

/// The 15 p-values of Benjamini & Hochberg (1995), section 4.
const BH_1995: [f64; 15] = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
    0.6528, 0.7590, 1.000,
];

#[test]
fn the_worked_example_of_the_1995_paper() {
    // p_(i) * 15 / i, then the running minimum from the top.
    let expected = [
        0.0015,
        0.003,
        0.0095,
        0.035625,
        0.0603,
        0.447 / 7.0,
        0.447 / 7.0,
        0.0645,
        0.0765,
        0.486,
        6.393 / 11.0,
        0.714875,
        9.792 / 13.0,
        11.385 / 14.0,
        1.0,
    ];
    let q = benjamini_hochberg(&BH_1995);
    for (i, (got, want)) in q.iter().zip(expected).enumerate() {
        assert!(
            (got - want).abs() < 1e-12,
            "q[{i}] = {got}, expected {want}"
        );
    }
    // The paper rejects the four smallest at 0.05.
    assert_eq!(q.iter().filter(|&&v| v <= 0.05).count(), 4);
}

#[test]
fn order_of_the_input_does_not_matter_and_nan_is_not_counted() {
    let mut shuffled = BH_1995.to_vec();
    shuffled.reverse();
    shuffled.insert(3, f64::NAN);
    let q = benjamini_hochberg(&shuffled);
    assert!(q[3].is_nan());
    let reference = benjamini_hochberg(&BH_1995);
    let mut got: Vec<f64> = q.into_iter().filter(|v| !v.is_nan()).collect();
    got.reverse();
    assert_eq!(got, reference);
    assert!(benjamini_hochberg(&[]).is_empty());
}

#[test]
fn adjust_sets_q_values_across_all_rows() {
    let row = |p: f64| Association {
        dataset_a: "a".into(),
        metric_a: "total".into(),
        dataset_b: "b".into(),
        metric_b: "total".into(),
        council_district: 1,
        lag_weeks: 0,
        correlation: 0.1,
        p_value: p,
        q_value: f64::NAN,
        weeks: 52,
    };
    let mut rows: Vec<Association> = BH_1995.iter().map(|&p| row(p)).collect();
    adjust(&mut rows);
    let q: Vec<f64> = rows.iter().map(|r| r.q_value).collect();
    assert_eq!(q, benjamini_hochberg(&BH_1995));
    assert_eq!(rows.iter().filter(|r| r.is_discovery(0.05)).count(), 4);
}

/// q of each p from the definition: the smallest `p_j m / #{k: p_k <= p_j}` over `p_j >= p_i`, capped.
fn by_definition(p: &[f64]) -> Vec<f64> {
    let m = p.len() as f64;
    p.iter()
        .map(|&pi| {
            p.iter()
                .filter(|&&pj| pj >= pi)
                .map(|&pj| pj * m / p.iter().filter(|&&pk| pk <= pj).count() as f64)
                .fold(1.0, f64::min)
        })
        .collect()
}

proptest! {
    #[test]
    fn q_values_are_monotone_at_least_p_at_most_one_and_as_defined(
        p in prop::collection::vec(prop_oneof![0.0..=1.0f64, Just(0.05), Just(1.0), 0.0..1e-6f64], 1..60)
    ) {
        let q = benjamini_hochberg(&p);
        let reference = by_definition(&p);
        for i in 0..p.len() {
            prop_assert!(q[i] >= p[i] && q[i] <= 1.0, "p {} q {}", p[i], q[i]);
            prop_assert!((q[i] - reference[i]).abs() <= 1e-12 * reference[i].max(1e-300) + 1e-15,
                "q[{}] = {}, by definition {}", i, q[i], reference[i]);
            for j in 0..p.len() {
                if p[i] <= p[j] {
                    prop_assert!(q[i] <= q[j], "not monotone: p {} -> q {}, p {} -> q {}", p[i], q[i], p[j], q[j]);
                }
            }
        }
    }
}
