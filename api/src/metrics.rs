//! Prometheus metrics: requests by route and status, a latency histogram, and pool usage.

use std::time::Duration;

use portcullis_persistence::Database;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGaugeVec,
    deliveries: IntCounterVec,
    outbox_depth: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("portcullis".to_owned()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests served, by route template and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to serve HTTP requests",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["method", "route"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections by pool role and state",
            ),
            &["pool", "state"],
        )?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "deliveries_total",
                "Webhook and email delivery attempts, by kind and outcome (delivered, retried, failed, skipped)",
            ),
            &["kind", "outcome"],
        )?;
        let outbox_depth = IntGauge::new(
            "outbox_pending",
            "Notifications waiting in the outbox (due now or retrying later)",
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(outbox_depth.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool_connections,
            deliveries,
            outbox_depth,
        })
    }

    /// `route` is the matched route template (`/v1/users/{id}`), never the raw path, so that the
    /// number of series stays bounded.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_delivery(&self, kind: &str, outcome: &str) {
        self.deliveries.with_label_values(&[kind, outcome]).inc();
    }

    pub fn set_outbox_depth(&self, depth: i64) {
        self.outbox_depth.set(depth);
    }

    /// The text exposition, with pool gauges read at scrape time.
    pub fn render(&self, db: &Database) -> Result<String, prometheus::Error> {
        for pool in db.pool_status() {
            let gauge = |state: &str, value: u32| {
                self.pool_connections
                    .with_label_values(&[pool.role, state])
                    .set(i64::from(value));
            };
            gauge("idle", pool.idle);
            gauge("in_use", pool.size.saturating_sub(pool.idle));
            gauge("max", pool.max_size);
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
