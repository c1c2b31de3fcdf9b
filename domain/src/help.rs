//! Help requests (seed 004: "Ask for help ... from the app card of the app you need access to"): a
//! question about a flow for its App Admins, with comments both ways, until someone resolves it.
//!
//! A help request never grants access and never becomes an access request. Its answerers are fixed
//! when it is opened: the flow's App Admins (its owners) who are active people, or the active
//! administrators (the IT Admins) when it has none. Administrators may always see, answer and
//! resolve it; the asker may comment and resolve it too.

use chrono::{DateTime, Utc};

use crate::flow::ApprovalFlow;
use crate::ids::{CommentId, FlowId, HelpRequestId, UserId};
use crate::request::{Actor, Refusal, Role, parse_text};

crate::text_enum!(
    /// `open` until the asker, an answerer or an administrator resolves it.
    HelpState { Open => "open", Resolved => "resolved" }
);

/// What went wrong with a help request command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelpError {
    #[error("no approval flow with id {0} is available to you")]
    FlowUnavailable(FlowId),
    #[error("no help request with id {0}")]
    NotFound(HelpRequestId),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the help request is resolved")]
    Resolved,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl HelpError {
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::FlowUnavailable(_) | Self::NotFound(_) => Refusal::NotFound,
            Self::Forbidden(_) => Refusal::Forbidden,
            Self::Resolved => Refusal::Conflict,
            Self::Invalid { .. } => Refusal::Invalid,
        }
    }

    /// The field an invalid input is about.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// A help request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRequest {
    pub id: HelpRequestId,
    pub flow_id: FlowId,
    /// The flow's name when the question was asked.
    pub flow_name: String,
    pub asker_id: UserId,
    pub message: String,
    /// Who is asked to answer: the flow's App Admins, or the administrators when it has none.
    pub answerer_ids: Vec<UserId>,
    pub state: HelpState,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<UserId>,
    pub version: i64,
}

/// A comment on a help request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpComment {
    pub id: CommentId,
    pub help_request_id: HelpRequestId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What happened to a help request, for the audit log, webhooks and emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpEvent {
    Opened,
    Commented(HelpComment),
    Resolved,
}

impl HelpEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Opened => crate::events::HELP_REQUESTED,
            Self::Commented(_) => crate::events::HELP_COMMENTED,
            Self::Resolved => crate::events::HELP_RESOLVED,
        }
    }
}

/// A command's result: the help request before and after, and what happened, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpChange {
    /// `None` for a new help request.
    pub before: Option<HelpRequest>,
    pub after: HelpRequest,
    pub event: HelpEvent,
    pub actor: UserId,
}

/// What someone asks, with what the store found for it.
#[derive(Debug, Clone, Copy)]
pub struct HelpAsk<'a> {
    pub flow_id: FlowId,
    /// The flow, if it exists.
    pub flow: Option<&'a ApprovalFlow>,
    /// Whether the flow is offered to the asker (its visibility).
    pub visible: bool,
    pub message: &'a str,
    /// The flow's owners who are active people (its App Admins).
    pub app_admins: &'a [UserId],
    /// The active administrators (the IT Admins).
    pub it_admins: &'a [UserId],
}

impl HelpRequest {
    /// Opens a help request `by` the asker. Integration accounts never ask; a flow the asker cannot
    /// see is unavailable, as for an access request.
    pub fn open(
        id: HelpRequestId,
        ask: HelpAsk<'_>,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<HelpChange, HelpError> {
        if by.role == Role::Integration {
            return Err(HelpError::Forbidden(
                "integration accounts never ask for help",
            ));
        }
        let flow = ask
            .flow
            .filter(|f| f.enabled() && ask.visible)
            .ok_or(HelpError::FlowUnavailable(ask.flow_id))?;
        let message = parse_message("message", ask.message)?;
        let pick = |ids: &[UserId]| -> Vec<UserId> {
            let mut picked: Vec<UserId> = Vec::new();
            for id in ids.iter().filter(|id| **id != by.id) {
                if !picked.contains(id) {
                    picked.push(*id);
                }
            }
            picked
        };
        let mut answerer_ids = pick(ask.app_admins);
        if answerer_ids.is_empty() {
            answerer_ids = pick(ask.it_admins);
        }
        if answerer_ids.is_empty() {
            return Err(HelpError::invalid(
                "flow_id",
                "nobody but you can answer questions about this flow",
            ));
        }
        let after = Self {
            id,
            flow_id: flow.id(),
            flow_name: flow.name().to_owned(),
            asker_id: by.id,
            message,
            answerer_ids,
            state: HelpState::Open,
            created_at: now,
            resolved_at: None,
            resolved_by: None,
            version: 1,
        };
        Ok(HelpChange {
            before: None,
            after,
            event: HelpEvent::Opened,
            actor: by.id,
        })
    }

    /// Who may see it: the asker, its answerers and administrators. Anyone else is told it does not
    /// exist.
    pub fn may_view(&self, actor: &Actor) -> bool {
        actor.role == Role::Admin || self.asker_id == actor.id || self.is_answerer(actor.id)
    }

    pub fn is_answerer(&self, user: UserId) -> bool {
        self.answerer_ids.contains(&user)
    }

    /// Whether it waits on `user`: open, and `user` is asked to answer (their Action Required).
    pub fn waits_on(&self, user: UserId) -> bool {
        self.state == HelpState::Open && self.is_answerer(user)
    }

    /// Checks that `actor` may see it (a 404 otherwise).
    pub fn visible_to(&self, actor: &Actor) -> Result<(), HelpError> {
        if self.may_view(actor) {
            Ok(())
        } else {
            Err(HelpError::NotFound(self.id))
        }
    }

    fn require_open(&self) -> Result<(), HelpError> {
        match self.state {
            HelpState::Open => Ok(()),
            HelpState::Resolved => Err(HelpError::Resolved),
        }
    }

    fn next(&self) -> Self {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// A comment by anyone who sees it, while it is open.
    pub fn comment(
        &self,
        comment_id: CommentId,
        body: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<HelpChange, HelpError> {
        self.visible_to(by)?;
        let body = parse_message("body", body)?;
        self.require_open()?;
        let comment = HelpComment {
            id: comment_id,
            help_request_id: self.id,
            author_id: by.id,
            body,
            created_at: now,
        };
        Ok(HelpChange {
            before: Some(self.clone()),
            after: self.next(),
            event: HelpEvent::Commented(comment),
            actor: by.id,
        })
    }

    /// Resolves it: the asker, an answerer (an App Admin) or an administrator (an IT Admin). It
    /// then leaves the answerers' Action Required.
    pub fn resolve(&self, by: &Actor, now: DateTime<Utc>) -> Result<HelpChange, HelpError> {
        self.visible_to(by)?;
        self.require_open()?;
        let mut after = self.next();
        after.state = HelpState::Resolved;
        after.resolved_at = Some(now);
        after.resolved_by = Some(by.id);
        Ok(HelpChange {
            before: Some(self.clone()),
            after,
            event: HelpEvent::Resolved,
            actor: by.id,
        })
    }
}

/// A help request's message or a comment: not blank, at most the API's text length.
fn parse_message(field: &'static str, raw: &str) -> Result<String, HelpError> {
    match parse_text(Some(raw)) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(HelpError::invalid(field, "must not be empty")),
        Err(message) => Err(HelpError::invalid(field, message)),
    }
}

#[cfg(test)]
mod tests;
