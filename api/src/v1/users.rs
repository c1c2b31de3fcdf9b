//! Users (people and integration accounts): the handlers (the documents are in `users/dto.rs`).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use portcullis_domain::UserId;
use portcullis_domain::directory::{DisplayName, Email, ExternalId};
use portcullis_persistence::repo::users::UserFilter;
use uuid::Uuid;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::users;
use crate::state::AppState;

pub mod dto;

pub use dto::{CreateUserRequest, UpdateUserRequest, UserList, UserListParams, UserResponse};

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
