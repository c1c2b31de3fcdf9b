//! The OpenAPI document: generated from the handlers' annotations through `utoipa-actix-web`
//! scopes (so routes and docs cannot drift), plus the shared components (`crate::openapi`'s problem
//! responses, the query-parameter enums) and the security scheme. It stands above the handlers it
//! describes; they name only `crate::openapi`.

use actix_web::App;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use utoipa::openapi::RefOr;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{Problem, ProblemFieldError};
use crate::openapi::*;
use crate::v1::catalog::Availability;
use crate::v1::manage::ManageView;
use crate::v1::queue::{ApprovalTypeFilter, ExportFormat, StatusFilter};
use crate::v1::views::RequestState;
use crate::{ops, v1};

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
        schemas(
            Problem, ProblemFieldError, ApprovalTypeFilter, StatusFilter, ExportFormat, RequestState,
            Availability, ManageView
        ),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge,
            UnsupportedMediaType, UnprocessableEntity, TooManyRequests, BreakGlassTooMany,
            ServiceUnavailable
        )
    ),
    tags(
        (name = "me", description = "The authenticated caller."),
        (name = "users", description = "People and integration accounts."),
        (name = "groups", description = "User groups and their members."),
        (name = "devices", description = "Devices and the users assigned to them."),
        (name = "approval-flows", description = "The policies requests follow: who may ask, who approves, for how long."),
        (name = "catalog", description = "What the caller may request."),
        (name = "help-requests", description = "Questions about a flow for its App Admins (seed 004's \"ask for help\"); they never grant access."),
        (name = "settings", description = "Organisation-wide settings of access requests."),
        (name = "audit", description = "The audit log."),
        (name = "directory-sync", description = "Tokens for identity providers that push people and groups through SCIM 2.0 at `/scim/v2` (its own protocol: discovery at `/scim/v2/ServiceProviderConfig`, `/scim/v2/ResourceTypes`, `/scim/v2/Schemas`)."),
        (name = "slack", description = "Slack approvals: the connection to a Slack app, the delivery log of its messages, and the interactions endpoint Slack calls when approvers click Approve or Deny."),
        (name = "webhooks", description = "Webhook channels: signed event notifications (Standard Webhooks), delivered from an outbox with retries, and their delivery log."),
        (name = "access-requests", description = "Requests for access, their approval and decisions."),
        (name = "access", description = "Grants and device-admin sessions: the access approvals give."),
        (name = "operations", description = "Health, readiness and metrics (no authentication)."),
        (name = "authzen", description = "OpenID AuthZEN: Portcullis as a policy decision point (Authorization API 1.0) whose denials can be requested (the Access Request and Approval Profile). The protocols' own paths: discovery at `/.well-known/authzen-configuration`, the rest under `/access/v1`. Subject `{\"type\": \"user\", \"id\": <email or id>}`; resource `{\"type\": \"group\", \"id\"}` with action `{\"name\": \"member\"}`, or `{\"type\": \"device\", \"id\"}` with `{\"name\": \"admin\"}`. Errors of the access-request surface use the profile's problem types (`urn:openid:authzen:access-request:error:*`)."),
    )
)]
pub struct ApiDoc;

/// A new app with every operation this document describes, and their document as the
/// annotations give it: the server serves this app (adding what the document leaves out, such as
/// SCIM and Swagger UI), and [`spec`] completes the document, so routes and docs cannot drift.
pub(crate) fn documented_app() -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(v1::scope())
        .service(crate::authzen::get_authzen_configuration)
        .service(crate::authzen::scope())
        .split_for_parts()
}

/// The whole specification, as served at `/api-docs/openapi.json` and committed as `openapi.yaml`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut spec) = documented_app();
    document_rate_limits(&mut spec);
    crate::openapi_rules::apply(spec)
}

pub fn spec_yaml() -> Result<String, String> {
    spec().to_yaml().map_err(|e| e.to_string())
}

/// Every `/v1` operation authenticates, so every one may answer 429 when its caller exceeds their
/// allowance: added here once rather than in each handler's annotation.
fn document_rate_limits(spec: &mut utoipa::openapi::OpenApi) {
    for (path, item) in spec.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        // An operation with a rate limit of its own documents its 429 itself.
        for operation in crate::openapi_rules::operations_mut(item) {
            operation
                .responses
                .responses
                .entry("429".to_owned())
                .or_insert_with(|| {
                    RefOr::Ref(utoipa::openapi::Ref::from_response_name("TooManyRequests"))
                });
        }
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    /// A rule for a schema or property that no longer exists would silently state nothing.
    #[test]
    fn every_field_rule_names_a_property_of_the_contract() {
        let spec = spec();
        let components = spec.components.expect("the spec has components");
        for (schema, field, _) in crate::openapi_rules::stricter_rules() {
            let found = components.schemas.get(schema).map(|s| {
                serde_json::to_value(s).is_ok_and(|s| s["properties"].get(field).is_some())
            });
            assert_eq!(found, Some(true), "{schema}.{field} is not in the contract");
        }
    }
}
