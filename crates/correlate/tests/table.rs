//! The association table: schema, rows to a batch and back, and what a batch that is not one reports.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int16Array, Int32Array, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use correlate::{Association, Error, from_batch, schema, to_batch};
use proptest::prelude::*;

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0..=1.0f64,
        0.0..=1e-9f64,
        Just(f64::NAN),
        Just(0.0),
        Just(1.0)
    ]
}

fn association() -> impl Strategy<Value = Association> {
    (
        (
            "[a-z_]{1,12}",
            "[a-z0-9_ ]{0,16}",
            "[a-z_]{1,12}",
            "\\PC{0,8}",
        ),
        (
            any::<u8>(),
            -8..=8i32,
            float(),
            float(),
            float(),
            any::<u32>(),
        ),
    )
        .prop_map(
            |((dataset_a, metric_a, dataset_b, metric_b), (district, lag, r, p, q, weeks))| {
                Association {
                    dataset_a,
                    metric_a,
                    dataset_b,
                    metric_b,
                    council_district: district,
                    lag_weeks: lag,
                    correlation: r,
                    p_value: p,
                    q_value: q,
                    weeks,
                }
            },
        )
}

/// Equal, with floats compared bit for bit (a NaN q-value round-trips as NaN).
fn same(x: &Association, y: &Association) -> bool {
    (
        &x.dataset_a,
        &x.metric_a,
        &x.dataset_b,
        &x.metric_b,
        x.council_district,
        x.lag_weeks,
        x.weeks,
    ) == (
        &y.dataset_a,
        &y.metric_a,
        &y.dataset_b,
        &y.metric_b,
        y.council_district,
        y.lag_weeks,
        y.weeks,
    ) && x.correlation.to_bits() == y.correlation.to_bits()
        && x.p_value.to_bits() == y.p_value.to_bits()
        && x.q_value.to_bits() == y.q_value.to_bits()
}

proptest! {
    #[test]
    fn rows_round_trip_through_a_batch(rows in prop::collection::vec(association(), 0..40)) {
        let batch = to_batch(&rows);
        prop_assert_eq!(batch.num_rows(), rows.len());
        prop_assert_eq!(batch.schema(), schema());
        let back = from_batch(&batch).unwrap();
        prop_assert_eq!(back.len(), rows.len());
        for (x, y) in rows.iter().zip(&back) {
            prop_assert!(same(x, y), "{:?} came back as {:?}", x, y);
        }
    }
}

#[test]
fn the_schema_has_the_issue_columns_in_order() {
    let s = schema();
    let columns: Vec<(&str, &DataType, bool)> = s
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("dataset_a", &DataType::Utf8, false),
            ("metric_a", &DataType::Utf8, false),
            ("dataset_b", &DataType::Utf8, false),
            ("metric_b", &DataType::Utf8, false),
            ("council_district", &DataType::Int16, false),
            ("lag_weeks", &DataType::Int32, false),
            ("correlation", &DataType::Float64, false),
            ("p_value", &DataType::Float64, false),
            ("q_value", &DataType::Float64, false),
            ("weeks", &DataType::UInt32, false),
        ]
    );
}

/// A batch of the table's columns by name, `replace` swapping one of them.
fn batch_with(replace: Option<(&str, Field, ArrayRef)>, drop: Option<&str>) -> RecordBatch {
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v, v])) };
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    let all: Vec<(&str, ArrayRef)> = vec![
        ("dataset_a", text("lapd_crime")),
        ("metric_a", text("total")),
        ("dataset_b", text("la311")),
        ("metric_b", text("total")),
        ("council_district", Arc::new(Int16Array::from(vec![7, 8]))),
        ("lag_weeks", Arc::new(Int32Array::from(vec![1, -1]))),
        ("correlation", Arc::new(Float64Array::from(vec![0.5, -0.2]))),
        ("p_value", Arc::new(Float64Array::from(vec![1e-6, 0.3]))),
        ("q_value", Arc::new(Float64Array::from(vec![0.01, 0.9]))),
        ("weeks", Arc::new(UInt32Array::from(vec![103, 103]))),
    ];
    // An extra column a later writer may add is ignored.
    let extra: (&str, ArrayRef) = ("note", text("x"));
    for (name, array) in all.into_iter().chain([extra]) {
        if drop == Some(name) {
            continue;
        }
        match &replace {
            Some((n, field, a)) if *n == name => {
                fields.push(field.clone());
                columns.push(a.clone());
            }
            _ => {
                fields.push(Field::new(name, array.data_type().clone(), true));
                columns.push(array);
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[test]
fn columns_are_found_by_name_and_extra_columns_ignored() {
    let rows = from_batch(&batch_with(None, None)).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].council_district, rows[0].lag_weeks, rows[0].weeks),
        (7, 1, 103)
    );
    assert_eq!(rows[1].correlation, -0.2);
}

#[test]
fn a_missing_column_is_named_with_the_expected_ones() {
    let err = from_batch(&batch_with(None, Some("q_value"))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingColumn {
                column: "q_value",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("`q_value`") && text.contains("dataset_a, metric_a"),
        "{text}"
    );
}

#[test]
fn a_column_of_the_wrong_type_says_both_types() {
    let wrong: ArrayRef = Arc::new(Int32Array::from(vec![7, 8]));
    let field = Field::new("council_district", DataType::Int32, false);
    let err = from_batch(&batch_with(Some(("council_district", field, wrong)), None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "association table: column `council_district` is Int32, expected Int16"
    );
}

#[test]
fn a_null_and_an_impossible_district_are_reported_with_their_row() {
    let nulls: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.1), None]));
    let field = Field::new("p_value", DataType::Float64, true);
    let err = from_batch(&batch_with(Some(("p_value", field, nulls)), None)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Null {
                column: "p_value",
                row: 1
            }
        ),
        "{err:?}"
    );

    let district: ArrayRef = Arc::new(Int16Array::from(vec![7, 300]));
    let field = Field::new("council_district", DataType::Int16, false);
    let err = from_batch(&batch_with(
        Some(("council_district", field, district)),
        None,
    ))
    .unwrap_err();
    assert!(
        matches!(err, Error::District { row: 1, value: 300 }),
        "{err:?}"
    );
}
