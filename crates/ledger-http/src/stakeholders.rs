//! `/stakeholders` handlers: the merged stakeholders (data + maintained file) of the configured dataset.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use ledger::stakeholders::{self, Stakeholder};

/// Answer of `GET /stakeholders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StakeholdersResponse {
    /// One stakeholder per council district, by district.
    pub stakeholders: Vec<Stakeholder>,
}

async fn merged(state: &AppState) -> Result<Vec<Stakeholder>, ApiError> {
    let derived = stakeholders::load_derived(&state.ledger, &state.config.dataset)
        .await
        .map_err(ApiError::internal)?;
    // A configured file wins; otherwise the file stored in the ledger bucket, if any.
    let stored = match &state.config.stakeholder_file {
        Some(_) => None,
        None => stakeholders::load_stored_file(&state.ledger, &state.config.dataset)
            .await
            .map_err(ApiError::internal)?,
    };
    let file = state.config.stakeholder_file.as_deref().or(stored.as_ref());
    Ok(stakeholders::merge(&derived, file))
}

/// Every district's stakeholder; each field says whether it came from the data or the maintained file.
#[utoipa::path(
    get, path = "/stakeholders", tag = "stakeholders",
    responses((status = 200, description = "All stakeholders", body = StakeholdersResponse))
)]
pub async fn list_stakeholders(
    State(state): State<AppState>,
) -> Result<Json<StakeholdersResponse>, ApiError> {
    Ok(Json(StakeholdersResponse {
        stakeholders: merged(&state).await?,
    }))
}

/// The stakeholder of one council district.
#[utoipa::path(
    get, path = "/stakeholders/{district}", tag = "stakeholders",
    params(("district" = u8, Path, minimum = 1, maximum = 15, description = "Council district number (1..=15)")),
    responses(
        (status = 200, description = "The district's stakeholder", body = Stakeholder),
        (status = 400, description = "Not a district number", body = ErrorBody),
        (status = 404, description = "Nothing is known about that district", body = ErrorBody),
    )
)]
pub async fn get_stakeholder(
    State(state): State<AppState>,
    Path(district): Path<String>,
) -> Result<Json<Stakeholder>, ApiError> {
    let Ok(cd) = district.parse::<u8>() else {
        return Err(ApiError::invalid_field(
            "path.district",
            format!("{district:?} is not a district number"),
        ));
    };
    merged(&state)
        .await?
        .into_iter()
        .find(|s| s.council_district == cd)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("nothing is known about council district {cd}")))
}
