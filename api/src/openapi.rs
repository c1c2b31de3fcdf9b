//! The OpenAPI document: generated from the handlers' annotations through `utoipa-actix-web`
//! scopes (so routes and docs cannot drift), plus the shared problem responses and security scheme.

use serde_json::json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::{PROBLEM_CONTENT_TYPE, Problem, ProblemFieldError};
use crate::v1::queue::{ApprovalTypeFilter, ExportFormat, StatusFilter};
use crate::v1::views::RequestState;

/// Declares a reusable problem response (`#/components/responses/<Name>`) with an example.
macro_rules! problem_response {
    ($($name:ident => $status:literal, $description:literal, $slug:literal, $title:literal, $detail:literal;)+) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                let example = json!({
                    "type": concat!("urn:portcullis:problem:", $slug),
                    "title": $title,
                    "status": $status,
                    "detail": $detail,
                    "request_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"
                });
                let content = ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .example(Some(example))
                    .build();
                (
                    stringify!($name),
                    ResponseBuilder::new()
                        .description($description)
                        .content(PROBLEM_CONTENT_TYPE, content)
                        .build()
                        .into(),
                )
            }
        }
    )+};
}

problem_response! {
    BadRequest => 400, "The request is malformed (unreadable JSON, bad query parameter or page token).",
        "bad-request", "Malformed request", "page_token: is not a token this API issued (use next_page_token as given)";
    Unauthorized => 401, "No bearer token, or one that is invalid, expired, or names no active user.",
        "unauthorized", "Authentication required", "The bearer token has expired.";
    Forbidden => 403, "The caller may not perform this operation.",
        "forbidden", "Not allowed", "this operation needs an administrator";
    NotFound => 404, "No such resource (or not visible to the caller).",
        "not-found", "Not found", "no user with id 0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80";
    Conflict => 409, "The change conflicts with the current state (a duplicate, or a rule on what exists).",
        "conflict", "Conflict", "a user with this email already exists";
    PreconditionFailed => 412, "`If-Match` names a version that is no longer current.",
        "precondition-failed", "Precondition failed", "the resource has changed (current ETag \"3\"); fetch it again and retry";
    PayloadTooLarge => 413, "The body is larger than the API accepts (64 KiB).",
        "payload-too-large", "Payload too large", "the body must be at most 65536 bytes";
    UnsupportedMediaType => 415, "The body is not JSON.",
        "unsupported-media-type", "Unsupported media type", "the body must be JSON (Content-Type: application/json)";
    TooManyRequests => 429, "This principal made too many requests (`PORTCULLIS_RATE_LIMIT_PER_MINUTE`); wait `Retry-After` seconds.",
        "rate-limited", "Too many requests", "this account made too many requests; retry in 3 s";
    UnprocessableEntity => 422, "Well-formed input that breaks a rule; `errors[]` names each field.",
        "validation", "Invalid input", "manager_id: this manager would create a cycle in the management chain";
    ServiceUnavailable => 503, "The database is unreachable or saturated; retry later.",
        "unavailable", "Service unavailable", "the database is not reachable";
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT whose `sub` is a user's id, email or external id. \
                         For local use: `portcullis token --email <email>`.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "Access requests with approval flows: people ask for access to an application or for \
temporary device-admin rights, the right approvers decide, access is granted (often for a limited time), and every \
step is audited, notified and exportable.\n\nAll errors are RFC 9457 problem documents \
(`application/problem+json`). Lists use cursor pagination: pass `next_page_token` back as `page_token`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The server that serves this document")),
    security(("bearer_auth" = [])),
    modifiers(&SecuritySchemes),
    components(
        // Enums that only query parameters use: named, so generated clients share one type each.
        schemas(Problem, ProblemFieldError, ApprovalTypeFilter, StatusFilter, ExportFormat, RequestState),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge,
            UnsupportedMediaType, UnprocessableEntity, TooManyRequests, ServiceUnavailable
        )
    ),
    tags(
        (name = "me", description = "The authenticated caller."),
        (name = "users", description = "People and integration accounts."),
        (name = "groups", description = "User groups and their members."),
        (name = "devices", description = "Devices and the users assigned to them."),
        (name = "approval-flows", description = "The policies requests follow: who may ask, who approves, for how long."),
        (name = "catalog", description = "What the caller may request."),
        (name = "settings", description = "Organisation-wide settings of access requests."),
        (name = "audit", description = "The audit log."),
        (name = "directory-sync", description = "Tokens for identity providers that push people and groups through SCIM 2.0 at `/scim/v2` (its own protocol: discovery at `/scim/v2/ServiceProviderConfig`, `/scim/v2/ResourceTypes`, `/scim/v2/Schemas`)."),
        (name = "webhooks", description = "Webhook channels: signed event notifications (Standard Webhooks), delivered from an outbox with retries, and their delivery log."),
        (name = "access-requests", description = "Requests for access, their approval and decisions."),
        (name = "access", description = "Grants and device-admin sessions: the access approvals give."),
        (name = "operations", description = "Health, readiness and metrics (no authentication)."),
    )
)]
pub struct ApiDoc;

/// The whole specification, as served at `/api-docs/openapi.json` and committed as `openapi.yaml`.
pub fn spec() -> utoipa::openapi::OpenApi {
    crate::startup::routes_for_spec()
}

pub fn spec_yaml() -> Result<String, String> {
    spec().to_yaml().map_err(|e| e.to_string())
}

/// Every `/v1` operation authenticates, so every one may answer 429 when its caller exceeds their
/// allowance: added here once rather than in each handler's annotation.
pub(crate) fn document_rate_limits(spec: &mut utoipa::openapi::OpenApi) {
    for (path, item) in spec.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.insert(
                "429".to_owned(),
                RefOr::Ref(utoipa::openapi::Ref::from_response_name("TooManyRequests")),
            );
        }
    }
}
