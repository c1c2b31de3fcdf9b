//! Portcullis domain: entities, value objects and rules.
//!
//! Nothing here performs I/O or reads the clock: time is passed in, so every rule is a pure function
//! that can be tested exhaustively.

pub mod clock;
pub mod directory;
pub mod ids;
pub mod validation;

pub use clock::Clock;
pub use ids::{DeviceId, EventId, GroupId, MembershipId, UserId};
pub use validation::{FieldError, ValidationErrors};
