//! Seeded deterministic simulation of the worklist under faults: crashes before/after each side effect,
//! injected failures of store calls (conditional create-only puts included, before or after they took effect)
//! and queue calls (sends, receives, deletes, visibility changes), the same message redelivered (visibility
//! expiring while a job runs, a failed delete, at-least-once delivery of an in-flight message), duplicates sent
//! as new messages, visible messages handed out in random order, transient and permanent job failures, bad
//! messages, and the operator's DLQ redrive through the production functions. The invariants are in
//! `sim/invariants.rs` and `sim/fakes.rs` (`SimRunner`).
//!
//! `SIM_SCHEDULES=N` sets the count (default 4,000), `SIM_SEED=S` replays one schedule; a failure prints its seed.
//! The `broken_*` tests run the same schedules with a deliberately broken consumer (a knob of the harness) and
//! assert that the invariant it breaks reports the violation, while the correct consumer passes them.

mod sim;

use sim::{Broken, Kind, run_schedule, simulate};

const BASE_SEED: u64 = 0x5eed_0000;

#[test]
fn worklist_simulation() {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.parse().expect("SIM_SEED must be a u64");
        match run_schedule(seed) {
            Ok(stats) => eprintln!("SIM_SEED={seed} ok; {stats}"),
            Err(msg) => panic!("schedule failed (SIM_SEED={seed}):\n{msg}"),
        }
        return;
    }
    let schedules: u64 = std::env::var("SIM_SCHEDULES")
        .ok()
        .map(|n| n.parse().expect("SIM_SCHEDULES must be a number"))
        .unwrap_or(4_000);
    let mut stats = sim::Stats::default();
    let mut failed = Vec::new();
    for i in 0..schedules {
        let seed = BASE_SEED + i;
        match run_schedule(seed) {
            Ok(s) => stats.add(&s),
            Err(msg) => failed.push(format!("SIM_SEED={seed}:\n{msg}")),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {schedules} schedules failed; replay one with SIM_SEED=<seed> cargo nextest run --workspace \
         -E 'package(worklist) & test(=worklist_simulation)' (SIM_TRACE=1 prints its events)\n{}",
        failed.len(),
        failed
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("worklist_simulation: {schedules} schedules ok; {stats}");
    // The faults must actually have happened, or the invariants proved nothing.
    if schedules >= 1_000 {
        stats.assert_faults_exercised();
    }
}

/// Run schedules with `broken` until one reports a violation of `kind`; that schedule must pass with the
/// correct consumer. Returns the seed and the violation's text.
fn caught(broken: Broken, kind: Kind) -> (u64, String) {
    for seed in BASE_SEED..BASE_SEED + 2_000 {
        let run = simulate(seed, Some(broken));
        if let Some(v) = run.of(kind).first() {
            let detail = v.detail.clone();
            if let Err(msg) = run_schedule(seed) {
                panic!("SIM_SEED={seed} fails with the correct consumer too:\n{msg}");
            }
            eprintln!("{broken:?} caught by {kind:?} at SIM_SEED={seed}: {detail}");
            return (seed, detail);
        }
    }
    panic!("{broken:?} was never reported as {kind:?} in 2,000 schedules");
}

#[test]
fn broken_skip_done_check_is_caught_redoing_finished_work() {
    let (_, detail) = caught(Broken::SkipDoneCheck, Kind::RedoneAfterTerminal);
    assert!(
        detail.contains("although its terminal record exists"),
        "{detail}"
    );
}

#[test]
fn broken_blind_put_is_caught_completing_twice() {
    let (_, detail) = caught(Broken::BlindPut, Kind::LayerMarkerNotOnce);
    assert!(detail.contains("completion marker"), "{detail}");
    let (_, detail) = caught(Broken::BlindPut, Kind::JobRecordNotOnce);
    assert!(detail.contains("terminal record written"), "{detail}");
    let (_, detail) = caught(Broken::BlindPut, Kind::NextLayerNotOnce);
    assert!(detail.contains("started"), "{detail}");
}

#[test]
fn broken_ack_on_error_is_caught_losing_work() {
    let (_, detail) = caught(Broken::AckOnError, Kind::Lost);
    assert!(!detail.is_empty());
}

/// The known gap the simulation found in the fan-in (see `Kind::StrandedCompletion`), reproduced with the
/// correct consumer: `analyze`'s lane-0 first message was sent twice (a completion resumed after a failed
/// send), one copy became the marker's owner, the create-only put of the marker failed after it took effect,
/// and a concurrent delivery of the same body had already acknowledged it as `LaneDone`, so nothing resumes
/// the completion. When the fan-in is fixed, this test fails: then delete it and the tolerance in
/// `sim::run_schedule`.
#[test]
fn known_gap_a_completion_stranded_by_a_diverged_redelivery_is_reported() {
    let run = simulate(1_592_591_156, None);
    let stranded = run.of(Kind::StrandedCompletion);
    assert_eq!(stranded.len(), 1, "{:?}", run.violations);
    assert!(
        stranded[0]
            .detail
            .contains("analyze completed without a report"),
        "{stranded:?}"
    );
    let others: Vec<_> = run
        .violations
        .iter()
        .filter(|v| v.kind != Kind::StrandedCompletion)
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

/// A seed replays exactly: same statistics, same violations.
#[test]
fn a_seed_replays_identically() {
    for seed in BASE_SEED..BASE_SEED + 50 {
        let (a, b) = (simulate(seed, None), simulate(seed, None));
        assert_eq!(a.stats.to_string(), b.stats.to_string(), "SIM_SEED={seed}");
        let text = |r: &sim::Run| format!("{:?}", r.violations);
        assert_eq!(text(&a), text(&b), "SIM_SEED={seed}");
    }
}
