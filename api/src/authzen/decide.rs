//! One evaluation: who the subject is, whether they hold the right now (one indexed read for a
//! permit), and for a denial whether it can be requested (then signed binding material) or, on a
//! re-evaluation with `context.approval`, what that approval is worth.

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use portcullis_domain::authzen::{
    self, Approval, BindingClaims, DENIAL_LIFETIME_SECONDS, Target, TaskStatus, bound_subject,
};
use portcullis_domain::directory::{User, UserKind};
use portcullis_persistence::repo::{authzen as repo, users};
use serde_json::{Map, Value, json};

use super::Pdp;
use crate::error::ApiError;
use crate::state::AppState;

/// One evaluation's input, its members checked present and typed.
pub struct Question {
    pub subject: Value,
    pub resource: Value,
    pub action: Value,
    pub context: Option<Value>,
}

/// The strings each member of the 4-tuple needs.
fn required_strings(name: &str) -> &'static [&'static str] {
    match name {
        "action" => &["name"],
        _ => &["type", "id"],
    }
}

/// `subject`, `resource` or `action` as found: an object with its strings, and `properties`, if
/// any, an object (`null` is none).
fn check_member(found: &Value, name: &str, at: &str) -> Result<(), ApiError> {
    if !found.is_object() {
        return Err(ApiError::bad_field(
            &format!("{at}{name}"),
            "is required (an object)",
        ));
    }
    for field in required_strings(name) {
        if !found.get(*field).is_some_and(Value::is_string) {
            return Err(ApiError::bad_field(
                &format!("{at}{name}.{field}"),
                "is required (a string)",
            ));
        }
    }
    if found
        .get("properties")
        .is_some_and(|p| !p.is_object() && !p.is_null())
    {
        return Err(ApiError::bad_field(
            &format!("{at}{name}.properties"),
            "must be an object",
        ));
    }
    Ok(())
}

/// `context`: an object, or absent (`null` is no context: the schema allows it, and PEPs send it).
fn check_context(value: &Value, at: &str) -> Result<Option<Value>, ApiError> {
    let context = value.get("context").filter(|c| !c.is_null()).cloned();
    if context.as_ref().is_some_and(|c| !c.is_object()) {
        return Err(ApiError::bad_field(
            &format!("{at}context"),
            "must be an object",
        ));
    }
    Ok(context)
}

impl Question {
    /// Reads the 4-tuple from `value`; a missing or mistyped member is a 400 naming it (`at` prefixes
    /// the member's path, e.g. `evaluations[2].`).
    pub fn parse(value: &Value, at: &str) -> Result<Self, ApiError> {
        let member = |name: &str| -> Result<Value, ApiError> {
            match value.get(name).filter(|v| !v.is_null()) {
                Some(found) => {
                    check_member(found, name, at)?;
                    Ok(found.clone())
                }
                None => Err(ApiError::bad_field(
                    &format!("{at}{name}"),
                    "is required (an object)",
                )),
            }
        };
        let context = check_context(value, at)?;
        Ok(Self {
            subject: member("subject")?,
            resource: member("resource")?,
            action: member("action")?,
            context,
        })
    }

    /// Checks the members a boxcar gives as defaults, those present: each must be what an
    /// evaluation's own would be, whether or not an evaluation takes it.
    pub fn check_defaults(value: &Value) -> Result<(), ApiError> {
        for name in ["subject", "resource", "action"] {
            if let Some(found) = value.get(name).filter(|v| !v.is_null()) {
                check_member(found, name, "")?;
            }
        }
        check_context(value, "").map(drop)
    }

    fn text<'a>(value: &'a Value, field: &str) -> &'a str {
        value.get(field).and_then(Value::as_str).unwrap_or_default()
    }
}

/// The decision and its context.
pub struct Decision {
    pub decision: bool,
    pub context: Option<Value>,
}

impl Decision {
    fn deny(context: Option<Value>) -> Self {
        Self {
            decision: false,
            context,
        }
    }
}

/// The key a `user` subject is looked up by (its id, email or external id); `None` for another type.
fn subject_key(subject: &Value) -> Option<String> {
    (Question::text(subject, "type") == "user").then(|| Question::text(subject, "id").to_owned())
}

/// The active user `key` names, as the read of an evaluation finds it: from the callers' cache
/// when it holds them (`cached`), else from the database.
fn subject_user(
    conn: &mut portcullis_persistence::DbConnection,
    key: Option<&str>,
    cached: Option<Arc<User>>,
) -> Result<Option<Arc<User>>, ApiError> {
    if cached.is_some() {
        return Ok(cached);
    }
    let Some(key) = key else {
        return Ok(None);
    };
    Ok(users::find_by_subject(conn, key)?
        .filter(|user| user.active)
        .map(Arc::new))
}

/// Integrations (the PEP's service accounts) and admins may ask about anyone; a person only about
/// themselves (anything else is a 403, whether or not the subject exists).
fn may_ask(caller: &User, subject: Option<&User>) -> bool {
    caller.kind == UserKind::Integration
        || caller.acts_as_admin()
        || subject.is_some_and(|s| s.id == caller.id)
}

pub async fn evaluate(
    state: &AppState,
    caller: &User,
    question: Question,
) -> Result<Decision, ApiError> {
    let key = subject_key(&question.subject);
    let generation = state.cache.users_generation();
    let cached = key
        .as_deref()
        .and_then(|key| state.cache.principal(generation, key));
    let was_cached = cached.is_some();
    let target = authzen::parse_target(
        Question::text(&question.resource, "type"),
        Question::text(&question.resource, "id"),
        Question::text(&question.action, "name"),
    );
    let now = state.now();
    let approval_id = question
        .context
        .as_ref()
        .and_then(|c| c.get("approval"))
        .map(|a| {
            a.get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        });
    // One read for everything a decision needs (the subject when the cache misses it, the right,
    // the approval): one hand-off to the blocking pool per evaluation. What it finds is used only
    // once the caller is known to be allowed to ask.
    let lookup = key.clone();
    let (subject, holds, approval) = state
        .read_point(move |conn| {
            let subject = subject_user(conn, lookup.as_deref(), cached)?;
            let (Some(user), Some(target)) = (&subject, target) else {
                return Ok((subject, false, None));
            };
            let holds = match target {
                Target::GroupMember(group) => repo::is_member(conn, user.id, group, now)?,
                Target::DeviceAdmin(device) => repo::in_session(conn, user.id, device, now)?,
            };
            let approval = match approval_id {
                Some(id) => Some(find_approval(conn, &id, now)?.map(|found| (id, found))),
                None => None,
            };
            Ok((subject, holds, approval))
        })
        .await?;
    if let (false, Some(key), Some(user)) = (was_cached, key, &subject) {
        state
            .cache
            .remember_principal(generation, key, Arc::clone(user));
    }
    if !may_ask(caller, subject.as_deref()) {
        return Err(ApiError::Forbidden(
            "a person may only ask about themselves; PEPs use an integration account".to_owned(),
        ));
    }
    let (Some(subject), Some(target)) = (subject, target) else {
        return Ok(Decision::deny(None));
    };
    match approval {
        None if holds => Ok(Decision {
            decision: true,
            context: None,
        }),
        None => denial(state, &subject, target, &question, None, now).await,
        Some(found) => {
            let approval = found.as_ref().map(|(_, a)| a);
            match authzen::reevaluation_denial(approval, subject.id, target, now) {
                Some((reason, next)) => {
                    let mut context = Map::new();
                    context.insert("reason".into(), json!(reason));
                    context.insert("next_action".into(), json!(next));
                    denial(state, &subject, target, &question, Some(context), now).await
                }
                None if holds => {
                    let (id, approval) = found
                        .as_ref()
                        .map(|(id, a)| (id.clone(), a.until))
                        .unwrap_or_default();
                    Ok(Decision {
                        decision: true,
                        context: Some(
                            json!({"approval": {"id": id, "approved_until": approval.map(rfc3339)}}),
                        ),
                    })
                }
                // Approved and current, but the membership is not there (yet): try again soon.
                None => Ok(Decision::deny(Some(json!({
                    "reason": "grant_pending", "next_action": "retry", "retry_after": 30
                })))),
            }
        }
    }
}

/// The approval with this id, as a re-evaluation checks it.
fn find_approval(
    conn: &mut portcullis_persistence::DbConnection,
    approval_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Approval>, ApiError> {
    let Some(task) = repo::task_by_approval(conn, approval_id)? else {
        return Ok(None);
    };
    let (Ok(request), Ok(subject)) = (task.request_id.parse(), task.subject_id.parse()) else {
        return Ok(None);
    };
    let Some(target) = authzen::parse_target(
        &task.resource_type,
        &task.resource_id,
        if task.resource_type == "group" {
            "member"
        } else {
            "admin"
        },
    ) else {
        return Ok(None);
    };
    let Some(progress) = repo::progress(conn, request, now)? else {
        return Ok(None);
    };
    let status = TaskStatus::of(progress.status, progress.access.is_some());
    let (until, access_active) = match progress.access {
        Some((active, end)) => (
            Some(authzen::approved_until(
                end,
                progress.decided_at.unwrap_or_default(),
            )),
            active,
        ),
        None => (None, false),
    };
    Ok(Some(Approval {
        subject,
        target,
        status,
        until,
        access_active,
    }))
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A denial: requestable (with `access_request` and its signed binding) when requests are on, the
/// subject is a person, and an enabled flow that gives the right is visible to them with no request
/// of theirs open through it (for a group, a resource-request flow whose target it is; for a device
/// assigned to them and managed, a device-admin flow); otherwise plain. `extra` is a re-evaluation's `reason` and
/// `next_action` (a `request` one offers a fresh `access_request` when it can).
async fn denial(
    state: &AppState,
    subject: &User,
    target: Target,
    question: &Question,
    extra: Option<Map<String, Value>>,
    now: DateTime<Utc>,
) -> Result<Decision, ApiError> {
    let plain = |extra: Option<Map<String, Value>>| Ok(Decision::deny(extra.map(Value::Object)));
    let wants_request = extra
        .as_ref()
        .is_none_or(|e| e.get("next_action").and_then(Value::as_str) == Some("request"));
    if !wants_request || subject.kind != UserKind::Person {
        return plain(extra);
    }
    if !state.settings().await?.settings.resource_requests_enabled {
        return plain(extra);
    }
    let user = subject.id;
    let flow = state
        .read(move |conn| {
            Ok(match target {
                Target::GroupMember(group) => repo::requestable_flow(conn, user, group, now)?,
                Target::DeviceAdmin(device) => {
                    repo::requestable_device_flow(conn, user, device, now)?
                }
            })
        })
        .await?;
    let Some(flow) = flow else {
        return plain(extra);
    };
    let mut context = extra.unwrap_or_default();
    if flow.open {
        context.entry("reason").or_insert(json!("request_pending"));
        return Ok(Decision::deny(Some(Value::Object(context))));
    }
    let pdp: &Pdp = &state.pdp;
    let evaluation_id = uuid::Uuid::now_v7().to_string();
    // Whole seconds: the PEP echoes the RFC 3339 text, which the claims must equal.
    let expires_at = (now + Duration::seconds(DENIAL_LIFETIME_SECONDS)).trunc_subsecs(0);
    let template = flow.flow.id().to_string();
    let claims = BindingClaims {
        iss: pdp.public_url.clone(),
        aud: pdp.request_endpoint(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: uuid::Uuid::now_v7().to_string(),
        evaluation_id: evaluation_id.clone(),
        denial_expires_at: expires_at,
        subject: bound_subject(&question.subject),
        resource: question.resource.clone(),
        action: question.action.clone(),
        binding_context_members: Vec::new(),
        template: template.clone(),
    };
    let token = pdp.signer.sign(&claims).map_err(ApiError::internal)?;
    let description = match flow.flow.description() {
        "" => flow.flow.name().to_owned(),
        text => format!("{}: {text}", flow.flow.name()),
    };
    context
        .entry("reason")
        .or_insert(json!("approval_required"));
    context.insert("evaluation_id".into(), json!(evaluation_id));
    context.insert("evaluated_at".into(), json!(rfc3339(now)));
    context.insert(
        "access_request".into(),
        json!({
            "endpoint": pdp.request_endpoint(),
            "template": template,
            "expires_at": rfc3339(expires_at),
            "binding_token": token,
            "display": {"title": "Request access", "description": description},
        }),
    );
    Ok(Decision::deny(Some(Value::Object(context))))
}
