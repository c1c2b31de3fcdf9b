//! AuthZEN's setting: the public base URL gateways reach this server at (the PDP's identifier).

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
}

/// AuthZEN's settings.
#[derive(Debug, Clone, Default)]
pub struct AuthzenSettings {
    /// Without a trailing slash; `None`: `http://` and the address the server listens on.
    pub public_url: Option<String>,
}

impl AuthzenArgs {
    pub fn settings(&self) -> Result<AuthzenSettings, String> {
        let public_url = non_empty(self.public_url.as_ref())
            .map(|raw| parse_public_url(&raw))
            .transpose()?;
        Ok(AuthzenSettings { public_url })
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
