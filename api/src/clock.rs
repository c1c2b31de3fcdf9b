//! The system clock, the only place the application reads the time (the domain takes the time as an
//! argument, through its `Clock` trait).

use chrono::{DateTime, SubsecRound, Utc};
use portcullis_domain::Clock;

/// The system clock. Instants are truncated to microseconds, the precision both databases store,
/// so what a write returns equals what a read returns.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}
