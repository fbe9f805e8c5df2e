// A runtime library declares the grants it needs (`Prefix<Raw, Write>` to write raw files); a function that
// may only read `raw` cannot hand it one: a read grant converts into nothing wider.
use prefixes::Prefix;
use prefixes::access::Write;
use prefixes::keys::Raw;

struct WritesRaw {
    _raw: Prefix<Raw, Write>,
}

fn main() {
    let _ = WritesRaw { _raw: prefixes::process::raw().into() };
}
