//! `report`: the findings report of a run as one self-contained HTML page (inline SVG, no external assets).
//!
//! Flow: [`gather::gather`] (I/O: run manifest, layer reports, processed weekly tables, ledger events and
//! stakeholders) -> [`model::ReportData`] -> [`html::render`] (pure; charts by [`chart`] with plotters' SVG
//! backend). The page carries a tiny inline script that measures every chart and writes the result to
//! `body[data-check]`, which the headless-browser check (`scripts/report-check.sh`) reads.

pub mod chart;
pub mod cross;
pub mod gather;
pub mod html;
pub mod model;

pub use gather::{GatherError, Locations, gather};
pub use html::{render, render_many, render_with};
pub use model::{DataQuality, DistrictSeries, ReportData, WeekPoint};
