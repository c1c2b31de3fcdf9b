//! Bearer-token authentication and the authenticated principal.
//!
//! Tokens are JWTs signed with the one algorithm configured (HS256 with a shared secret, or RS256 /
//! ES256 with a public key), so `alg: none` and algorithm confusion are rejected by construction.
//! `exp` and `sub` are required; `iss`/`aud` are checked when configured. `sub` names a user by
//! id, email or external id; unknown and deactivated users are refused with the same answer as a
//! bad signature, so a token never reveals whether a user exists.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::{LocalBoxFuture, ready};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use portcullis_domain::directory::User;
use portcullis_persistence::repo;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

/// Longest `Authorization` header accepted; real tokens are a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Accepted clock skew between the token issuer and this server.
const LEEWAY_SECONDS: u64 = 30;

const INVALID_TOKEN: &str = "The bearer token is invalid, or its subject is not an active user.";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// How tokens are verified.
pub enum VerificationKey {
    /// HS256 with a shared secret (at least 32 bytes).
    Secret(SecretString),
    /// RS256 or ES256 with a PEM public key.
    Public {
        algorithm: Algorithm,
        key: DecodingKey,
    },
}

impl VerificationKey {
    /// Reads a PEM public key: an RSA key selects RS256, a P-256 EC key ES256.
    pub fn from_public_pem(pem: &[u8]) -> Result<Self, String> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self::Public {
                algorithm: Algorithm::RS256,
                key,
            });
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            return Ok(Self::Public {
                algorithm: Algorithm::ES256,
                key,
            });
        }
        Err("is not a PEM RSA or EC (P-256) public key".to_owned())
    }
}

pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(key: &VerificationKey, issuer: Option<&str>, audience: Option<&str>) -> Self {
        let (algorithm, key) = match key {
            VerificationKey::Secret(secret) => (
                Algorithm::HS256,
                DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            ),
            VerificationKey::Public { algorithm, key } => (*algorithm, key.clone()),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Self { key, validation }
    }

    /// Checks the signature and claims; the error is the detail for the 401.
    pub fn verify(&self, token: &str) -> Result<Claims, &'static str> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "The bearer token has expired.",
                ErrorKind::ImmatureSignature => "The bearer token is not valid yet.",
                ErrorKind::InvalidIssuer => {
                    "The bearer token was issued by an issuer this server does not trust."
                }
                ErrorKind::InvalidAudience => "The bearer token is meant for another audience.",
                _ => INVALID_TOKEN,
            })
    }
}

/// Mints HS256 tokens (the `token` sub-command and tests).
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl TokenIssuer {
    pub fn new(secret: &SecretString, issuer: Option<String>, audience: Option<String>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            issuer,
            audience,
        }
    }

    pub fn issue(
        &self,
        subject: &str,
        now: i64,
        ttl_seconds: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: subject.to_owned(),
            exp: now + ttl_seconds,
            iat: Some(now),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}

/// The authenticated caller: an active user of the directory.
#[derive(Debug, Clone)]
pub struct Principal(pub User);

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
                    .ok_or(ApiError::Unauthorized(INVALID_TOKEN))?;
                state
                    .cache
                    .remember_principal(generation, claims.sub, user.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("a-test-secret-that-is-long-enough-0123456789")
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_token_from_the_issuer_verifies() {
        let verifier =
            JwtVerifier::new(&VerificationKey::Secret(secret()), Some("iss"), Some("aud"));
        let token = TokenIssuer::new(&secret(), Some("iss".into()), Some("aud".into()))
            .issue("ada@example.com", now(), 60)
            .unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, "ada@example.com");
    }

    #[test]
    fn expired_wrong_issuer_and_wrong_audience_tokens_are_refused() {
        let verifier =
            JwtVerifier::new(&VerificationKey::Secret(secret()), Some("iss"), Some("aud"));
        let expired = TokenIssuer::new(&secret(), Some("iss".into()), Some("aud".into()))
            .issue("a", now() - 3600, 60)
            .unwrap();
        assert_eq!(
            verifier.verify(&expired).unwrap_err(),
            "The bearer token has expired."
        );
        let other_issuer = TokenIssuer::new(&secret(), Some("evil".into()), Some("aud".into()))
            .issue("a", now(), 60)
            .unwrap();
        assert!(
            verifier
                .verify(&other_issuer)
                .unwrap_err()
                .contains("issuer")
        );
        let other_audience = TokenIssuer::new(&secret(), Some("iss".into()), Some("other".into()))
            .issue("a", now(), 60)
            .unwrap();
        assert!(
            verifier
                .verify(&other_audience)
                .unwrap_err()
                .contains("audience")
        );
    }

    #[test]
    fn unsigned_and_foreign_tokens_are_refused() {
        let verifier = JwtVerifier::new(&VerificationKey::Secret(secret()), None, None);
        let forged = TokenIssuer::new(
            &SecretString::from("another-secret-another-secret-0123456789"),
            None,
            None,
        )
        .issue("a", now(), 60)
        .unwrap();
        assert_eq!(verifier.verify(&forged).unwrap_err(), INVALID_TOKEN);
        // {"alg":"none","typ":"JWT"} . {"sub":"a","exp":9999999999} . (no signature)
        let unsigned =
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIiwiZXhwIjo5OTk5OTk5OTk5fQ.";
        assert_eq!(verifier.verify(unsigned).unwrap_err(), INVALID_TOKEN);
    }
}
