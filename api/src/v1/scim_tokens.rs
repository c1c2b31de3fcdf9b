//! SCIM tokens: the bearer tokens identity providers push the directory with (`/scim/v2`), one per
//! identity provider, made and revoked by administrators.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::directory::ProviderName;
use portcullis_persistence::repo::scim::TokenRow;
use portcullis_persistence::time::from_db;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extractors::ValidJson;
use crate::openapi::*;
use crate::services::scim;
use crate::state::AppState;

/// An identity provider's SCIM token (the token itself only in the answer that made it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0", "name": "Okta", "created_at": "2026-12-02T09:30:00Z",
    "last_used_at": "2026-12-02T09:41:12Z", "revoked_at": null
}))]
pub struct ScimTokenResponse {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The last SCIM call made with it (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&TokenRow> for ScimTokenResponse {
    fn from(row: &TokenRow) -> Self {
        Self {
            id: row.id.parse().unwrap_or_default(),
            name: row.name.clone(),
            created_at: from_db(row.created_at),
            last_used_at: row.last_used_at.map(from_db),
            revoked_at: row.revoked_at.map(from_db),
        }
    }
}

/// A new SCIM token, with the token shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0", "name": "Okta", "created_at": "2026-12-02T09:30:00Z",
    "last_used_at": null, "revoked_at": null,
    "token": "scim_q9Vd3mJ0bq3xWg4yJ2oQ7mF1r8kZb5cT6nH0sL9aE2w",
    "scim_base_url": "https://portcullis.example.com/scim/v2"
}))]
pub struct CreatedScimToken {
    #[serde(flatten)]
    pub token_info: ScimTokenResponse,
    /// The bearer token to give the identity provider: shown only here, stored only hashed.
    pub token: String,
    /// Where the identity provider sends its SCIM calls.
    pub scim_base_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScimTokenList {
    pub items: Vec<ScimTokenResponse>,
    /// Always null: every token is listed at once.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Okta" }))]
pub struct CreateScimTokenBody {
    /// Which identity provider uses it (1–200 characters once trimmed, no control characters but
    /// tab and line feed).
    pub name: String,
}

/// List SCIM tokens
///
/// Every identity provider's token, newest first, revoked ones included; never the tokens themselves.
#[utoipa::path(
    tag = "directory-sync",
    responses(
        (status = 200, description = "The tokens", body = ScimTokenList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/scim-tokens")]
pub async fn list_scim_tokens(
    _admin: Admin,
    state: web::Data<AppState>,
) -> Result<web::Json<ScimTokenList>, ApiError> {
    let rows = state.read(scim::tokens).await?;
    Ok(web::Json(ScimTokenList {
        items: rows.iter().map(ScimTokenResponse::from).collect(),
        next_page_token: None,
    }))
}

/// Create a SCIM token
///
/// A bearer token for one identity provider's SCIM client (base URL: `/scim/v2` on this server). The
/// token is in this answer only; it is stored hashed. It works only under `/scim/v2`.
#[utoipa::path(
    tag = "directory-sync",
    request_body = CreateScimTokenBody,
    responses(
        (status = 201, description = "The token, shown this once", body = CreatedScimToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/scim-tokens")]
pub async fn create_scim_token(
    Admin(principal): Admin,
    state: web::Data<AppState>,
    http: actix_web::HttpRequest,
    ValidJson(body): ValidJson<CreateScimTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let name = ProviderName::parse(&body.name)
        .map_err(|e| ApiError::invalid_field("name", e))?
        .into_inner();
    let (actor, now) = (principal.user().id, state.now());
    let (row, token) = state
        .write(move |conn| scim::create_token(conn, actor, name, now))
        .await?;
    let info = http.connection_info();
    let scim_base_url = format!("{}://{}/scim/v2", info.scheme(), info.host());
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/scim-tokens/{}", row.id)))
        .json(CreatedScimToken {
            token_info: ScimTokenResponse::from(&row),
            token,
            scim_base_url,
        }))
}

/// Revoke a SCIM token
///
/// The identity provider's calls with it are refused from now on. The token stays listed, revoked.
#[utoipa::path(
    tag = "directory-sync",
    params(("id" = Uuid, Path, description = "The token's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0")),
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[delete("/scim-tokens/{id}")]
pub async fn revoke_scim_token(
    Admin(principal): Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (
        principal.user().id,
        state.now(),
        id.into_inner().to_string(),
    );
    state
        .write(move |conn| scim::revoke_token(conn, actor, &id, now).map(drop))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
