//! What an approved request gives: a grant (group membership, possibly timed) or a device-admin
//! session. Each has its own small state machine, apart from the request's.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{DeviceId, GrantId, GroupId, MembershipId, RequestId, SessionId, UserId};
use crate::text_enum;

mod start;

pub use start::GrantStart;

text_enum!(
    /// `scheduled` (approved for later: no membership until `starts_at`) → `active`;
    /// `awaiting_activation` (its holder starts it before `activate_by`) → `active` | `expired`;
    /// `active` → `expired` (its time is up) | `revoked` (an admin or the holder ended it). A grant
    /// that has not started can be revoked too.
    GrantStatus {
        Scheduled => "scheduled",
        AwaitingActivation => "awaiting_activation",
        Active => "active",
        Expired => "expired",
        Revoked => "revoked",
    }
);

impl GrantStatus {
    /// Whether the grant has not started yet (no membership, but it may still start).
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Scheduled | Self::AwaitingActivation)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub request_id: RequestId,
    pub user_id: UserId,
    pub group_id: GroupId,
    pub membership_id: MembershipId,
    pub status: GrantStatus,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<UserId>,
    /// How many approved extensions moved `expires_at`, and by how much in all.
    pub extension_count: i64,
    pub extended_seconds: i64,
    /// When the access starts (a scheduled grant, or the earliest activation) or started (a
    /// scheduled or activated grant once started); `None` when it started at approval (`granted_at`).
    pub starts_at: Option<DateTime<Utc>>,
    /// A grant that waits for its holder: the end of its activation window.
    pub activate_by: Option<DateTime<Utc>>,
    /// How long the access lasts once started (`None`: no time limit; unknown for grants stored
    /// before scheduling existed, which all started at approval).
    pub duration_seconds: Option<i64>,
    pub version: i64,
}

impl Grant {
    /// The grant an approved resource request creates, timed when the request has a duration.
    pub fn new(
        request_id: RequestId,
        user_id: UserId,
        group_id: GroupId,
        duration_seconds: Option<i64>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: GrantId::new_v7(),
            request_id,
            user_id,
            group_id,
            membership_id: MembershipId::new_v7(),
            status: GrantStatus::Active,
            granted_at: now,
            expires_at: duration_seconds.map(|s| now + Duration::seconds(s)),
            ended_at: None,
            ended_by: None,
            extension_count: 0,
            extended_seconds: 0,
            starts_at: None,
            activate_by: None,
            duration_seconds,
            version: 1,
        }
    }

    /// Whether the grant can still be extended at `now`: active, timed and not yet past its time.
    pub fn check_extendable(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, &'static str> {
        if self.status.is_waiting() {
            return Err("the grant has not started yet; only an active grant can be extended");
        }
        if self.status != GrantStatus::Active {
            return Err("the grant has ended; only an active grant can be extended");
        }
        match self.expires_at {
            None => Err("the grant has no end to move"),
            Some(at) if at <= now => Err("the grant's time is up; it can no longer be extended"),
            Some(at) => Ok(at),
        }
    }

    /// Moves the end of an active timed grant `seconds` later (an approved extension); never earlier.
    pub fn extend(&mut self, seconds: i64, now: DateTime<Utc>) -> Result<(), &'static str> {
        let at = self.check_extendable(now)?;
        if seconds <= 0 {
            return Err("an extension must move the end later");
        }
        self.expires_at = Some(at + Duration::seconds(seconds));
        self.extension_count += 1;
        self.extended_seconds += seconds;
        self.version += 1;
        Ok(())
    }

    /// Ends an active grant early (`revoked`) or at its time (`expired`); a grant that has not
    /// started yet can only be revoked (it never gets its membership). Answers whether the grant
    /// had started (so held a membership, now to be removed).
    pub fn end(
        &mut self,
        status: GrantStatus,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<bool, &'static str> {
        if self.has_ended() {
            return Err("the grant has already ended");
        }
        match status {
            GrantStatus::Revoked => {}
            GrantStatus::Expired if self.status != GrantStatus::Active => {
                return Err("the grant has not started; it can only be revoked");
            }
            GrantStatus::Expired if self.expires_at.is_none_or(|at| at > now) => {
                return Err("the grant has not expired yet");
            }
            GrantStatus::Expired => {}
            _ => return Err("a grant ends as expired or revoked"),
        }
        let started = self.status == GrantStatus::Active;
        self.status = status;
        self.ended_at = Some(now);
        self.ended_by = by;
        self.version += 1;
        Ok(started)
    }

    /// Whether the grant has ended (`expired` or `revoked`).
    pub fn has_ended(&self) -> bool {
        matches!(self.status, GrantStatus::Expired | GrantStatus::Revoked)
    }
}

/// Temporary admin rights on a device, started by the requester after approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub request_id: RequestId,
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<UserId>,
}

impl Session {
    pub fn start(
        request_id: RequestId,
        device_id: DeviceId,
        user_id: UserId,
        duration_seconds: i64,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: SessionId::new_v7(),
            request_id,
            device_id,
            user_id,
            started_at: now,
            ends_at: now + Duration::seconds(duration_seconds),
            ended_at: None,
            ended_by: None,
        }
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none() && self.ends_at > now
    }

    /// Ends the session early (by someone) or at its time (by nobody).
    pub fn end(&mut self, by: Option<UserId>, now: DateTime<Utc>) -> Result<(), &'static str> {
        if self.ended_at.is_some() {
            return Err("the session has already ended");
        }
        self.ended_at = Some(if by.is_none() {
            self.ends_at.min(now)
        } else {
            now
        });
        self.ended_by = by;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    #[test]
    fn a_timed_grant_expires_only_at_its_time_and_ends_once() {
        let mut grant = Grant::new(
            RequestId::new_v7(),
            UserId::new_v7(),
            GroupId::new_v7(),
            Some(3600),
            now(),
        );
        assert!(grant.end(GrantStatus::Expired, None, now()).is_err());
        grant
            .end(GrantStatus::Expired, None, now() + Duration::hours(1))
            .unwrap();
        assert_eq!((grant.status, grant.version), (GrantStatus::Expired, 2));
        assert!(grant.end(GrantStatus::Revoked, None, now()).is_err());
    }

    #[test]
    fn an_untimed_grant_never_expires_but_can_be_revoked() {
        let mut grant = Grant::new(
            RequestId::new_v7(),
            UserId::new_v7(),
            GroupId::new_v7(),
            None,
            now(),
        );
        assert!(
            grant
                .end(GrantStatus::Expired, None, now() + Duration::days(3650))
                .is_err()
        );
        let admin = UserId::new_v7();
        grant.end(GrantStatus::Revoked, Some(admin), now()).unwrap();
        assert_eq!(grant.ended_by, Some(admin));
    }

    #[test]
    fn an_extension_moves_the_end_later_only_while_the_grant_is_active() {
        let mut grant = Grant::new(
            RequestId::new_v7(),
            UserId::new_v7(),
            GroupId::new_v7(),
            Some(3600),
            now(),
        );
        grant.extend(1800, now()).unwrap();
        assert_eq!(grant.expires_at, Some(now() + Duration::seconds(5400)));
        assert_eq!(
            (grant.extension_count, grant.extended_seconds, grant.version),
            (1, 1800, 2)
        );
        assert!(grant.extend(0, now()).is_err());
        assert!(grant.extend(60, now() + Duration::seconds(5400)).is_err());
        grant.end(GrantStatus::Revoked, None, now()).unwrap();
        assert!(grant.extend(60, now()).is_err());
        let mut untimed = Grant::new(
            RequestId::new_v7(),
            UserId::new_v7(),
            GroupId::new_v7(),
            None,
            now(),
        );
        assert!(untimed.extend(60, now()).is_err());
    }

    #[test]
    fn a_session_is_active_for_its_duration_and_ends_once() {
        let mut session = Session::start(
            RequestId::new_v7(),
            DeviceId::new_v7(),
            UserId::new_v7(),
            900,
            now(),
        );
        assert!(session.is_active(now() + Duration::minutes(14)));
        assert!(!session.is_active(now() + Duration::minutes(15)));
        session.end(None, now() + Duration::hours(2)).unwrap();
        assert_eq!(session.ended_at, Some(now() + Duration::minutes(15)));
        assert!(session.end(None, now()).is_err());
    }
}
