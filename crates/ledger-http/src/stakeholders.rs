//! `/stakeholders` handlers: the merged stakeholders (data + maintained file) of the configured dataset, naming the
//! current members or, with `?at=DATE`, the members in office on that date and the term each name comes from.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use ledger::stakeholders::{self, Stakeholder};

/// Answer of `GET /stakeholders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StakeholdersResponse {
    /// One stakeholder per council district, by district.
    pub stakeholders: Vec<Stakeholder>,
    /// The date asked for with `at`; absent when the current members are named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub at: Option<NaiveDate>,
}

/// Query of the `/stakeholders` routes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtParams {
    /// Name the member in office on this date (`YYYY-MM-DD`) instead of the current one; each stakeholder's
    /// `in_office` then says which term the name comes from and how the date falls in it.
    #[param(value_type = Option<String>, format = Date)]
    pub at: Option<String>,
}

/// The `at` query parameter as a date; a clear 400 naming it otherwise.
pub fn parse_at(
    params: Result<Query<AtParams>, QueryRejection>,
) -> Result<Option<NaiveDate>, ApiError> {
    let Query(params) = params.map_err(|r| ApiError::invalid_field("query", r.body_text()))?;
    params
        .at
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
                ApiError::invalid_field(
                    "query.at",
                    format!("{s:?} is not a date (YYYY-MM-DD, e.g. 2023-06-01): {e}"),
                )
            })
        })
        .transpose()
}

async fn merged(state: &AppState, at: Option<NaiveDate>) -> Result<Vec<Stakeholder>, ApiError> {
    let derived = stakeholders::load_derived(&state.ledger, &state.config.dataset)
        .await
        .map_err(ApiError::internal)?;
    // A configured file wins; otherwise the file stored in the ledger bucket, if any; otherwise the one the
    // binary carries (the catalog's).
    let stored = match &state.config.stakeholder_file {
        Some(_) => None,
        None => stakeholders::load_stored_file(&state.ledger, &state.config.dataset)
            .await
            .map_err(ApiError::internal)?,
    };
    let file = state
        .config
        .stakeholder_file
        .as_deref()
        .or(stored.as_ref())
        .or(state.config.builtin_stakeholder_file.as_deref());
    Ok(match at {
        Some(day) => stakeholders::merge_at(&derived, file, day),
        None => stakeholders::merge(&derived, file),
    })
}

/// Every district's stakeholder; each field says whether it came from the data or the maintained file.
#[utoipa::path(
    get, path = "/stakeholders", tag = "stakeholders", params(AtParams),
    responses(
        (status = 200, description = "All stakeholders", body = StakeholdersResponse),
        (status = 400, description = "`at` is not a date", body = ErrorBody),
    )
)]
pub async fn list_stakeholders(
    State(state): State<AppState>,
    params: Result<Query<AtParams>, QueryRejection>,
) -> Result<Json<StakeholdersResponse>, ApiError> {
    let at = parse_at(params)?;
    Ok(Json(StakeholdersResponse {
        stakeholders: merged(&state, at).await?,
        at,
    }))
}

/// The stakeholder of one council district.
#[utoipa::path(
    get, path = "/stakeholders/{district}", tag = "stakeholders",
    params(
        ("district" = u8, Path, minimum = 1, maximum = 15, description = "Council district number (1..=15)"),
        AtParams,
    ),
    responses(
        (status = 200, description = "The district's stakeholder", body = Stakeholder),
        (status = 400, description = "Not a district number, or `at` is not a date", body = ErrorBody),
        (status = 404, description = "Nothing is known about that district", body = ErrorBody),
    )
)]
pub async fn get_stakeholder(
    State(state): State<AppState>,
    Path(district): Path<String>,
    params: Result<Query<AtParams>, QueryRejection>,
) -> Result<Json<Stakeholder>, ApiError> {
    let Ok(cd) = district.parse::<u8>() else {
        return Err(ApiError::invalid_field(
            "path.district",
            format!("{district:?} is not a district number"),
        ));
    };
    let at = parse_at(params)?;
    merged(&state, at)
        .await?
        .into_iter()
        .find(|s| s.council_district == cd)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("nothing is known about council district {cd}")))
}
