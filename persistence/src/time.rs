use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// The stored form of an instant: UTC, truncated to microseconds so both backends keep it exactly.
pub fn to_db(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc().trunc_subsecs(6)
}

pub fn from_db(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}
