//! `/scim/v2/Users`: people as SCIM Users (core schema and the enterprise extension's manager).
//!
//! Mapping (see `user_document`): `userName` is the identity provider's own name for the person,
//! kept as written (it need not be the email); the primary email (else a `userName` that is an email
//! address) is the user's email; `displayName`, else `name.formatted`, else given and family names, is
//! the display name; `externalId`, `active`, and the enterprise extension's `manager.value` (a SCIM
//! id or an externalId, possibly of someone pushed later) map to the same fields. What the identity
//! provider wrote reads back as written, removals included.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_domain::UserId;
use portcullis_domain::directory::{ExternalId, User};
use portcullis_persistence::repo::scim::{self as repo, ScimUserRow};
use portcullis_persistence::time::from_db;
use serde_json::{Map, Value, json};

use super::filter::Resource;
use super::patch::apply_patch;
use super::user_document::{self as document, field};
use super::{
    ENTERPRISE_SCHEMA, IdentityProvider, ListParams, ScimBody, ScimError, USER_SCHEMA, base_url,
    list_response, meta, parse_id, scim_json,
};
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::services::scim::{self as service, PushedUser};
use crate::state::AppState;

/// The SCIM representation of a user: what the identity provider wrote (`scim`; the directory's
/// fields for a user it never wrote), with the directory's values where they changed since.
/// `pending_manager`: a manager reference not resolved yet.
pub fn resource(
    base: &str,
    user: &User,
    scim: Option<&ScimUserRow>,
    pending_manager: Option<&str>,
) -> Value {
    let written = scim.and_then(|row| {
        serde_json::from_str::<Map<String, Value>>(&row.attributes)
            .ok()
            .map(|attributes| (row.user_name.clone(), attributes))
    });
    let (user_name, attributes) = written.unwrap_or_else(|| document::from_directory(user));
    let attributes = document::reconciled(user, &user_name, attributes);
    let modified = scim
        .map(|row| from_db(row.updated_at))
        .filter(|at| *at > user.updated_at)
        .unwrap_or(user.updated_at);
    let location = format!("{base}/Users/{}", user.id);
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id.to_string(),
        "userName": user_name,
        "meta": meta("User", location, user.created_at, modified, user.version),
    });
    if let Some(fields) = body.as_object_mut() {
        fields.extend(attributes);
    }
    if let Some(external_id) = &user.external_id {
        body["externalId"] = json!(external_id.as_str());
    }
    let manager = user
        .manager_id
        .map(|m| m.to_string())
        .or(pending_manager.map(str::to_owned));
    // The extension only when it holds something: an empty one would read as assigned.
    if let Some(manager) = manager {
        body["schemas"] = json!([USER_SCHEMA, ENTERPRISE_SCHEMA]);
        body[ENTERPRISE_SCHEMA] = json!({ "manager": { "value": manager } });
    }
    body
}

/// Reads a SCIM User document into what Portcullis keeps of it.
pub fn pushed(body: &Value) -> Result<PushedUser, ScimError> {
    let user_name = document::user_name(body)?;
    let attributes = document::attributes(body, &user_name)?;
    let derived = document::derive(&user_name, &attributes)?;
    let external_id = match field(body, "externalId") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_str()
                .ok_or_else(|| ScimError::invalid_value("externalId must be a string"))
                .and_then(|e| {
                    ExternalId::parse(e)
                        .map_err(|e| ScimError::invalid_value(format!("externalId: {e}")))
                })?,
        ),
    };
    let manager = match body
        .get(ENTERPRISE_SCHEMA)
        .and_then(|e| field(e, "manager"))
    {
        None | Some(Value::Null) => None,
        // Entra ID sends the manager's id as the value itself; the RFC, an object with `value`.
        Some(Value::String(id)) => Some(id.clone()),
        Some(object) => field(object, "value")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    Ok(PushedUser {
        user_name,
        attributes,
        email: derived.email,
        display_name: derived.display_name,
        external_id,
        active: derived.active,
        manager,
    })
}

/// The user, what the identity provider wrote of them, and their pending manager.
type Stored = (User, Option<ScimUserRow>, Option<String>);

async fn stored(state: &AppState, id: UserId) -> Result<Stored, ScimError> {
    Ok(state
        .read(move |conn| {
            Ok((
                service::visible_user(conn, id)?,
                service::scim_user(conn, id)?,
                service::pending_manager(conn, id)?,
            ))
        })
        .await?)
}

async fn representation(state: &AppState, base: String, id: UserId) -> Result<Value, ScimError> {
    let (user, scim, pending) = stored(state, id).await?;
    Ok(resource(&base, &user, scim.as_ref(), pending.as_deref()))
}

pub async fn list(
    state: web::Data<AppState>,
    _idp: IdentityProvider,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    listed(&state, &req, &params).await
}

/// `POST /Users/.search`: the list's parameters in a body.
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
    let filter = params.filter(Resource::User)?;
    let (listed, scim, pending) = state
        .read(move |conn| {
            let listed = repo::list_users(conn, filter.as_ref(), offset, count)?;
            let ids: Vec<UserId> = listed.items.iter().map(|u| u.id).collect();
            let (scim, pending) = service::scim_details(conn, &ids)?;
            Ok((listed, scim, pending))
        })
        .await?;
    let base = base_url(req);
    let resources = listed
        .items
        .iter()
        .map(|u| {
            let id = u.id.to_string();
            let row = scim.iter().find(|r| r.user_id == id);
            let manager = pending.iter().find(|(user, _)| *user == id);
            params.project(resource(&base, u, row, manager.map(|(_, m)| m.as_str())))
        })
        .collect();
    Ok(list_response(listed.total, offset, resources))
}

pub async fn get(
    state: web::Data<AppState>,
    _idp: IdentityProvider,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    let id: UserId = parse_id(&id, "user")?;
    let body = representation(&state, base_url(&req), id).await?;
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
    let user = state
        .write(move |conn| service::create_user(conn, &by, pushed, now))
        .await?;
    state.cache.users_changed();
    let body = representation(&state, base_url(&req), user.id).await?;
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
    let id: UserId = parse_id(&id, "user")?;
    let pushed = pushed(&body)?;
    let now = state.now();
    state
        .write(move |conn| {
            service::replace_user(conn, &by, id, pushed, &IfMatch::Absent, None, now)
        })
        .await?;
    state.cache.users_changed();
    let body = representation(&state, base_url(&req), id).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

pub async fn patch(
    state: web::Data<AppState>,
    IdentityProvider(by): IdentityProvider,
    req: HttpRequest,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id: UserId = parse_id(&id, "user")?;
    let base = base_url(&req);
    // The operations apply to the user's current SCIM document and the result replaces the user,
    // provided it is still the version read (else read again: a concurrent change is not lost).
    let mut attempts = 0;
    loop {
        let (user, scim, pending) = stored(&state, id).await?;
        let mut document = resource(&base, &user, scim.as_ref(), pending.as_deref());
        apply_patch(&mut document, &body, Resource::User)?;
        let pushed = pushed(&document)?;
        let (by, now, version) = (by.clone(), state.now(), user.version);
        let written = state
            .write(move |conn| {
                service::replace_user(
                    conn,
                    &by,
                    id,
                    pushed,
                    &IfMatch::Versions(vec![version]),
                    Some(&scim),
                    now,
                )
            })
            .await;
        attempts += 1;
        match written {
            Err(ApiError::PreconditionFailed(_)) if attempts < 5 => continue,
            other => {
                other?;
                break;
            }
        }
    }
    state.cache.users_changed();
    let body = representation(&state, base_url(&req), id).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

pub async fn delete(
    state: web::Data<AppState>,
    IdentityProvider(by): IdentityProvider,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id: UserId = parse_id(&id, "user")?;
    let now = state.now();
    state
        .write(move |conn| service::delete_user(conn, &by, id, now))
        .await?;
    state.cache.users_changed();
    Ok(HttpResponse::NoContent().finish())
}
