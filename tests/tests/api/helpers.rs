//! The test harness: the real server on port 0 over a fresh database per test (a SQLite file, or a
//! new PostgreSQL database when `TEST_DATABASE_URL` is set; under `CI=true` it must be), with
//! tokens minted exactly as `portcullis token` mints them.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};
use portcullis_api::Application;
use portcullis_api::config::{
    AllowedHosts, AuthzenSettings, DatabaseSettings, JwtSettings, NotifySettings, ServeSettings,
    SmtpSettings,
};
use portcullis_api::jwt::{TokenIssuer, VerificationKey};
use portcullis_persistence::{Database, DatabaseTarget};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

mod assertions;
mod database;
mod process;

pub use assertions::{error_fields, eventually, expect_problem, expect_status};
pub use database::TestDatabase;
pub use process::{serve_process, server_binary, wait_until_ready};

pub const ISSUER: &str = "portcullis-tests";
pub const AUDIENCE: &str = "portcullis";
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The SHA-256 fingerprint of a device certificate: what makes a device managed (seed 003).
pub const DEVICE_CERTIFICATE: &str =
    "5f2c9a0e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from one scenario:
/// `both_backends! { async fn name(app: TestApp) { ... } }` gives `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block)+) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn scenario($app: $crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                scenario($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(postgres_tests_skipped, ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests")]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn_postgres().await {
                    scenario(app).await
                }
            }
        }
    )+};
}

/// Generates `name::sqlite` and `name::postgres` tests that call `scenario(Backend)`, for scenarios
/// that set the server up themselves (a real SMTP server first, say).
#[macro_export]
macro_rules! per_backend {
    ($($name:ident => $scenario:path),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $scenario($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(postgres_tests_skipped, ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests")]
            async fn postgres() {
                $scenario($crate::helpers::Backend::Postgres).await
            }
        }
    )+};
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_id: String,
    pub admin_token: String,
    issuer: TokenIssuer,
    /// The server's clock: tests move it forward to reach expiry times.
    pub clock: std::sync::Arc<TestClock>,
    server: actix_web::dev::ServerHandle,
    _db: TestDatabase,
}

impl Drop for TestApp {
    /// Stops the server (and so its connection pools) before the database is removed.
    fn drop(&mut self) {
        let stopped = self.server.stop(false);
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(stopped));
    }
}

/// How a test wants the server configured (defaults: HS256 with issuer and audience checks).
pub struct Options {
    pub key: VerificationKey,
    pub cors_origins: Vec<String>,
    /// `smtp://127.0.0.1:PORT` of a test SMTP server; `None`: email off.
    pub smtp_url: Option<String>,
    /// Delivery tuning: attempts before `failed`, and the first retry delay.
    pub max_attempts: u32,
    pub backoff: std::time::Duration,
    /// Requests per principal and minute (0: off, the tests' default; production's is 6000).
    pub rate_limit_per_minute: u32,
    /// How often the server refreshes stale planner statistics (PostgreSQL); `None`: never.
    pub analyze_interval: Option<std::time::Duration>,
    /// The Slack Web API's base URL (a fake Slack's); `None`: Slack's own.
    pub slack_api_url: Option<String>,
    /// `PORTCULLIS_CALLBACK_ALLOWED_HOSTS`; `None`: none.
    pub callback_allowed_hosts: Option<String>,
}

pub const MAIL_FROM: &str = "Portcullis <access@portcullis.test>";
pub const PORTAL_URL: &str = "https://portal.portcullis.test";

impl Default for Options {
    fn default() -> Self {
        Self {
            key: VerificationKey::Secret(SecretString::from(SECRET)),
            cors_origins: Vec::new(),
            smtp_url: None,
            max_attempts: 10,
            backoff: std::time::Duration::from_secs(30),
            rate_limit_per_minute: 0,
            analyze_interval: Some(std::time::Duration::from_secs(1)),
            slack_api_url: None,
            callback_allowed_hosts: None,
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    /// The PostgreSQL variant, or `None` (a skip) when no server is configured outside CI.
    pub async fn spawn_postgres() -> Option<Self> {
        Self::spawn_postgres_with(Options::default()).await
    }

    pub async fn spawn_postgres_with(options: Options) -> Option<Self> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => {
                Some(Self::spawn_on(Backend::Postgres, options, Some(url)).await)
            }
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true requires TEST_DATABASE_URL: the PostgreSQL tests must run in CI")
            }
            _ => {
                eprintln!("skipped: set TEST_DATABASE_URL to run the PostgreSQL variant");
                None
            }
        }
    }

    /// The app on `backend`, or `None` (a skip) for PostgreSQL when none is configured outside CI.
    pub async fn spawn_for(backend: Backend, options: Options) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::spawn_on(backend, options, None).await),
            Backend::Postgres => Self::spawn_postgres_with(options).await,
        }
    }

    /// Stops the in-process server (its jobs and dispatcher too) but keeps the database, for tests
    /// that go on with `portcullis serve` processes on it.
    pub async fn stop_server(&self) {
        self.server.stop(false).await;
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        match backend {
            Backend::Sqlite => Self::spawn_on(backend, options, None).await,
            Backend::Postgres => Self::spawn_postgres_with(options)
                .await
                .expect("PostgreSQL is not configured"),
        }
    }

    async fn spawn_on(_backend: Backend, options: Options, admin_url: Option<String>) -> Self {
        let db = tokio::task::spawn_blocking(move || match admin_url {
            Some(url) => TestDatabase::postgres(&url),
            None => TestDatabase::sqlite(),
        })
        .await
        .unwrap();
        let target = DatabaseTarget::parse(&db.url).unwrap();
        let clock = std::sync::Arc::new(TestClock::default());
        let settings = ServeSettings {
            database: DatabaseSettings {
                target: target.clone(),
                pool_size: 4,
            },
            jwt: JwtSettings {
                key: options.key,
                issuer: Some(ISSUER.into()),
                audience: Some(AUDIENCE.into()),
            },
            bind: "127.0.0.1:0".parse().unwrap(),
            cors_origins: options.cors_origins,
            workers: 2,
            job_interval: std::time::Duration::from_millis(300),
            analyze_interval: options.analyze_interval,
            notify: NotifySettings {
                smtp: options.smtp_url.map(|url| SmtpSettings {
                    url: SecretString::from(url),
                    from: MAIL_FROM.parse().unwrap(),
                }),
                portal_url: PORTAL_URL.to_owned(),
                max_attempts: options.max_attempts,
                backoff: options.backoff,
                timeout: std::time::Duration::from_secs(5),
                poll_interval: std::time::Duration::from_millis(200),
                // No test calls the real Slack: by default, a loopback port nothing listens on.
                slack_api_url: options
                    .slack_api_url
                    .unwrap_or_else(|| "http://127.0.0.1:9/api".to_owned()),
            },
            rate_limit_per_minute: options.rate_limit_per_minute,
            authzen: AuthzenSettings {
                public_url: None,
                callback_allowed_hosts: options
                    .callback_allowed_hosts
                    .map(|hosts| AllowedHosts::parse(&hosts).unwrap())
                    .unwrap_or_default(),
            },
            clock: clock.clone(),
        };
        let app = Application::build(settings)
            .await
            .expect("the server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let server = app.handle();
        tokio::spawn(app.run_until_stopped());
        // The first administrator comes from the CLI's `create-admin`, as in production.
        let admin_id = tokio::task::spawn_blocking(move || {
            let database = Database::connect(&target, 1).unwrap();
            portcullis_api::demo::create_admin(&database, ADMIN_EMAIL, Some("Ada Admin")).unwrap()
        })
        .await
        .unwrap()
        .to_string();
        let issuer = TokenIssuer::new(
            &SecretString::from(SECRET),
            Some(ISSUER.into()),
            Some(AUDIENCE.into()),
        );
        let admin_token = issuer.issue(&admin_id, now(), 600).unwrap();
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            admin_id,
            admin_token,
            issuer,
            clock,
            server,
            _db: db,
        }
    }

    /// The database this app's server uses.
    pub fn database_url(&self) -> &str {
        &self._db.url
    }

    /// A valid token for `subject` (an id, email or external id).
    pub fn token_for(&self, subject: &str) -> String {
        self.issuer.issue(subject, now(), 600).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    /// Creates a person through the API and returns their id.
    pub async fn create_user(&self, email: &str, display_name: &str) -> String {
        self.create_user_with(json!({ "email": email, "display_name": display_name }))
            .await
    }

    pub async fn create_user_with(&self, body: Value) -> String {
        let response = self.post("/v1/users", &self.admin_token, &body).await;
        let body = expect_status(response, StatusCode::CREATED).await;
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_group(&self, name: &str) -> String {
        let response = self
            .post("/v1/groups", &self.admin_token, &json!({ "name": name }))
            .await;
        expect_status(response, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every item of a list endpoint, following `next_page_token` with the given page size.
    pub async fn collect_pages(&self, path: &str, token: &str, limit: u32) -> Vec<Value> {
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        let separator = if path.contains('?') { '&' } else { '?' };
        for _ in 0..1000 {
            let mut url = format!("{path}{separator}limit={limit}");
            if let Some(token) = &page_token {
                url.push_str(&format!("&page_token={token}"));
            }
            let body = expect_status(self.get(&url, token).await, StatusCode::OK).await;
            items.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_page_token"].as_str() {
                Some(next) => page_token = Some(next.to_owned()),
                None => return items,
            }
        }
        panic!("pagination did not end");
    }
}

/// The real time plus an offset the test controls.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_seconds: std::sync::atomic::AtomicI64,
}

impl TestClock {
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::SeqCst);
    }
}

impl portcullis_domain::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        (chrono::Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::SeqCst)))
            .trunc_subsecs(6)
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
