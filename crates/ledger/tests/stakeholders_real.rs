//! Stakeholders derived from the real MyLA311 samples (testdata/la311, committed gzip'd) name the members shown there;
//! the maintained file overrides field by field and records its provenance.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ledger::stakeholders::{
    Basis, DerivedDistrict, Provenance, StakeholderFile, derive_from_csv, merge, merge_at,
    merge_derived,
};

/// CDMember per CD in late 2017 / Jan 2018 (STAKEHOLDERS.md section B, checked against the samples).
const MEMBERS_2017_2018: [(u8, &str); 15] = [
    (1, "Gilbert Cedillo"),
    (2, "Paul Krekorian"),
    (3, "Bob Blumenfield"),
    (4, "David Ryu"),
    (5, "Paul Koretz"),
    (6, "Nury Martinez"),
    (7, "Monica Rodriguez"),
    (8, "Marqueece Harris-Dawson"),
    (9, "Curren D. Price Jr."),
    (10, "Herb J. Wesson Jr."),
    (11, "Mike Bonin"),
    (12, "Mitchell Englander"),
    (13, "Mitch O'Farrell"),
    (14, "Jose Huizar"),
    (15, "Joe Buscaino"),
];

/// A real MyLA311 sample, committed gzip'd as `testdata/la311/<name>.gz` (see testdata/README.md),
/// decompressed into this test target's scratch folder under its own name. Panics when it is missing:
/// the samples travel with the repository, so no test skips for want of them.
fn sample(name: &str) -> PathBuf {
    use std::io::Read;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let gz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/la311")
        .join(format!("{name}.gz"));
    let file = std::fs::File::open(&gz).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the real samples are committed under testdata/ (see testdata/README.md)",
            gz.display()
        )
    });
    let mut csv = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut csv)
        .unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("testdata/la311");
    std::fs::create_dir_all(&dir).unwrap();
    // Written beside and renamed: tests running at the same time each open a whole file.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let part = dir.join(format!("{name}.{}-{n}.part", std::process::id()));
    std::fs::write(&part, &csv).unwrap();
    let path = dir.join(name);
    std::fs::rename(&part, &path).unwrap();
    path
}

fn derive(path: &Path) -> BTreeMap<u8, DerivedDistrict> {
    let file = std::fs::File::open(path).unwrap();
    derive_from_csv(&path.display().to_string(), file)
        .unwrap()
        .0
}

fn example_file() -> StakeholderFile {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/la311/stakeholders.yaml");
    StakeholderFile::load(&path).unwrap()
}

#[test]
fn samples_2017_and_2018_name_their_members() {
    for name in ["myla311_2017_sample.csv", "myla311_2018_sample.csv"] {
        let path = sample(name);
        let derived = derive(&path);
        assert_eq!(derived.len(), 15, "{name}: all 15 districts appear");
        let stakeholders = merge(&derived, None);
        for (cd, member) in MEMBERS_2017_2018 {
            let s = stakeholders
                .iter()
                .find(|s| s.council_district == cd)
                .unwrap();
            let m = s.council_member.as_ref().unwrap();
            assert_eq!(
                (m.value.as_str(), m.provenance),
                (member, Provenance::Data),
                "{name} CD{cd}"
            );
            assert_eq!(s.id, format!("cd-{cd}"));
            let since = s.member_since.as_ref().unwrap();
            let last = s.member_last_seen.as_ref().unwrap();
            assert!(since.value <= last.value);
            assert!(
                s.neighborhood_councils
                    .as_ref()
                    .is_some_and(|n| !n.value.is_empty()),
                "{name} CD{cd}"
            );
        }
    }
}

#[test]
fn member_change_in_cd12_between_2018_and_2020_latest_wins() {
    let (p2018, p2020) = (
        sample("myla311_2018_sample.csv"),
        sample("myla311_2020_api_fieldnames_sample.csv"),
    );
    let mut derivation = ledger::stakeholders::Derivation::default();
    for path in [p2020, p2018] {
        // Observing the newer file first: order of input must not matter.
        let mut csv = csv::Reader::from_path(&path).unwrap();
        let headers = csv.headers().unwrap().clone();
        let col = |n: &str| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(n))
                .unwrap()
        };
        let (cd, member, nc, ncname, created) = (
            col("CD"),
            col("CDMember"),
            col("NC"),
            col("NCName"),
            col("CreatedDate"),
        );
        for record in csv.records() {
            let r = record.unwrap();
            derivation.observe(&r[cd], &r[member], &r[nc], &r[ncname], &r[created]);
        }
    }
    let derived = derivation.finish();
    let cd12 = &derived[&12];
    let names: Vec<&str> = cd12.terms.iter().map(|t| t.member.as_str()).collect();
    assert_eq!(names, ["Mitchell Englander", "John Lee"]);
    assert_eq!(cd12.current().unwrap().member, "John Lee");
    assert_eq!(cd12.terms[0].last_seen.to_string().get(..4), Some("2018"));
    assert_eq!(cd12.terms[1].first_seen.to_string().get(..4), Some("2020"));
}

#[test]
fn override_file_wins_field_by_field_with_provenance() {
    let path = sample("myla311_2018_sample.csv");
    let derived = derive(&path);
    let file = example_file();
    let merged = merge(&derived, Some(&file));
    let cd1 = merged.iter().find(|s| s.council_district == 1).unwrap();
    let member = cd1.council_member.as_ref().unwrap();
    assert_eq!(
        (member.value.as_str(), member.provenance),
        ("Eunisses Hernandez", Provenance::File)
    );
    assert_eq!(
        cd1.member_since.as_ref().unwrap().provenance,
        Provenance::File
    );
    assert_eq!(
        cd1.member_last_seen, None,
        "the data never names the file's member"
    );
    assert_eq!(cd1.website.as_ref().unwrap().provenance, Provenance::File);
    // Not overridden: neighborhood councils still come from the data, and the history stays.
    assert_eq!(
        cd1.neighborhood_councils.as_ref().unwrap().provenance,
        Provenance::Data
    );
    assert_eq!(cd1.history[0].member, "Gilbert Cedillo");
    // CD7's member is the same in file and data: the file dates the start, the data adds its last day seen.
    let cd7 = merged.iter().find(|s| s.council_district == 7).unwrap();
    assert_eq!(
        cd7.council_member.as_ref().unwrap().provenance,
        Provenance::File
    );
    assert_eq!(
        cd7.member_since
            .as_ref()
            .map(|s| (s.value.to_string(), s.provenance)),
        Some(("2017-07-01".into(), Provenance::File))
    );
    assert!(cd7.member_last_seen.is_some());
    // CD3's file term is undated: the start is the first day the data names the member.
    let cd3 = merged.iter().find(|s| s.council_district == 3).unwrap();
    assert_eq!(
        cd3.member_since.as_ref().unwrap().provenance,
        Provenance::Data
    );
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// The member `merge_at` names for `cd` on `on`, with the basis of the term it comes from.
fn named_at(
    derived: &BTreeMap<u8, DerivedDistrict>,
    file: Option<&StakeholderFile>,
    cd: u8,
    on: &str,
) -> Option<(String, Basis, Provenance)> {
    let s = merge_at(derived, file, day(on))
        .into_iter()
        .find(|s| s.council_district == cd)?;
    let o = s.in_office?;
    assert_eq!(
        s.council_member.as_ref().map(|m| m.value.as_str()),
        Some(o.member.as_str()),
        "council_member is the member in office"
    );
    Some((o.member, o.basis, o.term.provenance))
}

/// Issue 14's cases over the real samples (2017, 2018, 2020) merged with the maintained file: a 2018 window in CD 12
/// names Mitchell Englander, a 2023 window John Lee, a 2016 window in CD 7 Felipe Fuentes.
#[test]
fn members_by_date_over_the_real_samples_and_the_file() {
    let mut derived = BTreeMap::new();
    for name in [
        "myla311_2017_sample.csv",
        "myla311_2018_sample.csv",
        "myla311_2020_api_fieldnames_sample.csv",
    ] {
        merge_derived(&mut derived, derive(&sample(name)));
    }
    let file = example_file();
    let with_file = |cd, on| named_at(&derived, Some(&file), cd, on);
    let englander = with_file(12, "2018-06-15").unwrap();
    assert_eq!(englander.0, "Mitchell Englander");
    assert_eq!(
        englander.2,
        Provenance::File,
        "the data's term joined the file's"
    );
    assert_eq!(with_file(12, "2023-06-15").unwrap().0, "John Lee");
    assert_eq!(
        with_file(7, "2016-08-15").unwrap(),
        ("Felipe Fuentes".into(), Basis::Dated, Provenance::File)
    );
    // Windows, as findings have them (weeks, [start, end)).
    let cd12 = merge(&derived, Some(&file))
        .into_iter()
        .find(|s| s.council_district == 12)
        .unwrap();
    let window = |a: &str, b: &str| cd12.dated_terms().during(day(a), day(b)).map(|o| o.member);
    assert_eq!(
        window("2018-06-04", "2018-06-11").as_deref(),
        Some("Mitchell Englander")
    );
    assert_eq!(
        window("2023-06-05", "2023-06-12").as_deref(),
        Some("John Lee")
    );
    // The 2020 sample names John Lee from 2020-01-01; the file dates his start 2019-08-30.
    let lee = with_file(12, "2019-09-02").unwrap();
    assert_eq!((lee.0.as_str(), lee.1), ("John Lee", Basis::Dated));
    // Between the December 2022 changes the file is what dates them: the data ends in 2020.
    assert_eq!(with_file(5, "2022-12-11").unwrap().0, "Paul Koretz");
    assert_eq!(with_file(5, "2022-12-12").unwrap().0, "Katy Yaroslavsky");
    // A vacancy names no one: CD 7 between Felipe Fuentes and Monica Rodriguez.
    assert_eq!(with_file(7, "2017-01-15"), None);
    let vacant = merge_at(&derived, Some(&file), day("2017-01-15"));
    let cd7 = vacant.iter().find(|s| s.council_district == 7).unwrap();
    assert_eq!(
        (cd7.council_member.as_ref(), cd7.in_office.as_ref()),
        (None, None)
    );
    // The data alone: seen days are "seen", days past them carried forward as "inferred".
    assert_eq!(
        named_at(&derived, None, 12, "2018-01-02"),
        Some(("Mitchell Englander".into(), Basis::Seen, Provenance::Data))
    );
    assert_eq!(
        named_at(&derived, None, 12, "2018-06-15"),
        Some((
            "Mitchell Englander".into(),
            Basis::Inferred,
            Provenance::Data
        ))
    );
    assert_eq!(
        named_at(&derived, None, 12, "2020-01-02"),
        Some(("John Lee".into(), Basis::Seen, Provenance::Data))
    );
    assert_eq!(
        named_at(&derived, None, 12, "2017-01-01"),
        None,
        "before the data"
    );
}

/// Every 2023 member by the file, and none of those who left before 2023.
#[test]
fn the_file_names_the_2023_council() {
    let file = example_file();
    let members_2023: Vec<(u8, Option<String>)> = (1..=15)
        .map(|cd| {
            (
                cd,
                file.terms_of(cd).at(day("2023-08-01")).map(|o| o.member),
            )
        })
        .collect();
    let expected = [
        "Eunisses Hernandez",
        "Paul Krekorian",
        "Bob Blumenfield",
        "Nithya Raman",
        "Katy Yaroslavsky",
        "Imelda Padilla",
        "Monica Rodriguez",
        "Marqueece Harris-Dawson",
        "Curren D. Price Jr.",
        "Heather Hutt",
        "Traci Park",
        "John Lee",
        "Hugo Soto-Martinez",
        "Kevin de León",
        "Tim McOsker",
    ];
    for ((cd, got), want) in members_2023.iter().zip(expected) {
        assert_eq!(got.as_deref(), Some(want), "CD {cd} on 2023-08-01");
    }
}

/// The ledger grants of the `ledger-api` function, which these tests act as.
#[allow(dead_code)]
fn grants() -> ledger::Locations {
    ledger::Locations {
        events: prefixes::ledger_api::events(),
        stakeholders: prefixes::ledger_api::stakeholders(),
    }
}
