//! Acting on what a person did in Slack: who they are in Portcullis, and the decision the request
//! aggregate makes for them, exactly as it does for the API; a refusal is audited.

use actix_web::ResponseError;
use portcullis_domain::directory::User;
use portcullis_domain::events::SLACK_INTERACTION_REFUSED;
use portcullis_domain::request::{AccessRequest, Verdict, Via};
use portcullis_domain::{RequestId, UserId};
use portcullis_persistence::repo::users;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{Done, Failure, Outcome, Worker};
use crate::error::ApiError;
use crate::services::requests::{self as engine, DecisionInput};
use crate::slack::blocks;
use crate::slack::interaction::Interaction;

impl Worker {
    /// The Portcullis user who clicked: among the request's requester and approvers, the one whose
    /// email Slack resolves to the clicking Slack user.
    async fn who_clicked(
        &self,
        token: &str,
        request: &AccessRequest,
        slack_user_id: &str,
    ) -> Result<Option<User>, Failure> {
        let ids = request.people();
        let people = self
            .blocking(move |conn| Ok(users::find_many(conn, &ids)?))
            .await?;
        for person in people.into_iter().filter(|p| p.active) {
            if self.slack_user(token, &person).await?.as_deref() == Some(slack_user_id) {
                return Ok(Some(person));
            }
        }
        Ok(None)
    }

    /// Acts on what a person did in Slack, with exactly the API's rules: the aggregate decides.
    pub(super) async fn interact(&self, interaction: Interaction) -> Outcome {
        let Ok(id) = interaction.request_id().parse::<RequestId>() else {
            self.refuse(
                &interaction,
                None,
                None,
                "the action names no request".into(),
            )
            .await?;
            return Ok(Done::Sent);
        };
        let Some(context) = self.context(id).await? else {
            self.refuse(&interaction, Some(id), None, "no such request".into())
                .await?;
            return Ok(Done::Sent);
        };
        let token = context.connection.bot_token.expose_secret().to_owned();
        let Some(actor) = self
            .who_clicked(&token, &context.request, interaction.slack_user_id())
            .await?
        else {
            let why = "the Slack user is not the requester or an approver of this request".into();
            self.refuse(&interaction, Some(id), None, why).await?;
            return Ok(Done::Sent);
        };
        let now = self.clock.now();
        let input = |verdict, reason: Option<String>, next_steps: Option<String>| DecisionInput {
            verdict,
            comment: None,
            reason,
            next_steps,
            is_override: false,
            internal_note: None,
            duration_seconds: None,
            via: Via::Slack,
        };
        let decided = match &interaction {
            Interaction::OpenDenial { trigger_id, .. } => {
                // The modal opens only for someone the aggregate would let deny (nothing is written);
                // a denial needs a reason, which the modal asks for: the dry run stands one in.
                let placeholder = Some("the reason the modal asks for".to_owned());
                let (user, check) = (actor.clone(), input(Verdict::Deny, placeholder, None));
                let allowed = self
                    .blocking(move |conn| {
                        Ok(engine::prepare_decision(conn, &user, id, &check, now).map(drop))
                    })
                    .await?;
                if let Err(refused) = allowed {
                    return self
                        .refused_or_failed(&interaction, id, actor.id, refused)
                        .await;
                }
                let modal = blocks::denial_modal(&id.to_string(), context.request.flow_name());
                self.client.open_view(&token, trigger_id, &modal).await?;
                return Ok(Done::Sent);
            }
            Interaction::Approve { .. } => input(Verdict::Approve, None, None),
            Interaction::Deny {
                reason, next_steps, ..
            } => input(Verdict::Deny, reason.clone(), next_steps.clone()),
        };
        let user = actor.clone();
        let written = self
            .write(move |conn| {
                crate::services::read_then_write(
                    conn,
                    |conn, _| engine::prepare_decision(conn, &user, id, &decided, now),
                    |conn, plan, _| engine::commit_decision(conn, plan, now),
                )
            })
            .await;
        match written {
            Ok(_) => Ok(Done::Sent),
            Err(refused) => {
                self.refused_or_failed(&interaction, id, actor.id, refused)
                    .await
            }
        }
    }

    /// A refusal (the caller's fault, as the API would answer 4xx) is audited and ends the entry;
    /// anything else is tried again.
    async fn refused_or_failed(
        &self,
        interaction: &Interaction,
        id: RequestId,
        actor: UserId,
        error: ApiError,
    ) -> Outcome {
        if !error.status_code().is_client_error() {
            return Err(Failure::Internal(error.to_string()));
        }
        self.refuse(interaction, Some(id), Some(actor), refusal_text(&error))
            .await?;
        Ok(Done::Sent)
    }

    /// Records a refused interaction in the audit log.
    async fn refuse(
        &self,
        interaction: &Interaction,
        request: Option<RequestId>,
        actor: Option<UserId>,
        why: String,
    ) -> Result<(), Failure> {
        tracing::info!(action = interaction.name(), slack_user_id = interaction.slack_user_id(), reason = %why, "refused a Slack interaction");
        let now = self.clock.now();
        let data = json!({
            "action": interaction.name(),
            "slack_user_id": interaction.slack_user_id(),
            "request_id": interaction.request_id(),
            "reason": why,
            "via": "slack",
        });
        let subject =
            request.map_or_else(|| interaction.request_id().to_owned(), |r| r.to_string());
        self.write(move |conn| {
            crate::services::audit(
                conn,
                SLACK_INTERACTION_REFUSED,
                actor,
                ("access_request", subject),
                data,
                now,
            )
        })
        .await?;
        Ok(())
    }
}

fn refusal_text(error: &ApiError) -> String {
    match error {
        ApiError::Forbidden(m) | ApiError::NotFound(m) => m.clone(),
        ApiError::Conflict { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}
