//! Derives council members per district and period from the data itself (MyLA311 `CD`, `CDMember`, `NC`).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One member's period in a district as seen in the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Term {
    /// Member name exactly as in the data (`CDMember`).
    pub member: String,
    /// Earliest request date naming this member for the district.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub first_seen: NaiveDate,
    /// Latest request date naming this member for the district.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub last_seen: NaiveDate,
    /// Rows naming this member for the district.
    pub rows: u64,
}

/// A neighborhood council seen in a district's rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeighborhoodCouncil {
    /// Neighborhood council code (`NC`).
    pub code: String,
    /// Name as in the data (`NCName`).
    pub name: String,
    /// Rows of the district in this neighborhood council.
    pub rows: u64,
}

/// What the data says about one district.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DerivedDistrict {
    /// Members seen, ordered by `first_seen` (then name).
    pub terms: Vec<Term>,
    /// Neighborhood councils seen, by code.
    pub neighborhood_councils: Vec<NeighborhoodCouncil>,
}

impl DerivedDistrict {
    /// The current member: latest `last_seen` wins (ties: more rows, then name).
    pub fn current(&self) -> Option<&Term> {
        self.terms.iter().max_by(|a, b| {
            (a.last_seen, a.rows, std::cmp::Reverse(&a.member)).cmp(&(
                b.last_seen,
                b.rows,
                std::cmp::Reverse(&b.member),
            ))
        })
    }
}

/// Merges `other` into `into`: terms of the same member widen their period and add rows; councils add rows.
pub fn merge_derived(
    into: &mut BTreeMap<u8, DerivedDistrict>,
    other: BTreeMap<u8, DerivedDistrict>,
) {
    for (cd, district) in other {
        let target = into.entry(cd).or_default();
        for term in district.terms {
            match target.terms.iter_mut().find(|t| t.member == term.member) {
                Some(t) => {
                    t.first_seen = t.first_seen.min(term.first_seen);
                    t.last_seen = t.last_seen.max(term.last_seen);
                    t.rows += term.rows;
                }
                None => target.terms.push(term),
            }
        }
        for nc in district.neighborhood_councils {
            match target
                .neighborhood_councils
                .iter_mut()
                .find(|n| n.code == nc.code)
            {
                Some(n) => n.rows += nc.rows,
                None => target.neighborhood_councils.push(nc),
            }
        }
        target
            .terms
            .sort_by(|a, b| (a.first_seen, &a.member).cmp(&(b.first_seen, &b.member)));
        target
            .neighborhood_councils
            .sort_by(|a, b| a.code.cmp(&b.code));
    }
}

/// Accumulates observations row by row; memory is bounded by districts x members x councils.
#[derive(Debug, Default)]
pub struct Derivation {
    members: BTreeMap<(u8, String), (NaiveDate, NaiveDate, u64)>,
    councils: BTreeMap<(u8, String), (String, u64)>,
    /// Rows observed.
    pub rows: u64,
    /// Rows skipped because `CD` was empty or not a district number.
    pub rows_without_district: u64,
    /// Rows skipped because the date could not be parsed.
    pub rows_without_date: u64,
}

impl Derivation {
    /// Observes one row. `district` and `created` are raw text; empty `member`/`nc_code` are ignored.
    pub fn observe(
        &mut self,
        district: &str,
        member: &str,
        nc_code: &str,
        nc_name: &str,
        created: &str,
    ) {
        self.observe_parsed(
            parse_district(district),
            member,
            nc_code,
            nc_name,
            parse_date(created),
        );
    }

    /// Observes one row whose district and date are already typed (e.g. from canonical data).
    pub fn observe_parsed(
        &mut self,
        district: Option<u8>,
        member: &str,
        nc_code: &str,
        nc_name: &str,
        day: Option<NaiveDate>,
    ) {
        self.rows += 1;
        let Some(cd) = district.filter(|cd| (1..=99).contains(cd)) else {
            self.rows_without_district += 1;
            return;
        };
        let Some(day) = day else {
            self.rows_without_date += 1;
            return;
        };
        let member = member.trim();
        if !member.is_empty() {
            let entry = self
                .members
                .entry((cd, member.to_owned()))
                .or_insert((day, day, 0));
            entry.0 = entry.0.min(day);
            entry.1 = entry.1.max(day);
            entry.2 += 1;
        }
        let nc_code = nc_code.trim();
        if !nc_code.is_empty() && nc_code != "0" {
            let entry = self
                .councils
                .entry((cd, nc_code.to_owned()))
                .or_insert((nc_name.trim().to_owned(), 0));
            entry.1 += 1;
        }
    }

    /// Rows observed and skipped so far.
    pub fn counts(&self) -> DeriveCounts {
        DeriveCounts {
            rows: self.rows,
            rows_without_district: self.rows_without_district,
            rows_without_date: self.rows_without_date,
        }
    }

    /// The per-district result.
    pub fn finish(self) -> BTreeMap<u8, DerivedDistrict> {
        let mut out: BTreeMap<u8, DerivedDistrict> = BTreeMap::new();
        for ((cd, member), (first_seen, last_seen, rows)) in self.members {
            out.entry(cd).or_default().terms.push(Term {
                member,
                first_seen,
                last_seen,
                rows,
            });
        }
        for ((cd, code), (name, rows)) in self.councils {
            out.entry(cd)
                .or_default()
                .neighborhood_councils
                .push(NeighborhoodCouncil { code, name, rows });
        }
        for district in out.values_mut() {
            district
                .terms
                .sort_by(|a, b| (a.first_seen, &a.member).cmp(&(b.first_seen, &b.member)));
        }
        out
    }
}

/// Errors reading a MyLA311 CSV for derivation.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// The CSV could not be read.
    #[error("{source_name}: row {row}: {error}")]
    Csv {
        /// File name or description of the input.
        source_name: String,
        /// 1-based data row (0 for the header).
        row: u64,
        /// The CSV error.
        error: csv::Error,
    },
    /// A needed column is missing from the header.
    #[error("{source_name}: header has no column {column} (case-insensitive)")]
    MissingColumn {
        /// File name or description of the input.
        source_name: String,
        /// The column looked for.
        column: &'static str,
    },
}

impl Derivation {
    /// Observes every row of a MyLA311 CSV (export or API field names; header matched case-insensitively).
    pub fn observe_csv<R: std::io::Read>(
        &mut self,
        source_name: &str,
        reader: R,
    ) -> Result<(), DeriveError> {
        let csv_err = |row, error| DeriveError::Csv {
            source_name: source_name.to_owned(),
            row,
            error,
        };
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = csv.headers().map_err(|e| csv_err(0, e))?.clone();
        let column = |name: &'static str| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or(DeriveError::MissingColumn {
                    source_name: source_name.to_owned(),
                    column: name,
                })
        };
        let (cd, member, created) = (column("CD")?, column("CDMember")?, column("CreatedDate")?);
        let (nc, nc_name) = (column("NC")?, column("NCName")?);
        for (i, record) in csv.records().enumerate() {
            let record = record.map_err(|e| csv_err(i as u64 + 1, e))?;
            let field = |idx: usize| record.get(idx).unwrap_or("");
            self.observe(
                field(cd),
                field(member),
                field(nc),
                field(nc_name),
                field(created),
            );
        }
        Ok(())
    }
}

/// Row counts of a derivation: observed, and skipped for want of a district or a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeriveCounts {
    /// Rows observed.
    pub rows: u64,
    /// Rows skipped because `CD` was empty or not a district number.
    pub rows_without_district: u64,
    /// Rows skipped because the date could not be parsed.
    pub rows_without_date: u64,
}

/// Derives districts from one MyLA311 CSV.
pub fn derive_from_csv<R: std::io::Read>(
    source_name: &str,
    reader: R,
) -> Result<(BTreeMap<u8, DerivedDistrict>, DeriveCounts), DeriveError> {
    let mut derivation = Derivation::default();
    derivation.observe_csv(source_name, reader)?;
    let counts = derivation.counts();
    Ok((derivation.finish(), counts))
}

/// `"7"`, `"7.0"`, `" 07 "` -> 7; empty or out of 1..=99 -> None.
fn parse_district(s: &str) -> Option<u8> {
    let s = s.trim();
    let s = s.strip_suffix(".0").unwrap_or(s);
    s.parse::<u8>().ok().filter(|cd| (1..=99).contains(cd))
}

/// The day of a MyLA311 timestamp in any of the known formats.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    const FORMATS: [&str; 4] = [
        "%m/%d/%Y %I:%M:%S %p",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.date())
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_non_empty_member_wins_with_first_and_last_seen() {
        let csv = "CD,CDMember,NC,NCName,CreatedDate\n\
                   12,Mitchell Englander,10,X NC,12/31/2017 11:59:58 PM\n\
                   12,,10,X NC,01/05/2020 10:00:00 AM\n\
                   12,John Lee,10,X NC,2020-01-02 08:00:00\n\
                   12,Mitchell Englander,11,Y NC,12/20/2017 01:00:00 PM\n\
                   ,Nobody,,,12/20/2017 01:00:00 PM\n";
        let (districts, counts) = derive_from_csv("inline", csv.as_bytes()).unwrap();
        assert_eq!(counts.rows, 5);
        assert_eq!(counts.rows_without_district, 1);
        let cd12 = &districts[&12];
        let current = cd12.current().unwrap();
        assert_eq!(current.member, "John Lee");
        assert_eq!(
            current.first_seen,
            NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()
        );
        let old = &cd12.terms[0];
        assert_eq!(old.member, "Mitchell Englander");
        assert_eq!(
            (
                old.first_seen.to_string(),
                old.last_seen.to_string(),
                old.rows
            ),
            ("2017-12-20".into(), "2017-12-31".into(), 2)
        );
        assert_eq!(
            cd12.neighborhood_councils
                .iter()
                .map(|n| n.rows)
                .collect::<Vec<_>>(),
            [3, 1]
        );
    }

    #[test]
    fn merged_documents_widen_periods_and_add_rows() {
        let (a, _) = derive_from_csv(
            "a",
            "CD,CDMember,NC,NCName,CreatedDate\n7,M R,5,X,2018-01-02 00:00:00\n".as_bytes(),
        )
        .unwrap();
        let (b, _) = derive_from_csv(
            "b",
            "CD,CDMember,NC,NCName,CreatedDate\n7,M R,5,X,2017-12-30 00:00:00\n8,H D,6,Y,2018-01-01 00:00:00\n"
                .as_bytes(),
        )
        .unwrap();
        let mut merged = a;
        merge_derived(&mut merged, b);
        let t = &merged[&7].terms[0];
        assert_eq!(
            (t.first_seen.to_string(), t.last_seen.to_string(), t.rows),
            ("2017-12-30".into(), "2018-01-02".into(), 2)
        );
        assert_eq!(merged[&7].neighborhood_councils[0].rows, 2);
        assert_eq!(merged[&8].terms[0].member, "H D");
    }

    #[test]
    fn missing_column_is_named() {
        let err = derive_from_csv("f.csv", "CD,CreatedDate\n1,x\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.csv: header has no column CDMember (case-insensitive)"
        );
    }
}
