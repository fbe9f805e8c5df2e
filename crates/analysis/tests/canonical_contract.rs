//! The canonical columns the analysis reads exist in `datasets/la311/canonical.yaml` with the types the
//! analysis accepts (catches drift between the harmonization catalog and this layer).

use serde::Deserialize;

#[derive(Deserialize)]
struct Catalog {
    columns: Vec<Column>,
}

#[derive(Deserialize)]
struct Column {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[test]
fn canonical_catalog_has_the_columns_the_analysis_reads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/la311/canonical.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the harmonization catalog is part of the repository)",
            path.display()
        )
    });
    let catalog: Catalog = serde_saphyr::from_str(&text).unwrap();
    let ty = |name: &str| {
        catalog
            .columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.ty.as_str())
    };
    for (name, expected) in [
        ("council_district", "int16"),
        ("request_type", "string"),
        ("created_at", "timestamp"),
        ("closed_at", "timestamp"),
        ("cd_member", "string"),
        ("nc_code", "int16"),
        ("nc_name", "string"),
    ] {
        assert_eq!(ty(name), Some(expected), "canonical column {name}");
    }
    assert_eq!(
        analysis::job::COLUMNS,
        [
            "council_district",
            "request_type",
            "created_at",
            "closed_at"
        ]
    );
}
