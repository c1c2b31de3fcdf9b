//! `/scim/v2/Groups`: groups and the memberships the identity provider owns.
//!
//! A group's SCIM `members` are its `scim` memberships only: what the identity provider pushed. A
//! PUT or a `replace` of the members changes those alone, so a grant's membership (from an approved
//! request) or an admin's direct one is never removed by a sync that does not know about it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_domain::GroupId;
use portcullis_domain::directory::{Group, GroupName};
use portcullis_persistence::repo::scim as repo;
use serde_json::{Value, json};

use super::filter::Resource;
use super::patch::apply_patch;
use super::{
    GROUP_SCHEMA, IdentityProvider, ListParams, ScimBody, ScimError, base_url, list_response, meta,
    parse_id, scim_json,
};
use crate::services::scim::{self as service, PushedGroup};
use crate::state::AppState;

/// A group as SCIM shows it. Its members are shown as written, `value` and `$ref`: no `display`,
/// which RFC 7643's Group schema (§8.7.1) does not define and a client would read back as a change.
pub(super) fn resource(
    base: &str,
    group: &Group,
    external_id: Option<&str>,
    members: Option<&[(portcullis_domain::UserId, String)]>,
) -> Value {
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id.to_string(),
        "displayName": group.name.as_str(),
        "meta": meta("Group", format!("{base}/Groups/{}", group.id), group.created_at, group.updated_at, group.version),
    });
    if let Some(external_id) = external_id {
        body["externalId"] = json!(external_id);
    }
    if let Some(members) = members {
        body["members"] = members
            .iter()
            .map(|(id, _)| json!({ "value": id.to_string(), "$ref": format!("{base}/Users/{id}") }))
            .collect();
    }
    body
}

/// Who a member element names: its `value`, else the id at the end of its `$ref` (the member's
/// URI, `…/Users/{id}`).
fn member_reference(member: &Value) -> Option<String> {
    let text = |name: &str| {
        member
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    text("value")
        .or_else(|| text("$ref").and_then(|r| r.trim_end_matches('/').rsplit('/').next()))
        .map(str::to_owned)
}

fn pushed(body: &Value) -> Result<PushedGroup, ScimError> {
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let name = GroupName::parse(name)
        .map_err(|e| ScimError::invalid_value(format!("displayName: {e}")))?;
    let external_id = match body.get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) if !e.trim().is_empty() && e.len() <= 255 => {
            Some(e.trim().to_owned())
        }
        Some(_) => {
            return Err(ScimError::invalid_value(
                "externalId must be a string of 1 to 255 characters",
            ));
        }
    };
    let members = match body.get("members") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|m| {
                    member_reference(m).ok_or_else(|| {
                        ScimError::invalid_value(
                            "each member needs a value (the user's id or externalId) or a $ref",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(ScimError::invalid_value("members must be an array")),
    };
    Ok(PushedGroup {
        name,
        external_id,
        members,
    })
}

async fn representation(
    state: &AppState,
    base: String,
    id: GroupId,
    members: bool,
) -> Result<Value, ScimError> {
    let (group, external_id, listed) = state
        .read(move |conn| {
            let (group, external_id) = service::group(conn, id)?;
            let listed = if members {
                Some(repo::scim_members(conn, id)?)
            } else {
                None
            };
            Ok((group, external_id, listed))
        })
        .await?;
    Ok(resource(
        &base,
        &group,
        external_id.as_deref(),
        listed.as_deref(),
    ))
}

pub async fn list(
    state: web::Data<AppState>,
    _idp: IdentityProvider,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    listed(&state, &req, &params).await
}

/// `POST /Groups/.search`: the list's parameters in a body.
pub async fn search(
    state: web::Data<AppState>,
    _idp: IdentityProvider,
    req: HttpRequest,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimError> {
    listed(&state, &req, &ListParams::from_search(&body)?).await
}

async fn listed(
    state: &AppState,
    req: &HttpRequest,
    params: &ListParams,
) -> Result<HttpResponse, ScimError> {
    let (offset, count) = params.window()?;
    let filter = params.filter(Resource::Group)?;
    let members = !params.without_members();
    let (total, groups) = state
        .read(move |conn| {
            let listed = repo::list_groups(conn, filter.as_ref(), offset, count)?;
            let mut groups = Vec::with_capacity(listed.items.len());
            for (group, external_id) in listed.items {
                let listed_members = if members {
                    Some(repo::scim_members(conn, group.id)?)
                } else {
                    None
                };
                groups.push((group, external_id, listed_members));
            }
            Ok((listed.total, groups))
        })
        .await?;
    let base = base_url(req);
    let resources = groups
        .iter()
        .map(|(g, e, m)| params.project(resource(&base, g, e.as_deref(), m.as_deref())))
        .collect();
    Ok(list_response(total, offset, resources))
}

pub async fn get(
    state: web::Data<AppState>,
    _idp: IdentityProvider,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    let id: GroupId = parse_id(&id, "group")?;
    let body = representation(&state, base_url(&req), id, !params.without_members()).await?;
    Ok(scim_json(StatusCode::OK, &params.project(body)))
}

pub async fn create(
    state: web::Data<AppState>,
    IdentityProvider(by): IdentityProvider,
    req: HttpRequest,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimError> {
    let pushed = pushed(&body)?;
    let now = state.now();
    let id = state
        .write(move |conn| service::create_group(conn, &by, pushed, now))
        .await?;
    let body = representation(&state, base_url(&req), id, true).await?;
    let mut response = scim_json(StatusCode::CREATED, &body);
    if let Ok(location) = body["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .parse()
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::LOCATION, location);
    }
    Ok(response)
}

pub async fn replace(
    state: web::Data<AppState>,
    IdentityProvider(by): IdentityProvider,
    req: HttpRequest,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id: GroupId = parse_id(&id, "group")?;
    let mut pushed = pushed(&body)?;
    // A PUT replaces the whole resource: no `members` means none.
    pushed.members.get_or_insert_with(Vec::new);
    let now = state.now();
    state
        .write(move |conn| service::replace_group(conn, &by, id, pushed, now))
        .await?;
    let body = representation(&state, base_url(&req), id, true).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

pub async fn patch(
    state: web::Data<AppState>,
    IdentityProvider(by): IdentityProvider,
    req: HttpRequest,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id: GroupId = parse_id(&id, "group")?;
    let base = base_url(&req);
    let document = representation(&state, base.clone(), id, true).await?;
    let mut patched = document.clone();
    apply_patch(&mut patched, &body, Resource::Group)?;
    let mut pushed = pushed(&patched)?;
    // Members change by what the operations added and removed, not by writing the whole list
    // read before: two identity-provider calls at once then both take effect.
    let members = |doc: &Value| -> Vec<String> {
        doc["members"]
            .as_array()
            .map(|items| items.iter().filter_map(member_reference).collect())
            .unwrap_or_default()
    };
    let (before, after) = (
        members(&document),
        pushed.members.take().unwrap_or_default(),
    );
    let added: Vec<String> = after
        .iter()
        .filter(|m| !before.contains(m))
        .cloned()
        .collect();
    let removed: Vec<String> = before
        .iter()
        .filter(|m| !after.contains(m))
        .cloned()
        .collect();
    let now = state.now();
    state
        .write(move |conn| {
            service::replace_group(conn, &by, id, pushed, now)?;
            let added = service::resolve_members(conn, &added)?;
            service::add_members(conn, &by, id, &added, now)?;
            let removed: Vec<_> = removed.iter().filter_map(|r| r.parse().ok()).collect();
            service::remove_members(conn, &by, id, &removed, now)
        })
        .await?;
    let body = representation(&state, base, id, true).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

pub async fn delete(
    state: web::Data<AppState>,
    IdentityProvider(by): IdentityProvider,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id: GroupId = parse_id(&id, "group")?;
    let now = state.now();
    state
        .write(move |conn| service::delete_group(conn, &by, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
