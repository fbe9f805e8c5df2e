//! `make bench-synth`: time a full synth of the project's manifests (load, validate, emit, serialize)
//! in release mode and compare with the 100 ms target. A benchmark, not a timed test.

use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let runs = 200;
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let m = infra_gen::load_valid(root).expect("valid manifests");
        bytes = 0;
        for stage in m.stage_names() {
            for s in infra_gen::synth::synth(&m, stage) {
                bytes += s.template.to_json().len();
            }
        }
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[runs / 2];
    let p99 = times[runs * 99 / 100];
    println!(
        "synth of all stages ({bytes} bytes of templates): min {:?}  median {median:?}  p99 {p99:?}  max {:?}  (target < 100 ms; {runs} runs)",
        times[0],
        times[runs - 1]
    );
    if median > Duration::from_millis(100) {
        eprintln!("FAIL: median synth time {median:?} is over the 100 ms target");
        std::process::exit(1);
    }
}
