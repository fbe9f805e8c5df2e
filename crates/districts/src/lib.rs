//! Council district from coordinates, by the boundary lines in force on a date.
//!
//! A [`Boundaries`] holds every boundary set declared in a `boundaries.yaml` (in this
//! repository `datasets/geo/council_districts/`): the 2012 lines, in force until 2022-12-12
//! (exclusive), and the 2021 lines from then on. [`Boundaries::lookup`] picks the set in force
//! on a row's date and returns a [`Lookup`]:
//!
//! ```
//! use chrono::NaiveDate;
//! use districts::{Boundaries, Lookup};
//!
//! let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
//!     .join("../../datasets/geo/council_districts");
//! let b = Boundaries::load_dir(&dir).unwrap();
//! let day = NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
//! assert_eq!(b.lookup(day, 34.0537, -118.2428), Lookup::District(14)); // City Hall, 2012 lines
//! assert_eq!(b.lookup(day, 0.0, 0.0), Lookup::Missing);
//! assert_eq!(b.lookup(day, 34.0, -117.0), Lookup::Outside);
//! ```
//!
//! Semantics:
//! - A polygon covers its boundary. A point covered by several districts (a shared edge or
//!   vertex, or an overlap in the data) maps to the lowest district number, so every point has
//!   exactly one answer. Points in holes belong to whatever covers the hole.
//! - Coordinates are usable when both are finite, latitude is in -90..=90, longitude in
//!   -180..=180, and they are not both 0 (the "no location" value of LAPD and LADBS exports).
//!   Unusable coordinates give [`Lookup::Missing`], as does a date on which no set is in force.
//!
//! Each set is prepared once at load: an R-tree (the `rstar` version `geo` uses) over polygon
//! pieces and one over ring segments for the exact test, plus a uniform grid whose cells are
//! classified by `geo` predicates as inside one district, outside, or crossed by a boundary;
//! only the last run the exact test. See `README.md` for measured lookups per second.
//!
//! Loading is split so the files can come from anywhere: [`Boundaries::from_yaml`] takes the
//! manifest's text and a reader for the files it names; [`Boundaries::load_dir`] reads a folder.
//! Errors list every problem with its `file:line:col` ([`Error`], [`Problem`]).

mod boundaries;
mod error;
mod features;
mod index;
mod manifest;
pub mod packed;

pub use boundaries::{Boundaries, BoundaryFile, BoundarySet};
pub use error::{Error, Problem};
pub use manifest::Source;

/// The outcome of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// Inside (or on the boundary of) this council district.
    District(u8),
    /// Located, but inside no district (outside the city).
    Outside,
    /// Coordinates not usable (NaN or infinite, out of range, or 0/0), or no set in force.
    Missing,
}

impl Lookup {
    /// The district number, if any.
    pub fn district(self) -> Option<u8> {
        match self {
            Lookup::District(d) => Some(d),
            Lookup::Outside | Lookup::Missing => None,
        }
    }
}

/// True for coordinates a lookup can use (see the crate docs).
#[inline]
pub fn usable(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && !(lat == 0.0 && lon == 0.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn boundaries_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Boundaries>();
        shared::<super::Lookup>();
    }
}
