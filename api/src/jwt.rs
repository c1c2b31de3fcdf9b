//! The bearer tokens: JWTs signed with the one algorithm configured (HS256 with a shared secret, or
//! RS256 / ES256 with a public key), so `alg: none` and algorithm confusion are rejected by
//! construction. `exp` and `sub` are required; `iss`/`aud` are checked when configured.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Accepted clock skew between the token issuer and this server.
const LEEWAY_SECONDS: u64 = 30;

/// At most this many verified tokens are remembered (a busy server's callers, as for principals).
const VERIFIED_TOKENS: usize = 10_000;

const EXPIRED: &str = "The bearer token has expired.";
const NOT_YET_VALID: &str = "The bearer token is not valid yet.";

pub(crate) const INVALID_TOKEN: &str =
    "The bearer token is invalid, or its subject is not an active user.";

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
    /// Tokens that verified, by their exact text, with their claims. A gateway or a front end sends
    /// the same token on every call, and checking a signature costs microseconds (HS256) to tens of
    /// microseconds (RS256, ES256). The same bytes carry the same signature, issuer and audience, so
    /// a hit only checks again what time changes: `exp` and `nbf`. A token that failed is never kept.
    verified: quick_cache::sync::Cache<String, Arc<Claims>>,
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
        Self {
            key,
            validation,
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        }
    }

    /// Checks the signature and claims; the error is the detail for the 401.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, &'static str> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// [`JwtVerifier::verify`] at `now` (seconds since the epoch): a remembered token's time claims
    /// are checked against it as `jsonwebtoken` checks a new token's against the system clock.
    fn verify_at(&self, token: &str, now: u64) -> Result<Arc<Claims>, &'static str> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.decode(token)?);
                self.verified.insert(token.to_owned(), Arc::clone(&claims));
                claims
            }
        };
        current(&claims, now)?;
        Ok(claims)
    }

    fn decode(&self, token: &str) -> Result<Claims, &'static str> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => EXPIRED,
                ErrorKind::ImmatureSignature => NOT_YET_VALID,
                ErrorKind::InvalidIssuer => {
                    "The bearer token was issued by an issuer this server does not trust."
                }
                ErrorKind::InvalidAudience => "The bearer token is meant for another audience.",
                _ => INVALID_TOKEN,
            })
    }
}

/// `jsonwebtoken`'s time rules: expired once `exp` is more than the leeway past, not yet valid while
/// `nbf` is more than the leeway ahead.
fn current(claims: &Claims, now: u64) -> Result<(), &'static str> {
    let (now, leeway) = (i128::from(now), i128::from(LEEWAY_SECONDS));
    if i128::from(claims.exp) < now - leeway {
        return Err(EXPIRED);
    }
    if claims.nbf.is_some_and(|nbf| i128::from(nbf) > now + leeway) {
        return Err(NOT_YET_VALID);
    }
    Ok(())
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
        // Refused again, not remembered.
        assert_eq!(verifier.verify(&forged).unwrap_err(), INVALID_TOKEN);
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires_and_while_it_is_not_yet_valid() {
        let verifier = JwtVerifier::new(&VerificationKey::Secret(secret()), None, None);
        let issued_at = now();
        let token = TokenIssuer::new(&secret(), None, None)
            .issue("ada@example.com", issued_at, 60)
            .unwrap();
        let at = |seconds: i64| u64::try_from(seconds).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, "ada@example.com");
        assert_eq!(verifier.verified.len(), 1);
        // Remembered: 60 s of life and 30 s of leeway.
        assert!(verifier.verify_at(&token, at(issued_at + 90)).is_ok());
        assert_eq!(
            verifier.verify_at(&token, at(issued_at + 91)).unwrap_err(),
            EXPIRED
        );

        let mut claims = Claims {
            sub: "bob@example.com".into(),
            exp: issued_at + 3600,
            iat: Some(issued_at),
            nbf: Some(issued_at + 20),
            iss: None,
            aud: None,
        };
        let early = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret().expose_secret().as_bytes()),
        )
        .unwrap();
        // Within the leeway now, so it verifies and is remembered; a clock 11 s earlier is outside it.
        assert!(verifier.verify(&early).is_ok());
        assert_eq!(
            verifier.verify_at(&early, at(issued_at - 11)).unwrap_err(),
            NOT_YET_VALID
        );
        claims.nbf = None;
        assert!(current(&claims, at(issued_at - 11)).is_ok());
    }
}
