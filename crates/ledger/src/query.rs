//! Event queries: filters, the stable order (window_start, event_id) and opaque cursors.

use chrono::{DateTime, Utc};

use crate::event::{Event, Severity};

/// Default page size of a listing.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size a caller may ask for.
pub const MAX_LIMIT: usize = 1000;

/// Filters of a listing. All given filters must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Only this dataset.
    pub dataset: Option<String>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only this council district.
    pub council_district: Option<u8>,
    /// Only this request type (exact match; also matches an event's `category`, the name every dataset
    /// shares for it).
    pub request_type: Option<String>,
    /// Only this category (exact match).
    pub category: Option<String>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only events whose window ends after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only events whose window starts before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// True when `event` passes every given filter. The time range selects windows overlapping `[from, to)`.
    pub fn matches(&self, event: &Event) -> bool {
        self.dataset.as_ref().is_none_or(|d| *d == event.dataset)
            && self
                .event_type
                .as_ref()
                .is_none_or(|t| *t == event.event_type)
            && self
                .council_district
                .is_none_or(|cd| cd == event.dimensions.council_district)
            && self.request_type.as_ref().is_none_or(|rt| {
                event.dimensions.request_type.as_ref() == Some(rt)
                    || event.dimensions.category.as_ref() == Some(rt)
            })
            && self
                .category
                .as_ref()
                .is_none_or(|c| event.dimensions.category.as_ref() == Some(c))
            && self.severity.is_none_or(|s| s == event.severity)
            && self.from.is_none_or(|from| event.window_end > from)
            && self.to.is_none_or(|to| event.window_start < to)
    }
}

/// Position in the stable order: the sort key of the last event of a page.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// `window_start` of the last event, in microseconds since the epoch.
    pub window_start_us: i64,
    /// `event_id` of the last event.
    pub event_id: String,
}

impl Cursor {
    /// The cursor positioned at `event`.
    pub fn after(event: &Event) -> Self {
        Cursor {
            window_start_us: event.window_start.timestamp_micros(),
            event_id: event.event_id.clone(),
        }
    }

    /// Opaque text form, safe in a query string (`{micros}.{event_id}`).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.window_start_us, self.event_id)
    }

    /// Parses [`Cursor::encode`] output.
    pub fn decode(s: &str) -> Option<Self> {
        let (us, id) = s.split_once('.')?;
        let window_start_us = us.parse().ok()?;
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Cursor {
            window_start_us,
            event_id: id.to_owned(),
        })
    }
}

/// Sort key of the stable order.
pub fn sort_key(event: &Event) -> (i64, &str) {
    (
        event.window_start.timestamp_micros(),
        event.event_id.as_str(),
    )
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Events in stable order.
    pub events: Vec<Event>,
    /// Cursor to fetch the next page with; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// Filters, sorts and cuts one page out of `events` (in any order).
pub fn page(
    mut events: Vec<Event>,
    filter: &EventFilter,
    after: Option<&Cursor>,
    limit: usize,
) -> Page {
    let limit = limit.clamp(1, MAX_LIMIT);
    events.retain(|e| filter.matches(e));
    if let Some(c) = after {
        events.retain(|e| sort_key(e) > (c.window_start_us, c.event_id.as_str()));
    }
    events.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let next_cursor = (events.len() > limit).then(|| Cursor::after(&events[limit - 1]));
    events.truncate(limit);
    Page {
        events,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Dimensions, EventInput};
    use proptest::prelude::*;

    fn event(cd: u8, week: i64, severity: Severity, type_n: u8) -> Event {
        let start = "2018-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::Duration::weeks(week);
        EventInput {
            event_id: None,
            schema_version: None,
            dataset: "la311".into(),
            layer: "analyze".into(),
            event_type: format!("type{type_n}"),
            window_start: start,
            window_end: start + chrono::Duration::weeks(1),
            dimensions: Dimensions {
                council_district: cd,
                ..Default::default()
            },
            metric: "m".into(),
            value: 1.0,
            baseline: None,
            unit: "count".into(),
            severity,
            score: None,
            score_kind: None,
            partition: None,
            run_id: "r".into(),
            source: vec![],
            stakeholders: vec![],
        }
        .into_event(start)
    }

    proptest! {
        /// Following cursors visits exactly the filtered events, each once, in the stable order, for any limit.
        #[test]
        fn pages_partition_the_filtered_events(
            specs in proptest::collection::vec((1u8..=4, 0i64..6, 0usize..3, 0u8..3), 0..60),
            limit in 1usize..8,
            cd_filter in proptest::option::of(1u8..=4),
            sev_filter in proptest::option::of(0usize..3),
        ) {
            let sev = [Severity::Info, Severity::Warning, Severity::Critical];
            let mut events: Vec<Event> = specs.iter().map(|&(cd, w, s, t)| event(cd, w, sev[s], t)).collect();
            events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
            events.dedup_by(|a, b| a.event_id == b.event_id);
            let filter = EventFilter {
                council_district: cd_filter,
                severity: sev_filter.map(|s| sev[s]),
                ..Default::default()
            };
            let mut expected: Vec<Event> = events.iter().filter(|e| filter.matches(e)).cloned().collect();
            expected.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
            let mut seen = Vec::new();
            let mut cursor: Option<Cursor> = None;
            loop {
                let p = page(events.clone(), &filter, cursor.as_ref(), limit);
                prop_assert!(p.events.len() <= limit);
                seen.extend(p.events);
                match p.next_cursor {
                    Some(c) => cursor = Some(Cursor::decode(&c.encode()).unwrap()),
                    None => break,
                }
            }
            prop_assert_eq!(seen, expected);
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            window_start_us: 1_514_764_800_000_000,
            event_id: "a".repeat(64),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("nonsense"), None);
        assert_eq!(Cursor::decode("12.xyz"), None);
    }
}
