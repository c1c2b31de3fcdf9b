//! ARAP's submission: a requestable denial, bound by its signed token, becomes a Portcullis request
//! through the request aggregate's create path (the same rules as `POST /v1/access-requests`), and
//! a task the PEP polls.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::authzen::{self, Target};
use portcullis_domain::flow::FormAnswers;
use portcullis_persistence::repo::authzen::{self as repo, TaskRow};
use portcullis_persistence::repo::flows;
use portcullis_persistence::{DbConnection, is_unique_violation};
use rand::RngCore;

use super::body::read_object;
use super::dto::{AccessRequestSubmission, AuthzenTaskResponse};
use super::submission::{Submission, check, malformed};
use super::{ArapError, tasks};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::notify::callbacks::Callback;
use crate::openapi::*;
use crate::services::requests::{self, NewRequest};
use crate::services::{Prepared, Recheck, Written};
use crate::state::AppState;

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
/// behalf when the caller is an integration or an admin), for the device when it is admin rights,
/// with the flow's duration (or session length) that covers `requested_until`.
fn new_request(
    conn: &mut DbConnection,
    ask: &Submission,
    now: DateTime<Utc>,
) -> Result<NewRequest, ApiError> {
    let choices = flows::find(conn, ask.flow_id)?
        .map(|flow| flow.duration_choices().to_vec())
        .unwrap_or_default();
    let span = ask
        .requested_until
        .map(|until| (until - now).num_seconds().max(1));
    Ok(NewRequest {
        flow_id: ask.flow_id,
        reason: ask.reason.clone(),
        duration_seconds: authzen::choose_duration(&choices, span),
        device_id: match ask.target {
            Target::DeviceAdmin(device) => Some(device),
            Target::GroupMember(_) => None,
        },
        requester_id: (ask.subject.id != ask.caller.id).then_some(ask.subject.id),
        resubmitted_from: None,
        form: FormAnswers::default(),
        extends_grant: None,
        // ARAP's `requested_access` asks for a span from now, never a later start.
        starts_at: None,
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
/// 409 (`duplicate_request`). `callback` asks to be told when the task completes (a signed POST to
/// an https endpoint; internal destinations only when allow-listed); `items` is refused (400).
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
    let callback = match &ask.callback {
        Some(asked) => Some(
            serde_json::to_string(&Callback {
                endpoint: asked.endpoint.to_string(),
                state: asked.state.clone(),
                events: asked.events.clone(),
                status_endpoint: state.pdp.task_endpoint(&ids.0),
            })
            .map_err(ApiError::internal)?,
        ),
        None => None,
    };
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
                    resource_type: ask.target.resource().0.to_owned(),
                    resource_id: ask.target.resource().1,
                    approval_id: ids.1.clone(),
                    evaluation_id: ask.claims.evaluation_id.clone(),
                    binding_jti: ask.claims.jti.clone(),
                    idempotency_key: ask.idempotency.as_ref().map(|(k, _)| k.clone()),
                    body_hash: ask.idempotency.as_ref().map(|(_, h)| h.clone()),
                    created_at: portcullis_persistence::time::to_db(now),
                    callback: callback.clone(),
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
        .read(move |conn| Ok(repo::progress(conn, request, now)?))
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
    use super::*;

    #[test]
    fn opaque_ids_are_long_and_different() {
        let (a, b) = (opaque("arq_"), opaque("arq_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
    }
}
