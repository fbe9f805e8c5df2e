//! The committed JSON Schemas under `schemas/ledger/` equal what the types generate.

use std::path::PathBuf;

#[test]
fn published_json_schemas_are_fresh() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ledger");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for schema in ledger::schema::published() {
        let path = dir.join(schema.file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &schema.text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) if text == schema.text => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing JSON Schema files {stale:?}; regenerate with `UPDATE_SCHEMAS=1 cargo test -p ledger --test schema_fresh`"
    );
}
