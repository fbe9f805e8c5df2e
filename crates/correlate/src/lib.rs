//! Lead/lag associations between the weekly series of two datasets in one council district, with
//! honest statistics: detrended series, per-lag Pearson correlation, sequential block-permutation
//! p-values and Benjamini–Hochberg q-values across a run. A pure library: no I/O beyond building
//! Arrow batches.
//!
//! # Method
//!
//! **1. Transform** ([`transform`] = [`detrend::detrend`] then [`prewhiten::prewhiten`]). Each series
//! is detrended, not differenced, then prewhitened:
//! - when it spans at least two years ([`detrend::MIN_SEASONAL_WEEKS`]), an *annual component* is
//!   removed: a constant, a linear trend and [`detrend::HARMONICS`] (3) harmonics of the
//!   365.2425/7-week year, fitted by Huber-weighted iteratively reweighted least squares (a spike
//!   does not bend it). With fewer than two years an annual cycle cannot be told from a trend, so this
//!   step is skipped;
//! - then a *robust local level* is removed: the centred running median over
//!   [`detrend::TREND_WEEKS`] (13) weeks, NaN weeks skipped. A median follows steps (a new intake
//!   channel, a lockdown) instead of smearing them, so a regime change both datasets share is not an
//!   association; over one year it also takes most of a seasonal swing;
//! - finally each series is replaced by the innovations of its own autoregression (order 0 to
//!   [`prewhiten::MAX_ORDER`] by AIC, Yule–Walker): Haugh's (1976) test of independence between two
//!   series correlates their separately prewhitened residuals, whose cross-correlations are then
//!   close to independent `N(0, 1/n)` at every lag. Without it, weekly counts' own autocorrelation
//!   (which both series keep at lags beyond any permutation block) made 7–8 % of null p-values fall
//!   at or below 0.05; with it 4.6–6.0 % do (`tests/null.rs` asserts the band).
//!
//! First differences were considered and rejected: weekly counts are close to white noise around
//! their level, and differencing white noise makes it MA(1) with lag-1 autocorrelation −0.5. A real
//! one-week lead of `a` over `b` would then also show as correlations of −0.5 times its size at the
//! two neighbouring lags, which the analyst would read as further (negative) associations. Nor does
//! differencing remove a shared sinusoid; it only scales it by `2 sin(π/52) ≈ 0.12`.
//!
//! **2. Statistic.** For each lag `k` in [`Config::lags`], the Pearson correlation of the
//! transformed `a[w]` and `b[w + k]` over the weeks both cover, NaN weeks dropped pairwise
//! (`lag_weeks = k > 0`: `b` follows `a` by `k` weeks; a = crime, b = 311 and 311 one week behind
//! crime is `lag_weeks = +1`). [`Association::weeks`] is the number of pairs.
//!
//! **3. p-values** (two-sided, `|r|`). A block permutation of the transformed `b`: rotate it by a
//! uniform offset, cut it into blocks of `max(4, ⌈n^{1/3}⌉)` weeks and shuffle the blocks. Within a
//! block `b` keeps what short-range dependence prewhitening left; the rotation makes block
//! boundaries random, and the shuffle gives far more distinct arrangements than the `n − 1` circular
//! shifts, whose resolution (1/51 for a year) could never pass a Benjamini–Hochberg threshold of
//! `0.05 / 6500`. One permuted `b` is shared by every lag of the pair. The Monte Carlo is sequential
//! (Besag & Clifford 1991): a lag stops once [`Config::exceedances`] (`h` = 10) permuted `|r|`
//! reached its observed `|r|` after `L` permutations, with `p = h / L`; a lag still open after
//! [`Config::permutations`] (`B`) gets `p = (e + 1) / (B + 1)`. Both are valid p-values. Null lags
//! stop after a few dozen permutations, so only the promising ones are extended, up to `B` (default
//! 1,000,000: a floor of `1e-6`, under `0.05 / 6500 = 7.7e-6`), and closed lags are no longer
//! computed. Without missing weeks a permutation costs one dot product per open lag (`b`'s window
//! sums come from its totals, which no permutation changes).
//!
//! Each pair's random stream is a ChaCha8 stream whose key is the SHA-256 of [`Config::seed`], the
//! four names and the district, so a result depends on the seed and its own input only, never on
//! the order in which tests run (per district jobs, threads).
//!
//! **4. False discovery rate** ([`adjust`], [`benjamini_hochberg`]): step-up q-values across
//! everything tested in a run; a discovery is `q <= alpha`.
//!
//! # Cost
//!
//! A run should [`prepare`] each series once and call [`test_prepared`] per pair ([`test_pair`]
//! transforms both series on every call). `examples/family_timing.rs` times a full-size family (3
//! dataset pairs x 16 metric pairs x 15 districts x 9 lags = 6,480 tests, one planted lead) in
//! release on one core: 0.17 s CPU at 52 weeks, 0.28 s at 104, 0.73 s at 520. Each strong
//! association runs to the cap (roughly 0.05 s at 52 weeks to 0.5 s at 520), so a run with many real
//! associations costs more; lower [`Config::permutations`] trades that for a higher p floor.
//!
//! # Limits
//!
//! - Pearson on counts: one outlying week both datasets share (a holiday) still weighs a lot; the
//!   annual harmonics do not model single holiday weeks.
//! - Null calibration is close, not exact: over 54,000 null tests of two-year series with an AR(1)
//!   log-rate (0.6 and 0.8), 5.4–5.6 % of p-values fell at or below 0.05 and 1.1–1.2 % at or below
//!   0.01 (5.1 % and 1.05 % for white series). In 20 seeded full-size families of 104 weeks with one
//!   planted lead, the lead was found in all 20, and 4 of the 20 also had a discovery elsewhere (BH
//!   alone would give about 2); at 52 weeks a stronger lead was found in 16 of 20, 2 with another.
//! - A pair whose overlap has fewer than [`Config::min_weeks`] paired weeks at some lag, or whose
//!   transformed series is constant there, is not tested (no rows).

pub mod detrend;
mod fdr;
mod pair;
mod permute;
pub mod prewhiten;
mod table;

use std::ops::RangeInclusive;

pub use fdr::{adjust, benjamini_hochberg};
pub use pair::{Prepared, prepare, test_pair, test_prepared};
pub use table::{Error, from_batch, schema, to_batch};

/// What a series is correlated as: [`detrend::detrend`], then [`prewhiten::prewhiten`]. Same length as
/// `values`; NaN where a week is missing or where the autoregression has no past to start from.
pub fn transform(values: &[f64]) -> Vec<f64> {
    prewhiten::prewhiten(&detrend::detrend(values))
}

/// One weekly series of one district: `values[i]` is week `first_week + i` (weeks as i64 indices; any
/// consistent integer index). A missing week is NaN only where the feature table has null (e.g. a median).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub dataset: String,
    pub metric: String,
    pub council_district: u8,
    pub first_week: i64,
    pub values: Vec<f64>,
}

/// What a run tests and how hard.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Lags in weeks; `k` pairs `a`'s week `w` with `b`'s week `w + k`.
    pub lags: RangeInclusive<i32>,
    /// Most permutations one pair may use (`B`); the smallest p-value is `1 / (B + 1)`.
    pub permutations: usize,
    /// Seed of every test's random stream (each test derives its own from it, see the crate docs).
    pub seed: u64,
    /// Fewest paired weeks, at every lag, for a pair to be tested (at least 3 are always required).
    pub min_weeks: usize,
    /// A discovery is `q_value <= alpha`.
    pub alpha: f64,
    /// Besag–Clifford `h`: a lag stops once this many permutations reached its observed `|r|`.
    pub exceedances: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lags: -4..=4,
            permutations: 1_000_000,
            seed: 14,
            min_weeks: 26,
            alpha: 0.05,
            exceedances: 10,
        }
    }
}

/// One tested (pair, district, lag). `lag_weeks = k`: `a`'s week `w` is paired with `b`'s week `w + k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub dataset_a: String,
    pub metric_a: String,
    pub dataset_b: String,
    pub metric_b: String,
    pub council_district: u8,
    pub lag_weeks: i32,
    pub correlation: f64,
    pub p_value: f64,
    /// NaN until [`adjust`].
    pub q_value: f64,
    /// Paired weeks at this lag.
    pub weeks: u32,
}

impl Association {
    /// `q_value <= alpha` (false while `q_value` is NaN, i.e. before [`adjust`]).
    pub fn is_discovery(&self, alpha: f64) -> bool {
        self.q_value <= alpha
    }
}

/// The associations with `q_value <= alpha`, strongest (smallest q, then largest |r|) first.
pub fn discoveries(all: &[Association], alpha: f64) -> Vec<&Association> {
    let mut found: Vec<&Association> = all.iter().filter(|a| a.is_discovery(alpha)).collect();
    found.sort_by(|x, y| {
        x.q_value
            .total_cmp(&y.q_value)
            .then(y.correlation.abs().total_cmp(&x.correlation.abs()))
    });
    found
}
