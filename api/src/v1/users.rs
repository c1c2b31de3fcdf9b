use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::directory::{DisplayName, Email, ExternalId, User, UserKind};
use portcullis_persistence::repo::users::UserFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::{double_option, rule, users};
use crate::state::AppState;

/// A person or integration account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "email": "ada@example.com", "display_name": "Ada Lovelace",
    "manager_id": null, "is_admin": false, "active": true, "kind": "person", "external_id": null, "version": 1,
    "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct UserResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub manager_id: Option<Uuid>,
    pub is_admin: bool,
    pub active: bool,
    pub kind: UserKind,
    /// The subject an identity provider knows the user by.
    pub external_id: Option<String>,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub created_at: DateTime<Utc>,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.into_inner(),
            manager_id: user.manager_id.map(|m| m.as_uuid()),
            is_admin: user.is_admin,
            active: user.active,
            kind: user.kind,
            external_id: user.external_id.map(ExternalId::into_inner),
            version: user.version,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

list_response!(UserList, UserResponse, "A page of users, newest first.");

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "ada@example.com", "display_name": "Ada Lovelace",
    "manager_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "is_admin": false, "kind": "person"
}))]
pub struct CreateUserRequest {
    /// Unique (case-insensitive); stored lower-cased.
    #[validate(custom(function = "valid_email"))]
    #[schema(max_length = 254)]
    pub email: String,
    #[validate(custom(function = "valid_display_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    /// An active person; the management chain may not loop.
    pub manager_id: Option<Uuid>,
    #[serde(default)]
    pub is_admin: bool,
    /// `person` (default) or `integration` (a service account for automation).
    pub kind: Option<UserKind>,
    #[validate(custom(function = "valid_external_id"))]
    #[schema(min_length = 1, max_length = 255)]
    pub external_id: Option<String>,
}

/// Fields to change; omitted fields stay as they are, `null` clears `manager_id` or `external_id`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "display_name": "Ada King", "manager_id": null }))]
pub struct UpdateUserRequest {
    #[validate(custom(function = "valid_email"))]
    pub email: Option<String>,
    #[validate(custom(function = "valid_display_name"))]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub manager_id: Option<Option<Uuid>>,
    pub is_admin: Option<bool>,
    /// `false` deactivates the user: their tokens stop working at once.
    pub active: Option<bool>,
    pub kind: Option<UserKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub external_id: Option<Option<String>>,
    /// Read-only, ignored: the GET's own field, accepted so that a read object can be sent back.
    #[schema(read_only)]
    pub id: Option<Uuid>,
    /// Read-only: when given, the version this change applies to, checked as `If-Match` is (412 if
    /// stale; with `If-Match` too, both must match).
    #[schema(read_only)]
    pub version: Option<i64>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

fn valid_email(value: &str) -> Result<(), validator::ValidationError> {
    rule(Email::parse(value))
}

fn valid_display_name(value: &str) -> Result<(), validator::ValidationError> {
    rule(DisplayName::parse(value))
}

fn valid_external_id(value: &str) -> Result<(), validator::ValidationError> {
    rule(ExternalId::parse(value))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Case-insensitive substring of the email or display name.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    pub active: Option<bool>,
    pub kind: Option<UserKind>,
    pub is_admin: Option<bool>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// List users
///
/// Administrators list full user records. Everybody else finds colleagues with `GET /v1/people`
/// (id, name and email only) and reads their own record at `GET /v1/me`.
#[utoipa::path(
    tag = "users",
    params(UserListParams),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<UserListParams>,
) -> Result<web::Json<UserList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token.clone(),
    }
    .to_request()?;
    let filter = UserFilter {
        q: params.q,
        active: params.active,
        kind: params.kind,
        is_admin: params.is_admin,
    };
    let users = state
        .read(move |conn| users::list(conn, &filter, &page))
        .await?;
    Ok(web::Json(UserList::from_page(users, UserResponse::from)))
}

/// Create a user
///
/// Administrators add a person or an integration account. Emails are unique ignoring case; a manager
/// must be an active person and may not create a loop in the management chain.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "The user was created", body = UserResponse,
            headers(("ETag" = String, description = "The user's version"), ("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    ValidJson(body): ValidJson<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = users::parse_new_user(
        &body.email,
        &body.display_name,
        body.manager_id,
        body.is_admin,
        body.kind,
        body.external_id.as_deref(),
    )?;
    let (actor, now) = (Some(principal.user().id), state.now());
    let user = state
        .write(move |conn| users::create(conn, actor, input, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(user.version))
        .insert_header(("Location", format!("/v1/users/{}", user.id)))
        .json(UserResponse::from(user)))
}

/// Get a user
///
/// Administrators read a full user record; the `ETag` header carries its version. Everybody else
/// gets 403, even for their own id or their manager's: `GET /v1/me` gives both.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The user", body = UserResponse,
            headers(("ETag" = String, description = "The user's version"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::from(id.into_inner());
    let user = state.read(move |conn| users::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(UserResponse::from(user)))
}

/// Update a user
///
/// Send `If-Match` with the `ETag` you read to avoid overwriting someone else's change (412 if stale).
/// The last active administrator cannot be demoted or deactivated (409).
#[utoipa::path(
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "The user's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the update fails with 412 if it changed"),
    ),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse,
            headers(("ETag" = String, description = "The user's new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match.and_version(body.version);
    let changes = users::UserChanges {
        email: body
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|m| ApiError::invalid_field("email", m))?,
        display_name: body
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|m| ApiError::invalid_field("display_name", m))?,
        manager_id: body.manager_id.map(|m| m.map(UserId::from)),
        is_admin: body.is_admin,
        active: body.active,
        kind: body.kind,
        external_id: body
            .external_id
            .map(|e| e.as_deref().map(ExternalId::parse).transpose())
            .transpose()
            .map_err(|m| ApiError::invalid_field("external_id", m))?,
    };
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        UserId::from(id.into_inner()),
    );
    let user = state
        .write(move |conn| users::update(conn, actor, id, changes, &if_match, now))
        .await;
    state.cache.users_changed();
    let user = user?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(UserResponse::from(user)))
}

/// Delete a user
///
/// A user nothing refers to is deleted; one that is referenced (a manager, a group member, a device
/// user, later a requester or approver) is deactivated instead, keeping history intact. Either way
/// the answer is 204 and the user can no longer sign in.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 204, description = "The user was deleted or deactivated"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[delete("/users/{id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        UserId::from(id.into_inner()),
    );
    let removed = state
        .write(move |conn| users::remove(conn, actor, id, now))
        .await;
    state.cache.users_changed();
    removed?;
    Ok(HttpResponse::NoContent().finish())
}
