//! Slack's request signatures (<https://api.slack.com/authentication/verifying-requests-from-slack>):
//! `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">` keyed with the app's
//! signing secret, and `X-Slack-Request-Timestamp` no more than five minutes away.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now.
pub const MAX_AGE_SECONDS: i64 = 5 * 60;

/// Why a request is not Slack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Forged {
    #[error("the request has no Slack signature")]
    Missing,
    #[error("the request's timestamp is more than five minutes away")]
    Stale,
    #[error("the Slack signature does not match")]
    Mismatch,
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value for a body (what Slack sends; the tests' fake Slack signs with it).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

/// Checks a request before anything else reads it: the timestamp's freshness against `now` (Unix
/// seconds), then the signature, compared in constant time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Forged> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Forged::Missing);
    };
    let sent: i64 = timestamp.trim().parse().map_err(|_| Forged::Stale)?;
    if (now - sent).abs() > MAX_AGE_SECONDS {
        return Err(Forged::Stale);
    }
    let hex = signature.strip_prefix("v0=").ok_or(Forged::Mismatch)?;
    let expected = decode_hex(hex).ok_or(Forged::Mismatch)?;
    mac(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| Forged::Mismatch)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's documented example (signing secret, timestamp, body and signature).
    #[test]
    fn verifies_slacks_documented_example() {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, "1531420618", body), signature);
        assert_eq!(
            verify(
                secret,
                Some("1531420618"),
                Some(signature),
                body,
                1_531_420_618 + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_stale_forged_and_missing_signatures() {
        let body = b"payload=%7B%7D";
        let good = sign("secret", "1000", body);
        assert_eq!(
            verify("secret", Some("1000"), Some(&good), body, 1000 + 301),
            Err(Forged::Stale)
        );
        assert_eq!(
            verify("other", Some("1000"), Some(&good), body, 1000),
            Err(Forged::Mismatch)
        );
        assert_eq!(
            verify("secret", Some("1000"), Some(&good), b"payload=x", 1000),
            Err(Forged::Mismatch)
        );
        assert_eq!(
            verify("secret", None, Some(&good), body, 1000),
            Err(Forged::Missing)
        );
        assert_eq!(
            verify("secret", Some("1000"), Some("v0=zz"), body, 1000),
            Err(Forged::Mismatch)
        );
    }
}
