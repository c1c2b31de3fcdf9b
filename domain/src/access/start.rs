//! Access that starts after its approval (issue 27): a grant `scheduled` for a later `starts_at`,
//! started by the jobs, or one `awaiting_activation`, started by its holder within a window. Until it
//! starts a grant has no membership; its clock runs from the start.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::{Grant, GrantStatus};
use crate::ids::{GroupId, RequestId, UserId};

/// When approved access starts: at the request's `starts_at` if that is later than the approval,
/// and only on its holder's activation within `activation_window_seconds` when the flow requires it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantStart {
    pub starts_at: Option<DateTime<Utc>>,
    pub activation_window_seconds: Option<i64>,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Grant {
    /// The grant an approval at `now` creates: `awaiting_activation` when the flow requires
    /// activation (its window opens at the later of `now` and `starts_at`), else `scheduled` when
    /// `starts_at` is later than `now` (ending `duration_seconds` after it), else active at once.
    pub fn approved(
        request_id: RequestId,
        user_id: UserId,
        group_id: GroupId,
        duration_seconds: Option<i64>,
        start: GrantStart,
        now: DateTime<Utc>,
    ) -> Self {
        let mut grant = Self::new(request_id, user_id, group_id, duration_seconds, now);
        let later = start.starts_at.filter(|at| *at > now);
        match (start.activation_window_seconds, later) {
            (Some(window), _) => {
                grant.status = GrantStatus::AwaitingActivation;
                grant.starts_at = later;
                grant.activate_by = Some(later.unwrap_or(now) + Duration::seconds(window));
                grant.expires_at = None;
            }
            (None, Some(at)) => {
                grant.status = GrantStatus::Scheduled;
                grant.starts_at = Some(at);
                grant.expires_at = duration_seconds.map(|s| at + Duration::seconds(s));
            }
            (None, None) => {}
        }
        grant
    }

    /// The jobs start a scheduled grant once its `starts_at` has come: it becomes `active` (its
    /// membership is to be added), its clock having run since `starts_at`. One whose whole time
    /// passed before the jobs got to it ends `expired` instead, never started. Answers whether it
    /// started.
    pub fn start(&mut self, now: DateTime<Utc>) -> Result<bool, &'static str> {
        if self.status != GrantStatus::Scheduled {
            return Err("only a scheduled grant starts at its time");
        }
        if self.starts_at.is_some_and(|at| at > now) {
            return Err("the grant's start has not come yet");
        }
        self.version += 1;
        if self.expires_at.is_some_and(|at| at <= now) {
            self.status = GrantStatus::Expired;
            self.ended_at = Some(now);
            return Ok(false);
        }
        self.status = GrantStatus::Active;
        Ok(true)
    }

    /// Its holder starts a grant awaiting activation, inside its window (not before `starts_at`,
    /// before `activate_by`): it becomes `active` now, and its clock runs from now.
    pub fn activate(&mut self, now: DateTime<Utc>) -> Result<(), String> {
        match self.status {
            GrantStatus::AwaitingActivation => {}
            GrantStatus::Active => return Err("the grant is already active".to_owned()),
            GrantStatus::Scheduled => {
                return Err(
                    "the grant starts at its scheduled time; it needs no activation".to_owned(),
                );
            }
            GrantStatus::Expired | GrantStatus::Revoked => {
                return Err(format!("the grant has ended ({})", self.status));
            }
        }
        if let Some(at) = self.starts_at.filter(|at| *at > now) {
            return Err(format!(
                "the grant can be activated from {} (its starts_at)",
                stamp(at)
            ));
        }
        if let Some(by) = self.activate_by.filter(|by| *by <= now) {
            return Err(format!("the activation window closed at {}", stamp(by)));
        }
        self.status = GrantStatus::Active;
        self.starts_at = Some(now);
        self.expires_at = self.duration_seconds.map(|s| now + Duration::seconds(s));
        self.version += 1;
        Ok(())
    }

    /// The jobs end a grant whose holder did not activate it in time: `expired`, never started.
    pub fn lapse(&mut self, now: DateTime<Utc>) -> Result<(), &'static str> {
        if self.status != GrantStatus::AwaitingActivation {
            return Err("only a grant awaiting activation lapses");
        }
        if self.activate_by.is_none_or(|by| by > now) {
            return Err("the activation window is still open");
        }
        self.status = GrantStatus::Expired;
        self.ended_at = Some(now);
        self.version += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
    }

    fn approved(duration: Option<i64>, start: GrantStart) -> Grant {
        Grant::approved(
            RequestId::new_v7(),
            UserId::new_v7(),
            GroupId::new_v7(),
            duration,
            start,
            now(),
        )
    }

    fn at(hours: i64) -> DateTime<Utc> {
        now() + Duration::hours(hours)
    }

    #[test]
    fn a_start_not_later_than_the_approval_is_active_at_once_with_the_clock_from_now() {
        for starts_at in [None, Some(now()), Some(at(-1))] {
            let start = GrantStart {
                starts_at,
                activation_window_seconds: None,
            };
            let grant = approved(Some(3600), start);
            assert_eq!(grant.status, GrantStatus::Active);
            assert_eq!((grant.starts_at, grant.expires_at), (None, Some(at(1))));
        }
    }

    #[test]
    fn a_scheduled_grant_starts_once_at_its_time_with_its_clock_from_starts_at() {
        let start = GrantStart {
            starts_at: Some(at(24)),
            activation_window_seconds: None,
        };
        let mut grant = approved(Some(3600), start);
        assert_eq!(grant.status, GrantStatus::Scheduled);
        assert_eq!(
            (grant.starts_at, grant.expires_at),
            (Some(at(24)), Some(at(25)))
        );
        assert!(grant.start(at(23)).is_err(), "not before its time");
        assert!(
            grant.activate(at(24)).is_err(),
            "no activation of a scheduled grant"
        );
        let late = at(24) + Duration::minutes(5);
        assert_eq!(grant.start(late), Ok(true));
        assert_eq!((grant.status, grant.version), (GrantStatus::Active, 2));
        assert_eq!(
            grant.expires_at,
            Some(at(25)),
            "the clock ran from starts_at"
        );
        assert!(grant.start(late).is_err(), "it starts once");
    }

    #[test]
    fn a_scheduled_grant_whose_time_passed_unstarted_ends_expired_and_a_revoked_one_never_starts() {
        let start = GrantStart {
            starts_at: Some(at(1)),
            activation_window_seconds: None,
        };
        let mut missed = approved(Some(3600), start);
        assert_eq!(missed.start(at(2)), Ok(false));
        assert_eq!(missed.status, GrantStatus::Expired);
        let mut revoked = approved(Some(3600), start);
        assert!(revoked.end(GrantStatus::Expired, None, at(3)).is_err());
        assert_eq!(revoked.end(GrantStatus::Revoked, None, now()), Ok(false));
        assert!(revoked.start(at(1)).is_err());
        assert!(revoked.extend(60, now()).is_err());
    }

    #[test]
    fn activation_inside_the_window_starts_the_clock_from_now() {
        let start = GrantStart {
            starts_at: None,
            activation_window_seconds: Some(86_400),
        };
        let mut grant = approved(Some(3600), start);
        assert_eq!(grant.status, GrantStatus::AwaitingActivation);
        assert_eq!((grant.activate_by, grant.expires_at), (Some(at(24)), None));
        assert!(grant.lapse(at(23)).is_err(), "the window is open");
        assert!(grant.extend(60, now()).is_err(), "nothing to extend yet");
        grant.activate(at(5)).unwrap();
        assert_eq!(grant.status, GrantStatus::Active);
        assert_eq!(
            (grant.starts_at, grant.expires_at),
            (Some(at(5)), Some(at(6)))
        );
        assert!(
            grant
                .activate(at(5))
                .unwrap_err()
                .contains("already active")
        );
        assert!(grant.lapse(at(30)).is_err());
        assert_eq!(grant.end(GrantStatus::Expired, None, at(6)), Ok(true));
    }

    #[test]
    fn activation_outside_the_window_is_refused_and_the_grant_lapses() {
        let start = GrantStart {
            starts_at: Some(at(24)),
            activation_window_seconds: Some(3600),
        };
        let mut grant = approved(None, start);
        assert_eq!(
            (grant.starts_at, grant.activate_by),
            (Some(at(24)), Some(at(25))),
            "the window opens at starts_at"
        );
        assert!(
            grant
                .activate(at(23))
                .unwrap_err()
                .contains("activated from")
        );
        assert!(
            grant
                .activate(at(25))
                .unwrap_err()
                .contains("window closed")
        );
        grant.lapse(at(25)).unwrap();
        assert_eq!(
            (grant.status, grant.ended_at),
            (GrantStatus::Expired, Some(at(25)))
        );
        assert!(
            grant.activate(at(24)).is_err(),
            "an ended grant never starts"
        );
        assert!(grant.lapse(at(26)).is_err());
    }

    #[test]
    fn an_untimed_activated_grant_has_no_end() {
        let start = GrantStart {
            starts_at: Some(at(-1)),
            activation_window_seconds: Some(3600),
        };
        let mut grant = approved(None, start);
        assert_eq!((grant.starts_at, grant.activate_by), (None, Some(at(1))));
        grant.activate(now()).unwrap();
        assert_eq!(grant.expires_at, None);
    }
}
