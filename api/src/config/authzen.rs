//! AuthZEN's settings: the public base URL gateways reach this server at (the PDP's identifier), and
//! the internal hosts ARAP callbacks may go to.

use std::net::SocketAddr;

use clap::Args;

use super::non_empty;

#[derive(Debug, Clone, Default, Args)]
pub struct AuthzenArgs {
    /// Public base URL of this server as gateways reach it, e.g. `https://access.example.com`: the
    /// AuthZEN discovery document's `policy_decision_point` and the base of its endpoints (default:
    /// http:// and the listening address).
    #[arg(long, env = "PORTCULLIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Comma-separated hosts (`host` or `host:port`) that ARAP callbacks may reach although they
    /// are loopback, link-local or private (in-cluster PEPs); plain http is accepted to them.
    /// Others must be public https endpoints.
    #[arg(long, env = "PORTCULLIS_CALLBACK_ALLOWED_HOSTS")]
    pub callback_allowed_hosts: Option<String>,
}

/// AuthZEN's settings.
#[derive(Debug, Clone, Default)]
pub struct AuthzenSettings {
    /// Without a trailing slash; `None`: `http://` and the address the server listens on.
    pub public_url: Option<String>,
    pub callback_allowed_hosts: AllowedHosts,
}

impl AuthzenArgs {
    pub fn settings(&self) -> Result<AuthzenSettings, String> {
        let public_url = non_empty(self.public_url.as_ref())
            .map(|raw| parse_public_url(&raw))
            .transpose()?;
        let callback_allowed_hosts = non_empty(self.callback_allowed_hosts.as_ref())
            .map(|raw| AllowedHosts::parse(&raw))
            .transpose()?
            .unwrap_or_default();
        Ok(AuthzenSettings {
            public_url,
            callback_allowed_hosts,
        })
    }
}

/// Hosts an administrator allowed callbacks to reach although they are internal: `host` (any
/// port) or `host:port`, compared case-insensitively (IPv6 literals in brackets: `[::1]:8443`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(Vec<(String, Option<u16>)>);

impl AllowedHosts {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut hosts = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || {
                format!(
                    "PORTCULLIS_CALLBACK_ALLOWED_HOSTS: '{entry}' is not a host or host:port (e.g. pep.internal, 10.0.0.7:8443)"
                )
            };
            let url = reqwest::Url::parse(&format!("http://{entry}/")).map_err(|_| bad())?;
            let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
            if url.path() != "/" || !url.username().is_empty() {
                return Err(bad());
            }
            // `Url` drops a port equal to http's default; the entry named it, so keep it.
            let port = url.port().or_else(|| entry.ends_with(":80").then_some(80));
            hosts.push((host.to_ascii_lowercase(), port));
        }
        Ok(Self(hosts))
    }

    /// Whether `host` (as a URL spells it) on `port` is allow-listed.
    pub fn allows(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        self.0
            .iter()
            .any(|(h, p)| *h == host && (p.is_none() || *p == port))
    }

    /// Whether `host` is allow-listed on some port (a resolver knows no port).
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.0.iter().any(|(h, _)| *h == host)
    }
}

/// An http(s) URL with a host and no query, fragment or credentials, without its trailing slash.
pub fn parse_public_url(raw: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "PORTCULLIS_PUBLIC_URL: '{raw}' is not a base URL like https://access.example.com (http or https, a host, no query or fragment)"
        )
    };
    let url = reqwest::Url::parse(raw).map_err(|_| bad())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !plain {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The public URL when none is configured: the address the server listens on (`localhost` for an
/// unspecified address).
pub fn default_public_url(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        format!("http://localhost:{}", bound.port())
    } else {
        format!("http://{bound}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_a_plain_http_base() {
        assert_eq!(
            parse_public_url("https://access.example.com/").unwrap(),
            "https://access.example.com"
        );
        assert_eq!(
            parse_public_url("http://10.0.0.5:8080/portcullis").unwrap(),
            "http://10.0.0.5:8080/portcullis"
        );
        for bad in [
            "access.example.com",
            "ftp://x",
            "https://x/?a=1",
            "https://u:p@x",
            "https://x/#f",
        ] {
            let error = parse_public_url(bad).unwrap_err();
            assert!(error.starts_with("PORTCULLIS_PUBLIC_URL"), "{error}");
        }
    }

    #[test]
    fn allowed_hosts_are_hosts_with_optional_ports() {
        let hosts = AllowedHosts::parse(" pep.internal, 127.0.0.1:8443 ,[::1]:9000,").unwrap();
        assert!(hosts.allows("PEP.internal", Some(443)));
        assert!(hosts.allows("127.0.0.1", Some(8443)));
        assert!(!hosts.allows("127.0.0.1", Some(8444)));
        assert!(hosts.allows("[::1]", Some(9000)));
        assert!(hosts.allows_host("127.0.0.1"));
        assert!(!hosts.allows("10.0.0.1", Some(443)));
        for bad in ["http://x", "x/y", "u@x", ":80"] {
            let error = AllowedHosts::parse(bad).unwrap_err();
            assert!(
                error.starts_with("PORTCULLIS_CALLBACK_ALLOWED_HOSTS"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_default_is_the_listening_address() {
        assert_eq!(
            default_public_url("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            default_public_url("0.0.0.0:9000".parse().unwrap()),
            "http://localhost:9000"
        );
    }
}
