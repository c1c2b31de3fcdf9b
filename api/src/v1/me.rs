use actix_web::{get, web};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::*;
use crate::v1::users::UserResponse;

/// The authenticated caller
///
/// Who the bearer token belongs to, with their role (`is_admin`) and kind.
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = UserResponse),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me")]
pub async fn get_me(principal: Principal) -> Result<web::Json<UserResponse>, ApiError> {
    Ok(web::Json(UserResponse::from(principal.0)))
}
