//! Schema-only shapes of text the server checks, named so the OpenAPI document can state them where a
//! field is a list (utoipa puts `pattern` on a field, not on the items of a `Vec<String>` field).

use utoipa::ToSchema;

/// An object key an event was computed from: text with at least one non-blank character.
#[derive(ToSchema)]
#[schema(pattern = r"\S")]
pub struct ObjectKey(pub String);

/// A stakeholder id (see `/stakeholders`): 1-64 characters of a-z, 0-9, '_' or '-'.
#[derive(ToSchema)]
#[schema(pattern = r"^[a-z0-9_-]{1,64}$")]
pub struct StakeholderId(pub String);
