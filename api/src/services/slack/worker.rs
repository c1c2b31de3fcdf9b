//! The work behind each Slack outbox entry, run by the dispatcher: reads what the entry needs,
//! calls Slack's Web API, and writes what it learnt (the posted message, who Slack knows, a
//! decision an interaction asked for) in transactions of its own.

use std::sync::Arc;

use diesel::Connection;
use portcullis_domain::directory::User;
use portcullis_domain::request::{AccessRequest, RequestStatus};
use portcullis_domain::{Clock, RequestId, UserId};
use portcullis_persistence::repo::outbox::Entry;
use portcullis_persistence::repo::slack::{self as repo, SlackConnection};
use portcullis_persistence::repo::{requests, settings, users};
use portcullis_persistence::{Database, DbConnection};
use secrecy::ExposeSecret;
use tokio::sync::Notify;

mod interact;

use super::queue::channel_post_open;
use super::summary::{outcome, own_decision, progress};
use super::{Job, enqueue};
use crate::error::ApiError;
use crate::notify::email::human_duration;
use crate::slack::blocks::{self, OutcomeSummary, RequestSummary};
use crate::slack::{SlackClient, SlackError};
use crate::tx::Tx;

/// How an entry's work ended.
#[derive(Debug)]
pub enum Done {
    /// Slack was called as asked (or an interaction was acted on).
    Sent,
    /// Nothing to send, on purpose: why.
    Skipped(String),
}

/// Why an entry's work did not end.
#[derive(Debug)]
pub enum Failure {
    Slack(SlackError),
    /// A database or server error: worth another attempt.
    Internal(String),
}

impl From<SlackError> for Failure {
    fn from(error: SlackError) -> Self {
        Self::Slack(error)
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self::Internal(error.to_string())
    }
}

type Outcome = Result<Done, Failure>;

fn skip(why: impl Into<String>) -> Outcome {
    Ok(Done::Skipped(why.into()))
}

/// Does the work of Slack outbox entries.
pub struct Worker {
    db: Database,
    clock: Arc<dyn Clock>,
    client: SlackClient,
    portal_url: String,
    email: bool,
    wakeup: Arc<Notify>,
}

/// Everything a message about a request says, read at once.
struct Context {
    connection: SlackConnection,
    request: AccessRequest,
    summary: RequestSummary,
    outcome: OutcomeSummary,
}

impl Worker {
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        client: SlackClient,
        portal_url: String,
        email: bool,
        wakeup: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            clock,
            client,
            portal_url,
            email,
            wakeup,
        }
    }

    pub fn client(&self) -> &SlackClient {
        &self.client
    }

    /// Does what `entry` asks.
    pub async fn run(&self, entry: &Entry) -> Outcome {
        let job: Job = match serde_json::from_str(&entry.payload) {
            Ok(job) => job,
            Err(e) => return Err(Failure::Internal(format!("unreadable Slack entry: {e}"))),
        };
        match job {
            Job::AskApprover {
                request_id,
                approver_id,
            } => {
                let approver: UserId = parse_id(&approver_id)?;
                self.post(&request_id, Some(approver), None).await
            }
            Job::PostToChannel {
                request_id,
                channel,
            } => self.post(&request_id, None, Some(channel)).await,
            Job::CloseMessages { request_id } => self.close_messages(&request_id).await,
            Job::TellRequester { request_id } => self.tell_requester(&request_id).await,
            Job::AlertAdmin {
                request_id,
                admin_id,
            } => {
                let admin: UserId = parse_id(&admin_id)?;
                self.alert_admin(&request_id, admin).await
            }
            Job::Interaction(interaction) => self.interact(interaction).await,
        }
    }

    /// Runs database work on the blocking pool.
    async fn blocking<T, F>(&self, work: F) -> Result<T, Failure>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = db.writer().map_err(ApiError::from)?;
            work(&mut pooled)
        })
        .await
        .map_err(|e| Failure::Internal(format!("Slack task failed: {e}")))?
        .map_err(Failure::from)
    }

    /// Runs a write in one transaction, waking the dispatcher when it queued something.
    async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Tx) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (db, email) = (self.db.clone(), self.email);
        let (value, queued) = tokio::task::spawn_blocking(move || {
            let mut pooled = db.writer()?;
            let conn: &mut DbConnection = &mut pooled;
            conn.transaction(|conn| {
                let mut tx = Tx::new(conn, email);
                work(&mut tx).map(|value| (value, tx.has_queued()))
            })
        })
        .await
        .map_err(|e| ApiError::Internal(format!("Slack task failed: {e}")))??;
        if queued {
            self.wakeup.notify_one();
        }
        Ok(value)
    }

    /// Reads the connection, the request and what messages about it say.
    async fn context(&self, request_id: RequestId) -> Result<Option<Context>, Failure> {
        let portal = self.portal_url.clone();
        self.blocking(move |conn| {
            let Some(connection) = repo::connection(conn)? else {
                return Ok(None);
            };
            let Some(request) = requests::find(conn, request_id)? else {
                return Ok(None);
            };
            let show_progress = settings::get(conn)?.settings.show_approval_progress;
            let mut ids = request.people();
            ids.extend(request.outcome().and_then(|o| o.decided_by));
            ids.extend(
                request
                    .steps()
                    .iter()
                    .flat_map(|s| s.decisions.iter().map(|d| d.approver_id)),
            );
            let people = users::find_many(conn, &ids)?;
            let name = |id: UserId| {
                people.iter().find(|u| u.id == id).map_or_else(
                    || "someone".to_owned(),
                    |u| u.display_name.as_str().to_owned(),
                )
            };
            let requester = people.iter().find(|u| u.id == request.requester_id());
            let summary = RequestSummary {
                request_id: request.id().to_string(),
                flow_name: request.flow_name().to_owned(),
                requester_name: name(request.requester_id()),
                requester_email: requester
                    .map(|u| u.email.as_str().to_owned())
                    .unwrap_or_default(),
                reason: request.reason().to_owned(),
                duration: request.duration_seconds().map(human_duration),
                progress: show_progress.then(|| progress(&request, &name)),
                link: format!("{portal}/approvals/{}", request.id()),
            };
            let outcome = outcome(&request, &name);
            Ok(Some(Context {
                connection,
                request,
                summary,
                outcome,
            }))
        })
        .await
    }

    /// The Slack user id of a person, from what Slack said before or from `users.lookupByEmail`
    /// (remembered either way: a person Slack does not know is not asked about again).
    async fn slack_user(&self, token: &str, user: &User) -> Result<Option<String>, Failure> {
        let (id, email) = (user.id, user.email.as_str().to_owned());
        let known = {
            let email = email.clone();
            self.blocking(move |conn| Ok(repo::known_user(conn, id, &email)?))
                .await?
        };
        if let Some(known) = known {
            return Ok(known);
        }
        let found = self.client.lookup_by_email(token, &email).await?;
        let (remembered, now) = (found.clone(), self.clock.now());
        self.blocking(move |conn| {
            Ok(repo::remember_user(
                conn,
                id,
                &email,
                remembered.as_deref(),
                now,
            )?)
        })
        .await?;
        Ok(found)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, Failure> {
        self.blocking(move |conn| Ok(users::find(conn, id)?)).await
    }

    /// Asks an approver by direct message, or posts in a channel.
    async fn post(
        &self,
        request_id: &str,
        approver: Option<UserId>,
        channel: Option<String>,
    ) -> Outcome {
        let id: RequestId = parse_id(request_id)?;
        let Some(context) = self.context(id).await? else {
            return skip("Slack is not connected, or the request is gone");
        };
        let still_asked = match approver {
            Some(approver) => context.request.awaits(approver),
            None => channel_post_open(&context.request),
        };
        if !still_asked {
            return skip("the request no longer waits for this decision");
        }
        let token = context.connection.bot_token.expose_secret().to_owned();
        let channel = match (approver, channel) {
            (Some(approver), _) => {
                let Some(user) = self.user(approver).await?.filter(|u| u.active) else {
                    return skip("the approver is no longer an active user");
                };
                let Some(slack_id) = self.slack_user(&token, &user).await? else {
                    return skip(format!(
                        "{} is not in the Slack workspace",
                        user.email.as_str()
                    ));
                };
                self.client.open_direct(&token, &slack_id).await?
            }
            (None, Some(channel)) => channel,
            (None, None) => return Err(Failure::Internal("a post with no recipient".into())),
        };
        let text = blocks::request_text(&context.summary);
        let posted = self
            .client
            .post_message(
                &token,
                &channel,
                &text,
                &blocks::approval_request(&context.summary),
            )
            .await?;
        let now = self.clock.now();
        // If the request moved on while the message was being posted, the message is closed at once.
        self.write(move |conn| {
            repo::record_message(conn, id, approver, &posted.channel, &posted.ts, now)?;
            let open = match requests::find(conn, id)? {
                Some(request) => match approver {
                    Some(approver) => request.awaits(approver),
                    None => channel_post_open(&request),
                },
                None => false,
            };
            if !open {
                let job = Job::CloseMessages {
                    request_id: id.to_string(),
                };
                enqueue(conn, &job, None, now)?;
            }
            Ok(())
        })
        .await?;
        Ok(Done::Sent)
    }

    /// Shows how the request stands on every open message whose recipient can no longer act.
    async fn close_messages(&self, request_id: &str) -> Outcome {
        let id: RequestId = parse_id(request_id)?;
        let Some(context) = self.context(id).await? else {
            return skip("Slack is not connected, or the request is gone");
        };
        let messages = self
            .blocking(move |conn| Ok(repo::messages_of(conn, id)?))
            .await?;
        let token = context.connection.bot_token.expose_secret().to_owned();
        let mut updated = 0;
        for message in messages.into_iter().filter(|m| !m.closed) {
            let open = match message.recipient_id {
                Some(recipient) => context.request.awaits(recipient),
                None => channel_post_open(&context.request),
            };
            if open {
                continue;
            }
            let outcome = match message.recipient_id {
                Some(recipient) if context.request.status() == RequestStatus::Pending => {
                    own_decision(&context.request, recipient, &context.outcome)
                }
                _ => context.outcome.clone(),
            };
            let text = blocks::outcome_text(&context.summary, &outcome);
            let closed = blocks::closed_request(&context.summary, &outcome);
            self.client
                .update_message(&token, &message.channel, &message.ts, &text, &closed)
                .await?;
            // Recorded one by one: a retry after a failure updates only what is left.
            let message_id = message.id.clone();
            self.blocking(move |conn| Ok(repo::close_message(conn, &message_id)?))
                .await?;
            updated += 1;
        }
        if updated == 0 {
            return skip("no open message to update");
        }
        Ok(Done::Sent)
    }

    /// An administrator's direct message about a break-glass request (no buttons: the access is
    /// given; the review is made in the portal).
    async fn alert_admin(&self, request_id: &str, admin: UserId) -> Outcome {
        let id: RequestId = parse_id(request_id)?;
        let Some(context) = self.context(id).await? else {
            return skip("Slack is not connected, or the request is gone");
        };
        let Some(user) = self
            .user(admin)
            .await?
            .filter(|u| u.active && u.acts_as_admin())
        else {
            return skip("the reviewer is no longer an active administrator");
        };
        let token = context.connection.bot_token.expose_secret().to_owned();
        let Some(slack_id) = self.slack_user(&token, &user).await? else {
            return skip(format!(
                "{} is not in the Slack workspace",
                user.email.as_str()
            ));
        };
        let channel = self.client.open_direct(&token, &slack_id).await?;
        let mut summary = context.summary.clone();
        summary.link = format!("{}/admin/requests/{}", self.portal_url, id);
        let text = blocks::break_glass_text(&summary);
        self.client
            .post_message(
                &token,
                &channel,
                &text,
                &blocks::break_glass_alert(&summary),
            )
            .await?;
        Ok(Done::Sent)
    }

    /// The requester's direct message with the decision.
    async fn tell_requester(&self, request_id: &str) -> Outcome {
        let id: RequestId = parse_id(request_id)?;
        let Some(context) = self.context(id).await? else {
            return skip("Slack is not connected, or the request is gone");
        };
        let Some(requester) = self.user(context.request.requester_id()).await? else {
            return skip("the requester is gone");
        };
        let token = context.connection.bot_token.expose_secret().to_owned();
        let Some(slack_id) = self.slack_user(&token, &requester).await? else {
            return skip(format!(
                "{} is not in the Slack workspace",
                requester.email.as_str()
            ));
        };
        let channel = self.client.open_direct(&token, &slack_id).await?;
        let text = blocks::outcome_text(&context.summary, &context.outcome);
        let message = blocks::decision_for_requester(&context.summary, &context.outcome);
        self.client
            .post_message(&token, &channel, &text, &message)
            .await?;
        Ok(Done::Sent)
    }
}

fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, Failure> {
    raw.parse()
        .map_err(|_| Failure::Internal(format!("'{raw}' is not an id")))
}
