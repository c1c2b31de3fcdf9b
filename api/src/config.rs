//! Command line and configuration. Every setting is a flag and an environment variable; values are
//! read as text and validated here so that each bad one stops start-up with one line naming it.

use std::net::{SocketAddr, ToSocketAddrs};

use clap::{Args, Parser, Subcommand};
use portcullis_persistence::DatabaseTarget;

mod authzen;
mod jwt;
mod notify;

pub use authzen::{
    AllowedHosts, AuthzenArgs, AuthzenSettings, default_public_url, parse_public_url,
};
pub use jwt::{JwtArgs, JwtSettings};
pub use notify::{NotifyArgs, NotifySettings, SmtpSettings};

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
    #[command(flatten)]
    pub authzen: AuthzenArgs,
}

pub struct DatabaseSettings {
    pub target: DatabaseTarget,
    pub pool_size: u32,
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
    /// AuthZEN's public URL.
    pub authzen: AuthzenSettings,
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
        let authzen = self.authzen.settings().map_err(|e| errors.push(e)).ok();
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
            authzen,
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
                Some(authzen),
            ) if errors.is_empty() => Ok(ServeSettings {
                database,
                jwt,
                bind,
                cors_origins,
                workers,
                job_interval: std::time::Duration::from_secs(job_interval as u64),
                analyze_interval,
                notify,
                authzen,
                rate_limit_per_minute,
                clock: std::sync::Arc::new(crate::clock::SystemClock),
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
            authzen: AuthzenArgs::default(),
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
            a.authzen.public_url = Some("access.example.com".into());
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
            "PORTCULLIS_PUBLIC_URL",
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
