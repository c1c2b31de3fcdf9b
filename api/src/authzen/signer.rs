//! Portcullis's own signing key for the binding tokens of requestable denials: Ed25519 (EdDSA),
//! made once and stored in the database so that every replica signs and verifies with it, and
//! published as a JWK Set (ARAP's `jwks_uri`). Bearer tokens may be verified with a public key only,
//! so Portcullis holds no signing secret of its own otherwise.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use portcullis_domain::authzen::BindingClaims;
use portcullis_persistence::Database;
use portcullis_persistence::repo::authzen;
use rand::RngCore;
use serde_json::{Value, json};

/// PKCS #8 v1's DER prefix of an Ed25519 private key; the 32-byte seed follows (RFC 8410).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The key binding tokens are signed and verified with.
pub struct Signer {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key, base64url (the JWK's `x`).
    public_x: String,
    /// The same key for raw signatures (ARAP callbacks' Standard Webhooks `v1a`).
    raw: ed25519_dalek::SigningKey,
}

impl Signer {
    pub fn from_seed(kid: String, seed: [u8; 32]) -> Self {
        let raw = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = raw.verifying_key().to_bytes();
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        Self {
            kid,
            encoding: EncodingKey::from_ed_der(&der),
            decoding: DecodingKey::from_ed_der(&public),
            public_x: URL_SAFE_NO_PAD.encode(public),
            raw,
        }
    }

    /// The key itself, for signatures that are not JWS (callbacks).
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        self.raw.clone()
    }

    /// The stored key, or a new one stored now (the first replica to store it wins; the others
    /// read it back).
    pub fn load_or_create(db: &Database, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let mut conn = db.writer()?;
        if let Some((kid, seed)) = authzen::signing_key(&mut conn)? {
            return Self::decode(kid, &seed);
        }
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let kid = format!("pdp-{}", uuid::Uuid::now_v7().simple());
        // A concurrent replica may have stored its key first: whichever is oldest is read back.
        let _ = authzen::insert_signing_key(&mut conn, &kid, &URL_SAFE_NO_PAD.encode(seed), now);
        let (kid, seed) = authzen::signing_key(&mut conn)?
            .ok_or_else(|| anyhow::anyhow!("the AuthZEN signing key could not be stored"))?;
        Self::decode(kid, &seed)
    }

    fn decode(kid: String, seed: &str) -> anyhow::Result<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(seed)?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the stored AuthZEN signing key is not 32 bytes"))?;
        Ok(Self::from_seed(kid, seed))
    }

    pub fn sign(&self, claims: &BindingClaims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The claims of a binding token this server signed for `audience` as `issuer`; its expiry is
    /// left to [`BindingClaims::check`] (an expired denial has its own answer).
    pub fn verify(&self, token: &str, issuer: &str, audience: &str) -> Option<BindingClaims> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iss", "aud", "exp"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        jsonwebtoken::decode::<BindingClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// The JWK Set of `jwks_uri`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.public_x,
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }]})
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn claims() -> BindingClaims {
        let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        BindingClaims {
            iss: "https://pdp".into(),
            aud: "https://pdp/access/v1/requests".into(),
            iat: at.timestamp(),
            exp: at.timestamp() + 600,
            jti: "j".into(),
            evaluation_id: "e".into(),
            denial_expires_at: at,
            subject: json!({"type": "user", "id": "a"}),
            resource: json!({"type": "group", "id": "g"}),
            action: json!({"name": "member"}),
            binding_context_members: Vec::new(),
            template: "f".into(),
        }
    }

    #[test]
    fn a_token_verifies_with_its_key_only() {
        let signer = Signer::from_seed("k1".into(), [7; 32]);
        let token = signer.sign(&claims()).unwrap();
        assert_eq!(
            signer.verify(&token, "https://pdp", "https://pdp/access/v1/requests"),
            Some(claims())
        );
        assert_eq!(signer.verify(&token, "https://pdp", "https://other"), None);
        let other = Signer::from_seed("k1".into(), [8; 32]);
        assert_eq!(
            other.verify(&token, "https://pdp", "https://pdp/access/v1/requests"),
            None
        );
        let mut tampered = token.clone();
        tampered.insert(token.len() - 3, 'A');
        assert_eq!(
            signer.verify(&tampered, "https://pdp", "https://pdp/access/v1/requests"),
            None
        );
    }
}
