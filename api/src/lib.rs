//! The Portcullis HTTP API: actix-web handlers under `/v1`, JWT auth, RFC 9457 problems, the
//! generated OpenAPI document, Swagger UI and operations endpoints.

// The larger schema examples (`json!` inside `#[schema(example = …)]`) nest deeper than the default.
#![recursion_limit = "256"]

pub mod auth;
pub mod authzen;
pub mod cache;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod etag;
pub mod extractors;
pub mod fallback;
pub mod group_commit;
pub mod jobs;
pub mod jwt;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod openapi_rules;
pub mod ops;
pub mod pagination;
pub mod rate_limit;
pub mod request_id;
pub mod scim;
pub mod security_headers;
pub mod services;
pub mod slack;
pub mod spec;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod tx;
pub mod v1;

pub use startup::Application;
