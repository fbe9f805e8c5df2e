// Handles come only from the generated grant functions: code cannot make one for any prefix it likes.
use prefixes::access::ReadWrite;
use prefixes::keys::Canonical;

fn main() {
    let _ = prefixes::Prefix::<Canonical, ReadWrite>::new(prefixes::buckets::DATA);
}
