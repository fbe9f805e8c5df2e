//! Validation of submitted event batches: every problem at once, each with the JSON field path it concerns.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::event::{EventInput, SCHEMA_VERSION};

/// Default maximum number of events per `POST /events` batch.
pub const DEFAULT_MAX_BATCH: usize = 500;

/// One validation problem: the field path (e.g. `events[3].dimensions.council_district`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// JSON path of the offending field; empty for the whole body.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Parses and validates a `POST /events` body (`{"events": [...]}`) of at most `max_batch` events.
/// Returns all problems found, or the inputs when there are none.
pub fn parse_batch(body: &[u8], max_batch: usize) -> Result<Vec<EventInput>, Vec<Problem>> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| vec![Problem::new("", format!("body is not valid JSON: {e}"))])?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(vec![Problem::new(
            "",
            "body must be an object {\"events\": [...]}",
        )]);
    };
    let mut problems = Vec::new();
    for key in object.keys() {
        if key != "events" {
            problems.push(Problem::new(
                key.clone(),
                "unknown field (expected only `events`)",
            ));
        }
    }
    let items = match object.remove("events") {
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return Err(vec![Problem::new("events", "must be an array of events")]),
        None => return Err(vec![Problem::new("events", "missing field")]),
    };
    if items.is_empty() {
        problems.push(Problem::new("events", "must contain at least one event"));
    }
    if items.len() > max_batch {
        problems.push(Problem::new(
            "events",
            format!(
                "{} events in one batch; at most {max_batch} are accepted",
                items.len()
            ),
        ));
        return Err(problems);
    }
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("events[{i}]");
        match serde_path_to_error::deserialize::<_, EventInput>(item) {
            Ok(input) => {
                problems.extend(check_input(&input, &prefix));
                inputs.push(input);
            }
            Err(err) => {
                let inner = err.path().to_string();
                let path = if inner == "." {
                    prefix
                } else {
                    format!("{prefix}.{inner}")
                };
                problems.push(Problem::new(path, err.into_inner().to_string()));
            }
        }
    }
    if problems.is_empty() {
        Ok(inputs)
    } else {
        Err(problems)
    }
}

/// Semantic checks of one structurally valid input; paths are relative to `prefix`.
pub fn check_input(input: &EventInput, prefix: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, message: String| {
        problems.push(Problem::new(format!("{prefix}.{field}"), message))
    };
    for (field, value) in [
        ("dataset", &input.dataset),
        ("layer", &input.layer),
        ("event_type", &input.event_type),
    ] {
        if !is_slug(value) {
            bad(
                field,
                format!("{value:?} must be 1-64 characters of a-z, 0-9, '_' or '-'"),
            );
        }
    }
    for (field, value) in [
        ("metric", &input.metric),
        ("unit", &input.unit),
        ("run_id", &input.run_id),
    ] {
        if value.trim().is_empty() || value.len() > 200 {
            bad(
                field,
                "must be non-empty text of at most 200 characters".into(),
            );
        }
    }
    if let Some(version) = input.schema_version
        && version != SCHEMA_VERSION
    {
        bad(
            "schema_version",
            format!("{version} is not supported (this ledger speaks version {SCHEMA_VERSION})"),
        );
    }
    if input.window_end <= input.window_start {
        bad("window_end", "must be after window_start".into());
    }
    let cd = input.dimensions.council_district;
    if !(1..=15).contains(&cd) {
        bad(
            "dimensions.council_district",
            format!("{cd} is not an LA council district (1..=15)"),
        );
    }
    if let Some(zip) = &input.dimensions.zip_code
        && !(zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit()))
    {
        bad(
            "dimensions.zip_code",
            format!("{zip:?} is not a five-digit ZIP code"),
        );
    }
    for (field, value) in [
        ("dimensions.nc_code", &input.dimensions.nc_code),
        ("dimensions.request_type", &input.dimensions.request_type),
        ("dimensions.agency", &input.dimensions.agency),
        ("dimensions.category", &input.dimensions.category),
        ("partition", &input.partition),
    ] {
        if let Some(v) = value
            && (v.trim().is_empty() || v.len() > 200)
        {
            bad(
                field,
                "must be omitted or non-empty text of at most 200 characters".into(),
            );
        }
    }
    if let Some(week) = &input.dimensions.week {
        match crate::event::iso_week(input.window_start, input.window_end) {
            Some(w) if w == *week => {}
            Some(w) => bad(
                "dimensions.week",
                format!("{week:?} is not the window's ISO week ({w})"),
            ),
            None => bad(
                "dimensions.week",
                "is only given for a window of exactly one ISO week (Monday 00:00 UTC to the next Monday)"
                    .into(),
            ),
        }
    }
    if let Some(pair) = &input.dimensions.pair {
        if !is_slug(&pair.dataset_a) || pair.dataset_a != input.dataset {
            bad(
                "dimensions.pair.dataset_a",
                format!(
                    "{:?} must be the event's dataset ({:?})",
                    pair.dataset_a, input.dataset
                ),
            );
        }
        if !is_slug(&pair.dataset_b) {
            bad(
                "dimensions.pair.dataset_b",
                format!("{:?} is not a dataset id", pair.dataset_b),
            );
        }
        for (field, v) in [
            ("dimensions.pair.metric_a", &pair.metric_a),
            ("dimensions.pair.metric_b", &pair.metric_b),
        ] {
            if v.trim().is_empty() || v.len() > 200 {
                bad(
                    field,
                    "must be non-empty text of at most 200 characters".into(),
                );
            }
        }
        if !(-52..=52).contains(&pair.lag_weeks) {
            bad(
                "dimensions.pair.lag_weeks",
                format!("{} is outside -52..=52", pair.lag_weeks),
            );
        }
    }
    if let Some(s) = input.score
        && !s.is_finite()
    {
        bad("score", "must be a finite number".into());
    }
    if let Some(kind) = &input.score_kind
        && !is_slug(kind)
    {
        bad(
            "score_kind",
            format!("{kind:?} is not a score kind ([a-z0-9_-]{{1,64}})"),
        );
    }
    if !input.value.is_finite() {
        bad("value", "must be a finite number".into());
    }
    if let Some(b) = input.baseline
        && !b.is_finite()
    {
        bad("baseline", "must be a finite number".into());
    }
    for (i, key) in input.source.iter().enumerate() {
        if key.trim().is_empty() {
            bad(
                &format!("source[{i}]"),
                "must be a non-empty object key".into(),
            );
        }
    }
    for (i, id) in input.stakeholders.iter().enumerate() {
        if !is_slug(id) {
            bad(
                &format!("stakeholders[{i}]"),
                format!("{id:?} is not a stakeholder id"),
            );
        }
    }
    if let Some(given) = &input.event_id {
        let computed = input.computed_id();
        if *given != computed {
            bad(
                "event_id",
                format!("does not match the id computed from the event's identity ({computed})"),
            );
        }
    }
    problems
}

/// `[a-z0-9_-]{1,64}`: the shape of dataset, layer, event type and stakeholder ids (safe in object keys).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"dataset":"la311","layer":"analyze","event_type":"spike",
        "window_start":"2018-01-01T00:00:00Z","window_end":"2018-01-08T00:00:00Z",
        "dimensions":{"council_district":7},"metric":"requests","value":40,"baseline":10,
        "unit":"count","severity":"warning","run_id":"r1"}"#;

    fn check(body: &str) -> Vec<Problem> {
        parse_batch(body.as_bytes(), 3).err().unwrap_or_default()
    }

    #[test]
    fn good_batch_parses() {
        let inputs = parse_batch(format!(r#"{{"events":[{GOOD}]}}"#).as_bytes(), 3).unwrap();
        assert_eq!(inputs.len(), 1);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let bad = GOOD
            .replace(r#""council_district":7"#, r#""council_district":99"#)
            .replace(r#""layer":"analyze""#, r#""layer":"Analyze!""#);
        let missing = GOOD.replace(r#""metric":"requests","#, "");
        let problems = check(&format!(r#"{{"events":[{GOOD},{bad},{missing}]}}"#));
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "events[1].layer",
                "events[1].dimensions.council_district",
                "events[2]"
            ]
        );
        assert!(problems[2].message.contains("metric"), "{problems:?}");
    }

    #[test]
    fn nested_type_errors_carry_the_nested_path() {
        let bad = GOOD.replace(r#""council_district":7"#, r#""council_district":"seven""#);
        let problems = check(&format!(r#"{{"events":[{bad}]}}"#));
        assert_eq!(problems[0].path, "events[0].dimensions.council_district");
    }

    #[test]
    fn batch_limit_and_shape() {
        let four = [GOOD; 4].join(",");
        assert_eq!(
            check(&format!(r#"{{"events":[{four}]}}"#))[0].path,
            "events"
        );
        assert_eq!(check("[]")[0].path, "");
        assert_eq!(check("{")[0].path, "");
        assert_eq!(check(r#"{"events":[]}"#)[0].path, "events");
    }

    #[test]
    fn the_shared_dimensions_are_checked_against_the_event() {
        let dims = |d: &str| GOOD.replace(r#""council_district":7"#, d);
        let ok = dims(
            r#""council_district":7,"category":"Bulky Items","week":"2018-W01","pair":{"dataset_a":"la311","metric_a":"total","dataset_b":"lapd_crime","metric_b":"total","lag_weeks":-1}"#,
        )
        .replace(r#""severity""#, r#""score":4.5,"score_kind":"robust_z","partition":"7","severity""#);
        assert_eq!(check(&format!(r#"{{"events":[{ok}]}}"#)), vec![]);
        let wrong_week = dims(r#""council_district":7,"week":"2018-W02""#);
        let not_a_week = dims(r#""council_district":7,"week":"2018-W01""#)
            .replace("2018-01-08T00:00:00Z", "2018-01-09T00:00:00Z");
        let other_dataset = dims(
            r#""council_district":7,"pair":{"dataset_a":"lapd_crime","metric_a":"total","dataset_b":"la311","metric_b":" ","lag_weeks":60}"#,
        );
        let bad_kind = GOOD.replace(r#""severity""#, r#""score_kind":"Robust Z","severity""#);
        let problems = parse_batch(
            format!(r#"{{"events":[{wrong_week},{not_a_week},{other_dataset},{bad_kind}]}}"#)
                .as_bytes(),
            4,
        )
        .err()
        .unwrap_or_default();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "events[0].dimensions.week",
                "events[1].dimensions.week",
                "events[2].dimensions.pair.dataset_a",
                "events[2].dimensions.pair.metric_b",
                "events[2].dimensions.pair.lag_weeks",
                "events[3].score_kind"
            ],
            "{problems:?}"
        );
        assert!(problems[0].message.contains("2018-W01"), "{problems:?}");
    }

    #[test]
    fn wrong_event_id_is_rejected() {
        let bad = GOOD.replace(r#""dataset""#, r#""event_id":"abc","dataset""#);
        assert_eq!(
            check(&format!(r#"{{"events":[{bad}]}}"#))[0].path,
            "events[0].event_id"
        );
    }
}
