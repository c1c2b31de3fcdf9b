//! Portcullis domain: entities, value objects and rules.
//!
//! Nothing here performs I/O or reads the clock: time is passed in, so every rule is a pure function
//! that can be tested exhaustively.

pub mod access;
pub mod authzen;
pub mod clock;
pub mod directory;
pub mod events;
pub mod flow;
#[cfg(feature = "openapi")]
mod flow_schema;
pub mod help;
pub mod ids;
pub mod request;
pub mod settings;
#[cfg(any(test, feature = "test-support"))]
pub mod strategies;
pub mod validation;

pub use clock::Clock;
pub use ids::{
    ChannelId, CommentId, DeliveryId, DeviceId, EventId, FlowId, GrantId, GroupId, HelpRequestId,
    MembershipId, RequestId, SessionId, UserId,
};
pub use validation::{FieldError, ValidationErrors};
