//! Row-level behaviour of the transform on small literal rows (era A header of the built-in catalog).

use harmonize::plan::{LineageValues, Plan};
use harmonize::row::{Reason, Value};

const HEADER: &str = "SRNumber,CreatedDate,UpdatedDate,ActionTaken,Owner,RequestType,Status,RequestSource,MobileOS,Anonymous,AssignTo,ServiceDate,ClosedDate,AddressVerified,ApproximateAddress,Address,HouseNumber,Direction,StreetName,Suffix,ZipCode,Latitude,Longitude,Location,TBMPage,TBMColumn,TBMRow,APC,CD,CDMember,NC,NCName,PolicePrecinct";

fn plan() -> Plan {
    let catalog = harmonize::builtin("la311").unwrap();
    let header: Vec<String> = HEADER.split(',').map(String::from).collect();
    let lineage = LineageValues {
        year: 2017,
        dataset: "d4vt-q4t5".into(),
        run: "r".into(),
    };
    Plan::new(&catalog, catalog.era("A").unwrap(), &header, lineage).unwrap()
}

/// A good 2017 row with `changes` (column name -> text) applied.
fn row(changes: &[(&str, &str)]) -> Vec<String> {
    let mut r: Vec<String> = "1-870704831,12/31/2017 11:59:58 PM,04/09/2018 09:25:28 AM,SR Created,BOS,Homeless Encampment,Closed,Call,,N,NC,01/05/2018 12:00:00 AM,04/09/2018 09:18:35 AM,Y,N,X,2111,W,BELLEVUE,AVE,90026,34.073216645,-118.266861909,X,634,D,1,East Los Angeles APC,13,Mitch O'Farrell,44,GREATER ECHO PARK ELYSIAN NC,RAMPART"
        .split(',')
        .map(String::from)
        .collect();
    let names: Vec<&str> = HEADER.split(',').collect();
    r[names.iter().position(|n| *n == "Location").unwrap()] =
        "(34.073216645, -118.266861909)".into();
    for (k, v) in changes {
        r[names.iter().position(|n| n == k).unwrap()] = v.to_string();
    }
    r
}

fn value(p: &Plan, values: &[Value], name: &str) -> Value {
    values[p.columns.iter().position(|c| c.name == name).unwrap()].clone()
}

/// Transform `changes` applied to the good row; Ok(values) or Err((column, value, reason)) of the first problem.
fn check(changes: &[(&str, &str)]) -> Result<Vec<Value>, (String, String, Reason)> {
    let p = plan();
    let r = row(changes);
    p.transform_row(|i| r[i].as_str(), 7)
        .map(|c| c.values)
        .map_err(|ps| (ps[0].column.clone(), ps[0].value.clone(), ps[0].reason))
}

#[test]
fn good_row_is_typed_and_normalized() {
    let p = plan();
    let v = check(&[]).unwrap();
    assert_eq!(value(&p, &v, "council_district"), Value::I16(13));
    assert_eq!(value(&p, &v, "owner_agency"), Value::Str("LASAN".into()));
    assert_eq!(value(&p, &v, "nc_name"), Value::Str("Echo Park".into()));
    assert_eq!(value(&p, &v, "anonymous"), Value::Bool(false));
    assert_eq!(
        value(&p, &v, "created_by_org"),
        Value::Null,
        "absent in era A"
    );
    assert_eq!(value(&p, &v, "source_row"), Value::U64(7));
}

/// (changes to the good row, expected column, value, reason).
type Case = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
    Reason,
);

#[test]
fn bad_values_are_quarantined_with_column_value_and_reason() {
    let cases: &[Case] = &[
        (
            &[("CD", "16")],
            "council_district",
            "16",
            Reason::OutOfRange,
        ),
        (&[("CD", "0")], "council_district", "0", Reason::OutOfRange),
        (
            &[("CD", "Monica Rodriguez")],
            "council_district",
            "Monica Rodriguez",
            Reason::NotAnInteger,
        ),
        (
            &[("CreatedDate", "31/12/2017 23:59")],
            "created_at",
            "31/12/2017 23:59",
            Reason::UnparsableDate,
        ),
        (
            &[("SRNumber", "")],
            "sr_number",
            "",
            Reason::MissingRequired,
        ),
        (
            &[("Status", "Self Service")],
            "status",
            "Self Service",
            Reason::UnknownValue,
        ),
        (&[("Anonymous", "EV")], "anonymous", "EV", Reason::NotAFlag),
        (
            &[("Latitude", "40.7"), ("Longitude", "-74.0")],
            "latitude/longitude",
            "40.7, -74",
            Reason::OutsideLaBbox,
        ),
        (
            &[("Latitude", "abc")],
            "latitude",
            "abc",
            Reason::NotANumber,
        ),
        (
            &[("Longitude", "")],
            "latitude/longitude",
            "34.073216645, ",
            Reason::IncompleteCoordinates,
        ),
        (
            &[("Latitude", ""), ("Longitude", ""), ("Location", "(0, 0)")],
            "latitude/longitude",
            "(0, 0)",
            Reason::OutsideLaBbox,
        ),
        (
            &[
                ("Latitude", ""),
                ("Longitude", ""),
                ("Location", "somewhere"),
            ],
            "latitude/longitude",
            "somewhere",
            Reason::UnparsableLocation,
        ),
    ];
    for (changes, column, value, reason) in cases {
        let got = check(changes).expect_err(&format!("{changes:?} should be quarantined"));
        assert_eq!(
            got,
            (column.to_string(), value.to_string(), *reason),
            "{changes:?}"
        );
    }
}

#[test]
fn empty_optional_values_are_null_not_quarantined() {
    let p = plan();
    let v = check(&[
        ("CD", ""),
        ("ServiceDate", ""),
        ("Latitude", ""),
        ("Longitude", ""),
        ("Location", ""),
        ("NC", ""),
        ("NCName", ""),
    ])
    .unwrap();
    for c in [
        "council_district",
        "service_date",
        "latitude",
        "longitude",
        "nc_code",
        "nc_name",
    ] {
        assert_eq!(value(&p, &v, c), Value::Null, "{c}");
    }
}

#[test]
fn location_fills_missing_coordinates_in_either_order_and_unswaps_columns() {
    let p = plan();
    for loc in [
        "POINT (-118.266861909 34.073216645)",
        "(34.073216645, -118.266861909)",
        "(-118.266861909, 34.073216645)",
    ] {
        let v = check(&[("Latitude", ""), ("Longitude", ""), ("Location", loc)]).unwrap();
        assert_eq!(value(&p, &v, "latitude"), Value::F64(34.073216645), "{loc}");
        assert_eq!(
            value(&p, &v, "longitude"),
            Value::F64(-118.266861909),
            "{loc}"
        );
    }
    let r = row(&[
        ("Latitude", "-118.266861909"),
        ("Longitude", "34.073216645"),
    ]);
    let c = p.transform_row(|i| r[i].as_str(), 1).unwrap();
    assert!(c.swapped_coordinates);
    assert_eq!(value(&p, &c.values, "latitude"), Value::F64(34.073216645));
}

#[test]
fn nc_name_without_known_code_is_cleaned_of_decorations() {
    let p = plan();
    let v = check(&[("NC", "65"), ("NCName", "BRENTWOOD CC")]).unwrap();
    assert_eq!(value(&p, &v, "nc_name"), Value::Str("BRENTWOOD".into()));
    let v = check(&[("NC", ""), ("NCName", "NC VALLEY VILLAGE")]).unwrap();
    assert_eq!(
        value(&p, &v, "nc_name"),
        Value::Str("VALLEY VILLAGE".into())
    );
}

#[test]
fn era_defaults_fill_columns_the_source_lacks() {
    // A catalog change only: era A gets a default for a column its sources never had.
    let text = harmonize::load::LA311_CANONICAL_YAML.replacen(
        "      police_precinct: {from: PolicePrecinct}\n    location: {from: Location}\n    # Socrata",
        "      police_precinct: {from: PolicePrecinct}\n      created_by_org: {default: \"Not recorded\"}\n    location: {from: Location}\n    # Socrata",
        1,
    );
    assert_ne!(
        text,
        harmonize::load::LA311_CANONICAL_YAML,
        "fixture edit applied"
    );
    let catalog = harmonize::load::parse("edited.yaml", &text).unwrap();
    let header: Vec<String> = HEADER.split(',').map(String::from).collect();
    let lineage = LineageValues {
        year: 2017,
        dataset: "d4vt-q4t5".into(),
        run: "r".into(),
    };
    let p = Plan::new(&catalog, catalog.era("A").unwrap(), &header, lineage).unwrap();
    let r = row(&[]);
    let v = p.transform_row(|i| r[i].as_str(), 1).unwrap().values;
    assert_eq!(
        value(&p, &v, "created_by_org"),
        Value::Str("Not recorded".into())
    );
}
