//! A request's life besides decisions: cancel, expire, fail, retry, reassign, resubmit, comment,
//! and the events of what an approval gave (a device-admin session, a grant that ends).

use chrono::{DateTime, Duration, Utc};

use super::change::Comment;
use super::create::build_steps;
use super::events::RequestEventKind;
use super::{
    AccessRequest, Actor, Change, RequestError, RequestStatus, Role, StepState, Write, parse_text,
};
use crate::access::Session;
use crate::directory::{User, UserKind};
use crate::flow::{
    ApprovalFlow, ApprovalType, ApproverRequirement, ApproverType, FlowKind, ResolvedStep,
};
use crate::ids::{CommentId, DeviceId, FlowId, RequestId, UserId};

/// What a resubmission asks for: the denied request's flow, duration and device, for its requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resubmission {
    pub flow_id: FlowId,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<DeviceId>,
    pub resubmitted_from: RequestId,
    /// A denied extension is asked again as an extension of the same grant.
    pub extends_grant: Option<crate::ids::GrantId>,
    /// The denied request's start, while it is still ahead (one that has passed is not asked
    /// again: the access then starts on approval).
    pub starts_at: Option<DateTime<Utc>>,
}

impl AccessRequest {
    /// The request as `actor` may see it, or the same "not found" as for a request that does not exist.
    pub fn visible_to(&self, actor: &Actor) -> Result<(), RequestError> {
        if self.may_view(actor) {
            Ok(())
        } else {
            Err(RequestError::NotFound(self.id))
        }
    }

    /// The requester withdraws a pending request; an administrator may cancel a pending or failed one.
    pub fn cancel(&self, actor: &Actor, now: DateTime<Utc>) -> Result<Change, RequestError> {
        let mut after = self.clone();
        if self.status == RequestStatus::Approved && self.is_open() {
            after.cancel_fulfilment(actor, now)?;
        } else {
            after.apply_cancel(actor.id, actor.is_admin(), now)?;
        }
        Ok(Change::update(self, after).event(
            RequestEventKind::Canceled { cause: None },
            Some(actor.id),
            Some(self.status),
        ))
    }

    /// Cancels because the request's flow was deleted (by `by`).
    pub fn cancel_for_deleted_flow(
        &self,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        let mut after = self.clone();
        after.apply_cancel_for_deleted_flow(now)?;
        Ok(Change::update(self, after).event(
            RequestEventKind::Canceled {
                cause: Some("the approval flow was deleted"),
            },
            by,
            Some(self.status),
        ))
    }

    /// A pending request nobody decided in time.
    pub fn expire(&self, now: DateTime<Utc>) -> Result<Change, RequestError> {
        let mut after = self.clone();
        after.apply_expire(now)?;
        Ok(Change::update(self, after).event(RequestEventKind::Expired, None, Some(self.status)))
    }

    /// Something the request depends on changed (its approvers, the requester's manager, the target
    /// group): it goes to `error`, where an administrator must retry, deny or cancel it.
    pub fn fail(&self, why: &str, by: Option<UserId>) -> Result<Change, RequestError> {
        let mut after = self.clone();
        after.fail_in_place(why)?;
        Ok(Change::update(self, after).event(
            RequestEventKind::Failed {
                error: why.to_owned(),
            },
            by,
            Some(self.status),
        ))
    }

    /// Only administrators retry.
    pub fn check_retry(&self, actor: &Actor) -> Result<(), RequestError> {
        if actor.is_admin() {
            Ok(())
        } else {
            Err(RequestError::AdminOnly)
        }
    }

    /// An administrator retries a failed request with approvers resolved from its flow as it is
    /// now (`None` if it was deleted). A flow that became automatic is approved by an override instead.
    pub fn retry(
        &self,
        actor: &Actor,
        flow: Option<&ApprovalFlow>,
        resolved: Vec<ResolvedStep>,
        expiry_days: i64,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        self.check_retry(actor)?;
        let flow = flow.ok_or_else(|| {
            RequestError::conflict("the flow of this request no longer exists; deny or cancel it")
        })?;
        if flow.approval_type() == ApprovalType::Automatic {
            return Err(RequestError::conflict(
                "the flow is now automatic; approve the request with an override",
            ));
        }
        let mut after = self.clone();
        after.apply_retry(
            true,
            flow.version(),
            resolved,
            flow.approver_requirement(),
            expiry_days,
            now,
        )?;
        Ok(Change::update(self, after).event(
            RequestEventKind::Retried,
            Some(actor.id),
            Some(self.status),
        ))
    }

    /// An approver hands their place in the active step to `to` (found in the directory, or
    /// `None`): an active person who is neither the requester nor already in the step, and an
    /// administrator when the step is the administrators'. The flow's App Admins (`manages`) and
    /// administrators may also move another approver's place (`from`) to someone better suited.
    pub fn reassign(
        &self,
        actor: &Actor,
        manages: bool,
        from: Option<UserId>,
        to: Option<&User>,
    ) -> Result<Change, RequestError> {
        let from = from.unwrap_or(actor.id);
        if from != actor.id && !actor.is_admin() && !(manages && actor.role == Role::Person) {
            return Err(RequestError::Forbidden(
                "only the flow's App Admins or an administrator can reassign another approver's place",
            ));
        }
        if from != actor.id
            && self.status == RequestStatus::Pending
            && self.open_steps_of(from).is_empty()
        {
            return Err(RequestError::invalid(
                "from_user_id",
                "is not an approver who still has to decide on an active step",
            ));
        }
        let to = to
            .filter(|u| u.active && u.kind == UserKind::Person)
            .ok_or_else(|| RequestError::invalid("to_user_id", "must be an active person"))?;
        let administrator_step = self.steps.iter().any(|s| {
            s.approver_type == ApproverType::Administrator && s.approver_ids.contains(&from)
        });
        if administrator_step && !to.is_admin {
            return Err(RequestError::invalid(
                "to_user_id",
                "an administrator step can only go to another administrator",
            ));
        }
        let mut after = self.clone();
        after.apply_reassign(from, to.id)?;
        Ok(Change::update(self, after).event(
            RequestEventKind::Reassigned {
                from,
                to: to.id,
                task: None,
            },
            Some(actor.id),
            Some(self.status),
        ))
    }

    /// The requester asks again for what a denied request asked (a new request, linked to this one).
    pub fn resubmission(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Resubmission, RequestError> {
        if self.requester_id != actor.id {
            return Err(RequestError::RequesterOnly);
        }
        if self.status != RequestStatus::Denied {
            return Err(RequestError::conflict(
                "only a denied request can be resubmitted",
            ));
        }
        Ok(Resubmission {
            flow_id: self.flow_id,
            duration_seconds: self.duration_seconds,
            device_id: self.device_id,
            resubmitted_from: self.id,
            extends_grant: self.extends_grant,
            starts_at: self.starts_at.filter(|at| *at > now),
        })
    }

    /// Anyone who may see the request comments on it; the request itself does not change.
    pub fn comment(
        &self,
        actor: &Actor,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        let body = parse_text(Some(body))
            .map_err(|m| RequestError::invalid("body", m))?
            .ok_or_else(|| RequestError::invalid("body", "must not be empty"))?;
        let comment = Comment {
            id: CommentId::new_v7(),
            request_id: self.id,
            author_id: actor.id,
            body,
            created_at: now,
        };
        let mut change = Change::new(Some(self.clone()), self.clone(), Write::Unchanged).event(
            RequestEventKind::Commented {
                comment_id: comment.id,
            },
            Some(actor.id),
            Some(self.status),
        );
        change.comment = Some(comment);
        Ok(change)
    }

    /// The requester starts the session an approved device-admin request allows, once
    /// (`started` says whether it already was).
    pub fn start_session(
        &self,
        actor: &Actor,
        started: bool,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        if self.requester_id != actor.id {
            return Err(RequestError::RequesterOnly);
        }
        if self.kind != FlowKind::DeviceAdmin {
            return Err(RequestError::conflict(
                "only device-admin requests have sessions",
            ));
        }
        if self.status != RequestStatus::Approved {
            return Err(RequestError::conflict(format!(
                "the request is {}, not approved",
                self.status
            )));
        }
        if started {
            return Err(RequestError::conflict(
                "the session of this request was already started",
            ));
        }
        let (Some(device), Some(duration)) = (self.device_id, self.duration_seconds) else {
            return Err(RequestError::Inconsistent(
                "an approved device-admin request lacks its device or duration",
            ));
        };
        let session = Session::start(self.id, device, actor.id, duration, now);
        let mut change = Change::new(Some(self.clone()), self.clone(), Write::Unchanged).event(
            RequestEventKind::SessionStarted {
                session_id: session.id,
                device_id: device,
                ends_at: session.ends_at,
            },
            Some(actor.id),
            Some(self.status),
        );
        change.session = Some(session);
        Ok(change)
    }

    /// A session of this request ended, early (by someone) or at its time (`by` is `None`).
    pub fn session_ended(&self, session: &Session, by: Option<UserId>) -> Change {
        Change::new(Some(self.clone()), self.clone(), Write::Unchanged).event(
            RequestEventKind::SessionEnded {
                session_id: session.id,
                early: by.is_some(),
            },
            by,
            Some(self.status),
        )
    }

    /// The requester withdraws a pending request; an administrator may cancel a pending or failed one.
    fn apply_cancel(
        &mut self,
        actor: UserId,
        is_admin: bool,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !matches!(self.status, RequestStatus::Pending | RequestStatus::Error) {
            return Err(RequestError::NotPending(self.status));
        }
        let requester_cancels = actor == self.requester_id && self.status == RequestStatus::Pending;
        if !requester_cancels && !is_admin {
            return Err(RequestError::RequesterOnly);
        }
        self.close(RequestStatus::Canceled, now);
        Ok(())
    }

    /// Cancels because the flow is gone (no actor check).
    fn apply_cancel_for_deleted_flow(&mut self, now: DateTime<Utc>) -> Result<(), RequestError> {
        if !matches!(self.status, RequestStatus::Pending | RequestStatus::Error) {
            return Err(RequestError::NotPending(self.status));
        }
        self.close(RequestStatus::Canceled, now);
        Ok(())
    }

    /// A pending request nobody decided in time.
    fn apply_expire(&mut self, now: DateTime<Utc>) -> Result<(), RequestError> {
        self.require_pending()?;
        if self.expires_at.is_none_or(|at| at > now) {
            return Err(RequestError::Invalid(
                "the request has not reached its expiry time",
            ));
        }
        self.close(RequestStatus::Expired, now);
        Ok(())
    }

    fn close(&mut self, status: RequestStatus, now: DateTime<Utc>) {
        self.status = status;
        for step in &mut self.steps {
            if matches!(step.state, StepState::Active | StepState::Waiting) {
                step.state = StepState::Skipped;
            }
        }
        self.decided_at = Some(now);
        self.expires_at = None;
    }

    /// Something the request depends on changed (its approvers, the requester's manager, the target
    /// group): an administrator must retry, deny or cancel it.
    pub(crate) fn fail_in_place(&mut self, why: &str) -> Result<(), RequestError> {
        self.require_pending()?;
        self.status = RequestStatus::Error;
        self.error = Some(why.to_owned());
        Ok(())
    }

    /// An administrator retries a failed request with approvers resolved from the current flow.
    fn apply_retry(
        &mut self,
        is_admin: bool,
        flow_version: i64,
        resolved: Vec<ResolvedStep>,
        requirement: Option<ApproverRequirement>,
        expiry_days: i64,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !is_admin {
            return Err(RequestError::AdminOnly);
        }
        if self.status != RequestStatus::Error {
            return Err(RequestError::NotInError(self.status));
        }
        self.steps = build_steps(resolved, requirement)?;
        self.approver_requirement = requirement;
        self.flow_version = flow_version;
        self.status = RequestStatus::Pending;
        self.error = None;
        self.expires_at = Some(now + Duration::days(expiry_days));
        Ok(())
    }

    /// An approver hands their place in an active step to someone else (an active person who is
    /// neither the requester nor already in the step).
    fn apply_reassign(&mut self, actor: UserId, to: UserId) -> Result<(), RequestError> {
        self.require_pending()?;
        let open = self.open_steps_of(actor);
        if open.is_empty() {
            return Err(RequestError::NotAnApprover);
        }
        if to == self.requester_id {
            return Err(RequestError::Invalid(
                "the requester cannot approve their own request",
            ));
        }
        if open
            .iter()
            .any(|index| self.steps[*index].approver_ids.contains(&to))
        {
            return Err(RequestError::Invalid(
                "that person is already an approver of this step",
            ));
        }
        for index in open {
            let step = &mut self.steps[index];
            for id in &mut step.approver_ids {
                if *id == actor {
                    *id = to;
                }
            }
        }
        Ok(())
    }
}
