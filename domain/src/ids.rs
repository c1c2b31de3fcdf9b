//! Typed identifiers. All are UUID v7, so they sort by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered identifier.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    )+};
}

id_type!(
    /// Identifies a user (a person or an integration account).
    UserId,
    /// Identifies a user group.
    GroupId,
    /// Identifies one membership row (a user in a group from one source).
    MembershipId,
    /// Identifies a device.
    DeviceId,
    /// Identifies an audit event.
    EventId,
    /// Identifies an approval flow.
    FlowId,
    /// Identifies an access request.
    RequestId,
    /// Identifies a grant of access.
    GrantId,
    /// Identifies a device-admin session.
    SessionId,
    /// Identifies a comment on a request.
    CommentId,
    /// Identifies a webhook channel.
    ChannelId,
    /// Identifies one notification in the outbox (a webhook delivery or an email).
    DeliveryId,
    /// Identifies a help request (a question about a flow, seed 004's "ask for help").
    HelpRequestId,
);
