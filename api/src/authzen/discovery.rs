//! The PDP's metadata and the JWK Set of its binding tokens. Public: no token needed.

use actix_web::{HttpResponse, get, web};
use portcullis_domain::authzen::ACCESS_REQUEST_CAPABILITY;
use serde_json::Value;

use super::dto::AuthzenConfiguration;
use crate::state::AppState;

/// Discover the AuthZEN policy decision point
///
/// Portcullis's AuthZEN metadata (Authorization API 1.0, with the Access Request and Approval
/// Profile). `policy_decision_point` is `PORTCULLIS_PUBLIC_URL`. Subjects are `{"type": "user",
/// "id": <email or id>}`; a group membership is `{"type": "group", "id": <group id>}` with
/// `{"name": "member"}`; a device-admin right is `{"type": "device", "id": <device id>}` with
/// `{"name": "admin"}`.
#[utoipa::path(
    tag = "authzen",
    security(()),
    responses((status = 200, description = "The PDP's metadata", body = AuthzenConfiguration))
)]
#[get("/.well-known/authzen-configuration")]
pub async fn get_authzen_configuration(state: web::Data<AppState>) -> HttpResponse {
    let pdp = &state.pdp;
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300"))
        .json(AuthzenConfiguration {
            policy_decision_point: pdp.public_url.clone(),
            access_evaluation_endpoint: pdp.endpoint("/access/v1/evaluation"),
            access_evaluations_endpoint: pdp.endpoint("/access/v1/evaluations"),
            access_request_endpoint: pdp.request_endpoint(),
            jwks_uri: pdp.endpoint("/access/v1/jwks"),
            capabilities: vec![ACCESS_REQUEST_CAPABILITY.to_owned()],
        })
}

/// Get the keys of binding tokens
///
/// The JWK Set (`jwks_uri`) that verifies the `binding_token` of requestable denials: one Ed25519
/// key, made once and shared by every replica.
#[utoipa::path(
    tag = "authzen",
    security(()),
    responses((status = 200, description = "A JWK Set (RFC 7517)", body = Object,
        example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "pdp-0193a6f27c1e7b3a9f4e2d1c5b6a7e80", "use": "sig", "alg": "EdDSA"}]})))
)]
#[get("/jwks")]
pub async fn get_authzen_jwks(state: web::Data<AppState>) -> web::Json<Value> {
    web::Json(state.pdp.signer.jwks())
}
