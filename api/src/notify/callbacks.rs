//! ARAP callbacks (AuthZEN issue 28): a PEP that submitted an access request with a `callback` is
//! told when its task completes. The notification goes through the outbox, so it is retried with
//! backoff and every attempt is logged like a webhook delivery's; it is signed the Standard Webhooks
//! way (`webhook-id`, `webhook-timestamp`, `webhook-signature`), with the asymmetric scheme (`v1a`,
//! Ed25519) and the PDP's own key, which receivers verify with the public key at `jwks_uri`: no
//! secret is shared with any PEP.
//!
//! Server-side request forgery: a destination on a loopback, link-local, private-use or otherwise
//! internal address is refused unless its host is allow-listed (`PORTCULLIS_CALLBACK_ALLOWED_HOSTS`),
//! when the submission asks for it and again when the callback is sent (names are resolved by a
//! resolver that drops internal addresses, so a name cannot be re-pointed inward in between).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use portcullis_domain::authzen::TaskStatus;
use portcullis_domain::request::{AccessRequest, RequestStatus};
use portcullis_persistence::repo::authzen;
use portcullis_persistence::repo::outbox::{self, NewEntry};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::AllowedHosts;
use crate::error::ApiError;
use crate::tx::Tx;

/// The event names a submission's `callback.events` may list (ARAP's; `failed` and `partial` never
/// happen here: a Portcullis request in error is retried, and bulk submissions are not taken).
pub const EVENTS: [&str; 6] = [
    "approved",
    "denied",
    "expired",
    "cancelled",
    "failed",
    "partial",
];

/// A task's callback as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `None`: every completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// The task's status endpoint, named in the notification.
    pub status_endpoint: String,
}

/// What signs and carries callbacks: the PDP's Ed25519 key and the allow-list.
pub struct Callbacks {
    key: SigningKey,
    allowed: AllowedHosts,
    client: reqwest::Client,
}

impl Callbacks {
    pub fn new(
        key: SigningKey,
        allowed: AllowedHosts,
        timeout: std::time::Duration,
    ) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicResolver {
                allowed: allowed.clone(),
            }))
            .user_agent(concat!("Portcullis-Callbacks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            key,
            allowed,
            client,
        })
    }

    /// The `webhook-signature` value: `v1a,` and the base64 Ed25519 signature of
    /// `{webhook-id}.{webhook-timestamp}.{body}` (Standard Webhooks' asymmetric scheme).
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &str) -> String {
        let signature = self
            .key
            .sign(format!("{message_id}.{timestamp}.{body}").as_bytes());
        format!("v1a,{}", BASE64.encode(signature.to_bytes()))
    }

    /// Sends one stored callback entry (`{"endpoint", "body"}`).
    pub async fn send(&self, message_id: &str, payload: &str) -> super::webhook::CallResult {
        let refused = |error: String| super::webhook::CallResult {
            status_code: None,
            latency: std::time::Duration::ZERO,
            error: Some(error),
        };
        let Ok(entry) = serde_json::from_str::<Entry>(payload) else {
            return refused("unreadable callback entry".to_owned());
        };
        let Ok(url) = Url::parse(&entry.endpoint) else {
            return refused("the callback endpoint is not a URL".to_owned());
        };
        if let Err(error) = literal_destination(&url, &self.allowed) {
            return refused(format!("refused: {error}"));
        }
        super::webhook::call(
            &self.client,
            url.as_str(),
            message_id,
            &entry.body,
            |id, timestamp, body| Ok(self.sign(id, timestamp, body)),
        )
        .await
    }
}

/// A callback entry in the outbox: where, and the exact body that is signed.
#[derive(Serialize, Deserialize)]
struct Entry {
    endpoint: String,
    body: String,
}

/// The checks that need no name resolution: https (plain http only to an allow-listed host), no
/// credentials in the URL, and an address literal that is public unless allow-listed.
fn literal_destination(url: &Url, allowed: &AllowedHosts) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default();
    let listed = allowed.allows(host, url.port_or_known_default());
    match url.scheme() {
        "https" => {}
        "http" if listed => {}
        "http" => {
            return Err(
                "must be an https URL (plain http only to an allow-listed host)".to_owned(),
            );
        }
        _ => return Err("must be an https URL".to_owned()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".to_owned());
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err("must name a host".to_owned()),
    };
    if !listed && literal.is_some_and(is_internal) {
        return Err(internal(host));
    }
    Ok(())
}

fn internal(host: &str) -> String {
    format!(
        "'{host}' is a loopback, link-local, private or otherwise internal destination: an administrator must allow-list it (PORTCULLIS_CALLBACK_ALLOWED_HOSTS)"
    )
}

/// Whether `url` may receive callbacks, resolving its host now: what [`literal_destination`]
/// checks, and for a name that is not allow-listed, that it resolves and only to public addresses.
pub async fn check_destination(url: &Url, allowed: &AllowedHosts) -> Result<(), String> {
    literal_destination(url, allowed)?;
    let host = url.host_str().unwrap_or_default();
    if allowed.allows(host, url.port_or_known_default()) {
        return Ok(());
    }
    if let Some(url::Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| format!("the host '{name}' does not resolve"))?
            .collect();
        if addresses.is_empty() {
            return Err(format!("the host '{name}' does not resolve"));
        }
        if addresses.iter().any(|a| is_internal(a.ip())) {
            return Err(internal(name));
        }
    }
    Ok(())
}

/// Resolves names for callback calls, keeping public addresses only (all of them for an
/// allow-listed host).
struct PublicResolver {
    allowed: AllowedHosts,
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let listed = self.allowed.allows_host(name.as_str());
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|address| listed || !is_internal(address.ip()))
                .collect();
            if kept.is_empty() {
                return Err(internal(name.as_str()).into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// Loopback, unspecified, private-use, shared (CGNAT), link-local, documentation, benchmarking,
/// reserved, broadcast, multicast and unique-local addresses: everything a public callback endpoint
/// is not.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => internal_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(mapped) = ip.to_ipv4_mapped() {
                return internal_v4(mapped);
            }
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                // Site-local (deprecated), documentation, and NAT64 (which reaches IPv4 inside).
                || first & 0xffc0 == 0xfec0
                || (first == 0x2001 && ip.segments()[1] == 0x0db8)
                || (first == 0x0064 && ip.segments()[1] == 0xff9b)
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240
}

/// Queues the callback of `after`'s AuthZEN task when this change completes it: a request denied,
/// canceled or expired, or approved with its access given (`access_given`: the change made the
/// grant or session). In the change's transaction, so the notification is sent if and only if the
/// change commits. A task whose submission was answered with its result at once (an automatic
/// flow) was written after that change, and is not called back.
pub fn on_request_change(
    conn: &mut Tx,
    before: Option<&AccessRequest>,
    after: &AccessRequest,
    access_given: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let status = match after.status() {
        RequestStatus::Denied | RequestStatus::Canceled | RequestStatus::Expired
            if before.map(AccessRequest::status) != Some(after.status()) =>
        {
            TaskStatus::of(after.status(), false)
        }
        RequestStatus::Approved if access_given => TaskStatus::Approved,
        _ => return Ok(()),
    };
    // The event the change recorded said whether the request has a callback (nearly always not).
    if conn.has_callback(&after.id().to_string()) == Some(false) {
        return Ok(());
    }
    let Some((task_id, stored)) = authzen::callback_of(conn, after.id())? else {
        return Ok(());
    };
    let callback: Callback = serde_json::from_str(&stored).map_err(ApiError::internal)?;
    if callback
        .events
        .as_ref()
        .is_some_and(|events| !events.iter().any(|e| e == status.as_str()))
    {
        return Ok(());
    }
    let mut body = json!({
        "task": {
            "id": task_id,
            "status": status.as_str(),
            "status_endpoint": callback.status_endpoint,
        }
    });
    if let Some(state) = &callback.state {
        body["state"] = json!(state);
    }
    let entry = Entry {
        endpoint: callback.endpoint,
        body: body.to_string(),
    };
    outbox::enqueue(
        conn,
        &NewEntry {
            kind: outbox::CALLBACK,
            channel_id: None,
            event_id: None,
            topic: format!("authzen_task_{}", status.as_str()),
            payload: serde_json::to_string(&entry).map_err(ApiError::internal)?,
        },
        now,
    )?;
    conn.queued();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(raw: &str) -> AllowedHosts {
        AllowedHosts::parse(raw).unwrap()
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn a_destination_needs_https_and_a_public_address_unless_allow_listed() {
        let none = AllowedHosts::default();
        let check = |url: &str, allowed: &AllowedHosts| {
            literal_destination(&Url::parse(url).unwrap(), allowed)
        };
        assert!(check("https://93.184.216.34/cb", &none).is_ok());
        assert!(
            check("http://93.184.216.34/cb", &none).is_err(),
            "plain http"
        );
        assert!(check("https://127.0.0.1:8443/cb", &none).is_err());
        assert!(check("https://[::1]/cb", &none).is_err());
        assert!(check("https://user:pw@93.184.216.34/cb", &none).is_err());
        assert!(check("ftp://93.184.216.34/cb", &none).is_err());
        let local = allowed("127.0.0.1:8443");
        assert!(check("https://127.0.0.1:8443/cb", &local).is_ok());
        assert!(check("http://127.0.0.1:8443/cb", &local).is_ok());
        assert!(
            check("https://127.0.0.1:9000/cb", &local).is_err(),
            "another port"
        );
        assert!(
            check("https://127.0.0.1:9000/cb", &allowed("127.0.0.1")).is_ok(),
            "any port"
        );
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        use ed25519_dalek::Verifier;
        let key = SigningKey::from_bytes(&[9; 32]);
        let callbacks = Callbacks::new(
            key.clone(),
            AllowedHosts::default(),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let header = callbacks.sign("msg_1", 1_800_000_000, r#"{"task":{}}"#);
        let raw = BASE64.decode(header.strip_prefix("v1a,").unwrap()).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&raw).unwrap();
        let public = key.verifying_key();
        assert!(
            public
                .verify(br#"msg_1.1800000000.{"task":{}}"#, &signature)
                .is_ok()
        );
        assert!(
            public
                .verify(br#"msg_1.1800000001.{"task":{}}"#, &signature)
                .is_err()
        );
    }
}
