//! The versioned event model: what a finding looks like on the wire, in storage and in the JSON Schema,
//! and the deterministic `event_id` (sha256 over dataset, layer, event type, dimensions and window).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the event model. Bumped on any incompatible change of [`Event`].
pub const SCHEMA_VERSION: u32 = 1;

/// How much attention a finding deserves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, nobody needs to act.
    Info,
    /// Somebody should look at it.
    Warning,
    /// Far outside the usual range; the stakeholders should hear about it.
    Critical,
}

impl Severity {
    /// The wire name (`info`, `warning`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Where and what an event is about. Place dimensions let events of different datasets be joined.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    /// LA City council district, 1..=15.
    #[schemars(range(min = 1, max = 15))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 15))]
    pub council_district: u8,
    /// Neighborhood council code (MyLA311 `NC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub nc_code: Option<String>,
    /// Five-digit ZIP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{5}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{5}$"))]
    pub zip_code: Option<String>,
    /// Canonical request type (e.g. `Bulky Items`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub request_type: Option<String>,
    /// Responsible agency (e.g. `BOS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub agency: Option<String>,
    /// The dataset's category of the rows the event counts, whatever the dataset calls it: the request type
    /// of MyLA311, the crime group of LAPD crime, the permit type of LADBS permits (`analysis.yaml`'s
    /// `columns.category`). Events of every dataset join on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub category: Option<String>,
    /// ISO 8601 week of the window (`2023-W07`), when the window is one ISO week (Monday 00:00 UTC to the
    /// next Monday).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-W[0-9]{2}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{4}-W[0-9]{2}$"))]
    pub week: Option<String>,
    /// The two series of a cross-dataset association (events of type `cross_dataset_association`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<Pair>,
}

/// The two weekly series an association relates: `dataset_a`'s `metric_a` in week w against `dataset_b`'s
/// `metric_b` in week w + `lag_weeks`, in the event's council district.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// First dataset (the event's `dataset`).
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub dataset_a: String,
    /// Its metric, a column of the feature table (`total` or a category).
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub metric_a: String,
    /// Second dataset.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub dataset_b: String,
    /// Its metric.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub metric_b: String,
    /// `k`: `dataset_a`'s week w is paired with `dataset_b`'s week w + k (positive: b follows a).
    #[schemars(range(min = -52, max = 52))]
    #[cfg_attr(feature = "openapi", schema(minimum = -52, maximum = 52))]
    pub lag_weeks: i32,
}

/// The ISO 8601 week (`2023-W07`) of a window that is exactly one ISO week, else `None`.
pub fn iso_week(window_start: DateTime<Utc>, window_end: DateTime<Utc>) -> Option<String> {
    use chrono::{Datelike, Timelike};
    let one_week = window_end - window_start == chrono::Duration::weeks(1);
    let monday_midnight = window_start.weekday() == chrono::Weekday::Mon
        && window_start.num_seconds_from_midnight() == 0
        && window_start.nanosecond() == 0;
    (one_week && monday_midnight).then(|| {
        let w = window_start.iso_week();
        format!("{:04}-W{:02}", w.year(), w.week())
    })
}

/// An event as a producer submits it. `event_id` may be given and must then equal the computed id;
/// `created_at` is set by the ledger on first write. Text fields (`metric`, `unit`, `run_id` and the
/// dimensions' text) need a non-blank character and at most 200 bytes of UTF-8 (`maxLength` counts
/// characters, so it is exact for ASCII text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Optional; when present it must equal the deterministic id computed from the other fields
    /// (lower-case hex sha256; a constraint between fields that JSON Schema cannot state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9a-f]{64}$"))]
    pub event_id: Option<String>,
    /// Event model version; must be 1 when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub schema_version: Option<u32>,
    /// Dataset id, e.g. `la311`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub dataset: String,
    /// Pipeline layer that produced the event, e.g. `analyze`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub layer: String,
    /// Kind of finding, e.g. `weekly_count_spike`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub event_type: String,
    /// Start of the observed window (inclusive), RFC 3339.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub window_start: DateTime<Utc>,
    /// End of the observed window (exclusive), RFC 3339; must be after `window_start` (a constraint
    /// between fields that JSON Schema cannot state).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub window_end: DateTime<Utc>,
    /// Where and what the event is about.
    pub dimensions: Dimensions,
    /// Name of the measured quantity, e.g. `requests` or `median_hours_to_close`.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub metric: String,
    /// Observed value (a finite number).
    #[schemars(range(min = -1.7976931348623157e308, max = 1.7976931348623157e308))]
    #[cfg_attr(feature = "openapi", schema(minimum = -1.7976931348623157e308, maximum = 1.7976931348623157e308))]
    pub value: f64,
    /// Value the observation is compared with (trailing median, city-wide median), when any (a finite number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1.7976931348623157e308, max = 1.7976931348623157e308))]
    #[cfg_attr(feature = "openapi", schema(minimum = -1.7976931348623157e308, maximum = 1.7976931348623157e308))]
    pub baseline: Option<f64>,
    /// Unit of `value` and `baseline`, e.g. `count` or `hours`.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub unit: String,
    /// How much attention the finding deserves.
    pub severity: Severity,
    /// The score the severity was decided on, when any (a finite number; see `score_kind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1.7976931348623157e308, max = 1.7976931348623157e308))]
    #[cfg_attr(feature = "openapi", schema(minimum = -1.7976931348623157e308, maximum = 1.7976931348623157e308))]
    pub score: Option<f64>,
    /// What `score` is: `robust_z` (weekly spikes and drops), `ratio` (to the city-wide median),
    /// `q_value` (Benjamini-Hochberg, associations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub score_kind: Option<String>,
    /// The partition (of the run) whose rows the event was computed from, e.g. `07`; absent for city-wide
    /// findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub partition: Option<String>,
    /// Pipeline run that produced the event.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub run_id: String,
    /// Object keys the event was computed from.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"\S")))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::wire::ObjectKey>))]
    pub source: Vec<String>,
    /// Stakeholder ids (see `/stakeholders`) who should hear about it; when empty, the ledger stores the
    /// id of the district's stakeholder.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[a-z0-9_-]{1,64}$")))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::wire::StakeholderId>))]
    pub stakeholders: Vec<String>,
}

/// A stored ledger event (model version [`SCHEMA_VERSION`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Deterministic id: sha256 (lower-case hex) of dataset, layer, event type, dimensions and window.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9a-f]{64}$"))]
    pub event_id: String,
    /// Event model version.
    #[schemars(range(min = 1, max = 1))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub schema_version: u32,
    /// Dataset id, e.g. `la311`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub dataset: String,
    /// Pipeline layer that produced the event, e.g. `analyze`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub layer: String,
    /// Kind of finding, e.g. `weekly_count_spike`.
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub event_type: String,
    /// Start of the observed window (inclusive).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub window_start: DateTime<Utc>,
    /// End of the observed window (exclusive).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub window_end: DateTime<Utc>,
    /// Where and what the event is about.
    pub dimensions: Dimensions,
    /// Name of the measured quantity.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub metric: String,
    /// Observed value (a finite number).
    #[schemars(range(min = -1.7976931348623157e308, max = 1.7976931348623157e308))]
    #[cfg_attr(feature = "openapi", schema(minimum = -1.7976931348623157e308, maximum = 1.7976931348623157e308))]
    pub value: f64,
    /// Comparison value, when any (a finite number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1.7976931348623157e308, max = 1.7976931348623157e308))]
    #[cfg_attr(feature = "openapi", schema(minimum = -1.7976931348623157e308, maximum = 1.7976931348623157e308))]
    pub baseline: Option<f64>,
    /// Unit of `value` and `baseline`.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub unit: String,
    /// How much attention the finding deserves.
    pub severity: Severity,
    /// The score the severity was decided on, when any (see `score_kind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1.7976931348623157e308, max = 1.7976931348623157e308))]
    #[cfg_attr(feature = "openapi", schema(minimum = -1.7976931348623157e308, maximum = 1.7976931348623157e308))]
    pub score: Option<f64>,
    /// What `score` is: `robust_z`, `ratio` or `q_value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub score_kind: Option<String>,
    /// The partition of the run whose rows the event was computed from; absent for city-wide findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub partition: Option<String>,
    /// Pipeline run that first wrote the event.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub run_id: String,
    /// Object keys the event was computed from.
    #[schemars(inner(regex(pattern = r"\S")))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::wire::ObjectKey>))]
    pub source: Vec<String>,
    /// Stakeholder ids who should hear about it.
    #[schemars(inner(regex(pattern = r"^[a-z0-9_-]{1,64}$")))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::wire::StakeholderId>))]
    pub stakeholders: Vec<String>,
    /// When the ledger first stored the event.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
}

/// The identity of an event: exactly the fields its id is computed from, in a fixed order.
#[derive(Serialize)]
struct Identity<'a> {
    dataset: &'a str,
    layer: &'a str,
    event_type: &'a str,
    dimensions: &'a Dimensions,
    window_start: String,
    window_end: String,
}

/// Computes the deterministic event id (lower-case hex sha256 of the identity's canonical JSON).
pub fn event_id(
    dataset: &str,
    layer: &str,
    event_type: &str,
    dimensions: &Dimensions,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
) -> String {
    let identity = Identity {
        dataset,
        layer,
        event_type,
        dimensions,
        window_start: window_start.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        window_end: window_end.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    };
    let bytes = serde_json::to_vec(&identity).expect("identity serializes");
    hex::encode(Sha256::digest(bytes))
}

impl EventInput {
    /// The id this input's identity hashes to.
    pub fn computed_id(&self) -> String {
        event_id(
            &self.dataset,
            &self.layer,
            &self.event_type,
            &self.dimensions,
            self.window_start,
            self.window_end,
        )
    }

    /// Turns a (validated) input into a stored event, stamped with `created_at`. An event submitted without
    /// stakeholders carries its district's stakeholder id.
    pub fn into_event(self, created_at: DateTime<Utc>) -> Event {
        let event_id = self.computed_id();
        let stakeholders = if self.stakeholders.is_empty() {
            vec![crate::stakeholders::stakeholder_id(
                self.dimensions.council_district,
            )]
        } else {
            self.stakeholders
        };
        Event {
            event_id,
            schema_version: SCHEMA_VERSION,
            dataset: self.dataset,
            layer: self.layer,
            event_type: self.event_type,
            window_start: self.window_start,
            window_end: self.window_end,
            dimensions: self.dimensions,
            metric: self.metric,
            value: self.value,
            baseline: self.baseline,
            unit: self.unit,
            severity: self.severity,
            score: self.score,
            score_kind: self.score_kind,
            partition: self.partition,
            run_id: self.run_id,
            source: self.source,
            stakeholders,
            created_at,
        }
    }
}

impl Event {
    /// True when `other` reports the same finding: every field except the provenance of the write
    /// (`created_at`, `run_id`, `source`) is equal. A re-run of a job is therefore a no-op.
    pub fn same_finding(&self, other: &Event) -> bool {
        self.event_id == other.event_id
            && self.schema_version == other.schema_version
            && self.dataset == other.dataset
            && self.layer == other.layer
            && self.event_type == other.event_type
            && self.window_start == other.window_start
            && self.window_end == other.window_end
            && self.dimensions == other.dimensions
            && self.metric == other.metric
            && self.value.to_bits() == other.value.to_bits()
            && self.baseline.map(f64::to_bits) == other.baseline.map(f64::to_bits)
            && self.unit == other.unit
            && self.severity == other.severity
            && self.score.map(f64::to_bits) == other.score.map(f64::to_bits)
            && self.score_kind == other.score_kind
            && self.partition == other.partition
            && self.stakeholders == other.stakeholders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(cd: u8) -> Dimensions {
        Dimensions {
            council_district: cd,
            request_type: Some("Bulky Items".into()),
            ..Default::default()
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn id_is_stable_and_depends_on_identity_only() {
        let a = event_id(
            "la311",
            "analyze",
            "spike",
            &dims(7),
            at("2018-01-01T00:00:00Z"),
            at("2018-01-08T00:00:00Z"),
        );
        let b = event_id(
            "la311",
            "analyze",
            "spike",
            &dims(7),
            at("2018-01-01T00:00:00Z"),
            at("2018-01-08T00:00:00Z"),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let other_cd = event_id(
            "la311",
            "analyze",
            "spike",
            &dims(8),
            at("2018-01-01T00:00:00Z"),
            at("2018-01-08T00:00:00Z"),
        );
        let other_week = event_id(
            "la311",
            "analyze",
            "spike",
            &dims(7),
            at("2018-01-08T00:00:00Z"),
            at("2018-01-15T00:00:00Z"),
        );
        let other_type = event_id(
            "la311",
            "analyze",
            "slow",
            &dims(7),
            at("2018-01-01T00:00:00Z"),
            at("2018-01-08T00:00:00Z"),
        );
        assert_ne!(a, other_cd);
        assert_ne!(a, other_week);
        assert_ne!(a, other_type);
    }

    #[test]
    fn id_is_pinned() {
        // Pinned so an accidental change of the identity encoding (which would orphan every stored event) fails.
        let id = event_id(
            "la311",
            "analyze",
            "spike",
            &dims(7),
            at("2018-01-01T00:00:00Z"),
            at("2018-01-08T00:00:00Z"),
        );
        let expected = hex::encode(Sha256::digest(
            br#"{"dataset":"la311","layer":"analyze","event_type":"spike","dimensions":{"council_district":7,"request_type":"Bulky Items"},"window_start":"2018-01-01T00:00:00.000000Z","window_end":"2018-01-08T00:00:00.000000Z"}"#,
        ));
        assert_eq!(id, expected);
    }
}
