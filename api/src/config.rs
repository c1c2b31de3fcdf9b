//! Command line and configuration. Every setting is a flag and an environment variable; values are
//! read as text and validated here so that each bad one stops start-up with one line naming it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use portcullis_persistence::DatabaseTarget;
use secrecy::SecretString;

use crate::auth::VerificationKey;

/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size).
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Access requests with approval flows: a JSON REST API."
)]
pub struct Cli {
    /// Log format: `json` or `pretty` (default: pretty on a terminal, else json). Filter with RUST_LOG.
    #[arg(long, env = "PORTCULLIS_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API.
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate(DatabaseArgs),
    /// Create an administrator, or make an existing user one.
    CreateAdmin {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long)]
        email: String,
        /// Display name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a signed JWT (HS256) for an active user.
    Token {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        jwt: JwtArgs,
        #[arg(long)]
        email: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
        ttl: i64,
    },
    /// Print the OpenAPI document (YAML).
    Openapi,
    /// Create a small demo directory (admin, manager, requester, groups, a device); does nothing if present.
    SeedDemo(DatabaseArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// A SQLite file path (or `sqlite:PATH`), or a `postgres://` URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "portcullis.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Database connections per pool (default: sized for the machine).
    #[arg(long, env = "PORTCULLIS_DB_POOL_SIZE")]
    pub db_pool_size: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct JwtArgs {
    /// HS256 shared secret (at least 32 bytes).
    #[arg(long, env = "PORTCULLIS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key for RS256 (RSA) or ES256 (P-256) tokens, instead of a secret.
    #[arg(long, env = "PORTCULLIS_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Required `iss` claim.
    #[arg(long, env = "PORTCULLIS_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim.
    #[arg(long, env = "PORTCULLIS_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub jwt: JwtArgs,
    /// Address to listen on.
    #[arg(long, env = "PORTCULLIS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Comma-separated origins allowed to call the API from a browser (e.g. https://portal.example.com).
    #[arg(long, env = "PORTCULLIS_CORS_ORIGINS")]
    pub cors_origins: Option<String>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "PORTCULLIS_WORKERS")]
    pub workers: Option<String>,
    /// Seconds between runs of the background jobs (expiring requests, grants and sessions).
    #[arg(long, env = "PORTCULLIS_JOB_INTERVAL_SECONDS")]
    pub job_interval_seconds: Option<String>,
    /// PostgreSQL only: seconds between checks for tables whose planner statistics are missing or
    /// stale, which the server then analyzes (default 5; 0 leaves it to autovacuum alone).
    #[arg(long, env = "PORTCULLIS_ANALYZE_INTERVAL_SECONDS")]
    pub analyze_interval_seconds: Option<String>,
    /// Requests per signed-in principal and minute before 429 (default 6000; 0 turns limiting off).
    #[arg(long, env = "PORTCULLIS_RATE_LIMIT_PER_MINUTE")]
    pub rate_limit_per_minute: Option<String>,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

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
}

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
        })
    }
}

pub struct DatabaseSettings {
    pub target: DatabaseTarget,
    pub pool_size: u32,
}

pub struct JwtSettings {
    pub key: VerificationKey,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

pub struct ServeSettings {
    pub database: DatabaseSettings,
    pub jwt: JwtSettings,
    pub bind: SocketAddr,
    pub cors_origins: Vec<String>,
    pub workers: usize,
    pub job_interval: std::time::Duration,
    /// How often stale planner statistics are looked for (PostgreSQL); `None`: never.
    pub analyze_interval: Option<std::time::Duration>,
    pub notify: NotifySettings,
    /// Requests per principal and minute; 0: no limit.
    pub rate_limit_per_minute: u32,
    /// Where "now" comes from: the system clock, or one a test controls.
    pub clock: std::sync::Arc<dyn portcullis_domain::Clock>,
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
}

fn positive(var: &str, raw: Option<&str>, default: usize, max: usize) -> Result<usize, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{var}: '{text}' is not a whole number between 1 and {max}"
            )),
        },
    }
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl DatabaseArgs {
    pub fn settings(&self) -> Result<DatabaseSettings, Vec<String>> {
        let mut errors = Vec::new();
        let target = DatabaseTarget::parse(&self.database_url)
            .map_err(|e| errors.push(format!("DATABASE_URL: {e}")))
            .ok();
        let pool_size = positive(
            "PORTCULLIS_DB_POOL_SIZE",
            self.db_pool_size.as_deref(),
            (2 * cores() + 2).max(4),
            1000,
        )
        .map_err(|e| errors.push(e))
        .ok();
        match (target, pool_size) {
            (Some(target), Some(pool_size)) => Ok(DatabaseSettings {
                target,
                pool_size: pool_size as u32,
            }),
            _ => Err(errors),
        }
    }
}

impl JwtArgs {
    pub fn secret(&self) -> Result<Option<SecretString>, String> {
        match self.jwt_secret.as_deref() {
            None | Some("") => Ok(None),
            Some(secret) if secret.len() < MIN_SECRET_BYTES => Err(format!(
                "PORTCULLIS_JWT_SECRET: must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`)"
            )),
            Some(secret) => Ok(Some(SecretString::from(secret.to_owned()))),
        }
    }

    pub fn settings(&self) -> Result<JwtSettings, Vec<String>> {
        let secret = self.secret().map_err(|e| vec![e])?;
        let key = match (secret, &self.jwt_public_key_file) {
            (Some(_), Some(_)) => {
                return Err(vec![
                    "PORTCULLIS_JWT_PUBLIC_KEY_FILE: set either it or PORTCULLIS_JWT_SECRET, not both".to_owned(),
                ]);
            }
            (Some(secret), None) => VerificationKey::Secret(secret),
            (None, Some(path)) => {
                let pem = std::fs::read(path).map_err(|e| {
                    vec![format!(
                        "PORTCULLIS_JWT_PUBLIC_KEY_FILE: cannot read {}: {e}",
                        path.display()
                    )]
                })?;
                VerificationKey::from_public_pem(&pem).map_err(|e| {
                    vec![format!(
                        "PORTCULLIS_JWT_PUBLIC_KEY_FILE: {} {e}",
                        path.display()
                    )]
                })?
            }
            (None, None) => {
                return Err(vec![
                    "PORTCULLIS_JWT_SECRET: required to verify tokens (or set PORTCULLIS_JWT_PUBLIC_KEY_FILE); \
                     `make run` generates one for local use"
                        .to_owned(),
                ]);
            }
        };
        Ok(JwtSettings {
            key,
            issuer: non_empty(self.jwt_issuer.as_ref()),
            audience: non_empty(self.jwt_audience.as_ref()),
        })
    }
}

impl ServeArgs {
    /// Validates every setting, reporting all bad ones at once.
    pub fn settings(&self) -> Result<ServeSettings, Vec<String>> {
        let mut errors = Vec::new();
        let database = self.database.settings().map_err(|e| errors.extend(e)).ok();
        let jwt = self.jwt.settings().map_err(|e| errors.extend(e)).ok();
        let bind = self
            .bind
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                errors.push(format!(
                    "PORTCULLIS_BIND: '{}' is not a host:port address",
                    self.bind
                ))
            })
            .ok();
        let cors_origins = parse_origins(self.cors_origins.as_deref())
            .map_err(|e| errors.push(e))
            .ok();
        let workers = positive("PORTCULLIS_WORKERS", self.workers.as_deref(), cores(), 256)
            .map_err(|e| errors.push(e))
            .ok();
        let job_interval = positive(
            "PORTCULLIS_JOB_INTERVAL_SECONDS",
            self.job_interval_seconds.as_deref(),
            30,
            86_400,
        )
        .map_err(|e| errors.push(e))
        .ok();
        let analyze_interval = match self.analyze_interval_seconds.as_deref().map(str::trim) {
            None | Some("") => Some(Some(std::time::Duration::from_secs(5))),
            Some("0") => Some(None),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=86_400).contains(n))
                .map(|n| Some(std::time::Duration::from_secs(n)))
                .or_else(|| {
                    errors.push(format!(
                        "PORTCULLIS_ANALYZE_INTERVAL_SECONDS: '{text}' is not a whole number between 0 (off) and 86400"
                    ));
                    None
                }),
        };
        let rate_limit_per_minute = match self.rate_limit_per_minute.as_deref().map(str::trim) {
            None | Some("") => Some(crate::rate_limit::DEFAULT_PER_MINUTE),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10_000_000)
                .or_else(|| {
                    errors.push(format!(
                        "PORTCULLIS_RATE_LIMIT_PER_MINUTE: '{text}' is not a whole number between 0 (off) and 10000000"
                    ));
                    None
                }),
        };
        let notify = self
            .notify
            .settings(bind)
            .map_err(|e| errors.extend(e))
            .ok();
        match (
            database,
            jwt,
            bind,
            cors_origins,
            workers,
            job_interval,
            analyze_interval,
            notify,
            rate_limit_per_minute,
        ) {
            (
                Some(database),
                Some(jwt),
                Some(bind),
                Some(cors_origins),
                Some(workers),
                Some(job_interval),
                Some(analyze_interval),
                Some(notify),
                Some(rate_limit_per_minute),
            ) if errors.is_empty() => Ok(ServeSettings {
                database,
                jwt,
                bind,
                cors_origins,
                workers,
                job_interval: std::time::Duration::from_secs(job_interval as u64),
                analyze_interval,
                notify,
                rate_limit_per_minute,
                clock: std::sync::Arc::new(crate::state::SystemClock),
            }),
            _ => Err(errors),
        }
    }
}

fn parse_origins(raw: Option<&str>) -> Result<Vec<String>, String> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/')
                && !origin.contains(char::is_whitespace);
            if valid {
                Ok(origin.to_owned())
            } else {
                Err(format!(
                    "PORTCULLIS_CORS_ORIGINS: '{origin}' is not an origin like https://portal.example.com (no path, no trailing slash)"
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(f: impl FnOnce(&mut ServeArgs)) -> ServeArgs {
        let mut args = ServeArgs {
            database: DatabaseArgs {
                database_url: "test.db".into(),
                db_pool_size: None,
            },
            jwt: JwtArgs {
                jwt_secret: Some("x".repeat(32)),
                jwt_public_key_file: None,
                jwt_issuer: None,
                jwt_audience: None,
            },
            bind: "127.0.0.1:0".into(),
            cors_origins: None,
            workers: None,
            job_interval_seconds: None,
            analyze_interval_seconds: None,
            rate_limit_per_minute: None,
            notify: NotifyArgs::default(),
        };
        f(&mut args);
        args
    }

    #[test]
    fn defaults_are_valid() {
        assert!(serve_args(|_| {}).settings().is_ok());
    }

    #[test]
    fn each_bad_value_gets_one_line_naming_its_variable() {
        let errors = serve_args(|a| {
            a.bind = "nowhere".into();
            a.workers = Some("0".into());
            a.database.db_pool_size = Some("many".into());
            a.jwt.jwt_secret = Some("short".into());
            a.cors_origins = Some("portal.example.com".into());
            a.notify.smtp_url = Some("smtp://user:hunter2@".into());
            a.notify.mail_from = Some("not an address".into());
            a.notify.delivery_max_attempts = Some("0".into());
        })
        .settings()
        .err()
        .unwrap();
        for var in [
            "PORTCULLIS_BIND",
            "PORTCULLIS_WORKERS",
            "PORTCULLIS_DB_POOL_SIZE",
            "PORTCULLIS_JWT_SECRET",
            "PORTCULLIS_CORS_ORIGINS",
            "PORTCULLIS_SMTP_URL",
            "PORTCULLIS_MAIL_FROM",
            "PORTCULLIS_DELIVERY_MAX_ATTEMPTS",
        ] {
            assert_eq!(
                errors.iter().filter(|e| e.starts_with(var)).count(),
                1,
                "{var} in {errors:?}"
            );
        }
    }

    #[test]
    fn a_bad_smtp_url_is_reported_without_its_password() {
        let errors = serve_args(|a| {
            a.notify.smtp_url = Some("ftp://user:hunter2@mail.example.com".into());
            a.notify.mail_from = Some("Portcullis <access@example.com>".into());
        })
        .settings()
        .err()
        .unwrap();
        assert!(errors[0].starts_with("PORTCULLIS_SMTP_URL"), "{errors:?}");
        assert!(!errors.iter().any(|e| e.contains("hunter2")), "{errors:?}");
    }

    #[test]
    fn email_needs_both_the_server_and_the_sender() {
        let errors = serve_args(|a| a.notify.mail_from = Some("a@example.com".into()))
            .settings()
            .err()
            .unwrap();
        assert!(
            errors[0].starts_with("PORTCULLIS_SMTP_URL: required"),
            "{errors:?}"
        );
        let settings = serve_args(|a| {
            a.notify.smtp_url = Some("smtp://127.0.0.1:2525".into());
            a.notify.mail_from = Some("Portcullis <access@example.com>".into());
            a.notify.portal_url = Some("https://portal.example.com/".into());
        })
        .settings()
        .ok()
        .unwrap();
        assert!(settings.notify.smtp.is_some());
        assert_eq!(settings.notify.portal_url, "https://portal.example.com");
    }

    #[test]
    fn serving_without_a_key_is_refused() {
        let errors = serve_args(|a| a.jwt.jwt_secret = None)
            .settings()
            .err()
            .unwrap();
        assert!(
            errors[0].starts_with("PORTCULLIS_JWT_SECRET: required"),
            "{errors:?}"
        );
    }
}
