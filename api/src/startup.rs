//! Building and running the server (à la zero-to-production: tests build it on port 0).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{HttpServer, http, web};
use anyhow::Context;
use portcullis_persistence::{Backend, Checkpoints, Database};
use utoipa_swagger_ui::SwaggerUi;

use crate::authzen::{Pdp, Signer};
use crate::config::{ServeSettings, default_public_url};
use crate::extractors::path_config;
use crate::fallback::{RouteTable, not_routed};
use crate::group_commit::GroupCommit;
use crate::jwt::JwtVerifier;
use crate::metrics::Metrics;
use crate::notify::dispatcher::Dispatcher;
use crate::rate_limit::PrincipalRateLimiter;
use crate::request_id::request_context;
use crate::security_headers::security_headers;
use crate::state::AppState;

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECONDS: u64 = 15;

/// Slow clients: a request's head must arrive within this time (else 408 and the connection closes)...
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// ...an idle keep-alive connection is closed after this time...
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// ...and a closing connection gets this long to shut down cleanly.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often principals whose allowance is full again are forgotten.
const RATE_LIMIT_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// How often SQLite's WAL is checkpointed into the database file (off the request path). Often, so
/// that each pass, and the sync of the database file after it, is short: under steady writes the
/// disk then takes a little every few milliseconds instead of bursts that slow the writer's own
/// writes (at 250 ms, half-load approvals had a p99 of 13–28 ms on the benchmark machine; at
/// 50 ms, 8–13 ms, and a higher peak).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// The server's SQLite writer never checkpoints on commit (`Checkpoints::Background`): this task
/// does, on the blocking pool, so a checkpoint's copying and fsyncs delay no request, except the
/// short last pass the writer runs before its next batch once the WAL is long (see
/// `Database::checkpoint`). SQLite only.
async fn checkpoint_regularly(db: Database) {
    let mut ticks = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.checkpoint()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "WAL checkpoint failed; retrying"),
            Err(error) => tracing::warn!(%error, "WAL checkpoint task failed"),
        }
    }
}

pub struct Application {
    port: u16,
    server: Server,
    jobs: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
    pruner: tokio::task::JoinHandle<()>,
    /// SQLite's WAL checkpoints; none on PostgreSQL.
    checkpointer: Option<tokio::task::JoinHandle<()>>,
    statistics: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(settings: ServeSettings) -> anyhow::Result<Self> {
        let target = settings.database.target.clone();
        let pool_size = settings.database.pool_size;
        let db = actix_web::rt::task::spawn_blocking(move || -> anyhow::Result<Database> {
            let db = Database::connect_with(&target, pool_size, Checkpoints::Background)?;
            let applied = db.run_migrations()?;
            if !applied.is_empty() {
                tracing::info!(migrations = ?applied, "applied database migrations");
            }
            Ok(db)
        })
        .await
        .context("database start-up task failed")??;
        tracing::info!(backend = %db.backend(), "database ready");

        let jwt = JwtVerifier::new(
            &settings.jwt.key,
            settings.jwt.issuer.as_deref(),
            settings.jwt.audience.as_deref(),
        );
        // The AuthZEN key signs binding tokens and, in the dispatcher, ARAP callbacks.
        let signer = {
            let (db, now) = (db.clone(), settings.clock.now());
            actix_web::rt::task::spawn_blocking(move || Signer::load_or_create(&db, now))
                .await
                .context("AuthZEN key task failed")?
                .context("cannot load the AuthZEN signing key")?
        };
        let metrics = Arc::new(Metrics::new().context("cannot register metrics")?);
        let notifier = Arc::new(
            Dispatcher::new(
                db.clone(),
                settings.clock.clone(),
                &settings.notify,
                metrics.clone(),
                signer.signing_key(),
                settings.authzen.callback_allowed_hosts.clone(),
            )
            .context("cannot set up notifications")?,
        );
        if notifier.email_enabled() {
            tracing::info!(portal_url = %settings.notify.portal_url, "email on");
        } else {
            tracing::info!(
                "email off: set PORTCULLIS_SMTP_URL and PORTCULLIS_MAIL_FROM to send it"
            );
        }
        let jobs = tokio::spawn(crate::jobs::run(
            db.clone(),
            settings.clock.clone(),
            settings.job_interval,
            notifier.clone(),
        ));
        let statistics = settings
            .analyze_interval
            .map(|interval| tokio::spawn(crate::jobs::keep_statistics(db.clone(), interval)));
        let dispatcher = tokio::spawn(notifier.clone().run());
        let rate_limit = Arc::new(PrincipalRateLimiter::per_minute(
            settings.rate_limit_per_minute,
        ));
        let pruner = tokio::spawn({
            let rate_limit = rate_limit.clone();
            async move {
                let mut ticks = tokio::time::interval(RATE_LIMIT_PRUNE_INTERVAL);
                loop {
                    ticks.tick().await;
                    rate_limit.forget_idle();
                }
            }
        });
        // SQLite takes one writer at a time: its writes are batched, and its WAL is checkpointed
        // off the request path. PostgreSQL's writes run in parallel, and it checkpoints itself.
        let (group_commit, checkpointer) = match db.backend() {
            Backend::Sqlite => (
                Some(Arc::new(
                    GroupCommit::start(db.clone(), notifier.email_enabled())
                        .context("cannot start the database writer")?,
                )),
                Some(tokio::spawn(checkpoint_regularly(db.clone()))),
            ),
            Backend::Postgres => (None, None),
        };
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let bound = listener.local_addr()?;
        let pdp = Arc::new(Pdp {
            public_url: settings
                .authzen
                .public_url
                .clone()
                .unwrap_or_else(|| default_public_url(bound)),
            signer,
            callback_allowed_hosts: settings.authzen.callback_allowed_hosts.clone(),
        });
        // PostgreSQL's reads and writes wait for a connection in arrival order (see `AppState::turn`).
        let turns = match db.backend() {
            Backend::Postgres => {
                let connections = db.pool_status().first().map_or(1, |pool| pool.max_size);
                Some(Arc::new(tokio::sync::Semaphore::new(connections as usize)))
            }
            Backend::Sqlite => None,
        };
        let state = web::Data::new(AppState {
            group_commit,
            db,
            jwt: Arc::new(jwt),
            clock: settings.clock,
            notifier,
            rate_limit,
            cache: Arc::default(),
            pdp,
            turns,
        });
        let metrics = web::Data::from(metrics);
        let spec = crate::spec::spec();
        let routes = web::Data::new(RouteTable::from_spec(&spec));
        let cors_origins = Arc::new(settings.cors_origins);

        let port = bound.port();
        let server = HttpServer::new(move || {
            let (app, _) = crate::spec::documented_app();
            app.app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(routes.clone())
                .app_data(path_config())
                .service(crate::scim::scope())
                .service(
                    SwaggerUi::new("/swagger-ui/{_:.*}")
                        .url("/api-docs/openapi.json", spec.clone()),
                )
                .default_service(web::to(not_routed))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(cors_origins.clone()),
                ))
                .wrap(from_fn(security_headers))
                .wrap(from_fn(request_context))
        })
        .workers(settings.workers)
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
        .keep_alive(KEEP_ALIVE)
        .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            jobs,
            dispatcher,
            pruner,
            checkpointer,
            statistics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from elsewhere (tests stop theirs before removing its database).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.jobs.abort();
        self.dispatcher.abort();
        self.pruner.abort();
        if let Some(checkpointer) = self.checkpointer {
            checkpointer.abort();
        }
        if let Some(statistics) = self.statistics {
            statistics.abort();
        }
        result
    }
}

/// CORS for the configured front-end origins. The API's own origin (Swagger UI) is always allowed.
fn cors(origins: Arc<Vec<String>>) -> Cors {
    Cors::default()
        .allowed_origin_fn(move |origin, head| {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            let same_origin = head
                .headers()
                .get(http::header::HOST)
                .and_then(|host| host.to_str().ok())
                .is_some_and(|host| {
                    origin == format!("http://{host}") || origin == format!("https://{host}")
                });
            same_origin || origins.iter().any(|allowed| allowed == origin)
        })
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            http::header::IF_MATCH,
            http::header::HeaderName::from_static("idempotency-key"),
            http::header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            http::header::ETAG,
            http::header::LOCATION,
            http::header::RETRY_AFTER,
            http::header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(600)
}
