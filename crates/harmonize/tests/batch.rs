//! The column path ([`harmonize::batch::BatchTransform`]) against its definition, the row path
//! ([`Plan::transform_row`]): on batches of rows with tricky values in every column, the same canonical rows
//! (same order, same values), the same quarantined rows with the same problems, the same corrections and the
//! same district agreement.

use arrow::array::StringArray;
use harmonize::batch::BatchTransform;
use harmonize::canonical::{self, BatchBuilder};
use harmonize::plan::{LineageValues, Plan};
use proptest::prelude::*;

const HEADER: &str = "SRNumber,CreatedDate,UpdatedDate,ActionTaken,Owner,RequestType,Status,RequestSource,MobileOS,Anonymous,AssignTo,ServiceDate,ClosedDate,AddressVerified,ApproximateAddress,Address,HouseNumber,Direction,StreetName,Suffix,ZipCode,Latitude,Longitude,Location,TBMPage,TBMColumn,TBMRow,APC,CD,CDMember,NC,NCName,PolicePrecinct";

const GOOD: &str = "1-870704831,12/31/2017 11:59:58 PM,04/09/2018 09:25:28 AM,SR Created,BOS,Homeless Encampment,Closed,Call,,N,NC,01/05/2018 12:00:00 AM,04/09/2018 09:18:35 AM,Y,N,X,2111,W,BELLEVUE,AVE,90026,34.073216645,-118.266861909,(34.073216645; -118.266861909),634,D,1,East Los Angeles APC,13,Mitch O'Farrell,44,GREATER ECHO PARK ELYSIAN NC,RAMPART";

fn header() -> Vec<String> {
    HEADER.split(',').map(String::from).collect()
}

fn plan(era: &str) -> (harmonize::Catalog, Plan) {
    let catalog = harmonize::builtin("la311").unwrap();
    let lineage = LineageValues {
        year: 2017,
        dataset: "d4vt-q4t5".into(),
        run: "r".into(),
    };
    let p = Plan::new(&catalog, catalog.era(era).unwrap(), &header(), lineage).unwrap();
    (catalog, p)
}

/// Values worth trying in one column: the good one most often, else something a source really writes.
fn value_for(column: &str, good: String) -> BoxedStrategy<String> {
    let odd: Vec<&'static str> = match column {
        "CreatedDate" | "UpdatedDate" | "ClosedDate" | "ServiceDate" => vec![
            "",
            " ",
            "11/04/2018 01:30:00 AM",
            "11/04/2018 1:30",
            "3/11/2018 2:30",
            "03/11/2018 02:59:59 AM",
            "2018-03-11T03:00:00.500",
            "2017-12-31 23:59:58",
            "1/3/18 9:05",
            "03/15/2021",
            "12/31/2017 25:00",
            "Monica Rodriguez",
            "0018-01-01",
        ],
        "Latitude" | "Longitude" => vec![
            "",
            "0",
            "0.0",
            "-118.2668",
            "34.0732",
            "45.1",
            "abc",
            " 34.1 ",
            "$34",
            "-0",
        ],
        "Location" => vec![
            "",
            "(34.05, -118.25)",
            "(-118.25, 34.05)",
            "POINT (-118.25 34.05)",
            "POINT (34.05 -118.25)",
            "(0, 0)",
            "(50, 50)",
            "nowhere",
        ],
        "CD" => vec![
            "",
            "0",
            "15",
            "16",
            "13.0",
            "+7",
            "Mitch O'Farrell",
            "70000",
        ],
        "NC" => vec!["", "0", "999", "1000", "44", "x"],
        "Status" => vec!["", "closed", " Open ", "Canceled", "Shifted", "ÖPEN"],
        "RequestType" | "RequestSource" | "Owner" => {
            vec!["", "bulky items", "  Call ", "Unknown Thing", "BOS"]
        }
        "Anonymous" | "ApproximateAddress" => vec!["", "Y", "n", "TRUE", "false", "maybe", "Ÿ"],
        "NCName" => vec!["", "NC Foo Bar NC", "  spaced   out  ", "x"],
        "SRNumber" => vec!["", " 1-2 ", "1-3"],
        _ => vec!["", "  padded  ", "\u{a0}nbsp", "x"],
    };
    let odd: Vec<String> = odd.into_iter().map(String::from).collect();
    prop_oneof![
        6 => Just(good),
        1 => prop::sample::select(odd),
    ]
    .boxed()
}

fn rows() -> impl Strategy<Value = Vec<Vec<String>>> {
    let good: Vec<String> = GOOD.split(',').map(|v| v.replace(';', ",")).collect();
    let cols: Vec<BoxedStrategy<String>> = header()
        .iter()
        .zip(good)
        .map(|(h, g)| value_for(h, g))
        .collect();
    prop::collection::vec(cols, 1..40)
}

/// Both paths over `rows`; panics (with the difference) when they disagree.
fn check(era: &str, rows: &[Vec<String>]) -> Result<(), TestCaseError> {
    let (catalog, plan) = plan(era);
    let schema = canonical::schema(&catalog);
    let n_cols = header().len();
    let cols: Vec<StringArray> = (0..n_cols)
        .map(|c| StringArray::from_iter_values(rows.iter().map(|r| r[c].as_str())))
        .collect();
    let source_rows: Vec<u64> = (1..=rows.len() as u64).collect();

    let mut want = BatchBuilder::new(schema.clone());
    let mut want_quarantined = Vec::new();
    let mut want_swapped = 0;
    let mut want_districts = contract::DistrictAgreement::default();
    for (r, row) in rows.iter().enumerate() {
        match plan.transform_row(|i| row[i].as_str(), source_rows[r]) {
            Ok(c) => {
                want_swapped += u64::from(c.swapped_coordinates);
                plan.district_outcome(&c.values, &mut want_districts);
                want.push(&c.values);
            }
            Err(problems) => want_quarantined.push((r, problems)),
        }
    }
    let want = want.finish().unwrap();

    let mut t = BatchTransform::new(&plan, &schema);
    // Twice: the second run reads every offset from the cache.
    for _ in 0..2 {
        let got = t.run(&plan, &schema, &cols, &source_rows).unwrap();
        prop_assert_eq!(&got.batch, &want);
        prop_assert_eq!(&got.quarantined, &want_quarantined);
        prop_assert_eq!(got.swapped, want_swapped);
        prop_assert_eq!(got.districts.unwrap_or_default(), want_districts);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn column_path_equals_row_path_era_a(rows in rows()) {
        check("A", &rows)?;
    }

    #[test]
    fn column_path_equals_row_path_era_b(rows in rows()) {
        // Era B needs CreatedByUserOrganization only optionally: the same header, another plan.
        check("B", &rows)?;
    }
}

#[test]
fn a_clean_batch_is_written_whole_and_a_bad_row_keeps_its_place() {
    let good: Vec<String> = GOOD.split(',').map(|v| v.replace(';', ",")).collect();
    let mut bad = good.clone();
    bad[header().iter().position(|h| h == "CD").unwrap()] = "16".into();
    let rows = vec![good.clone(), bad, good];
    check("A", &rows).unwrap();
    let (catalog, plan) = plan("A");
    let schema = canonical::schema(&catalog);
    let cols: Vec<StringArray> = (0..header().len())
        .map(|c| StringArray::from_iter_values(rows.iter().map(|r| r[c].as_str())))
        .collect();
    let got = BatchTransform::new(&plan, &schema)
        .run(&plan, &schema, &cols, &[1, 2, 3])
        .unwrap();
    assert_eq!(got.batch.num_rows(), 2);
    assert_eq!(got.quarantined.len(), 1);
    assert_eq!(got.quarantined[0].0, 1);
    assert_eq!(got.quarantined[0].1[0].column, "council_district");
}
