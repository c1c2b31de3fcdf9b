//! Bearer-token authentication and the authenticated principal.
//!
//! The token is checked by `crate::jwt`; its `sub` names a user by id, email or external id;
//! unknown and deactivated users are refused with the same answer as a bad signature, so a token
//! never reveals whether a user exists.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::{LocalBoxFuture, ready};
use portcullis_domain::directory::User;
use portcullis_persistence::repo;

use crate::error::ApiError;
use crate::jwt::INVALID_TOKEN;
/// The earlier path, which the benchmark still names.
pub use crate::jwt::TokenIssuer;
use crate::state::AppState;

/// Longest `Authorization` header accepted; real tokens are a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The authenticated caller: an active user of the directory (shared with the cache that found it).
#[derive(Debug, Clone)]
pub struct Principal(pub Arc<User>);

impl Principal {
    pub fn user(&self) -> &User {
        &self.0
    }

    pub fn is_admin(&self) -> bool {
        self.0.acts_as_admin()
    }

    /// The single check behind every admin-only operation.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this operation needs an administrator".to_owned(),
            ))
        }
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "A bearer token is required (Authorization: Bearer <JWT>).",
        ))?;
    if value.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::Unauthorized(INVALID_TOKEN));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized(INVALID_TOKEN))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "The Authorization header must use the Bearer scheme.",
        ));
    }
    Ok(token.trim().to_owned())
}

/// The outcome of authenticating a request, found once by [`authenticate`] before the route's
/// extractors run and read by [`Principal`] and [`Admin`] without waiting.
struct Authentication(Result<Principal, ApiError>);

/// Middleware of the `/v1` scope: verifies the bearer token, loads the user and spends their rate
/// allowance before any extractor runs, and stores the outcome for the route's extractors.
///
/// Why here and not in the extractor alone: actix-web polls a handler's extractors in argument
/// order and answers the first error it meets, but a pending extractor (a principal looked up in the
/// database) lets the next ones run, so a body's 422 could beat the caller's 401 or 403 and disclose
/// the schema of an operation the caller may not use. With the outcome known beforehand, `Principal`
/// and `Admin` are ready at their first poll and, placed before the path, query and body, win.
/// Unrouted paths ignore the outcome, so they still answer 404/405.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let outcome = resolve(req.request()).await;
    req.extensions_mut().insert(Authentication(outcome));
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Verifies the request's bearer token and finds its active user.
fn resolve(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Principal, ApiError>> {
    let token = bearer_token(req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let state = state.ok_or_else(|| ApiError::internal("application state is missing"))?;
        let claims = state.jwt.verify(&token?).map_err(ApiError::Unauthorized)?;
        let generation = state.cache.users_generation();
        let user = match state.cache.principal(generation, &claims.sub) {
            Some(user) => user,
            None => {
                let subject = claims.sub.clone();
                let user = state
                    .read(move |conn| Ok(repo::users::find_by_subject(conn, &subject)?))
                    .await?
                    .filter(|user| user.active)
                    .map(Arc::new)
                    .ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
                state
                    .cache
                    .remember_principal(generation, claims.sub.clone(), Arc::clone(&user));
                user
            }
        };
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        state.rate_limit.check(user.id)?;
        Ok(Principal(user))
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut extensions = req.extensions_mut();
        match extensions.remove::<Authentication>() {
            Some(Authentication(Ok(principal))) => {
                extensions.insert(Authentication(Ok(principal.clone())));
                Box::pin(ready(Ok(principal)))
            }
            Some(Authentication(Err(error))) => Box::pin(ready(Err(error))),
            // Outside the `/v1` scope (no middleware): authenticate here.
            None => {
                drop(extensions);
                resolve(req)
            }
        }
    }
}

/// An administrator: the extractor of every admin-only operation, in place of [`Principal`].
///
/// Put it before the path, `If-Match`, query and body extractors: a caller who is not an
/// administrator then gets 401/403 whatever the rest of the request holds (see [`authenticate`]).
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let principal = principal.await?;
            principal.require_admin()?;
            Ok(Admin(principal))
        })
    }
}
