//! Denial binding (ARAP §"Denial Binding Claims"): the claims of the signed `binding_token` a
//! requestable denial carries, and the checks a submission passes against them. Signing and
//! verifying the signature happen in the API; what the claims must match is decided here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The payload of a `binding_token`: the denied evaluation, inline (ARAP's recommended form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindingClaims {
    /// The PDP: Portcullis's public URL.
    pub iss: String,
    /// The Access Request Service: Portcullis's `access_request_endpoint`.
    pub aud: String,
    pub iat: i64,
    /// No later than `denial_expires_at`.
    pub exp: i64,
    /// Unique per denial: a submission spends it (replay of another submission is refused).
    pub jti: String,
    /// The `context.evaluation_id` the denial gave (correlation and audit).
    pub evaluation_id: String,
    /// The `context.access_request.expires_at` the denial gave.
    pub denial_expires_at: DateTime<Utc>,
    /// The denied subject, without `properties.act` (a PEP may move the actor to `client.actor`).
    pub subject: Value,
    pub resource: Value,
    pub action: Value,
    /// No context member is authorization-relevant in Portcullis: only the subject, resource and
    /// action bind.
    pub binding_context_members: Vec<String>,
    /// The flow the denial offered (`context.access_request.template`).
    pub template: String,
}

/// What a submission echoes of the denial (`denial`).
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub expires_at: DateTime<Utc>,
    pub evaluation_id: Option<String>,
    pub template: Option<String>,
}

/// Why a submission's binding is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// `urn:openid:authzen:access-request:error:invalid_denial_binding`.
    #[error("{0}")]
    Invalid(&'static str),
    /// `urn:openid:authzen:access-request:error:expired_denial`.
    #[error("the requestable denial has expired; evaluate again for a fresh one")]
    Expired,
}

/// A subject as it binds: `properties.act` (the actor) is left out, and `properties` with it when
/// nothing else is in it.
pub fn bound_subject(subject: &Value) -> Value {
    let mut subject = subject.clone();
    let emptied = match subject.get_mut("properties").and_then(Value::as_object_mut) {
        Some(properties) => {
            properties.remove("act");
            properties.is_empty()
        }
        None => false,
    };
    if let (true, Some(subject)) = (emptied, subject.as_object_mut()) {
        subject.remove("properties");
    }
    subject
}

impl BindingClaims {
    /// Checks a verified token's claims against the submission (ARAP's verification steps 4 and 5):
    /// the subject, resource and action are structurally those of the denial, the echoed
    /// `denial` agrees with what the token protects, and the earlier of the token's expiry and the
    /// denial's has not passed.
    pub fn check(
        &self,
        subject: &Value,
        resource: &Value,
        action: &Value,
        denial: &Denial,
        now: DateTime<Utc>,
    ) -> Result<(), BindingError> {
        if denial
            .evaluation_id
            .as_ref()
            .is_some_and(|id| *id != self.evaluation_id)
        {
            return Err(BindingError::Invalid(
                "denial.evaluation_id is not the evaluation the binding_token was issued for",
            ));
        }
        if denial
            .template
            .as_ref()
            .is_some_and(|template| *template != self.template)
        {
            return Err(BindingError::Invalid(
                "denial.template is not the one the denial offered",
            ));
        }
        if bound_subject(subject) != self.subject
            || *resource != self.resource
            || *action != self.action
        {
            return Err(BindingError::Invalid(
                "the binding_token was issued for another subject, resource or action",
            ));
        }
        if denial.expires_at != self.denial_expires_at {
            return Err(BindingError::Invalid(
                "denial.expires_at is not the one the denial gave",
            ));
        }
        let deadline = self.denial_expires_at.timestamp().min(self.exp);
        if now.timestamp() > deadline {
            return Err(BindingError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
    }

    fn claims() -> BindingClaims {
        BindingClaims {
            iss: "https://pdp.example.com".into(),
            aud: "https://pdp.example.com/access/v1/requests".into(),
            iat: at(0).timestamp(),
            exp: at(600).timestamp(),
            jti: "j1".into(),
            evaluation_id: "e1".into(),
            denial_expires_at: at(600),
            subject: json!({"type": "user", "id": "ada@example.com"}),
            resource: json!({"type": "group", "id": "g1"}),
            action: json!({"name": "member"}),
            binding_context_members: Vec::new(),
            template: "f1".into(),
        }
    }

    fn denial() -> Denial {
        Denial {
            expires_at: at(600),
            evaluation_id: Some("e1".into()),
            template: Some("f1".into()),
        }
    }

    fn check(
        subject: Value,
        resource: Value,
        denial: &Denial,
        now: i64,
    ) -> Result<(), BindingError> {
        claims().check(
            &subject,
            &resource,
            &json!({"name": "member"}),
            denial,
            at(now),
        )
    }

    #[test]
    fn the_denied_tuple_binds_until_the_denial_expires() {
        let ada = json!({"type": "user", "id": "ada@example.com"});
        let group = json!({"type": "group", "id": "g1"});
        assert_eq!(check(ada.clone(), group.clone(), &denial(), 600), Ok(()));
        assert_eq!(
            check(ada, group, &denial(), 601),
            Err(BindingError::Expired)
        );
    }

    #[test]
    fn another_subject_or_resource_is_refused() {
        let ada = json!({"type": "user", "id": "ada@example.com"});
        let bob = json!({"type": "user", "id": "bob@example.com"});
        let group = json!({"type": "group", "id": "g1"});
        let other = json!({"type": "group", "id": "g2"});
        assert!(matches!(
            check(bob, group, &denial(), 1),
            Err(BindingError::Invalid(_))
        ));
        assert!(matches!(
            check(ada, other, &denial(), 1),
            Err(BindingError::Invalid(_))
        ));
    }

    #[test]
    fn the_actor_does_not_bind() {
        let with_actor = json!({"type": "user", "id": "ada@example.com",
            "properties": {"act": {"sub": "agent", "iss": "https://agents.example.com"}}});
        let group = json!({"type": "group", "id": "g1"});
        assert_eq!(check(with_actor, group, &denial(), 1), Ok(()));
    }

    #[test]
    fn a_forged_echo_is_refused() {
        let ada = json!({"type": "user", "id": "ada@example.com"});
        let group = json!({"type": "group", "id": "g1"});
        let forged_id = Denial {
            evaluation_id: Some("e2".into()),
            ..denial()
        };
        let later = Denial {
            expires_at: at(600) + Duration::hours(1),
            ..denial()
        };
        let other_flow = Denial {
            template: Some("f2".into()),
            ..denial()
        };
        for echo in [forged_id, later, other_flow] {
            assert!(matches!(
                check(ada.clone(), group.clone(), &echo, 1),
                Err(BindingError::Invalid(_))
            ));
        }
    }
}
