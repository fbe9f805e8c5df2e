//! The committed generated crate matches the manifests.

use std::path::Path;

#[test]
fn generated_prefixes_crate_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let m = infra_gen::load_valid(root).expect("project manifests are valid");
    let fresh = infra_gen::codegen::generate(&m);
    let committed = std::fs::read_to_string(root.join(infra_gen::codegen::GENERATED_PATH)).unwrap();
    assert!(
        committed == fresh,
        "{} is stale: run `cargo run -p infra-gen -- codegen` and commit the result",
        infra_gen::codegen::GENERATED_PATH
    );
}
