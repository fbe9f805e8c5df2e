// A key names one of the objects prefixes.yaml declares under its prefix: another prefix's object does not fit.
use prefixes::keys::{RawKey, runs};

fn main() {
    let raw = prefixes::ingest::raw();
    let _ = raw.write_key(&RawKey { dataset: "la311", run_id: "r1", partition: "7" }, &runs::Manifest);
}
