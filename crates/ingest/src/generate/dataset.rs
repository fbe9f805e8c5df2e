//! The datasets `civic gen` can generate, their common options and what a run reports: one entry
//! point, [`generate_dataset`], over the MyLA311 generator ([`super::generate`]), [`super::crime`] and
//! [`super::permits`].

use std::collections::BTreeMap;
use std::io::Write;

pub use super::draw::YearSpan;

/// A generated dataset, by the id the catalog uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dataset {
    /// MyLA311 Service Request Data (33 or 34 columns by era).
    La311,
    /// LAPD Crime Data from 2020 to Present (28 columns, no council district).
    LapdCrime,
    /// LADBS Building and Safety Permit Information (55 columns, or 56 with split coordinates).
    LadbsPermits,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::La311, Dataset::LapdCrime, Dataset::LadbsPermits];

    pub fn id(self) -> &'static str {
        match self {
            Dataset::La311 => "la311",
            Dataset::LapdCrime => "lapd_crime",
            Dataset::LadbsPermits => "ladbs_permits",
        }
    }

    /// The ids of every dataset, comma separated (for messages).
    pub fn known() -> String {
        Dataset::ALL.map(Dataset::id).join(", ")
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A dataset id that no generator knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataset '{name}' (known: {known})", known = Dataset::known())]
pub struct UnknownDataset {
    pub name: String,
}

impl std::str::FromStr for Dataset {
    type Err = UnknownDataset;

    fn from_str(s: &str) -> Result<Self, UnknownDataset> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.id() == s)
            .ok_or_else(|| UnknownDataset { name: s.into() })
    }
}

/// Options of one generated file of any dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatasetOptions {
    pub rows: u64,
    pub seed: u64,
    /// Years the event dates (`DATE OCC`, `Issue Date`) are spread over; la311 takes one year.
    pub years: YearSpan,
    /// Probability of a malformed row (a field too few or too many).
    pub malformed_rate: f64,
    /// Permits only: write `Latitude` and `Longitude` columns instead of `Latitude/Longitude`.
    pub split_latlon: bool,
}

impl DatasetOptions {
    pub fn new(rows: u64, seed: u64, years: YearSpan) -> Self {
        DatasetOptions {
            rows,
            seed,
            years,
            malformed_rate: 0.001,
            split_latlon: false,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetStats {
    pub rows: u64,
    /// Rows whose field count differs from the header's.
    pub malformed: u64,
    /// Well-formed rows per partition-relevant value: `CD` (la311), `AREA` (crime), `Council District`
    /// (permits).
    pub per_key: BTreeMap<String, u64>,
    /// Well-formed rows drawn at a real location outside the city (the jitter moves a few more out).
    pub outside_city: u64,
    /// Well-formed rows without usable coordinates (empty, or `0`).
    pub no_coordinates: u64,
}

/// Why a dataset cannot be generated with these options.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("la311 generates one year at a time (its columns depend on the year); got --year {0}")]
    La311NeedsOneYear(YearSpan),
    #[error("--split-latlon applies to ladbs_permits only, not {0}")]
    SplitLatLonNotApplicable(Dataset),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Write `opts.rows` rows of `dataset` (plus its header) to `out`. Same options, same bytes.
pub fn generate_dataset(
    dataset: Dataset,
    out: impl Write,
    opts: DatasetOptions,
) -> Result<DatasetStats, GenError> {
    if opts.split_latlon && dataset != Dataset::LadbsPermits {
        return Err(GenError::SplitLatLonNotApplicable(dataset));
    }
    Ok(match dataset {
        Dataset::La311 => {
            if opts.years.first != opts.years.last {
                return Err(GenError::La311NeedsOneYear(opts.years));
            }
            let s = super::generate(
                out,
                super::GenOptions {
                    rows: opts.rows,
                    seed: opts.seed,
                    year: opts.years.first,
                    malformed_rate: opts.malformed_rate,
                },
            )?;
            DatasetStats {
                rows: s.rows,
                malformed: s.malformed,
                per_key: s.per_cd,
                ..DatasetStats::default()
            }
        }
        Dataset::LapdCrime => super::crime::generate(out, opts)?,
        Dataset::LadbsPermits => super::permits::generate(out, opts)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_lists_the_known() {
        for d in Dataset::ALL {
            assert_eq!(d.id().parse(), Ok(d));
        }
        let err = "lapd".parse::<Dataset>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown dataset 'lapd' (known: la311, lapd_crime, ladbs_permits)"
        );
    }

    #[test]
    fn la311_through_the_entry_point_is_the_la311_generator() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let s = generate_dataset(
            Dataset::La311,
            &mut a,
            DatasetOptions::new(500, 3, YearSpan::single(2018)),
        )
        .unwrap();
        let t =
            super::super::generate(&mut b, super::super::GenOptions::new(500, 3, 2018)).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            (s.rows, s.malformed, s.per_key),
            (t.rows, t.malformed, t.per_cd)
        );
        let span = "2018-2019".parse().unwrap();
        assert!(matches!(
            generate_dataset(Dataset::La311, Vec::new(), DatasetOptions::new(1, 1, span)),
            Err(GenError::La311NeedsOneYear(_))
        ));
    }
}
