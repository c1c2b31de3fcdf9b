use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::directory::{Description, Group, GroupName, Membership, MembershipSource};
use portcullis_domain::{GroupId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Admin, Principal};
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::{groups, rule};
use crate::state::AppState;

/// A user group: the unit approval flows grant access to and draw approvers from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "name": "GitHub Admins",
    "description": "Admin rights on the GitHub organisation", "version": 1,
    "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct GroupResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub created_at: DateTime<Utc>,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<Group> for GroupResponse {
    fn from(group: Group) -> Self {
        Self {
            id: group.id.as_uuid(),
            name: group.name.into_inner(),
            description: group.description.into_inner(),
            version: group.version,
            created_at: group.created_at,
            updated_at: group.updated_at,
        }
    }
}

list_response!(GroupList, GroupResponse, "A page of groups, newest first.");

/// One reason a user is in a group: `direct` (added by an admin) or `grant` (an approved request,
/// possibly until `expires_at`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e82", "group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81",
    "user_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "source": "direct", "expires_at": null,
    "created_at": "2026-11-23T09:30:00Z"
}))]
pub struct MembershipResponse {
    pub id: Uuid,
    pub group_id: Uuid,
    pub user_id: Uuid,
    pub source: MembershipSource,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Membership> for MembershipResponse {
    fn from(m: Membership) -> Self {
        Self {
            id: m.id.as_uuid(),
            group_id: m.group_id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            source: m.source,
            expires_at: m.expires_at,
            created_at: m.created_at,
        }
    }
}

list_response!(
    MembershipList,
    MembershipResponse,
    "A page of a group's memberships, newest first."
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "GitHub Admins", "description": "Admin rights on the GitHub organisation" }))]
pub struct CreateGroupRequest {
    /// Unique in the directory.
    #[validate(custom(function = "valid_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[validate(custom(function = "valid_description"))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "description": "Owners of the GitHub organisation" }))]
pub struct UpdateGroupRequest {
    #[validate(custom(function = "valid_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(custom(function = "valid_description"))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
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

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "user_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80" }))]
pub struct AddMemberRequest {
    /// An active person (integration users never hold access).
    pub user_id: Uuid,
}

fn valid_name(value: &str) -> Result<(), validator::ValidationError> {
    rule(GroupName::parse(value))
}

fn valid_description(value: &str) -> Result<(), validator::ValidationError> {
    rule(Description::parse(value))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupListParams {
    /// Case-insensitive substring of the name or description.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// List groups
///
/// Every authenticated caller may list the groups, newest first, filtered by `q`.
#[utoipa::path(
    tag = "groups",
    params(GroupListParams),
    responses(
        (status = 200, description = "A page of groups", body = GroupList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/groups")]
pub async fn list_groups(
    state: web::Data<AppState>,
    _principal: Principal,
    ValidQuery(params): ValidQuery<GroupListParams>,
) -> Result<web::Json<GroupList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let q = params.q;
    let groups = state
        .read(move |conn| groups::list(conn, q.as_deref(), &page))
        .await?;
    Ok(web::Json(GroupList::from_page(groups, GroupResponse::from)))
}

/// Create a group
///
/// Administrators create a group; names are unique.
#[utoipa::path(
    tag = "groups",
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "The group was created", body = GroupResponse,
            headers(("ETag" = String, description = "The group's version"), ("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/groups")]
pub async fn create_group(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    ValidJson(body): ValidJson<CreateGroupRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = GroupName::parse(&body.name).map_err(|m| ApiError::invalid_field("name", m))?;
    let description = Description::parse(body.description.as_deref().unwrap_or(""))
        .map_err(|m| ApiError::invalid_field("description", m))?;
    let (actor, now) = (Some(principal.user().id), state.now());
    let group = state
        .write(move |conn| groups::create(conn, actor, name, description, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(group.version))
        .insert_header(("Location", format!("/v1/groups/{}", group.id)))
        .json(GroupResponse::from(group)))
}

/// Get a group
///
/// Every authenticated caller may read a group. The `ETag` header carries its version.
#[utoipa::path(
    tag = "groups",
    params(("id" = Uuid, Path, description = "The group's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The group", body = GroupResponse,
            headers(("ETag" = String, description = "The group's version"))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
#[get("/groups/{id}")]
pub async fn get_group(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = GroupId::from(id.into_inner());
    let group = state.read(move |conn| groups::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(group.version))
        .json(GroupResponse::from(group)))
}

/// Update a group
///
/// Administrators rename or describe a group. Send `If-Match` with the `ETag` you read (412 if stale).
#[utoipa::path(
    tag = "groups",
    params(
        ("id" = Uuid, Path, description = "The group's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the update fails with 412 if it changed"),
    ),
    request_body = UpdateGroupRequest,
    responses(
        (status = 200, description = "The updated group", body = GroupResponse,
            headers(("ETag" = String, description = "The group's new version"))),
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
#[patch("/groups/{id}")]
pub async fn update_group(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateGroupRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match.and_version(body.version);
    let changes = groups::GroupChanges {
        name: body
            .name
            .as_deref()
            .map(GroupName::parse)
            .transpose()
            .map_err(|m| ApiError::invalid_field("name", m))?,
        description: body
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()
            .map_err(|m| ApiError::invalid_field("description", m))?,
    };
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        GroupId::from(id.into_inner()),
    );
    let group = state
        .write(move |conn| groups::update(conn, actor, id, changes, &if_match, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(group.version))
        .json(GroupResponse::from(group)))
}

/// Delete a group
///
/// Removes the group and its memberships. A group still used elsewhere (an approval flow) is a 409.
#[utoipa::path(
    tag = "groups",
    params(("id" = Uuid, Path, description = "The group's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 204, description = "The group was deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[delete("/groups/{id}")]
pub async fn delete_group(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        GroupId::from(id.into_inner()),
    );
    state
        .write(move |conn| groups::delete(conn, actor, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a group's members
///
/// Administrators only (who holds a group is who holds its access). One item per membership: a user
/// added directly and also through a grant appears twice, once per source.
#[utoipa::path(
    tag = "groups",
    params(("id" = Uuid, Path, description = "The group's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"), PageParams),
    responses(
        (status = 200, description = "A page of memberships", body = MembershipList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[get("/groups/{id}/members")]
pub async fn list_group_members(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
    ValidQuery(params): ValidQuery<PageParams>,
) -> Result<web::Json<MembershipList>, ApiError> {
    let page = params.to_request()?;
    let id = GroupId::from(id.into_inner());
    let members = state
        .read(move |conn| groups::list_members(conn, id, &page))
        .await?;
    Ok(web::Json(MembershipList::from_page(
        members,
        MembershipResponse::from,
    )))
}

/// Add a member
///
/// Adds the user directly (source `direct`). Already a direct member: 409.
#[utoipa::path(
    tag = "groups",
    params(("id" = Uuid, Path, description = "The group's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "The membership was created", body = MembershipResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/groups/{id}/members")]
pub async fn add_group_member(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    ValidJson(body): ValidJson<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now) = (Some(principal.user().id), state.now());
    let (group, user) = (GroupId::from(id.into_inner()), UserId::from(body.user_id));
    let membership = state
        .write(move |conn| groups::add_member(conn, actor, group, user, now))
        .await?;
    Ok(HttpResponse::Created().json(MembershipResponse::from(membership)))
}

/// Remove a member
///
/// Removes the direct membership. Access held through a grant stays (revoke the grant); if that is
/// the only membership the answer is 409.
#[utoipa::path(
    tag = "groups",
    params(
        ("id" = Uuid, Path, description = "The group's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("user_id" = Uuid, Path, description = "The member's user id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81"),
    ),
    responses(
        (status = 204, description = "The direct membership was removed"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[delete("/groups/{id}/members/{user_id}")]
pub async fn remove_group_member(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (group, user) = path.into_inner();
    let (actor, now, group, user) = (
        Some(principal.user().id),
        state.now(),
        GroupId::from(group),
        UserId::from(user),
    );
    state
        .write(move |conn| groups::remove_member(conn, actor, group, user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
