//! The notification settings: email over SMTP and the delivery of webhooks and emails.

use std::net::SocketAddr;

use clap::Args;
use secrecy::SecretString;

use super::{non_empty, positive};

#[derive(Debug, Clone, Default, Args)]
pub struct NotifyArgs {
    /// SMTP server for email, e.g. `smtp://user:password@mail.example.com:587?tls=required`
    /// or `smtps://…:465`; unset: no email is sent.
    #[arg(long, env = "PORTCULLIS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of emails, e.g. `Portcullis <access@example.com>` (required with PORTCULLIS_SMTP_URL).
    #[arg(long, env = "PORTCULLIS_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Base URL of the user portal that links in emails point to (default: http://localhost:PORT).
    #[arg(long, env = "PORTCULLIS_PORTAL_URL")]
    pub portal_url: Option<String>,
    /// Attempts per webhook or email before it is marked failed (default 10).
    #[arg(long, env = "PORTCULLIS_DELIVERY_MAX_ATTEMPTS")]
    pub delivery_max_attempts: Option<String>,
    /// First retry delay in seconds; it doubles per attempt, with jitter, up to 6 hours (default 30).
    #[arg(long, env = "PORTCULLIS_DELIVERY_BACKOFF_SECONDS")]
    pub delivery_backoff_seconds: Option<String>,
    /// Time limit of one webhook call or SMTP session, in seconds (default 10).
    #[arg(long, env = "PORTCULLIS_DELIVERY_TIMEOUT_SECONDS")]
    pub delivery_timeout_seconds: Option<String>,
    /// Base URL of the Slack Web API (default https://slack.com/api; tests point it at a local server).
    #[arg(long, env = "PORTCULLIS_SLACK_API_URL")]
    pub slack_api_url: Option<String>,
}

/// Slack's own Web API.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// Email over SMTP.
pub struct SmtpSettings {
    pub url: SecretString,
    pub from: lettre::message::Mailbox,
}

/// Webhook and email delivery.
pub struct NotifySettings {
    pub smtp: Option<SmtpSettings>,
    /// Without a trailing slash.
    pub portal_url: String,
    pub max_attempts: u32,
    pub backoff: std::time::Duration,
    pub timeout: std::time::Duration,
    /// How often the dispatcher looks for due entries besides being woken by writes.
    pub poll_interval: std::time::Duration,
    /// The Slack Web API's base URL, without a trailing slash.
    pub slack_api_url: String,
}

impl NotifyArgs {
    pub fn settings(&self, bind: Option<SocketAddr>) -> Result<NotifySettings, Vec<String>> {
        let mut errors = Vec::new();
        let smtp = match (
            non_empty(self.smtp_url.as_ref()),
            non_empty(self.mail_from.as_ref()),
        ) {
            (None, None) => None,
            (Some(_), None) => {
                errors.push("PORTCULLIS_MAIL_FROM: required when PORTCULLIS_SMTP_URL is set, e.g. `Portcullis <access@example.com>`".to_owned());
                None
            }
            (None, Some(_)) => {
                errors.push(
                    "PORTCULLIS_SMTP_URL: required when PORTCULLIS_MAIL_FROM is set".to_owned(),
                );
                None
            }
            (Some(url), Some(from)) => {
                // The URL may hold a password: it is never echoed back.
                if lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url).is_err() {
                    errors.push(
                        "PORTCULLIS_SMTP_URL: not a valid smtp:// or smtps:// URL".to_owned(),
                    );
                }
                match from.parse::<lettre::message::Mailbox>() {
                    Ok(from) => Some(SmtpSettings {
                        url: SecretString::from(url),
                        from,
                    }),
                    Err(_) => {
                        errors.push(format!("PORTCULLIS_MAIL_FROM: '{from}' is not an address like `Portcullis <access@example.com>`"));
                        None
                    }
                }
            }
        };
        let portal_url = match non_empty(self.portal_url.as_ref()) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(url) => {
                errors.push(format!(
                    "PORTCULLIS_PORTAL_URL: '{url}' is not an http(s) URL"
                ));
                String::new()
            }
            None => format!("http://localhost:{}", bind.map_or(8080, |b| b.port())),
        };
        let max_attempts = positive(
            "PORTCULLIS_DELIVERY_MAX_ATTEMPTS",
            self.delivery_max_attempts.as_deref(),
            10,
            50,
        )
        .map_err(|e| errors.push(e))
        .unwrap_or(1);
        let backoff = positive(
            "PORTCULLIS_DELIVERY_BACKOFF_SECONDS",
            self.delivery_backoff_seconds.as_deref(),
            30,
            3600,
        )
        .map_err(|e| errors.push(e))
        .unwrap_or(1);
        let timeout = positive(
            "PORTCULLIS_DELIVERY_TIMEOUT_SECONDS",
            self.delivery_timeout_seconds.as_deref(),
            10,
            120,
        )
        .map_err(|e| errors.push(e))
        .unwrap_or(1);
        let slack_api_url = match non_empty(self.slack_api_url.as_ref()) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(url) => {
                errors.push(format!(
                    "PORTCULLIS_SLACK_API_URL: '{url}' is not an http(s) URL"
                ));
                String::new()
            }
            None => SLACK_API_URL.to_owned(),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NotifySettings {
            smtp,
            portal_url,
            max_attempts: max_attempts as u32,
            backoff: std::time::Duration::from_secs(backoff as u64),
            timeout: std::time::Duration::from_secs(timeout as u64),
            poll_interval: std::time::Duration::from_secs(1),
            slack_api_url,
        })
    }
}
