//! `civic`: the operator CLI for running the pipeline locally.
fn main() {
    eprintln!("civic: no commands yet");
    std::process::exit(2);
}
