//! ARAP's submission: a requestable denial, bound by its signed token, becomes a Portcullis request
//! through the request aggregate's create path (the same rules as `POST /v1/access-requests`), and
//! a task the PEP polls.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::FlowId;
use portcullis_domain::authzen::{self, BindingClaims, Denial, Target};
use portcullis_domain::directory::User;
use portcullis_domain::flow::FormAnswers;
use portcullis_persistence::repo::authzen::{self as repo, TaskRow};
use portcullis_persistence::repo::{flows, users};
use portcullis_persistence::{DbConnection, is_unique_violation};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::body::read_object;
use super::decide::Question;
use super::dto::{AccessRequestSubmission, AuthzenTaskResponse};
use super::{ArapError, tasks};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::openapi::*;
use crate::services::requests::{self, NewRequest};
use crate::services::{Prepared, Recheck, Written};
use crate::state::AppState;

/// A checked submission, ready for the create path.
struct Submission {
    claims: BindingClaims,
    subject: User,
    caller: User,
    flow_id: FlowId,
    group: String,
    reason: String,
    requested_until: Option<DateTime<Utc>>,
    idempotency: Option<(String, String)>,
}

/// What the write found or made.
enum Outcome {
    Created(TaskRow),
    /// The same `Idempotency-Key` and body: the first task.
    Replayed(TaskRow),
    KeyReused,
    DenialSpent,
}

/// An opaque, unguessable identifier: `prefix` and 256 random bits, base64url.
fn opaque(prefix: &str) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// JSON text with every object's members sorted: equal for bodies that differ only in member order
/// or whitespace (the `Idempotency-Key` comparison).
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(members) => {
            let mut sorted: Vec<_> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn malformed(error: ApiError) -> ArapError {
    match error {
        ApiError::BadRequest { detail, errors } => ArapError::InvalidRequest { detail, errors },
        other => ArapError::Api(other),
    }
}

fn optional_text<'a>(
    value: &'a Value,
    field: &str,
    at: &str,
) -> Result<Option<&'a str>, ArapError> {
    match value.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ArapError::invalid(
            &format!("{at}{field}"),
            "must be a string",
        )),
    }
}

fn timestamp(text: &str, field: &str) -> Result<DateTime<Utc>, ArapError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ArapError::invalid(field, "must be an RFC 3339 timestamp"))
}

/// Reads and checks the submission: its shape, then its binding (ARAP's verification: signature,
/// issuer and audience; the denied tuple; the echoed denial; freshness).
async fn check(
    state: &AppState,
    caller: &User,
    http: &HttpRequest,
    body: &Value,
) -> Result<Submission, ArapError> {
    let key = crate::text::header(http, "Idempotency-Key")?.map(|k| k.trim().to_owned());
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(ArapError::invalid(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }
    let question = Question::parse(body, "").map_err(malformed)?;
    if body.get("items").is_some() {
        return Err(ArapError::invalid(
            "items",
            "bulk submissions are not supported: submit each denial",
        ));
    }
    if body.get("callback").is_some() {
        return Err(ArapError::invalid(
            "callback",
            "callbacks are not supported: poll task.status_endpoint (or subscribe a webhook channel to request events)",
        ));
    }
    let denial = body
        .get("denial")
        .filter(|d| d.is_object())
        .ok_or_else(|| ArapError::invalid("denial", "is required (an object)"))?;
    let expires_at = optional_text(denial, "expires_at", "denial.")?.ok_or_else(|| {
        ArapError::invalid("denial.expires_at", "is required (an RFC 3339 timestamp)")
    })?;
    let expires_at = timestamp(expires_at, "denial.expires_at")?;
    let evaluation_id = optional_text(denial, "evaluation_id", "denial.")?.map(str::to_owned);
    let template = optional_text(denial, "template", "denial.")?.map(str::to_owned);
    let token = optional_text(denial, "binding_token", "denial.")?;
    let requested_until = match body.get("requested_access") {
        None | Some(Value::Null) => None,
        Some(access) if access.is_object() => {
            optional_text(access, "requested_until", "requested_access.")?
                .map(|t| timestamp(t, "requested_access.requested_until"))
                .transpose()?
        }
        Some(_) => return Err(ArapError::invalid("requested_access", "must be an object")),
    };
    let reason = authzen::justification(question.context.as_ref())
        .ok_or_else(|| {
            ArapError::invalid(
                "context.business_justification",
                "is required: why the access is needed (10 to 2000 characters)",
            )
        })?
        .to_owned();
    let Some(token) = token else {
        return Err(ArapError::InvalidDenialBinding(
            "denial.binding_token is required: Portcullis binds a denial by its signed token, and records no evaluation_id to resolve"
                .to_owned(),
        ));
    };
    let pdp = &state.pdp;
    let claims = pdp
        .signer
        .verify(token, &pdp.public_url, &pdp.request_endpoint())
        .ok_or_else(|| {
            ArapError::InvalidDenialBinding(
                "the binding_token is not one this PDP issued".to_owned(),
            )
        })?;
    let echo = Denial {
        expires_at,
        evaluation_id,
        template,
    };
    claims.check(
        &question.subject,
        &question.resource,
        &question.action,
        &echo,
        state.now(),
    )?;
    let Some(Target::GroupMember(group)) = authzen::parse_target(
        question.resource["type"].as_str().unwrap_or_default(),
        question.resource["id"].as_str().unwrap_or_default(),
        question.action["name"].as_str().unwrap_or_default(),
    ) else {
        return Err(ArapError::NotRequestable(
            "only group memberships can be requested".to_owned(),
        ));
    };
    let subject_id = question.subject["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let subject = state
        .read(move |conn| Ok(users::find_by_subject(conn, &subject_id)?))
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| {
            ArapError::NotRequestable("the subject is not an active person".to_owned())
        })?;
    let flow_id: FlowId = claims.template.parse().map_err(|_| {
        ArapError::InvalidDenialBinding("the binding_token names no flow".to_owned())
    })?;
    let idempotency = key.map(|k| (k, format!("{:x}", Sha256::digest(canonical(body)))));
    Ok(Submission {
        claims,
        subject,
        caller: caller.clone(),
        flow_id,
        group: group.to_string(),
        reason,
        requested_until,
        idempotency,
    })
}

/// What a submission already written answers, if anything: its task (same key and body), or a
/// refusal (same key, another body; a denial already spent).
fn earlier(conn: &mut DbConnection, ask: &Submission) -> Result<Option<Outcome>, ApiError> {
    if let Some((key, hash)) = &ask.idempotency
        && let Some(task) = repo::task_by_idempotency_key(conn, ask.caller.id, key)?
    {
        return Ok(Some(if task.body_hash.as_deref() == Some(hash.as_str()) {
            Outcome::Replayed(task)
        } else {
            Outcome::KeyReused
        }));
    }
    if repo::jti_spent(conn, &ask.claims.jti)? {
        return Ok(Some(Outcome::DenialSpent));
    }
    Ok(None)
}

/// The request a submission makes: through the flow the denial offered, for the subject (on their
/// behalf when the caller is an integration or an admin), with the flow's duration that covers
/// `requested_until`.
fn new_request(
    conn: &mut DbConnection,
    ask: &Submission,
    now: DateTime<Utc>,
) -> Result<NewRequest, ApiError> {
    let choices = flows::find(conn, ask.flow_id)?
        .and_then(|flow| flow.timed_access().map(|t| t.durations_seconds.clone()))
        .unwrap_or_default();
    let span = ask
        .requested_until
        .map(|until| (until - now).num_seconds().max(1));
    Ok(NewRequest {
        flow_id: ask.flow_id,
        reason: ask.reason.clone(),
        duration_seconds: authzen::choose_duration(&choices, span),
        device_id: None,
        requester_id: (ask.subject.id != ask.caller.id).then_some(ask.subject.id),
        resubmitted_from: None,
        form: FormAnswers::default(),
        extends_grant: None,
    })
}

/// How the create path's refusals read on ARAP's surface.
fn refused(error: ApiError) -> ArapError {
    match error {
        ApiError::NotFound(detail) => ArapError::NotRequestable(detail),
        ApiError::Conflict { detail, .. } => ArapError::DuplicateRequest(detail),
        ApiError::Validation(errors) => {
            let errors: Vec<_> = errors
                .errors()
                .iter()
                .map(|e| {
                    let field = match e.field.as_str() {
                        "reason" => "context.business_justification",
                        "duration_seconds" => "requested_access.requested_until",
                        other => other,
                    };
                    portcullis_domain::FieldError::new(field, e.message.clone())
                })
                .collect();
            ArapError::InvalidRequest {
                detail: errors
                    .first()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .unwrap_or_default(),
                errors,
            }
        }
        other => ArapError::Api(other),
    }
}

/// Submit an access request (AuthZEN)
///
/// ARAP's submission of a requestable denial: `subject`, `resource` and `action` as evaluated,
/// `denial` as the denial gave it (`binding_token` and `expires_at`, unchanged),
/// `context.business_justification` (the request's reason) and optionally
/// `requested_access.requested_until`. By the subject, or for them by an integration account or an
/// admin. `202` with a pending task; `201` with the result at once when the flow approves
/// automatically. `Idempotency-Key`: the same key and body return the same task; another body is a
/// 409 (`duplicate_request`). `callback` and `items` are refused (400).
#[utoipa::path(
    tag = "authzen",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the submission safe to retry (at most 200 characters)")),
    request_body = AccessRequestSubmission,
    responses(
        (status = 201, description = "Completed at once (automatic flow)", body = AuthzenTaskResponse, headers(("Location" = String))),
        (status = 202, description = "The pending task", body = AuthzenTaskResponse, headers(("Location" = String))),
        (status = 400, description = "`urn:openid:authzen:access-request:error:invalid_request` (malformed), `invalid_denial_binding` or `not_requestable`", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`urn:openid:authzen:access-request:error:duplicate_request`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`urn:openid:authzen:access-request:error:expired_denial`", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
    )
)]
#[post("/requests")]
pub async fn submit_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    http: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ArapError> {
    let body = read_object(&http, payload).await.map_err(malformed)?;
    let ask = Arc::new(check(&state, principal.user(), &http, &body).await?);
    let (now, settings) = (state.now(), state.settings().await?.settings);
    let ids = Arc::new((opaque("arq_"), opaque("apr_")));
    let outcome = state
        .read_then_write(
            {
                let (ask, settings) = (ask.clone(), settings.clone());
                move |conn, recheck| {
                    if let Some(answer) = earlier(conn, &ask)? {
                        return Ok(Prepared::Answer(answer));
                    }
                    let input = new_request(conn, &ask, now)?;
                    match requests::prepare_create(
                        conn,
                        &ask.caller,
                        &input,
                        &None,
                        &settings,
                        recheck,
                        now,
                    )? {
                        Prepared::Write(plan) => Ok(Prepared::Write(plan)),
                        Prepared::Answer(_) => Err(ApiError::internal("a replay without a key")),
                    }
                }
            },
            move |tx, plan, recheck| {
                if recheck == Recheck::Yes
                    && let Some(answer) = earlier(tx, &ask)?
                {
                    return Ok(Written::Done(answer));
                }
                let Written::Done((request, _)) = requests::commit_create(tx, plan, recheck, now)?
                else {
                    return Ok(Written::Stale);
                };
                let task = TaskRow {
                    id: ids.0.clone(),
                    request_id: request.id().to_string(),
                    submitter_id: ask.caller.id.to_string(),
                    subject_id: ask.subject.id.to_string(),
                    resource_type: "group".to_owned(),
                    resource_id: ask.group.clone(),
                    approval_id: ids.1.clone(),
                    evaluation_id: ask.claims.evaluation_id.clone(),
                    binding_jti: ask.claims.jti.clone(),
                    idempotency_key: ask.idempotency.as_ref().map(|(k, _)| k.clone()),
                    body_hash: ask.idempotency.as_ref().map(|(_, h)| h.clone()),
                    created_at: portcullis_persistence::time::to_db(now),
                };
                match repo::insert_task(tx, &task) {
                    Ok(()) => Ok(Written::Done(Outcome::Created(task))),
                    // A concurrent submission spent the denial or the key first: nothing is kept.
                    Err(e)
                        if is_unique_violation(&e, "binding_jti")
                            || is_unique_violation(&e, "idempotency") =>
                    {
                        Err(ApiError::conflict(
                            "the same denial or key was submitted at the same time; retry",
                        ))
                    }
                    Err(e) => Err(e.into()),
                }
            },
        )
        .await
        .map_err(refused)?;
    let task = match outcome {
        Outcome::Created(task) | Outcome::Replayed(task) => task,
        Outcome::KeyReused => {
            return Err(ArapError::DuplicateRequest(
                "this Idempotency-Key was already used with a different body; use a new key for a new request".to_owned(),
            ));
        }
        Outcome::DenialSpent => {
            return Err(ArapError::InvalidDenialBinding(
                "this denial was already submitted; evaluate again for a fresh one".to_owned(),
            ));
        }
    };
    let request = task.request_id.parse().map_err(ApiError::internal)?;
    let progress = state
        .read(move |conn| Ok(repo::progress(conn, request)?))
        .await?
        .ok_or_else(|| ApiError::internal("the request is gone"))?;
    let response = tasks::view(&state.pdp, &task, &progress);
    let location = response.task.status_endpoint.clone();
    let mut reply = if response.result.is_some() {
        HttpResponse::Created()
    } else {
        HttpResponse::Accepted()
    };
    Ok(reply.insert_header(("Location", location)).json(response))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn member_order_and_whitespace_do_not_change_a_body() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 1}], "x": "s"}});
        let b: Value =
            serde_json::from_str(r#"{ "a": {"x": "s", "y": [1, {"p": 1, "q": 2}]}, "b": 1 }"#)
                .unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(canonical(&a), canonical(&json!({"b": 2})));
    }

    #[test]
    fn opaque_ids_are_long_and_different() {
        let (a, b) = (opaque("arq_"), opaque("arq_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
    }
}
