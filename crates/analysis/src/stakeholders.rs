//! Stakeholder observations from canonical batches: council member (`cd_member`) and neighborhood councils
//! (`nc_code`, `nc_name`) per district and day, fed to the ledger's stakeholder derivation.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int16Type, TimeUnit, TimestampMicrosecondType};
use ledger::stakeholders::Derivation;

/// Optional canonical columns read for stakeholders (the analysis works without them).
pub const COLUMNS: [&str; 3] = ["cd_member", "nc_code", "nc_name"];

/// Observes every row of `batch` when it has `council_district` (Int16), `created_at` and `cd_member`;
/// returns false (observing nothing) when it does not.
pub fn observe_batch(derivation: &mut Derivation, batch: &RecordBatch) -> bool {
    let (Some(cd), Some(created), Some(member)) = (
        batch.column_by_name("council_district"),
        batch.column_by_name("created_at"),
        batch.column_by_name("cd_member"),
    ) else {
        return false;
    };
    let (Some(cd), Some(member)) = (
        cd.as_primitive_opt::<Int16Type>(),
        member.as_string_opt::<i32>(),
    ) else {
        return false;
    };
    if !matches!(
        created.data_type(),
        DataType::Timestamp(TimeUnit::Microsecond, _)
    ) {
        return false;
    }
    let created = created.as_primitive::<TimestampMicrosecondType>();
    let nc_code = batch
        .column_by_name("nc_code")
        .and_then(|c| c.as_primitive_opt::<Int16Type>());
    let nc_name = batch
        .column_by_name("nc_name")
        .and_then(|c| c.as_string_opt::<i32>());
    for i in 0..batch.num_rows() {
        let district = (!cd.is_null(i))
            .then(|| u8::try_from(cd.value(i)).ok())
            .flatten();
        let day = (!created.is_null(i))
            .then(|| chrono::DateTime::from_timestamp_micros(created.value(i)))
            .flatten()
            .map(|t| t.date_naive());
        let text = |a: Option<&arrow::array::StringArray>| match a {
            Some(a) if !a.is_null(i) => a.value(i).to_owned(),
            _ => String::new(),
        };
        let code = match nc_code {
            Some(a) if !a.is_null(i) => a.value(i).to_string(),
            _ => String::new(),
        };
        derivation.observe_parsed(district, &text(Some(member)), &code, &text(nc_name), day);
    }
    true
}
