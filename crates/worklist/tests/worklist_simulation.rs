//! Seeded deterministic simulation of the worklist under faults: duplicate deliveries, crashes before/after each
//! side effect, visibility expiring while a job runs (concurrent redelivery), transient and permanent job
//! failures, reordering across lanes, and bad messages. `SIM_SCHEDULES=N` sets the count (default 10,000),
//! `SIM_SEED=S` replays one schedule; a failure prints its seed.

mod sim;

use sim::run_schedule;

#[test]
fn worklist_simulation() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.parse().expect("SIM_SEED must be a u64");
        if let Err(msg) = run_schedule(seed) {
            panic!("schedule failed (SIM_SEED={seed}): {msg}");
        }
        return;
    }
    let schedules: u64 = std::env::var("SIM_SCHEDULES")
        .ok()
        .map(|n| n.parse().expect("SIM_SCHEDULES must be a number"))
        .unwrap_or(10_000);
    let base: u64 = 0x5eed_0000;
    let mut stats = sim::Stats::default();
    for i in 0..schedules {
        let seed = base + i;
        match run_schedule(seed) {
            Ok(s) => stats.add(&s),
            Err(msg) => panic!(
                "schedule {i} failed; replay with SIM_SEED={seed} cargo test -p worklist --test worklist_simulation\n{msg}"
            ),
        }
    }
    eprintln!("worklist_simulation: {schedules} schedules ok; {stats}");
    // The faults must actually have happened, or the invariants proved nothing.
    if schedules >= 1_000 {
        stats.assert_faults_exercised();
    }
}
