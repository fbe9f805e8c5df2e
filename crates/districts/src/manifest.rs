//! Typed model of `boundaries.yaml` (the boundary sets, their files and dates in force) and its
//! validation. Pure: no I/O, every check is testable from a string literal.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::error::Problem;

/// `boundaries.yaml`: the boundary sets, in date order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub sets: Vec<SetEntry>,
}

/// One boundary set as declared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetEntry {
    /// Short name, e.g. `"2012"`.
    pub name: Spanned<String>,
    /// Human title.
    pub title: String,
    /// GeoJSON FeatureCollection, relative to the yaml's folder.
    pub file: Spanned<String>,
    /// Feature property holding the district number (an integer or a numeric string).
    pub district_property: Spanned<String>,
    /// First day in force (inclusive); absent: since always.
    #[serde(default)]
    pub from: Option<Spanned<NaiveDate>>,
    /// First day no longer in force (exclusive); absent: still in force.
    #[serde(default)]
    pub until: Option<Spanned<NaiveDate>>,
    /// Prefix (at least 16 hex digits) of the file's sha256.
    pub sha256: Spanned<String>,
    /// Where the file comes from.
    pub source: Source,
}

/// Provenance of a boundary file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// GitHub `owner/name` the file was extracted from.
    pub repo: String,
    /// Commit, when known.
    #[serde(default)]
    pub commit: Option<String>,
    /// Git blob id (prefix) of the file.
    pub blob: String,
    /// Path in that repository.
    #[serde(default)]
    pub path: Option<String>,
    /// Anything else worth knowing.
    #[serde(default)]
    pub note: Option<String>,
}

pub(crate) fn problem(path: &str, at: Location, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        line: at.line(),
        column: at.column(),
        message: message.into(),
    }
}

/// serde-saphyr's message without its snippet and its own "line L column C" prefix (the
/// location is given once, as `path:line:col`).
fn plain_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => {
            rest.to_string()
        }
        _ => text.to_string(),
    }
}

impl Manifest {
    /// Parse `text` (display path `path`); a syntax or schema error is one located problem.
    pub fn parse(text: &str, path: &str) -> Result<Self, Vec<Problem>> {
        serde_saphyr::from_str::<Manifest>(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            vec![Problem {
                path: path.to_string(),
                line,
                column,
                message: plain_message(&e),
            }]
        })
    }

    /// Date and naming rules: at least one set, unique names, `from < until`, and consecutive
    /// sets meet exactly (`until` of one is `from` of the next): no overlap, no gap.
    pub fn validate(&self, path: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.sets.is_empty() {
            out.push(Problem {
                path: path.to_string(),
                line: 1,
                column: 1,
                message: "no boundary sets declared (add one under `sets:`)".into(),
            });
        }
        for (i, s) in self.sets.iter().enumerate() {
            if self.sets[..i].iter().any(|o| o.name.value == s.name.value) {
                out.push(problem(
                    path,
                    s.name.referenced,
                    format!("set name {:?} is declared twice", s.name.value),
                ));
            }
            let hex_ok = s.sha256.value.len() >= 16
                && s.sha256.value.len() <= 64
                && s.sha256.value.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex_ok {
                out.push(problem(
                    path,
                    s.sha256.referenced,
                    "sha256 must be 16 to 64 hex digits of the file's sha256",
                ));
            }
            if let (Some(f), Some(u)) = (&s.from, &s.until)
                && f.value >= u.value
            {
                out.push(problem(
                    path,
                    u.referenced,
                    format!(
                        "set {:?}: until {} is not after from {}",
                        s.name.value, u.value, f.value
                    ),
                ));
            }
        }
        for pair in self.sets.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let (an, bn) = (&a.name.value, &b.name.value);
            match (&a.until, &b.from) {
                (Some(u), Some(f)) if u.value == f.value => {}
                (Some(u), Some(f)) if f.value < u.value => out.push(problem(
                    path,
                    f.referenced,
                    format!(
                        "set {bn:?} from {} overlaps set {an:?} (in force until {}); \
                         make {bn:?} start on {an:?}'s until date",
                        f.value, u.value
                    ),
                )),
                (Some(u), Some(f)) => out.push(problem(
                    path,
                    f.referenced,
                    format!(
                        "gap: set {an:?} ends {} but set {bn:?} starts {}; \
                         sets must follow each other without a gap",
                        u.value, f.value
                    ),
                )),
                (None, _) => out.push(problem(
                    path,
                    a.name.referenced,
                    format!(
                        "set {an:?} has no until date but set {bn:?} follows it; \
                         give {an:?} `until:` equal to {bn:?}'s from (sets are in date order)"
                    ),
                )),
                (Some(u), None) => out.push(problem(
                    path,
                    b.name.referenced,
                    format!(
                        "set {bn:?} has no from date and overlaps set {an:?} (until {}); \
                         give it `from: {}`",
                        u.value, u.value
                    ),
                )),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str, expect: &[&str]) {
        let got: Vec<String> = match Manifest::parse(yaml, "b.yaml") {
            Ok(m) => m.validate("b.yaml").iter().map(|p| p.to_string()).collect(),
            Err(p) => p.iter().map(|p| p.to_string()).collect(),
        };
        assert_eq!(got.len(), expect.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expect) {
            assert!(g.starts_with(e), "{g:?} should start with {e:?}");
        }
    }

    const SET: &str = "\n    title: t\n    file: a.geojson\n    district_property: d\n    sha256: 0123456789abcdef\n    source: {repo: o/r, blob: abc}\n";

    #[test]
    fn two_contiguous_sets_are_valid() {
        let y = format!(
            "sets:\n  - name: a{SET}    until: 2022-12-12\n  - name: b{SET}    from: 2022-12-12\n"
        );
        check(&y, &[]);
        let m = Manifest::parse(&y, "b.yaml").unwrap();
        assert_eq!(
            m.sets[0].until.as_ref().unwrap().value,
            NaiveDate::from_ymd_opt(2022, 12, 12).unwrap()
        );
    }

    #[test]
    fn overlap_gap_and_open_end_are_located() {
        let y = format!(
            "sets:\n  - name: a{SET}    until: 2022-12-12\n  - name: b{SET}    from: 2022-12-01\n    until: 2023-01-01\n  - name: c{SET}    from: 2023-02-01\n"
        );
        check(
            &y,
            &[
                "b.yaml:15:11: set \"b\" from 2022-12-01 overlaps",
                "b.yaml:23:11: gap: set \"b\" ends 2023-01-01",
            ],
        );
    }

    #[test]
    fn unknown_field_is_located() {
        check(
            "sets:\n  - name: a\n    colour: red\n",
            &["b.yaml:3:5: unknown field `colour`"],
        );
    }
}
