use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::*;
use crate::services::users;
use crate::state::AppState;
use crate::v1::people::{PersonSummary, summary};
use crate::v1::users::dto::UserResponse;

/// The caller's own record, and their manager as a picker shows them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "email": "ada@example.com", "display_name": "Ada Lovelace",
    "manager_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "is_admin": false, "active": true, "kind": "person",
    "external_id": null, "version": 1, "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z",
    "manager": { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "display_name": "Grace Hopper", "email": "grace@example.com" }
}))]
pub struct MeResponse {
    #[serde(flatten)]
    pub user: UserResponse,
    /// The caller's manager (`null` without one).
    #[schema(required = true)]
    pub manager: Option<PersonSummary>,
}

/// The authenticated caller
///
/// Who the bearer token belongs to, with their role (`is_admin`) and kind, and their manager's id,
/// name and email. This is the one full user record a caller who is not an administrator can read.
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<MeResponse>, ApiError> {
    let manager = match principal.user().manager_id {
        Some(id) => Some(state.read(move |conn| users::get(conn, id)).await?),
        None => None,
    };
    Ok(web::Json(MeResponse {
        user: UserResponse::from(std::sync::Arc::unwrap_or_clone(principal.0)),
        manager: manager.map(summary),
    }))
}
