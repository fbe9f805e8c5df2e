//! Times the correlate stage on full-size families: 3 dataset pairs x 16 metric pairs x 15 districts x
//! 9 lags = 6,480 tests, at 52, 104 and 520 weeks, each with one planted lead (311's total following
//! crime's by a week in district 7). Run in release, on one core (the loop is single-threaded):
//! `cargo run --release --example family_timing` (from the workspace root).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{Plant, city, pairs};
use correlate::{
    Association, Config, Prepared, Series, adjust, discoveries, prepare, test_prepared,
};

/// This process's CPU time (user + system) from `/proc/self/stat`, in seconds, where Linux has it: on a
/// shared machine the wall time also counts the other processes' turns on the core. Assumes the usual
/// 100 clock ticks a second.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let config = Config::default();
    for (weeks, gain) in [(52, 1.5), (104, 1.0), (520, 1.0)] {
        let series = city(
            20_260 + weeks as u64,
            weeks,
            Some(Plant {
                district: 7,
                lag: 1,
                gain,
            }),
        );
        let pairs = pairs(&series);
        let index = |s: &Series| series.iter().position(|x| std::ptr::eq(x, s)).unwrap();
        let pairs: Vec<(usize, usize)> = pairs.iter().map(|(a, b)| (index(a), index(b))).collect();

        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        // Each series is transformed once, as the stage does, then paired.
        let prepared: Vec<Prepared> = series.iter().map(prepare).collect();
        let transformed = start.elapsed();
        let mut all: Vec<Association> = pairs
            .iter()
            .flat_map(|&(a, b)| test_prepared(&prepared[a], &prepared[b], &config))
            .collect();
        adjust(&mut all);
        let elapsed = start.elapsed();
        let cpu = cpu_start
            .zip(cpu_seconds())
            .map(|(a, b)| format!("{:.2} s", b - a));

        let found = discoveries(&all, config.alpha);
        println!(
            "{weeks:>3} weeks: {} pairs, {} tests in {:.3} s wall, CPU {} (transform {:.3} s; {:.1} µs a test); {} discoveries",
            pairs.len(),
            all.len(),
            elapsed.as_secs_f64(),
            cpu.as_deref().unwrap_or("unknown"),
            transformed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / all.len() as f64,
            found.len()
        );
        for d in found {
            println!(
                "    CD {} {}/{} ~ {}/{} lag {:+} r {:.3} p {:.1e} q {:.1e} ({} weeks)",
                d.council_district,
                d.dataset_a,
                d.metric_a,
                d.dataset_b,
                d.metric_b,
                d.lag_weeks,
                d.correlation,
                d.p_value,
                d.q_value,
                d.weeks
            );
        }
    }
}
