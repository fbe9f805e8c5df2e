//! Era-true `CDMember` for the generator: who was in office in each district on each day of the generated year,
//! by the terms of the maintained stakeholder file (`datasets/la311/stakeholders.yaml`) and the ledger's one
//! lookup ([`ledger::stakeholders::DistrictTerms::at`]). A day no term covers (a vacancy) gets an empty name.

use chrono::{Datelike, Days, NaiveDate};
use ledger::stakeholders::StakeholderFile;

/// The members of districts 1..=15 on each day of one year.
#[derive(Debug, Clone)]
pub struct YearMembers {
    first: NaiveDate,
    /// `[district - 1][day of year - 1]`.
    by_district: Vec<Vec<Option<String>>>,
}

/// The maintained file the generator dates its members by could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    #[error("the built-in catalog has no la311/stakeholders.yaml to date CDMember by")]
    NoFile,
    #[error(transparent)]
    Invalid(#[from] ledger::stakeholders::file::FileError),
    #[error("year {0} is out of range")]
    Year(i32),
}

impl YearMembers {
    /// The members of `year` by the built-in catalog's la311 stakeholder file.
    pub fn builtin(year: i32) -> Result<Self, MembersError> {
        let dataset = datasets::Catalog::builtin()
            .dataset(super::Dataset::La311.id())
            .map_err(|_| MembersError::NoFile)?;
        let file = dataset
            .file("stakeholders.yaml")
            .ok_or(MembersError::NoFile)?;
        Self::from_file(&StakeholderFile::parse(file.path, file.text)?, year)
    }

    /// The members of `year` by `file`.
    pub fn from_file(file: &StakeholderFile, year: i32) -> Result<Self, MembersError> {
        let first = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(MembersError::Year(year))?;
        let days = NaiveDate::from_ymd_opt(year, 12, 31)
            .ok_or(MembersError::Year(year))?
            .ordinal();
        let by_district = (1..=15u8)
            .map(|cd| {
                let terms = file.terms_of(cd);
                (0..days)
                    .map(|i| {
                        let day = first + Days::new(u64::from(i));
                        terms.at(day).map(|o| o.member)
                    })
                    .collect()
            })
            .collect();
        Ok(YearMembers { first, by_district })
    }

    /// The member of `district` (1..=15) on `day`; None outside the year or when no one was in office.
    pub fn on(&self, district: usize, day: NaiveDate) -> Option<&str> {
        let i = usize::try_from((day - self.first).num_days()).ok()?;
        self.by_district
            .get(district.checked_sub(1)?)?
            .get(i)?
            .as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_december_2022_cohort_switches_on_its_day() {
        let m = YearMembers::builtin(2022).unwrap();
        assert_eq!(m.on(5, d("2022-12-11")), Some("Paul Koretz"));
        assert_eq!(m.on(5, d("2022-12-12")), Some("Katy Yaroslavsky"));
        assert_eq!(m.on(1, d("2022-12-11")), Some("Gilbert Cedillo"));
        assert_eq!(m.on(1, d("2022-12-12")), Some("Eunisses Hernandez"));
        // CD 6 after Nury Martinez resigned on 2022-10-12: vacant.
        assert_eq!(m.on(6, d("2022-10-12")), Some("Nury Martinez"));
        assert_eq!(m.on(6, d("2022-10-13")), None);
        assert_eq!(m.on(16, d("2022-10-13")), None);
        assert_eq!(m.on(5, d("2023-01-01")), None, "outside the year");
    }
}
