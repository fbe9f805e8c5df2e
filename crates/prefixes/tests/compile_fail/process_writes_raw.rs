// `process` may only read `raw` (prefixes.yaml: raw.readers = [process]); asking for a write key fails.
use prefixes::keys::{RawKey, raw};

fn main() {
    let raw = prefixes::process::raw();
    let _ = raw.write_key(&RawKey { dataset: "la311", run_id: "r1", partition: "7" }, &raw::Part { part: 0 });
}
