//! API error bodies and their HTTP statuses (always JSON, never a bare text body).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ledger::validate::Problem;

/// Body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// Problems with the request, each with its field path (only for 400).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// An error answer: status plus body.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error without field problems.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                problems: Vec::new(),
            },
        }
    }

    /// 400 with field problems.
    pub fn invalid(problems: Vec<Problem>) -> Self {
        let error = format!("{} problem(s) in the request", problems.len());
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody { error, problems },
        }
    }

    /// 400 with one problem at `path`.
    pub fn invalid_field(path: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![Problem {
            path: path.to_owned(),
            message: message.into(),
        }])
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }

    /// 500, logging the cause.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "ledger API internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {err}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Answers for requests that match no route (JSON 404 instead of an empty body).
pub async fn fallback() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}
