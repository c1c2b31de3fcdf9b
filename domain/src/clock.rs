use chrono::{DateTime, Utc};

/// The source of "now" for every rule that depends on time.
///
/// The domain never reads the system clock; the application passes an implementation in, and tests
/// pass one they control.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
