//! `/scim/v2/Users`: people as SCIM Users (core schema and the enterprise extension's manager).
//!
//! Mapping: `userName` and the primary email are the user's email (one value: when both are sent
//! the primary email wins); `displayName`, else `name.formatted`, else given and family names, is the
//! display name; `externalId`, `active`, and the enterprise extension's `manager.value` (a SCIM id or
//! an externalId, possibly of someone pushed later) map to the same fields.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_domain::UserId;
use portcullis_domain::directory::{DisplayName, Email, ExternalId, User};
use portcullis_persistence::repo::scim as repo;
use serde_json::{Value, json};

use super::filter::Resource;
use super::patch::apply_patch;
use super::{
    ENTERPRISE_SCHEMA, IdentityProvider, ListParams, ScimBody, ScimError, USER_SCHEMA, base_url,
    boolean, list_response, meta, parse_id, scim_json,
};
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::services::scim::{self as service, PushedUser};
use crate::state::AppState;

/// The SCIM representation of a user. `pending_manager`: a manager reference not resolved yet.
pub fn resource(base: &str, user: &User, pending_manager: Option<&str>) -> Value {
    let location = format!("{base}/Users/{}", user.id);
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": user.id.to_string(),
        "userName": user.email.as_str(),
        "name": { "formatted": user.display_name.as_str() },
        "displayName": user.display_name.as_str(),
        "emails": [{ "value": user.email.as_str(), "type": "work", "primary": true }],
        "active": user.active,
        "meta": meta("User", location, user.created_at, user.updated_at, user.version),
    });
    if let Some(external_id) = &user.external_id {
        body["externalId"] = json!(external_id.as_str());
    }
    let manager = user
        .manager_id
        .map(|m| m.to_string())
        .or(pending_manager.map(str::to_owned));
    body[ENTERPRISE_SCHEMA] = match manager {
        Some(manager) => json!({ "manager": { "value": manager } }),
        None => json!({}),
    };
    body
}

/// Reads a SCIM User document into what Portcullis keeps of it.
pub fn pushed(body: &Value) -> Result<PushedUser, ScimError> {
    let text = |value: &Value| {
        value
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let user_name = body.get("userName").and_then(text);
    let emails = body.get("emails").and_then(Value::as_array);
    let primary_email = emails.and_then(|emails| {
        emails
            .iter()
            .find(|e| e.get("primary").and_then(boolean) == Some(true))
            .or_else(|| emails.first())
            .and_then(|e| e.get("value"))
            .and_then(text)
    });
    let email = primary_email
        .or(user_name.clone())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    if user_name.is_none() {
        return Err(ScimError::invalid_value("userName is required"));
    }
    let email =
        Email::parse(&email).map_err(|e| ScimError::invalid_value(format!("emails: {e}")))?;
    let name = body.get("name");
    let given_family = name.map(|n| {
        [n.get("givenName"), n.get("familyName")]
            .into_iter()
            .flatten()
            .filter_map(text)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let display_name = body
        .get("displayName")
        .and_then(text)
        .or_else(|| name.and_then(|n| n.get("formatted")).and_then(text))
        .or(given_family.filter(|n| !n.is_empty()))
        .or(user_name)
        .unwrap_or_default();
    let display_name = DisplayName::parse(&display_name)
        .map_err(|e| ScimError::invalid_value(format!("displayName: {e}")))?;
    let external_id = match body.get("externalId") {
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
    let active = match body.get("active") {
        None | Some(Value::Null) => true,
        Some(value) => {
            boolean(value).ok_or_else(|| ScimError::invalid_value("active must be a boolean"))?
        }
    };
    let manager = match body.get(ENTERPRISE_SCHEMA).and_then(|e| e.get("manager")) {
        None | Some(Value::Null) => None,
        // Entra ID sends the manager's id as the value itself; the RFC, an object with `value`.
        Some(Value::String(id)) => Some(id.clone()),
        Some(object) => object.get("value").and_then(text),
    };
    Ok(PushedUser {
        email,
        display_name,
        external_id,
        active,
        manager,
    })
}

async fn representation(state: &AppState, base: String, id: UserId) -> Result<Value, ScimError> {
    let (user, pending) = state
        .read(move |conn| {
            let user = service::visible_user(conn, id)?;
            let pending = service::pending_manager(conn, id)?;
            Ok((user, pending))
        })
        .await?;
    Ok(resource(&base, &user, pending.as_deref()))
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
    let listed = state
        .read(move |conn| Ok(repo::list_users(conn, filter.as_ref(), offset, count)?))
        .await?;
    let base = base_url(req);
    let resources = listed
        .items
        .iter()
        .map(|u| resource(&base, u, None))
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
        .write(move |conn| service::replace_user(conn, &by, id, pushed, &IfMatch::Absent, now))
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
        let (user, pending) = state
            .read(move |conn| {
                Ok((
                    service::visible_user(conn, id)?,
                    service::pending_manager(conn, id)?,
                ))
            })
            .await?;
        let mut document = resource(&base, &user, pending.as_deref());
        let (user_name, emails) = (document["userName"].clone(), document["emails"].clone());
        apply_patch(&mut document, &body, Resource::User)?;
        // `userName` is the email too: a new one alone changes the email.
        if document["userName"] != user_name && document["emails"] == emails {
            document["emails"] =
                json!([{ "value": document["userName"], "type": "work", "primary": true }]);
        }
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
