//! How bearer tokens are verified: a shared secret or a public key, and the claims required.

use std::path::PathBuf;

use clap::Args;
use secrecy::SecretString;

use super::non_empty;
use crate::jwt::VerificationKey;

/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size).
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Args)]
pub struct JwtArgs {
    /// HS256 shared secret (at least 32 bytes).
    #[arg(long, env = "PORTCULLIS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key for RS256 (RSA) or ES256 (P-256) tokens, instead of a secret.
    #[arg(long, env = "PORTCULLIS_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Required `iss` claim.
    #[arg(long, env = "PORTCULLIS_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim.
    #[arg(long, env = "PORTCULLIS_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
}

pub struct JwtSettings {
    pub key: VerificationKey,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl JwtArgs {
    pub fn secret(&self) -> Result<Option<SecretString>, String> {
        match self.jwt_secret.as_deref() {
            None | Some("") => Ok(None),
            Some(secret) if secret.len() < MIN_SECRET_BYTES => Err(format!(
                "PORTCULLIS_JWT_SECRET: must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`)"
            )),
            Some(secret) => Ok(Some(SecretString::from(secret.to_owned()))),
        }
    }

    pub fn settings(&self) -> Result<JwtSettings, Vec<String>> {
        let secret = self.secret().map_err(|e| vec![e])?;
        let key = match (secret, &self.jwt_public_key_file) {
            (Some(_), Some(_)) => {
                return Err(vec![
                    "PORTCULLIS_JWT_PUBLIC_KEY_FILE: set either it or PORTCULLIS_JWT_SECRET, not both".to_owned(),
                ]);
            }
            (Some(secret), None) => VerificationKey::Secret(secret),
            (None, Some(path)) => {
                let pem = std::fs::read(path).map_err(|e| {
                    vec![format!(
                        "PORTCULLIS_JWT_PUBLIC_KEY_FILE: cannot read {}: {e}",
                        path.display()
                    )]
                })?;
                VerificationKey::from_public_pem(&pem).map_err(|e| {
                    vec![format!(
                        "PORTCULLIS_JWT_PUBLIC_KEY_FILE: {} {e}",
                        path.display()
                    )]
                })?
            }
            (None, None) => {
                return Err(vec![
                    "PORTCULLIS_JWT_SECRET: required to verify tokens (or set PORTCULLIS_JWT_PUBLIC_KEY_FILE); \
                     `make run` generates one for local use"
                        .to_owned(),
                ]);
            }
        };
        Ok(JwtSettings {
            key,
            issuer: non_empty(self.jwt_issuer.as_ref()),
            audience: non_empty(self.jwt_audience.as_ref()),
        })
    }
}
