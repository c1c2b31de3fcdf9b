//! Delivers the outbox: claims due entries, sends them (webhooks and ARAP callbacks over HTTP,
//! emails over SMTP, Slack calls),
//! records every attempt, and schedules retries with exponential backoff and jitter until the
//! attempt limit, after which an entry is `failed` (an admin can re-send it).
//!
//! Woken right after every committed write, and otherwise every `poll_interval`, so an entry
//! written by another replica or left by a crashed process is picked up too.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use portcullis_domain::Clock;
use portcullis_persistence::repo::outbox::{self, AttemptResult, Entry, Next};
use portcullis_persistence::repo::webhooks;
use portcullis_persistence::{Database, DbConnection};
use rand::Rng;
use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::config::NotifySettings;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::notify::callbacks::Callbacks;
use crate::notify::email::{Intent, Mailer, Templates};
use crate::notify::webhook;

/// Entries claimed per pass.
const BATCH: i64 = 50;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// When to try again after `attempts` failed attempts: `base · 2^(attempts-1)`, at most
/// [`MAX_BACKOFF`], of which a random half is taken off ("equal jitter") so that receivers coming
/// back are not hit by every sender at once.
pub fn backoff(base: Duration, attempts: u32, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    let full = base
        .checked_mul(1u32 << exponent)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    full.mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0))
}

pub struct Dispatcher {
    db: Database,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    mailer: Option<Mailer>,
    templates: Templates,
    portal_url: String,
    max_attempts: u32,
    backoff: Duration,
    lease: chrono::Duration,
    poll_interval: Duration,
    metrics: Arc<Metrics>,
    wakeup: Arc<Notify>,
    /// Does the work of Slack entries.
    slack: crate::services::slack::worker::Worker,
    /// Signs and sends ARAP callbacks.
    callbacks: Callbacks,
}

impl Dispatcher {
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        settings: &NotifySettings,
        metrics: Arc<Metrics>,
        callback_key: ed25519_dalek::SigningKey,
        callback_hosts: crate::config::AllowedHosts,
    ) -> anyhow::Result<Self> {
        let mailer = match &settings.smtp {
            Some(smtp) => Some(Mailer::new(smtp, settings.timeout).map_err(anyhow::Error::msg)?),
            None => None,
        };
        // An entry is held for its call's time limit plus a margin; then another dispatcher may
        // take it over (the holder is presumed dead).
        let lease = chrono::Duration::from_std(settings.timeout * 3)?;
        let wakeup = Arc::new(Notify::new());
        let slack = crate::services::slack::worker::Worker::new(
            db.clone(),
            clock.clone(),
            crate::slack::SlackClient::new(&settings.slack_api_url, settings.timeout)?,
            settings.portal_url.clone(),
            mailer.is_some(),
            wakeup.clone(),
        );
        Ok(Self {
            db,
            clock,
            http: webhook::client(settings.timeout)?,
            mailer,
            templates: Templates::new()?,
            portal_url: settings.portal_url.clone(),
            max_attempts: settings.max_attempts,
            backoff: settings.backoff,
            lease,
            poll_interval: settings.poll_interval,
            metrics,
            wakeup,
            slack,
            callbacks: Callbacks::new(callback_key, callback_hosts, settings.timeout)?,
        })
    }

    /// Whether emails are sent (SMTP configured).
    pub fn email_enabled(&self) -> bool {
        self.mailer.is_some()
    }

    /// The Slack Web API client (the connection's `auth.test`).
    pub fn slack(&self) -> &crate::slack::SlackClient {
        self.slack.client()
    }

    /// Wakes the dispatcher: something was just written to the outbox.
    pub fn wake(&self) {
        self.wakeup.notify_one();
    }

    /// Delivers until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.poll_interval) => {}
                () = self.wakeup.notified() => {}
            }
            loop {
                match self.pass().await {
                    Ok(claimed) if claimed == BATCH as usize => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "outbox pass failed; retrying at the next interval");
                        break;
                    }
                }
            }
            self.observe_depth().await;
        }
    }

    /// Claims a batch of due entries and delivers them; returns how many were claimed.
    async fn pass(&self) -> Result<usize, ApiError> {
        let token = uuid::Uuid::now_v7().to_string();
        let now = self.clock.now();
        let (lease_until, claim_token) = (now + self.lease, token.clone());
        let claimed = self
            .blocking(move |conn| {
                Ok(outbox::claim_due(
                    conn,
                    now,
                    lease_until,
                    &claim_token,
                    BATCH,
                )?)
            })
            .await?;
        let count = claimed.len();
        futures_util::stream::iter(claimed)
            .for_each_concurrent(CONCURRENCY, |entry| {
                let token = token.clone();
                async move {
                    if let Err(error) = self.deliver(entry, &token).await {
                        tracing::warn!(%error, "recording a delivery failed; it will be retried");
                    }
                }
            })
            .await;
        Ok(count)
    }

    /// A claim for an entry the caller writes and delivers itself ([`Self::deliver_claimed`]).
    pub fn claim(&self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        (uuid::Uuid::now_v7().to_string(), now + self.lease)
    }

    /// Delivers an entry the caller claimed when writing it (a channel's test ping), and returns
    /// it as it is afterwards.
    pub async fn deliver_claimed(
        &self,
        entry: Entry,
        token: &str,
    ) -> Result<Option<Entry>, ApiError> {
        let id = entry.id;
        self.deliver(entry, token).await?;
        self.blocking(move |conn| Ok(outbox::find(conn, id)?)).await
    }

    async fn deliver(&self, entry: Entry, token: &str) -> Result<(), ApiError> {
        let (result, next) = match entry.kind.as_str() {
            outbox::WEBHOOK => self.send_webhook(&entry).await?,
            outbox::SLACK => self.send_slack(&entry).await,
            outbox::CALLBACK => self.send_callback(&entry).await,
            _ => self.send_email(&entry).await,
        };
        let outcome = match next {
            Next::Delivered => "delivered",
            Next::RetryAt(_) => "retried",
            Next::Failed => "failed",
            Next::Skipped => "skipped",
        };
        self.metrics.observe_delivery(&entry.kind, outcome);
        if next == Next::Failed {
            tracing::warn!(delivery_id = %entry.id, kind = %entry.kind, topic = %entry.topic,
                attempts = entry.attempts + 1, error = ?result.error, "delivery failed for good");
        }
        let (id, token) = (entry.id, token.to_owned());
        let held = self
            .blocking(move |conn| Ok(outbox::finish(conn, id, &token, &result, next)?))
            .await?;
        if !held {
            tracing::warn!(delivery_id = %entry.id, "a delivery outlived its lease; another dispatcher took it over");
        }
        Ok(())
    }

    /// What follows a failed attempt: another one later, or the end.
    fn after_failure(&self, entry: &Entry, now: DateTime<Utc>) -> Next {
        let attempts = u32::try_from(entry.attempts + 1).unwrap_or(u32::MAX);
        if entry.topic == webhook::PING || attempts >= self.max_attempts {
            return Next::Failed;
        }
        let wait = backoff(self.backoff, attempts, rand::rng().random::<f64>());
        Next::RetryAt(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
    }

    async fn send_webhook(&self, entry: &Entry) -> Result<(AttemptResult, Next), ApiError> {
        let channel = match entry.channel_id {
            Some(id) => {
                self.blocking(move |conn| Ok(webhooks::find(conn, id)?))
                    .await?
            }
            None => None,
        };
        let attempted_at = self.clock.now();
        let Some(channel) = channel else {
            // The channel was deleted (its entries go with it); nothing to send.
            let result = AttemptResult {
                attempted_at,
                status_code: None,
                latency_ms: 0,
                error: Some("the channel no longer exists".to_owned()),
            };
            return Ok((result, Next::Failed));
        };
        let secret = channel.secret.expose_secret();
        let call = webhook::call(
            &self.http,
            &channel.url,
            &entry.id.to_string(),
            &entry.payload,
            |id, timestamp, body| webhook::sign(secret, id, timestamp, body),
        )
        .await;
        let result = AttemptResult {
            attempted_at,
            status_code: call.status_code.map(i32::from),
            latency_ms: i64::try_from(call.latency.as_millis()).unwrap_or(i64::MAX),
            error: call.error,
        };
        let next = if result.error.is_none() {
            Next::Delivered
        } else {
            self.after_failure(entry, self.clock.now())
        };
        Ok((result, next))
    }

    /// An ARAP callback: retried like a webhook, but never to a destination the checks refuse.
    async fn send_callback(&self, entry: &Entry) -> (AttemptResult, Next) {
        let attempted_at = self.clock.now();
        let call = self
            .callbacks
            .send(&entry.id.to_string(), &entry.payload)
            .await;
        let refused = call
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("refused") || e.starts_with("unreadable"));
        let result = AttemptResult {
            attempted_at,
            status_code: call.status_code.map(i32::from),
            latency_ms: i64::try_from(call.latency.as_millis()).unwrap_or(i64::MAX),
            error: call.error,
        };
        let next = match (&result.error, refused) {
            (None, _) => Next::Delivered,
            (Some(_), true) => Next::Failed,
            (Some(_), false) => self.after_failure(entry, self.clock.now()),
        };
        (result, next)
    }

    /// Slack's work: a call that Slack rate-limits is tried again when its `Retry-After` says; one
    /// Slack refuses is not tried again; one that fails otherwise backs off like every delivery.
    async fn send_slack(&self, entry: &Entry) -> (AttemptResult, Next) {
        use crate::services::slack::worker::{Done, Failure};
        use crate::slack::SlackError;
        let attempted_at = self.clock.now();
        let started = std::time::Instant::now();
        let outcome = self.slack.run(entry).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = self.clock.now();
        let (status_code, error, next) = match outcome {
            Ok(Done::Sent) => (Some(200), None, Next::Delivered),
            Ok(Done::Skipped(why)) => (None, Some(why), Next::Skipped),
            Err(Failure::Slack(error @ SlackError::RateLimited(wait))) => {
                let attempts = u32::try_from(entry.attempts + 1).unwrap_or(u32::MAX);
                let next = if attempts >= self.max_attempts {
                    Next::Failed
                } else {
                    let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                    Next::RetryAt(now + wait)
                };
                (Some(429), Some(error.to_string()), next)
            }
            Err(Failure::Slack(error @ SlackError::Refused(_))) => (
                error.status_code().map(i32::from),
                Some(error.to_string()),
                Next::Failed,
            ),
            Err(Failure::Slack(error)) => (
                error.status_code().map(i32::from),
                Some(error.to_string()),
                self.after_failure(entry, now),
            ),
            Err(Failure::Internal(error)) => (None, Some(error), self.after_failure(entry, now)),
        };
        let result = AttemptResult {
            attempted_at,
            status_code,
            latency_ms,
            error,
        };
        (result, next)
    }

    async fn send_email(&self, entry: &Entry) -> (AttemptResult, Next) {
        let attempted_at = self.clock.now();
        let started = std::time::Instant::now();
        let failed = |error: String, next: Next| {
            let result = AttemptResult {
                attempted_at,
                status_code: None,
                latency_ms: 0,
                error: Some(error),
            };
            (result, next)
        };
        let Some(mailer) = &self.mailer else {
            return failed(
                "email is off: PORTCULLIS_SMTP_URL is not set".to_owned(),
                Next::Skipped,
            );
        };
        let intent: Intent = match serde_json::from_str(&entry.payload) {
            Ok(intent) => intent,
            Err(e) => return failed(format!("unreadable email entry: {e}"), Next::Failed),
        };
        let email = match self
            .templates
            .render(&entry.topic, &intent.data, &self.portal_url)
        {
            Ok(email) => email,
            Err(e) => return failed(e, Next::Failed),
        };
        let sent = mailer.send(&intent, email).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match sent {
            Ok(code) => (
                AttemptResult {
                    attempted_at,
                    status_code: Some(i32::from(code)),
                    latency_ms,
                    error: None,
                },
                Next::Delivered,
            ),
            Err((code, error)) => {
                // 5xx replies are permanent (RFC 5321 §4.2.1): no point in trying again.
                let next = if code.is_some_and(|c| c >= 500) {
                    Next::Failed
                } else {
                    self.after_failure(entry, self.clock.now())
                };
                let result = AttemptResult {
                    attempted_at,
                    status_code: code.map(i32::from),
                    latency_ms,
                    error: Some(error),
                };
                (result, next)
            }
        }
    }

    async fn observe_depth(&self) {
        match self.blocking(|conn| Ok(outbox::pending_count(conn)?)).await {
            Ok(depth) => self.metrics.set_outbox_depth(depth),
            Err(error) => tracing::debug!(%error, "cannot read the outbox depth"),
        }
    }

    /// Runs a database write on the blocking pool.
    async fn blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = db.writer()?;
            work(&mut pooled)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("delivery task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(base, 2, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(base, 5, 0.0), Duration::from_secs(480));
        assert_eq!(backoff(base, 40, 0.0), MAX_BACKOFF);
    }

    #[test]
    fn jitter_takes_off_at_most_half() {
        let base = Duration::from_secs(100);
        assert_eq!(backoff(base, 1, 1.0), Duration::from_secs(50));
        for jitter in [0.0, 0.25, 0.5, 0.99] {
            let wait = backoff(base, 3, jitter);
            assert!(wait >= Duration::from_secs(200) && wait <= Duration::from_secs(400));
        }
    }
}
