//! `civic gen` through the binary: gzip by extension with the same CSV inside, the same bytes per
//! seed, `gen-la311` kept as the la311 generator, and the errors users see (unknown dataset: exit 2
//! listing the known ones).

use std::io::Read;
use std::process::{Command, Output};

fn civic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn gz_output_holds_the_same_csv_and_a_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for dataset in ["lapd_crime", "ladbs_permits"] {
        let path = |name: &str| dir.path().join(format!("{dataset}-{name}"));
        let (plain, gz, gz2) = (path("a.csv"), path("a.csv.gz"), path("b.csv.gz"));
        for out in [&plain, &gz, &gz2] {
            let run = ok(civic(&[
                "gen",
                "--dataset",
                dataset,
                "--rows",
                "400",
                "--seed",
                "5",
                "--year",
                "2019-2020",
                "--out",
                out.to_str().unwrap(),
            ]));
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(
                stderr.starts_with(&format!("generated 400 {dataset} rows (")),
                "{stderr}"
            );
        }
        let plain = std::fs::read(plain).unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, plain, "{dataset}");
        assert_eq!(std::fs::read(&gz).unwrap(), std::fs::read(&gz2).unwrap());
        let seed6 = ok(civic(&[
            "gen",
            "--dataset",
            dataset,
            "--rows",
            "400",
            "--seed",
            "6",
            "--year",
            "2019-2020",
        ]));
        assert_ne!(
            seed6.stdout, plain,
            "{dataset}: seed 6 gives seed 5's bytes"
        );
    }
}

#[test]
fn gen_la311_is_gen_dataset_la311() {
    let args = ["--rows", "300", "--seed", "3", "--year", "2018"];
    let old = ok(civic(&[&["gen-la311"][..], &args].concat()));
    let new = ok(civic(&[&["gen", "--dataset", "la311"][..], &args].concat()));
    assert!(old.stdout.starts_with(b"SRNumber,CreatedDate,"));
    assert_eq!(old.stdout, new.stdout);
}

#[test]
fn an_unknown_dataset_exits_2_listing_the_known_ones() {
    let out = civic(&["gen", "--dataset", "lapd", "--rows", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown dataset 'lapd' (known: la311, lapd_crime, ladbs_permits)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn options_that_do_not_apply_are_refused() {
    let span = civic(&[
        "gen",
        "--dataset",
        "la311",
        "--rows",
        "1",
        "--year",
        "2018-2019",
    ]);
    assert!(!span.status.success());
    assert!(String::from_utf8_lossy(&span.stderr).contains("la311 generates one year at a time"));
    let split = civic(&[
        "gen",
        "--dataset",
        "lapd_crime",
        "--rows",
        "1",
        "--split-latlon",
    ]);
    assert!(!split.status.success());
    assert!(
        String::from_utf8_lossy(&split.stderr)
            .contains("--split-latlon applies to ladbs_permits only")
    );
    let year = civic(&["gen", "--dataset", "lapd_crime", "--year", "1850"]);
    assert_eq!(year.status.code(), Some(2), "a bad --year is a usage error");
}

#[test]
fn help_names_every_dataset() {
    let help = ok(civic(&["gen", "--help"]));
    let text = String::from_utf8_lossy(&help.stdout);
    for id in [
        "la311",
        "lapd_crime",
        "ladbs_permits",
        "--split-latlon",
        "FIRST-LAST",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    let top = ok(civic(&["--help"]));
    assert!(
        !String::from_utf8_lossy(&top.stdout).contains("gen-la311"),
        "gen-la311 is hidden"
    );
}
