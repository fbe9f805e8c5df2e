//! `analysis`: the analyze layer. Weekly counts, time to close and backlog per council district and request
//! type over canonical data; findings (robust z-score against the trailing weeks, time to close against the
//! city-wide median) emitted as ledger events. Thresholds come from `datasets/<dataset>/analysis.yaml`.

pub mod aggregate;
pub mod config;
pub mod cross;
pub mod features;
pub mod findings;
pub mod job;
pub mod locations;
pub mod output;
pub mod stakeholders;
pub mod stats;

pub use aggregate::{Aggregator, WeeklyRow, WeeklyTable};
pub use config::AnalysisConfig;
pub use findings::{Finding, FindingKind, slow_close_findings, to_events, weekly_findings};
pub use job::{JobReport, analyze_citywide, analyze_partition};
pub use locations::Locations;
