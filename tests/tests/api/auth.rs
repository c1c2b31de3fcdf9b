use base64_helpers::b64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use portcullis_api::jwt::VerificationKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

mod base64_helpers {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "exp": now() + 600, "iat": now(), "iss": ISSUER, "aud": AUDIENCE })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// Sends `GET /v1/me` with this Authorization header value and expects a 401 problem; returns its detail.
async fn refused(app: &TestApp, authorization: Option<String>) -> String {
    let mut request = app.request(Method::GET, "/v1/me", None);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
    expect_problem(response, StatusCode::UNAUTHORIZED).await["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

both_backends! {
    async fn missing_and_malformed_credentials_are_refused(app: TestApp) {
        refused(&app, None).await;
        refused(&app, Some("Bearer".into())).await;
        refused(&app, Some("Bearer not-a-jwt".into())).await;
        refused(&app, Some(format!("Basic {}", app.admin_token))).await;
        refused(&app, Some(format!("Bearer {}", "a".repeat(10_000)))).await;
    }

    async fn tokens_with_a_forged_or_missing_signature_are_refused(app: TestApp) {
        let subject = app.admin_id.clone();
        refused(&app, Some(format!("Bearer {}", hs256(&claims(&subject), b"another-secret-another-secret-another-secret")))).await;
        let unsigned = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&claims(&subject)));
        refused(&app, Some(format!("Bearer {unsigned}"))).await;
        let tampered = {
            let token = app.admin_token.clone();
            let parts: Vec<&str> = token.split('.').collect();
            format!("{}.{}.{}", parts[0], b64(&with(claims(&subject), "sub", json!("someone-else"))), parts[2])
        };
        refused(&app, Some(format!("Bearer {tampered}"))).await;
    }

    async fn tokens_with_bad_claims_are_refused(app: TestApp) {
        let subject = app.admin_id.clone();
        let secret = SECRET.as_bytes();
        let expired = refused(&app, Some(format!("Bearer {}", hs256(&with(claims(&subject), "exp", json!(now() - 120)), secret)))).await;
        assert!(expired.contains("expired"), "{expired}");
        refused(&app, Some(format!("Bearer {}", hs256(&with(claims(&subject), "nbf", json!(now() + 3600)), secret)))).await;
        refused(&app, Some(format!("Bearer {}", hs256(&with(claims(&subject), "iss", json!("someone-else")), secret)))).await;
        refused(&app, Some(format!("Bearer {}", hs256(&with(claims(&subject), "aud", json!("another-api")), secret)))).await;
        refused(&app, Some(format!("Bearer {}", hs256(&without(claims(&subject), "exp"), secret)))).await;
        refused(&app, Some(format!("Bearer {}", hs256(&without(claims(&subject), "sub"), secret)))).await;
        refused(&app, Some(format!("Bearer {}", hs256(&without(claims(&subject), "iss"), secret)))).await;
        // The same valid claims are accepted, so the refusals above are about the claims alone.
        let accepted = app.request(Method::GET, "/v1/me", None)
            .bearer_auth(hs256(&claims(&subject), secret))
            .send()
            .await
            .unwrap();
        expect_status(accepted, StatusCode::OK).await;
    }

    async fn unknown_and_deactivated_users_get_the_same_answer_as_a_forged_token(app: TestApp) {
        let forged = refused(&app, Some(format!("Bearer {}", hs256(&claims(&app.admin_id), b"another-secret-another-secret-another-secret")))).await;
        let unknown = refused(&app, Some(format!("Bearer {}", app.token_for(&uuid::Uuid::now_v7().to_string())))).await;
        let unknown_email = refused(&app, Some(format!("Bearer {}", app.token_for("nobody@example.org")))).await;

        let user = app.create_user("leaver@example.org", "Leaver").await;
        let token = app.token_for(&user);
        expect_status(app.get("/v1/me", &token).await, StatusCode::OK).await;
        expect_status(app.patch(&format!("/v1/users/{user}"), &app.admin_token, &json!({ "active": false })).await, StatusCode::OK).await;
        let deactivated = refused(&app, Some(format!("Bearer {token}"))).await;

        expect_status(app.patch(&format!("/v1/users/{user}"), &app.admin_token, &json!({ "active": true })).await, StatusCode::OK).await;
        expect_status(app.delete(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let deleted = refused(&app, Some(format!("Bearer {token}"))).await;

        for detail in [&unknown, &unknown_email, &deactivated, &deleted] {
            assert_eq!(detail, &forged);
        }
    }
}

/// A server configured with an ES256 public key accepts tokens signed by its private key, and
/// refuses the classic confusion: an HS256 token whose HMAC secret is the public key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_key_servers_refuse_algorithm_confusion() {
    let secret_key = p256::SecretKey::random(&mut rand_core::OsRng);
    let public_pem = secret_key
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let private_pem = secret_key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let key = VerificationKey::from_public_pem(public_pem.as_bytes()).unwrap();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            key,
            ..Options::default()
        },
    )
    .await;

    let es256 = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims(&app.admin_id),
        &EncodingKey::from_ec_pem(private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let me = app
        .request(Method::GET, "/v1/me", None)
        .bearer_auth(&es256)
        .send()
        .await
        .unwrap();
    expect_status(me, StatusCode::OK).await;

    refused(
        &app,
        Some(format!(
            "Bearer {}",
            hs256(&claims(&app.admin_id), public_pem.as_bytes())
        )),
    )
    .await;
    refused(
        &app,
        Some(format!(
            "Bearer {}",
            hs256(&claims(&app.admin_id), SECRET.as_bytes())
        )),
    )
    .await;
}
