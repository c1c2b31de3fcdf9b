//! Break-glass requests (issue 27): through a break-glass flow a request is approved at once, with a
//! long reason, within a per-person allowance; every administrator gets a review task (its type
//! `review`, a task like fulfilment's, in their Action Required), and the review confirms the access
//! or revokes it.

use chrono::{DateTime, Duration, Utc};

use super::events::RequestEventKind;
use super::fulfilment::{TaskState, TaskType};
use super::{AccessRequest, Actor, Change, RequestError, parse_text};
use crate::access::{Grant, GrantStatus};
use crate::flow::{BREAK_GLASS_PER_WINDOW, BREAK_GLASS_REASON_MIN_CHARS, BREAK_GLASS_WINDOW_HOURS};
use crate::ids::UserId;
use crate::text_enum;

text_enum!(
    /// What a review of a break-glass request decided: `confirm` (the emergency was genuine; the
    /// access stays until its time) or `revoke` (the access ends now).
    ReviewOutcome { Confirm => "confirm", Revoke => "revoke" }
);

/// What a break-glass submission needs that only the store knows (read for a break-glass flow).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakGlassInput {
    /// When the requester's break-glass requests were made, those since [`window_start`] (any flow).
    pub recent: Vec<DateTime<Utc>>,
    /// The active administrators, who review.
    pub admins: Vec<UserId>,
}

/// A checked break-glass submission: who reviews it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    pub reviewer_ids: Vec<UserId>,
}

/// Where the rate limit's rolling window starts at `now`: requests made after it count.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::hours(BREAK_GLASS_WINDOW_HOURS)
}

/// A break-glass reason explains the emergency: at least [`BREAK_GLASS_REASON_MIN_CHARS`] once
/// trimmed (`reason` is trimmed already).
pub(super) fn check_reason(reason: &str) -> Result<(), RequestError> {
    if reason.chars().count() < BREAK_GLASS_REASON_MIN_CHARS {
        return Err(RequestError::invalid(
            "reason",
            format!(
                "a break-glass request must explain the emergency in at least {BREAK_GLASS_REASON_MIN_CHARS} characters"
            ),
        ));
    }
    Ok(())
}

/// The per-person allowance: fewer than [`BREAK_GLASS_PER_WINDOW`] break-glass requests made in the
/// window ending at `now` (`recent`: when the person's requests were made; older ones do not
/// count, and one stamped after `now`, by a submission that ran at the same time, counts).
/// Beyond it, refused until the oldest counted one leaves the window.
pub fn check_allowance(recent: &[DateTime<Utc>], now: DateTime<Utc>) -> Result<(), RequestError> {
    let start = window_start(now);
    let mut counted: Vec<DateTime<Utc>> = recent.iter().copied().filter(|at| *at > start).collect();
    if counted.len() < BREAK_GLASS_PER_WINDOW {
        return Ok(());
    }
    counted.sort_unstable();
    // The time at which only PER_WINDOW - 1 of them are still in the window.
    let free_at =
        counted[counted.len() - BREAK_GLASS_PER_WINDOW] + Duration::hours(BREAK_GLASS_WINDOW_HOURS);
    let wait = free_at - now;
    let rounded_up = wait.num_seconds() + i64::from(wait.subsec_nanos() > 0);
    let seconds = rounded_up.max(1);
    Err(RequestError::TooMany {
        message: format!(
            "at most {BREAK_GLASS_PER_WINDOW} break-glass requests per person in {BREAK_GLASS_WINDOW_HOURS} hours; the next is allowed in {seconds} s"
        ),
        retry_after_seconds: seconds,
    })
}

impl AccessRequest {
    /// Whether the request was made through a break-glass flow.
    pub fn break_glass(&self) -> bool {
        self.break_glass
    }

    /// The review task of a break-glass request.
    pub fn review_task(&self) -> Option<&super::Task> {
        self.task(TaskType::Review)
    }

    /// Whether `actor` may review the request at all (before what they sent is read): an
    /// administrator, not the requester (nobody reviews their own emergency).
    pub fn check_reviewer(&self, actor: &Actor) -> Result<(), RequestError> {
        if !actor.is_admin() {
            return Err(RequestError::Forbidden(
                "only an administrator can review a break-glass request",
            ));
        }
        if actor.id == self.requester_id {
            return Err(RequestError::Forbidden(
                "an administrator cannot review their own break-glass request",
            ));
        }
        Ok(())
    }

    /// An administrator reviews a break-glass request once: `confirm` keeps its access; `revoke`
    /// ends its grant now (`grant`, the request's grant as stored, if it is still active: its
    /// membership goes with it) and records the removal. The review task is done either way, with
    /// the note. 409 for a request without a review or one already reviewed.
    pub fn review(
        &self,
        actor: &Actor,
        outcome: ReviewOutcome,
        note: Option<&str>,
        grant: Option<Grant>,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        self.check_reviewer(actor)?;
        let index = self
            .tasks
            .iter()
            .position(|t| t.task_type == TaskType::Review)
            .ok_or_else(|| {
                RequestError::conflict("this request is not break-glass: it has no review")
            })?;
        let task = &self.tasks[index];
        if task.state != TaskState::Open {
            let done = task
                .outcome
                .map_or_else(|| task.state.to_string(), |o| format!("done ({o})"));
            return Err(RequestError::conflict(format!(
                "the request was already reviewed: its review is {done}"
            )));
        }
        let note = parse_text(note).map_err(|m| RequestError::invalid("note", m))?;
        let ended = match (outcome, grant) {
            (ReviewOutcome::Revoke, Some(mut grant))
                if grant.request_id == self.id && grant.status == GrantStatus::Active =>
            {
                grant
                    .end(GrantStatus::Revoked, Some(actor.id), now)
                    .map_err(RequestError::conflict)?;
                Some(grant)
            }
            _ => None,
        };
        let mut after = self.clone();
        let done = &mut after.tasks[index];
        done.state = TaskState::Done;
        done.completed_by = Some(actor.id);
        done.completed_at = Some(now);
        done.note = note.clone();
        done.outcome = Some(outcome);
        let mut change = Change::update(self, after).event(
            RequestEventKind::Reviewed {
                outcome,
                note,
                revoked_grant: ended.as_ref().map(|g| g.id),
            },
            Some(actor.id),
            Some(self.status),
        );
        if let Some(grant) = ended {
            change = change.event(
                RequestEventKind::AccessRemoved {
                    grant_id: grant.id,
                    group_id: grant.group_id,
                    user_id: grant.user_id,
                    grant_status: grant.status,
                },
                Some(actor.id),
                Some(self.status),
            );
            change.ended_grant = Some(grant);
        }
        Ok(change)
    }

    /// Marks a new request as break-glass: every reviewer (the administrators, less the requester
    /// and whoever submitted it) gets its review task, open from now.
    pub(super) fn open_review(&mut self, review: &BreakGlass, by: UserId, now: DateTime<Utc>) {
        let reviewers: Vec<UserId> = review
            .reviewer_ids
            .iter()
            .copied()
            .filter(|id| *id != self.requester_id && *id != by)
            .collect();
        self.break_glass = true;
        self.tasks
            .push(super::Task::new(TaskType::Review, &reviewers, Some(now)));
    }

    /// Whether the request is a break-glass one whose review is still to do.
    pub fn awaits_review(&self) -> bool {
        self.review_task()
            .is_some_and(|t| t.state == TaskState::Open)
    }
}
