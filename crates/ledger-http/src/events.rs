//! `/events` handlers: batch append, filtered listing with cursor pagination, lookup by id.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use ledger::event::{Event, EventInput, Severity};
use ledger::query::{Cursor, DEFAULT_LIMIT, EventFilter, MAX_LIMIT};
use ledger::store::{Appended, LedgerError};
use ledger::validate::{Problem, is_slug, parse_batch};

/// Body of `POST /events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostEvents {
    /// The events to append: 1 to the server's batch limit (500 unless the server is configured otherwise).
    #[schema(min_items = 1, max_items = 500)]
    pub events: Vec<EventInput>,
}

/// What happened to one submitted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppendStatus {
    /// Newly stored.
    Created,
    /// The same finding was already stored: nothing changed.
    Duplicate,
    /// A different finding is stored under the same id: nothing changed.
    Conflict,
}

/// Outcome of one submitted event, in submission order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppendResult {
    /// The event's deterministic id.
    pub event_id: String,
    /// What happened.
    pub status: AppendStatus,
}

/// Answer of `POST /events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostEventsResponse {
    /// One result per submitted event, in order.
    pub results: Vec<AppendResult>,
}

/// Query of `GET /events`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this dataset.
    #[param(pattern = r"^[a-z0-9_-]{1,64}$")]
    pub dataset: Option<String>,
    /// Only this event type.
    #[param(pattern = r"^[a-z0-9_-]{1,64}$")]
    pub event_type: Option<String>,
    /// Only this council district (1..=15).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 15)]
    pub council_district: Option<String>,
    /// Only this request type (exact; also matches the `category` of any dataset).
    pub request_type: Option<String>,
    /// Only this category (exact): the request type, crime group or permit type of the event's dataset.
    pub category: Option<String>,
    /// Only this severity (`info`, `warning`, `critical`).
    #[param(value_type = Option<Severity>)]
    pub severity: Option<String>,
    /// Only windows ending after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Only windows starting before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^-?[0-9]{1,18}\.[0-9a-fA-F]{64}$")]
    pub cursor: Option<String>,
    /// Page size, 1..=1000 (default 100).
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// Answer of `GET /events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListEventsResponse {
    /// Events ordered by (window_start, event_id).
    pub events: Vec<Event>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^-?[0-9]{1,18}\.[0-9a-f]{64}$")]
    pub next_cursor: Option<String>,
}

/// Appends a batch of events (idempotent per event id).
#[utoipa::path(
    post, path = "/events", tag = "events", request_body = PostEvents,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "At least one event was created", body = PostEventsResponse),
        (status = 200, description = "Every event was already stored", body = PostEventsResponse),
        (status = 400, description = "Invalid body; every problem with its field path", body = ErrorBody),
        (status = 401, description = "Bearer token absent or wrong", body = ErrorBody),
        (status = 403, description = "The server is read-only", body = ErrorBody),
        (status = 409, description = "Some events conflict with stored ones; the others were appended", body = PostEventsResponse),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
    )
)]
pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PostEventsResponse>), ApiError> {
    state.config.auth.check(&headers)?;
    let body =
        body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    let inputs = parse_batch(&body, state.config.max_batch).map_err(ApiError::invalid)?;
    let now = chrono::Utc::now();
    let mut results = Vec::with_capacity(inputs.len());
    let (mut created, mut conflicts) = (false, false);
    for input in inputs {
        let event = input.into_event(now);
        let event_id = event.event_id.clone();
        let status = match state.ledger.append(event).await {
            Ok(Appended::Created(_)) => {
                created = true;
                AppendStatus::Created
            }
            Ok(Appended::Duplicate(_)) => AppendStatus::Duplicate,
            Err(LedgerError::Conflict { .. }) => {
                conflicts = true;
                AppendStatus::Conflict
            }
            Err(other) => return Err(ApiError::internal(other)),
        };
        results.push(AppendResult { event_id, status });
    }
    let status = match (conflicts, created) {
        (true, _) => StatusCode::CONFLICT,
        (false, true) => StatusCode::CREATED,
        (false, false) => StatusCode::OK,
    };
    Ok((status, Json(PostEventsResponse { results })))
}

/// Lists events matching the filters, in a stable order, one page at a time.
#[utoipa::path(
    get, path = "/events", tag = "events", params(ListParams),
    responses(
        (status = 200, description = "One page of events", body = ListEventsResponse),
        (status = 400, description = "Invalid filter or cursor", body = ErrorBody),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListEventsResponse>, ApiError> {
    let Query(params) = params.map_err(|r| ApiError::invalid_field("query", r.body_text()))?;
    let (filter, cursor, limit) = parse_list_params(&params).map_err(ApiError::invalid)?;
    let page = state
        .ledger
        .list(&filter, cursor.as_ref(), limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(ListEventsResponse {
        events: page.events,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// Turns query text into a filter, cursor and limit, reporting every bad parameter.
pub fn parse_list_params(
    p: &ListParams,
) -> Result<(EventFilter, Option<Cursor>, usize), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut bad = |path: &str, message: String| {
        problems.push(Problem {
            path: format!("query.{path}"),
            message,
        })
    };
    let mut slug = |name: &str, v: &Option<String>| match v {
        Some(s) if !is_slug(s) => {
            bad(
                name,
                format!("{s:?} must be 1-64 characters of a-z, 0-9, '_' or '-'"),
            );
            None
        }
        other => other.clone(),
    };
    let dataset = slug("dataset", &p.dataset);
    let event_type = slug("event_type", &p.event_type);
    let council_district = p
        .council_district
        .as_deref()
        .and_then(|s| match s.parse::<u8>() {
            Ok(cd) if (1..=15).contains(&cd) => Some(cd),
            _ => {
                bad(
                    "council_district",
                    format!("{s:?} is not a council district (1..=15)"),
                );
                None
            }
        });
    let severity = p.severity.as_deref().and_then(|s| {
        Severity::parse(s).or_else(|| {
            bad(
                "severity",
                format!("{s:?} is not one of info, warning, critical"),
            );
            None
        })
    });
    let mut time = |name: &str, v: &Option<String>| {
        v.as_deref()
            .and_then(|s| match chrono::DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.with_timezone(&chrono::Utc)),
                Err(e) => {
                    bad(name, format!("{s:?} is not an RFC 3339 instant: {e}"));
                    None
                }
            })
    };
    let from = time("from", &p.from);
    let to = time("to", &p.to);
    let cursor = p.cursor.as_deref().and_then(|s| {
        Cursor::decode(s).or_else(|| {
            bad("cursor", "not a cursor returned by this API".into());
            None
        })
    });
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                bad(
                    "limit",
                    format!("{s:?} is not a page size in 1..={MAX_LIMIT}"),
                );
                DEFAULT_LIMIT
            }
        },
    };
    let filter = EventFilter {
        dataset,
        event_type,
        council_district,
        request_type: p.request_type.clone(),
        category: p.category.clone(),
        severity,
        from,
        to,
    };
    if problems.is_empty() {
        Ok((filter, cursor, limit))
    } else {
        Err(problems)
    }
}

/// One event by id.
#[utoipa::path(
    get, path = "/events/{id}", tag = "events",
    params(("id" = String, Path, pattern = r"^[0-9a-fA-F]{64}$",
        description = "The event's deterministic id (64 hex characters)")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No event with that id", body = ErrorBody),
    )
)]
pub async fn get_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Event>, ApiError> {
    let missing = || ApiError::not_found(format!("no event with id {id:?}"));
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(missing());
    }
    match state.ledger.get(&id).await.map_err(ApiError::internal)? {
        Some(event) => Ok(Json(event)),
        None => Err(missing()),
    }
}
