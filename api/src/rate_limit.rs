//! Per-principal rate limiting: every signed-in user gets `PORTCULLIS_RATE_LIMIT_PER_MINUTE`
//! requests a minute (GCRA from the `governor` crate: a steady rate, with a burst of up to one
//! minute's worth), so one runaway script or leaked token cannot starve everyone else. Beyond it the
//! answer is a 429 problem with `Retry-After`. The key is the authenticated user, checked after the
//! token is verified, so forged tokens cannot spend someone else's budget.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use portcullis_domain::UserId;

use crate::error::ApiError;

/// The default allowance per principal and minute: far above what a person clicking through a portal
/// needs, and 100 requests a second sustained for an integration.
pub const DEFAULT_PER_MINUTE: u32 = 6_000;

type Limiter = RateLimiter<UserId, DefaultKeyedStateStore<UserId>, DefaultClock>;

pub struct PrincipalRateLimiter {
    limiter: Option<Limiter>,
}

impl PrincipalRateLimiter {
    /// `0` turns limiting off.
    pub fn per_minute(allowance: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(allowance)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n))),
        }
    }

    /// Spends one request of `user`'s allowance, or says how long to wait.
    pub fn check(&self, user: UserId) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                retry_after_seconds: whole_seconds_up(wait),
                detail: None,
            }
        })
    }

    /// Forgets principals whose allowance is full again, so the table stays small.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn whole_seconds_up(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_beyond_its_allowance_is_told_when_to_come_back() {
        let limiter = PrincipalRateLimiter::per_minute(3);
        let (ada, bob) = (UserId::new_v7(), UserId::new_v7());
        for _ in 0..3 {
            assert!(limiter.check(ada).is_ok());
        }
        match limiter.check(ada) {
            Err(ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            }) => assert!((1..=20).contains(&retry_after_seconds)),
            other => panic!("expected a 429, got {other:?}"),
        }
        assert!(
            limiter.check(bob).is_ok(),
            "others keep their own allowance"
        );
    }

    #[test]
    fn zero_turns_limiting_off() {
        let limiter = PrincipalRateLimiter::per_minute(0);
        let ada = UserId::new_v7();
        assert!((0..10_000).all(|_| limiter.check(ada).is_ok()));
        limiter.forget_idle();
    }
}
