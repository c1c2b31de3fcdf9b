//! Reading and checking an ARAP submission: its shape, its `Idempotency-Key`, and its binding
//! (ARAP's verification: signature, issuer and audience, the denied tuple, the echoed denial,
//! freshness).

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use portcullis_domain::FlowId;
use portcullis_domain::authzen::{self, BindingClaims, Denial, Target};
use portcullis_domain::directory::User;
use portcullis_persistence::repo::users;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ArapError;
use super::decide::Question;
use crate::error::ApiError;
use crate::notify;
use crate::state::AppState;

/// A checked submission, ready for the create path.
pub(super) struct Submission {
    pub(super) claims: BindingClaims,
    pub(super) subject: User,
    pub(super) caller: User,
    pub(super) flow_id: FlowId,
    /// The right asked for, as the binding names it.
    pub(super) target: Target,
    pub(super) reason: String,
    pub(super) requested_until: Option<DateTime<Utc>>,
    pub(super) idempotency: Option<(String, String)>,
    /// The checked `callback`, if asked for.
    pub(super) callback: Option<CallbackAsk>,
}

/// A submission's `callback`: a destination the checks accept, the PEP's `state`, and the events.
pub(super) struct CallbackAsk {
    pub(super) endpoint: reqwest::Url,
    pub(super) state: Option<String>,
    pub(super) events: Option<Vec<String>>,
}

/// The longest `callback.state` kept (it is echoed in every notification).
const MAX_CALLBACK_STATE: usize = 1024;
/// The longest `callback.endpoint` (as the contract's `maxLength` says).
const MAX_CALLBACK_ENDPOINT: usize = 2000;

/// Reads `callback` (ARAP's callback completion) and checks its destination, resolving its host.
async fn callback(
    value: &Value,
    allowed: &crate::config::AllowedHosts,
) -> Result<CallbackAsk, ArapError> {
    if !value.is_object() {
        return Err(ArapError::invalid("callback", "must be an object"));
    }
    let endpoint = optional_text(value, "endpoint", "callback.")?
        .ok_or_else(|| ArapError::invalid("callback.endpoint", "is required (an https URL)"))?;
    if endpoint.chars().count() > MAX_CALLBACK_ENDPOINT {
        return Err(ArapError::invalid(
            "callback.endpoint",
            format!("must be at most {MAX_CALLBACK_ENDPOINT} characters"),
        ));
    }
    let endpoint = reqwest::Url::parse(endpoint)
        .map_err(|_| ArapError::invalid("callback.endpoint", "must be an absolute https URL"))?;
    notify::callbacks::check_destination(&endpoint, allowed)
        .await
        .map_err(|m| ArapError::invalid("callback.endpoint", m))?;
    let state = optional_text(value, "state", "callback.")?.map(str::to_owned);
    if state
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_CALLBACK_STATE)
    {
        return Err(ArapError::invalid(
            "callback.state",
            format!("must be at most {MAX_CALLBACK_STATE} characters"),
        ));
    }
    let events = match value.get("events") {
        None | Some(Value::Null) => None,
        Some(Value::Array(names)) if !names.is_empty() => {
            let mut events = Vec::with_capacity(names.len());
            for (index, name) in names.iter().enumerate() {
                match name.as_str() {
                    Some(name) if notify::callbacks::EVENTS.contains(&name) => {
                        events.push(name.to_owned());
                    }
                    _ => {
                        return Err(ArapError::invalid(
                            &format!("callback.events[{index}]"),
                            format!("must be one of {}", notify::callbacks::EVENTS.join(", ")),
                        ));
                    }
                }
            }
            Some(events)
        }
        Some(_) => {
            return Err(ArapError::invalid(
                "callback.events",
                "must be a non-empty array of event names",
            ));
        }
    };
    Ok(CallbackAsk {
        endpoint,
        state,
        events,
    })
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

pub(super) fn malformed(error: ApiError) -> ArapError {
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
pub(super) async fn check(
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
    let Some(target) = authzen::parse_target(
        question.resource["type"].as_str().unwrap_or_default(),
        question.resource["id"].as_str().unwrap_or_default(),
        question.action["name"].as_str().unwrap_or_default(),
    ) else {
        return Err(ArapError::NotRequestable(
            "only group memberships and device-admin rights can be requested".to_owned(),
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
    // Last: the destination check may resolve a name, and the binding is what is checked first.
    let callback = match body.get("callback") {
        None | Some(Value::Null) => None,
        Some(value) => Some(callback(value, &pdp.callback_allowed_hosts).await?),
    };
    let idempotency = key.map(|k| (k, format!("{:x}", Sha256::digest(canonical(body)))));
    Ok(Submission {
        claims,
        subject,
        caller: caller.clone(),
        flow_id,
        target,
        reason,
        requested_until,
        idempotency,
        callback,
    })
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
}
