//! What a command produced: the request's next state, how a store writes it, its events, and the
//! objects it creates (a grant, a session, a comment). A store writes all of it in one transaction.

use chrono::{DateTime, Utc};

use super::events::{RequestEvent, RequestEventKind};
use super::{AccessRequest, RequestError, RequestStatus};
use crate::access::{Grant, GrantStart, Session};
use crate::flow::Activation;
use crate::flow::FlowKind;
use crate::ids::{CommentId, GroupId, RequestId, UserId};

/// How the request itself is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A new request.
    Insert,
    /// A new version of a stored request, written only if the store still holds `expected_version`
    /// (another writer who changed it first wins; this change is then made again from its state).
    Update { expected_version: i64 },
    /// The request does not change (a comment, a session).
    Unchanged,
}

/// A comment on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub request_id: RequestId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What one command did.
#[derive(Debug, Clone)]
#[must_use = "a change does nothing until it is saved"]
pub struct Change {
    /// The request as it is after the command.
    pub request: AccessRequest,
    /// The request as it was (`None` for a new one).
    pub before: Option<AccessRequest>,
    pub write: Write,
    /// In the order they happened.
    pub events: Vec<RequestEvent>,
    pub grant: Option<Grant>,
    /// An approved extension's grant, its end moved (written only over the version it was read at).
    pub extended_grant: Option<Grant>,
    /// A grant this change ended (a break-glass review's revocation; written only over the version
    /// it was read at, its membership removed).
    pub ended_grant: Option<Grant>,
    pub session: Option<Session>,
    pub comment: Option<Comment>,
    /// An approval of a resource request, waiting for [`Change::grant_in`].
    needs_group: bool,
}

impl Change {
    pub(crate) fn new(before: Option<AccessRequest>, request: AccessRequest, write: Write) -> Self {
        Self {
            request,
            before,
            write,
            events: Vec::new(),
            grant: None,
            extended_grant: None,
            ended_grant: None,
            session: None,
            comment: None,
            needs_group: false,
        }
    }

    /// A new version of `before`: the version is bumped here, and only here.
    pub(crate) fn update(before: &AccessRequest, mut after: AccessRequest) -> Self {
        after.version = before.version + 1;
        Self::new(
            Some(before.clone()),
            after,
            Write::Update {
                expected_version: before.version,
            },
        )
    }

    /// Records an event that left the request in its current status.
    pub(crate) fn event(
        self,
        kind: RequestEventKind,
        actor: Option<UserId>,
        status_before: Option<RequestStatus>,
    ) -> Self {
        let status_after = self.request.status;
        self.event_to(kind, actor, status_before, status_after)
    }

    pub(crate) fn event_to(
        mut self,
        kind: RequestEventKind,
        actor: Option<UserId>,
        status_before: Option<RequestStatus>,
        status_after: RequestStatus,
    ) -> Self {
        self.events.push(RequestEvent {
            kind,
            actor,
            status_before,
            status_after,
        });
        self
    }

    /// An approval that settled the request; a resource request's then needs its flow's target group.
    pub(crate) fn approval(mut self) -> Self {
        self.needs_group = self.request.kind == FlowKind::ResourceRequest
            && self.request.status == RequestStatus::Approved;
        self
    }

    /// The approval's flow has no group to grant now (its fulfilment provisions later, or not at all).
    pub(crate) fn settled(mut self) -> Self {
        self.needs_group = false;
        self
    }

    /// Whether this approval grants access and so needs to know the flow's target group.
    pub fn needs_target_group(&self) -> bool {
        self.needs_group
    }

    /// Completes an approval of a resource request with the flow's target group (`None` if the
    /// flow has none or the group no longer exists) and its `activation` rule: access is granted in
    /// it for the request's duration — at once, or later (`scheduled` for the request's
    /// `starts_at`, or `awaiting_activation` by the requester; see [`Grant::approved`]); without a
    /// group the request goes to `error` instead (seed 001's retryable error), with the decision
    /// that approved it not kept.
    pub fn grant_in(
        mut self,
        group: Option<GroupId>,
        activation: Option<Activation>,
        now: DateTime<Utc>,
    ) -> Result<Self, RequestError> {
        if !self.needs_group {
            return Ok(self);
        }
        self.needs_group = false;
        let actor = self.approving_actor();
        match group {
            Some(group) => {
                let r = &self.request;
                let start = GrantStart {
                    starts_at: r.starts_at,
                    activation_window_seconds: activation.map(|a| a.window_seconds),
                };
                let grant =
                    Grant::approved(r.id, r.requester_id, group, r.duration_seconds, start, now);
                let given = if grant.status.is_waiting() {
                    RequestEventKind::AccessScheduled {
                        grant_id: grant.id,
                        group_id: grant.group_id,
                        user_id: grant.user_id,
                        grant_status: grant.status,
                        starts_at: grant.starts_at,
                        activate_by: grant.activate_by,
                        expires_at: grant.expires_at,
                    }
                } else {
                    RequestEventKind::AccessAdded {
                        grant_id: grant.id,
                        group_id: grant.group_id,
                        user_id: grant.user_id,
                        expires_at: grant.expires_at,
                    }
                };
                self.grant = Some(grant);
                Ok(self.event(given, actor, Some(RequestStatus::Approved)))
            }
            None => self.fail_approval("the group access is granted through no longer exists"),
        }
    }

    /// Who made the approval this change records (`None`: automatic).
    pub(crate) fn approving_actor(&self) -> Option<UserId> {
        self.events
            .iter()
            .rev()
            .find(|e| matches!(e.kind, RequestEventKind::Approved(_)))
            .and_then(|e| e.actor)
    }

    /// The approval cannot give what it approved (`error`): the request goes to `error` from the
    /// state it was in, with the decision that approved it not kept.
    pub(crate) fn fail_approval(mut self, error: &'static str) -> Result<Self, RequestError> {
        self.needs_group = false;
        let actor = self.approving_actor();
        let Some(pending) = self.before.clone() else {
            return Err(RequestError::conflict("an approval without a prior state"));
        };
        let mut failed = pending.clone();
        failed.fail_in_place(error)?;
        failed.version = pending.version + 1;
        let error = failed.error.clone().unwrap_or_default();
        self.request = failed;
        self.events
            .retain(|e| !matches!(e.kind, RequestEventKind::Approved(_)));
        Ok(self.event(
            RequestEventKind::Failed { error },
            actor,
            Some(pending.status),
        ))
    }
}
