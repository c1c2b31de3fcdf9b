//! The decision point's shared state, held by the application state (a leaf: it names nothing
//! of the handlers that use it).

use super::signer::Signer;
use crate::config::AllowedHosts;

/// What the AuthZEN surface shares: the public URL it names itself by and the binding tokens' key.
pub struct Pdp {
    /// Without a trailing slash.
    pub public_url: String,
    pub signer: Signer,
    /// Internal hosts ARAP callbacks may go to.
    pub callback_allowed_hosts: AllowedHosts,
}

impl Pdp {
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// ARAP's `access_request_endpoint`, and the audience of binding tokens.
    pub fn request_endpoint(&self) -> String {
        self.endpoint("/access/v1/requests")
    }

    pub fn task_endpoint(&self, id: &str) -> String {
        self.endpoint(&format!("/access/v1/requests/{id}"))
    }
}
