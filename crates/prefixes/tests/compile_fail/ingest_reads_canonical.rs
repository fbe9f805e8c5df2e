// `ingest` has no grant on `canonical` at all: there is no handle to ask for.
fn main() {
    let _ = prefixes::ingest::canonical();
}
