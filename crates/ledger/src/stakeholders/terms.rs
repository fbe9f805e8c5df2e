//! Council members by date: a district's terms, merged from the maintained file (dated where sources date them)
//! and the data (first and last day a member is named), and the one lookup everything that names a member for a
//! finding uses: who was in office on a day ([`DistrictTerms::at`]) or during a window ([`DistrictTerms::during`]).

use chrono::{DateTime, Days, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::derive::DerivedDistrict;
use super::file::DistrictEntry;
use super::{Provenance, SourcedDate};

/// One member's term in a district: what the maintained file says and what the data saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatedTerm {
    /// Member name (as in the data's `CDMember`).
    pub member: String,
    /// First day in office (provenance `file`), or the first day the data names the member (`data`).
    pub member_since: Option<SourcedDate>,
    /// Last day in office, inclusive (file only: the data's last day is `last_seen`).
    pub member_until: Option<SourcedDate>,
    /// A day the maintained file says the member was in office without dating the start: its `terms_from`, for
    /// the first term it lists in a district.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub in_office_on: Option<NaiveDate>,
    /// First day the data names the member for the district.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub first_seen: Option<NaiveDate>,
    /// Last day the data names the member for the district.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub last_seen: Option<NaiveDate>,
    /// Rows naming the member for the district.
    pub rows: u64,
    /// The file's citation for the term.
    pub source: Option<String>,
    /// `file` when the maintained file lists the term, `data` when only the data names the member.
    pub provenance: Provenance,
}

/// How the asked date is known to fall in the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// The maintained file dates the term around the date: its `member_since` on or before it, and its
    /// `member_until` (or the next term's `member_since`) on or after it, or no end for the latest term.
    Dated,
    /// The sources show the member in office on or before the date and on or after it, at least one side from the
    /// data (the first and last day the data names the member), the other from the data or the file.
    Seen,
    /// Only one side is shown: past the last day the sources show the member (up to the next term's first known
    /// day), or from the day after the previous term's dated end: the member is taken to have been in office.
    Inferred,
}

/// The member in office on a date or during a window, and the term it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InOffice {
    /// Member name.
    pub member: String,
    /// Position of the term in the district's `terms` (oldest first).
    pub term_index: usize,
    /// The term.
    pub term: DatedTerm,
    /// How the date (for a window: its first covered day) falls in the term.
    pub basis: Basis,
    /// First day the term is taken to cover (absent: unknown, before anything the sources say).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub covers_from: Option<NaiveDate>,
    /// Last day the term is taken to cover (absent: open, the latest term).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub covers_until: Option<NaiveDate>,
    /// For a window: its days in this term.
    pub days: u32,
}

/// A district's terms, oldest first, with the span each is taken to cover.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DistrictTerms {
    terms: Vec<DatedTerm>,
    spans: Vec<Option<Span>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    from: NaiveDate,
    /// Inclusive; None = open.
    until: Option<NaiveDate>,
    /// The start is dated by the file: the term's `member_since` or `in_office_on`.
    start_dated: bool,
    /// The end is dated by the file: the term's `member_until`, the next term's `member_since`, or open with a
    /// file-dated start.
    end_dated: bool,
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

fn prev_day(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(Days::new(1)).unwrap_or(d)
}

fn same_member(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl DistrictTerms {
    /// Merges the file's terms (in its order) with the members the data names: a data member the file lists adds
    /// its first/last seen to that term; one it does not list becomes a term of its own, placed by its first day.
    /// `terms_from` is the file's claim that every member in office from that day on is listed, so its first term
    /// of the district was in office then.
    pub fn merge(
        data: &DerivedDistrict,
        entry: Option<&DistrictEntry>,
        terms_from: Option<NaiveDate>,
    ) -> Self {
        let file = |d: Option<NaiveDate>| {
            d.map(|value| SourcedDate {
                value,
                provenance: Provenance::File,
            })
        };
        let mut terms: Vec<DatedTerm> = entry
            .map(|e| e.terms.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(j, t)| DatedTerm {
                member: t.member.trim().to_owned(),
                member_since: file(t.member_since),
                member_until: file(t.member_until),
                in_office_on: terms_from.filter(|_| j == 0 && t.member_since.is_none()),
                first_seen: None,
                last_seen: None,
                rows: 0,
                source: t.source.clone(),
                provenance: Provenance::File,
            })
            .collect();
        for seen in &data.terms {
            if let Some(t) = terms
                .iter_mut()
                .find(|t| t.provenance == Provenance::File && same_member(&t.member, &seen.member))
            {
                t.first_seen = Some(seen.first_seen);
                t.last_seen = Some(seen.last_seen);
                t.rows = seen.rows;
                if t.member_since.is_none() {
                    t.member_since = Some(SourcedDate {
                        value: seen.first_seen,
                        provenance: Provenance::Data,
                    });
                }
                continue;
            }
            let term = DatedTerm {
                member: seen.member.clone(),
                member_since: Some(SourcedDate {
                    value: seen.first_seen,
                    provenance: Provenance::Data,
                }),
                member_until: None,
                in_office_on: None,
                first_seen: Some(seen.first_seen),
                last_seen: Some(seen.last_seen),
                rows: seen.rows,
                source: None,
                provenance: Provenance::Data,
            };
            let at = terms
                .iter()
                .position(|t| start_of(t).is_some_and(|s| s > seen.first_seen))
                .unwrap_or(terms.len());
            terms.insert(at, term);
        }
        Self::from_terms(terms)
    }

    /// Terms already in order (oldest first); computes the span each covers.
    pub fn from_terms(terms: Vec<DatedTerm>) -> Self {
        let n = terms.len();
        let mut spans: Vec<Option<Span>> = Vec::with_capacity(n);
        for i in 0..n {
            let t = &terms[i];
            let file_since = t
                .member_since
                .as_ref()
                .filter(|s| s.provenance == Provenance::File)
                .map(|s| s.value);
            // The start: the term's own first day, else the day after the previous term's dated end.
            let prev_end = i
                .checked_sub(1)
                .and_then(|p| terms[p].member_until.as_ref())
                .map(|u| next_day(u.value));
            let Some(from) = start_of(t).or(prev_end) else {
                spans.push(None);
                continue;
            };
            // The end: the term's dated end, else the day before the next term's known start, else (the next
            // term has no known start) the term's last evidence; the latest term is open.
            let until_file = t.member_until.as_ref().map(|u| u.value);
            let next_start = terms.get(i + 1).map(|n| (start_of(n), n));
            let (until, end_dated) = match (until_file, next_start) {
                (Some(u), _) => (Some(u), true),
                (None, None) => (None, file_since.is_some() || t.in_office_on.is_some()),
                (None, Some((Some(s), next))) => (
                    Some(prev_day(s).max(from)),
                    next.member_since
                        .as_ref()
                        .is_some_and(|m| m.provenance == Provenance::File),
                ),
                (None, Some((None, _))) => {
                    (Some(last_evidence(t).unwrap_or(from).max(from)), false)
                }
            };
            spans.push(Some(Span {
                from,
                until,
                start_dated: file_since.is_some() || t.in_office_on == Some(from),
                end_dated,
            }));
        }
        DistrictTerms { terms, spans }
    }

    /// The terms, oldest first.
    pub fn terms(&self) -> &[DatedTerm] {
        &self.terms
    }

    /// The latest term (the current member as far as the sources go).
    pub fn current(&self) -> Option<(usize, &DatedTerm)> {
        self.terms.iter().enumerate().next_back()
    }

    fn basis(&self, i: usize, day: NaiveDate) -> Basis {
        let t = &self.terms[i];
        let Some(span) = self.spans[i] else {
            return Basis::Inferred;
        };
        let start_dated = span.start_dated && span.from <= day;
        let before = start_dated || t.first_seen.is_some_and(|f| f <= day);
        let after_file = span.end_dated && span.until.is_none_or(|u| day <= u);
        let after_data = t.last_seen.is_some_and(|l| day <= l);
        if start_dated && after_file {
            Basis::Dated
        } else if before && (after_file || after_data) {
            Basis::Seen
        } else {
            Basis::Inferred
        }
    }

    fn in_office(&self, i: usize, day: NaiveDate, days: u32) -> InOffice {
        let span = self.spans[i].expect("only spanned terms are answered");
        InOffice {
            member: self.terms[i].member.clone(),
            term_index: i,
            term: self.terms[i].clone(),
            basis: self.basis(i, day),
            covers_from: Some(span.from),
            covers_until: span.until,
            days,
        }
    }

    /// The member in office on `day`; None when no term covers it (a vacancy, or dates the sources do not reach).
    pub fn at(&self, day: NaiveDate) -> Option<InOffice> {
        let i = self
            .spans
            .iter()
            .position(|s| s.is_some_and(|s| s.from <= day && s.until.is_none_or(|u| day <= u)))?;
        Some(self.in_office(i, day, 1))
    }

    /// Every term covering part of the window `[start, end)` (days), oldest first, each with its days in it.
    pub fn all_during(&self, start: NaiveDate, end: NaiveDate) -> Vec<InOffice> {
        let last = prev_day(end);
        if end <= start {
            return self.at(start).into_iter().collect();
        }
        self.spans
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = (*s)?;
                let from = s.from.max(start);
                let until = s.until.map_or(last, |u| u.min(last));
                (from <= until).then(|| {
                    let days = (until - from).num_days() as u32 + 1;
                    self.in_office(i, from, days)
                })
            })
            .collect()
    }

    /// The member in office for most of the window `[start, end)` (ties: the later term); None when no term covers
    /// any of it.
    pub fn during(&self, start: NaiveDate, end: NaiveDate) -> Option<InOffice> {
        self.all_during(start, end)
            .into_iter()
            .rev()
            .max_by_key(|o| o.days)
    }
}

fn start_of(t: &DatedTerm) -> Option<NaiveDate> {
    let file_since = t
        .member_since
        .as_ref()
        .filter(|s| s.provenance == Provenance::File);
    let data_since = t.member_since.as_ref().map(|s| s.value).or(t.first_seen);
    file_since
        .map(|s| s.value)
        .or(match (t.in_office_on, data_since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
}

fn last_evidence(t: &DatedTerm) -> Option<NaiveDate> {
    [t.last_seen, t.member_until.as_ref().map(|u| u.value)]
        .into_iter()
        .flatten()
        .max()
}

/// The days `[start, end)` of a finding's window: the end's day is included unless the window ends at midnight.
pub fn window_days(start: DateTime<Utc>, end: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let first = start.date_naive();
    let last = if end.time() == chrono::NaiveTime::MIN {
        end.date_naive()
    } else {
        next_day(end.date_naive())
    };
    (first, last.max(next_day(first)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stakeholders::derive::Term;
    use crate::stakeholders::file::FileTerm;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn file_term(member: &str, since: Option<&str>, until: Option<&str>) -> FileTerm {
        FileTerm {
            member: member.into(),
            member_since: since.map(d),
            member_until: until.map(d),
            source: None,
        }
    }

    fn seen(member: &str, first: &str, last: &str) -> Term {
        Term {
            member: member.into(),
            first_seen: d(first),
            last_seen: d(last),
            rows: 3,
        }
    }

    fn check(terms: &DistrictTerms, day: &str, expect: Option<(&str, Basis)>) {
        let got = terms.at(d(day));
        assert_eq!(
            got.as_ref().map(|o| (o.member.as_str(), o.basis)),
            expect,
            "on {day}: {got:?}"
        );
    }

    #[test]
    fn data_only_terms_carry_forward_to_the_next_first_seen() {
        let data = DerivedDistrict {
            terms: vec![
                seen("Mitchell Englander", "2017-12-27", "2018-01-04"),
                seen("John Lee", "2020-01-01", "2020-01-03"),
            ],
            neighborhood_councils: vec![],
        };
        let t = DistrictTerms::merge(&data, None, None);
        check(&t, "2017-12-26", None);
        check(&t, "2018-01-02", Some(("Mitchell Englander", Basis::Seen)));
        check(
            &t,
            "2018-06-01",
            Some(("Mitchell Englander", Basis::Inferred)),
        );
        check(
            &t,
            "2019-12-31",
            Some(("Mitchell Englander", Basis::Inferred)),
        );
        check(&t, "2020-01-02", Some(("John Lee", Basis::Seen)));
        check(&t, "2023-06-01", Some(("John Lee", Basis::Inferred)));
    }

    #[test]
    fn file_dates_win_and_gaps_stay_empty() {
        let entry = DistrictEntry {
            council_district: 12,
            terms: vec![
                file_term("Mitchell Englander", None, Some("2018-12-31")),
                file_term("Greig Smith", None, Some("2019-08-29")),
                file_term("John Lee", Some("2019-08-30"), None),
            ],
            ..DistrictEntry::default()
        };
        let data = DerivedDistrict {
            terms: vec![
                seen("Mitchell Englander", "2017-12-27", "2018-01-04"),
                seen("John Lee", "2020-01-01", "2020-01-03"),
            ],
            neighborhood_councils: vec![],
        };
        let t = DistrictTerms::merge(&data, Some(&entry), None);
        assert_eq!(
            t.terms().len(),
            3,
            "data members the file lists join their terms"
        );
        // Seen in the data before, dated end after: shown on both sides.
        check(&t, "2018-06-01", Some(("Mitchell Englander", Basis::Seen)));
        check(&t, "2018-12-31", Some(("Mitchell Englander", Basis::Seen)));
        // Greig Smith starts the day after Englander's dated end.
        check(&t, "2019-01-01", Some(("Greig Smith", Basis::Inferred)));
        check(&t, "2019-08-30", Some(("John Lee", Basis::Dated)));
        check(&t, "2023-01-01", Some(("John Lee", Basis::Dated)));
        check(&t, "2017-12-01", None);
        let lee = t.at(d("2023-01-01")).unwrap();
        assert_eq!(lee.term.first_seen, Some(d("2020-01-01")));
        assert_eq!(lee.term.provenance, Provenance::File);
        assert_eq!(lee.covers_until, None);
    }

    #[test]
    fn vacancy_between_a_dated_end_and_a_dated_start() {
        let entry = DistrictEntry {
            council_district: 6,
            terms: vec![
                file_term("Nury Martinez", None, Some("2022-10-12")),
                file_term("Imelda Padilla", Some("2023-07-05"), None),
            ],
            ..DistrictEntry::default()
        };
        let t = DistrictTerms::merge(&DerivedDistrict::default(), Some(&entry), None);
        // Martinez has no start at all: nothing is answered for her.
        check(&t, "2022-10-01", None);
        check(&t, "2023-01-15", None);
        check(&t, "2023-07-05", Some(("Imelda Padilla", Basis::Dated)));
        // With the file's claim that its terms cover 2016 on, Martinez is in office from then.
        let t = DistrictTerms::merge(
            &DerivedDistrict::default(),
            Some(&entry),
            Some(d("2016-01-01")),
        );
        check(&t, "2015-12-31", None);
        check(&t, "2016-01-01", Some(("Nury Martinez", Basis::Dated)));
        check(&t, "2022-10-12", Some(("Nury Martinez", Basis::Dated)));
        check(&t, "2022-10-13", None);
        // The data naming her later does not move the start the file's `terms_from` gives.
        let data = DerivedDistrict {
            terms: vec![seen("Nury Martinez", "2020-01-01", "2020-01-03")],
            neighborhood_councils: vec![],
        };
        let t = DistrictTerms::merge(&data, Some(&entry), Some(d("2016-01-01")));
        check(&t, "2018-06-01", Some(("Nury Martinez", Basis::Dated)));
        check(&t, "2020-01-02", Some(("Nury Martinez", Basis::Dated)));
    }

    #[test]
    fn a_window_names_the_member_with_most_of_its_days() {
        let entry = DistrictEntry {
            council_district: 5,
            terms: vec![
                file_term("Paul Koretz", None, Some("2022-12-11")),
                file_term("Katy Yaroslavsky", Some("2022-12-12"), None),
            ],
            ..DistrictEntry::default()
        };
        let data = DerivedDistrict {
            terms: vec![seen("Paul Koretz", "2016-08-01", "2020-01-03")],
            neighborhood_councils: vec![],
        };
        let t = DistrictTerms::merge(&data, Some(&entry), None);
        // Week of Mon 2022-12-05: all Koretz. Week of Mon 2022-12-12: all Yaroslavsky.
        let w = |a: &str, b: &str| t.during(d(a), d(b)).map(|o| (o.member, o.days));
        assert_eq!(
            w("2022-12-05", "2022-12-12"),
            Some(("Paul Koretz".into(), 7))
        );
        assert_eq!(
            w("2022-12-12", "2022-12-19"),
            Some(("Katy Yaroslavsky".into(), 7))
        );
        // Dec 2022 as a whole: 11 days Koretz, 20 Yaroslavsky.
        let all: Vec<_> = t
            .all_during(d("2022-12-01"), d("2023-01-01"))
            .into_iter()
            .map(|o| (o.member, o.days))
            .collect();
        assert_eq!(
            all,
            [
                ("Paul Koretz".to_string(), 11),
                ("Katy Yaroslavsky".to_string(), 20)
            ]
        );
        assert_eq!(w("2010-01-01", "2010-02-01"), None);
    }

    #[test]
    fn windows_end_exclusive_at_midnight() {
        let s = "2023-01-02T00:00:00Z".parse().unwrap();
        let e = "2023-01-09T00:00:00Z".parse().unwrap();
        assert_eq!(window_days(s, e), (d("2023-01-02"), d("2023-01-09")));
        let e2 = "2023-01-08T23:59:59Z".parse().unwrap();
        assert_eq!(window_days(s, e2), (d("2023-01-02"), d("2023-01-09")));
        assert_eq!(window_days(s, s), (d("2023-01-02"), d("2023-01-03")));
    }
}
