//! AuthZEN: Portcullis as a policy decision point (Authorization API 1.0) whose denials can be
//! requested (the Access Request and Approval Profile, "ARAP"). The pure rules: what a subject,
//! resource and action mean here, how a requestable denial is bound to its submission, and how a
//! Portcullis request reads as an ARAP task. No I/O, no clock: time comes in as an argument.

mod binding;
mod mapping;
mod task;

pub use binding::{BindingClaims, BindingError, Denial, bound_subject};
pub use mapping::{Semantic, Target, choose_duration, justification, merge_defaults, parse_target};
pub use task::{Approval, TaskStatus, approved_until, reevaluation_denial};

/// The capability a PDP lists when it accepts access requests (ARAP's discovery).
pub const ACCESS_REQUEST_CAPABILITY: &str = "urn:openid:authzen:capability:access-request";
/// How long a requestable denial may be submitted (`context.access_request.expires_at`).
pub const DENIAL_LIFETIME_SECONDS: i64 = 600;
/// An approval of a grant without an end: how long a PEP may re-use it (`approved_until`).
pub const OPEN_ENDED_APPROVAL_SECONDS: i64 = 365 * 86_400;
