//! Seeded synthetic weekly district series for the integration tests and the timing example: Poisson
//! counts around a level, with an AR(1) log-rate (weekly counts are autocorrelated), an optional
//! annual cycle, and an optional planted lead of one series over another.
#![allow(dead_code)] // each test binary uses a part

use correlate::{Association, Config, Series, adjust, test_pair};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};

pub const DISTRICTS: u8 = 15;
pub const CRIME: &str = "lapd_crime";
pub const SERVICE: &str = "la311";
pub const PERMITS: &str = "ladbs_permits";
/// Every dataset's metrics: `total` plus three top categories, so a dataset pair has 16 metric pairs.
pub const METRICS: [&str; 4] = ["total", "cat_1", "cat_2", "cat_3"];

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The shape of one generated series.
#[derive(Clone, Copy)]
pub struct Shape {
    pub level: f64,
    /// AR(1) coefficient and innovation sd of the log-rate.
    pub phi: f64,
    pub sd: f64,
    /// Annual cycle, as a fraction of the level (0 for none), and its phase in weeks.
    pub season: f64,
    pub season_phase: f64,
}

impl Shape {
    pub fn counts(level: f64) -> Shape {
        Shape {
            level,
            phi: 0.6,
            sd: 0.12,
            season: 0.0,
            season_phase: 0.0,
        }
    }
}

/// The expected counts of `weeks` weeks of `shape` (before Poisson noise).
pub fn rates(rng: &mut ChaCha8Rng, weeks: usize, shape: Shape) -> Vec<f64> {
    let innovation = Normal::new(0.0, shape.sd).unwrap();
    let mut log_rate = innovation.sample(rng) / (1.0 - shape.phi * shape.phi).sqrt();
    (0..weeks)
        .map(|w| {
            log_rate = shape.phi * log_rate + innovation.sample(rng);
            let angle = std::f64::consts::TAU * (w as f64 + shape.season_phase) / (365.2425 / 7.0);
            shape.level * (1.0 + shape.season * angle.sin()) * log_rate.exp()
        })
        .collect()
}

/// One Poisson draw per rate.
pub fn poisson(rng: &mut ChaCha8Rng, rates: &[f64]) -> Vec<f64> {
    rates
        .iter()
        .map(|&r| Poisson::new(r.max(1e-9)).unwrap().sample(rng))
        .collect()
}

pub fn series(dataset: &str, metric: &str, district: u8, values: Vec<f64>) -> Series {
    Series {
        dataset: dataset.into(),
        metric: metric.into(),
        council_district: district,
        first_week: 2_700,
        values,
    }
}

/// A planted lead: in `district`, 311's total in week w is `base + gain * crime_total[w - lag]` plus
/// Poisson noise.
#[derive(Clone, Copy)]
pub struct Plant {
    pub district: u8,
    pub lag: usize,
    pub gain: f64,
}

/// A run's series: three datasets x four metrics x 15 districts, independent except for `plant`.
pub fn city(seed: u64, weeks: usize, plant: Option<Plant>) -> Vec<Series> {
    let mut rng = rng(seed);
    let mut all = Vec::new();
    for district in 1..=DISTRICTS {
        let mut crime_total = Vec::new();
        for (dataset, level) in [(CRIME, 60.0), (SERVICE, 120.0), (PERMITS, 25.0)] {
            for (m, metric) in METRICS.iter().enumerate() {
                let level = level / (1.0 + m as f64);
                let mut expected = rates(&mut rng, weeks, Shape::counts(level));
                if let Some(p) = plant.filter(|p| p.district == district)
                    && dataset == SERVICE
                    && m == 0
                {
                    for w in 0..weeks {
                        let lead = if w >= p.lag {
                            crime_total[w - p.lag]
                        } else {
                            60.0
                        };
                        expected[w] = 0.4 * level + p.gain * lead;
                    }
                }
                let values = poisson(&mut rng, &expected);
                if dataset == CRIME && m == 0 {
                    crime_total = values.clone();
                }
                all.push(series(dataset, metric, district, values));
            }
        }
    }
    all
}

/// Every pair of series of one district and two different datasets, `a` before `b` in dataset order.
pub fn pairs(all: &[Series]) -> Vec<(&Series, &Series)> {
    let order = |d: &str| {
        [CRIME, SERVICE, PERMITS]
            .iter()
            .position(|x| *x == d)
            .unwrap_or(99)
    };
    let mut out = Vec::new();
    for a in all {
        for b in all {
            if a.council_district == b.council_district && order(&a.dataset) < order(&b.dataset) {
                out.push((a, b));
            }
        }
    }
    out
}

/// Tests every pair and adjusts across all of them, as one run does.
pub fn run(pairs: &[(&Series, &Series)], config: &Config) -> Vec<Association> {
    let mut all: Vec<Association> = pairs
        .iter()
        .flat_map(|(a, b)| test_pair(a, b, config))
        .collect();
    adjust(&mut all);
    all
}

pub fn random_seed(rng: &mut ChaCha8Rng) -> u64 {
    rng.random()
}
