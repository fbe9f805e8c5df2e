//! The OpenAPI 3 document, generated from the handler annotations and the types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{error, events, stakeholders};
use ledger::wire;
use ledger::{event, stakeholders as model, validate};

/// The ledger API description served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "civic event ledger",
        description = "Findings of the civic-data pipeline as dimensioned events, and the stakeholders who should hear about them."
    ),
    paths(
        events::post_events,
        events::list_events,
        events::get_event,
        stakeholders::list_stakeholders,
        stakeholders::get_stakeholder,
        openapi_json,
    ),
    components(schemas(
        event::Event, event::EventInput, event::Dimensions, event::Pair, event::Severity,
        events::PostEvents, events::PostEventsResponse, events::AppendResult, events::AppendStatus,
        events::ListEventsResponse, error::ErrorBody, validate::Problem,
        model::Stakeholder, model::SourcedText, model::SourcedDate, model::SourcedList, model::Provenance,
        model::Term, model::DatedTerm, model::InOffice, model::Basis, stakeholders::StakeholdersResponse, wire::ObjectKey, wire::StakeholderId,
    )),
    modifiers(&BearerScheme),
    tags((name = "events"), (name = "stakeholders"), (name = "meta"))
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
