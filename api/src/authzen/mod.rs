//! AuthZEN: Portcullis as a policy decision point (Authorization API 1.0) whose denials can be
//! requested (the Access Request and Approval Profile). The protocols' own paths, outside `/v1`:
//! discovery at `/.well-known/authzen-configuration`, the rest under `/access/v1`. The rules are in
//! `portcullis_domain::authzen`; requests are submitted through the request aggregate's create path.

mod body;
mod decide;
mod discovery;
pub mod dto;
mod error;
mod evaluation;
pub(crate) mod pdp;
mod signer;
mod submission;
mod submit;
mod tasks;

pub use error::ArapError;
pub use pdp::Pdp;
pub use signer::Signer;

use utoipa_actix_web::scope::{self, Scope};

pub use discovery::get_authzen_configuration;

/// The `/access/v1` routes, registered once for serving and for the OpenAPI document. Requests are
/// authenticated as `/v1`'s are (the outcome is known before the body is read); the JWK Set needs no
/// token.
pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    scope::scope("/access/v1")
        .wrap(actix_web::middleware::from_fn(crate::auth::authenticate))
        .service(discovery::get_authzen_jwks)
        .service(evaluation::evaluate_access)
        .service(evaluation::evaluate_accesses)
        .service(submit::submit_access_request)
        .service(tasks::get_access_request_task)
        .service(tasks::cancel_access_request_task)
}
