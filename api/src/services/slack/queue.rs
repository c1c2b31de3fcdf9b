//! What a request's change asks of Slack, queued in the change's own transaction (called by the
//! request engine's `store` for every saved change).

use chrono::{DateTime, Utc};
use portcullis_domain::EventId;
use portcullis_domain::flow::ApproverType;
use portcullis_domain::request::{AccessRequest, RequestStatus, StepState};
use portcullis_persistence::repo::{flows, slack};

use super::{Job, enqueue};
use crate::error::ApiError;
use crate::tx::Tx;

/// Whether a channel post about `request` still asks for a decision: it is pending with an
/// administrator step active.
pub fn channel_post_open(request: &AccessRequest) -> bool {
    request.status() == RequestStatus::Pending
        && request
            .steps()
            .iter()
            .any(|s| s.state == StepState::Active && s.approver_type == ApproverType::Administrator)
}

/// Queues the Slack work a change causes, when Slack is connected and the request's flow has Slack
/// approvals on: messages to approvers who now await it (channel posts for an administrator step that
/// just became active in channel mode), the update of messages whose recipients can no longer act,
/// and the requester's note of a decision.
pub fn on_request_change(
    conn: &mut Tx,
    event_id: Option<EventId>,
    before: Option<&AccessRequest>,
    after: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    // The change's event already found out whether Slack is connected: nearly always it is not.
    if conn.slack_connected() == Some(false) {
        return Ok(());
    }
    let Some(connection) = slack::connection(conn)? else {
        return Ok(());
    };
    let flow = flows::find(conn, after.flow_id())?;
    let approvals = flow.as_ref().and_then(|f| f.slack_approvals().cloned());
    // A deleted flow's requests are canceled: their messages are still closed.
    if approvals.is_none() && flow.is_some() {
        return Ok(());
    }
    let request_id = after.id().to_string();
    if let Some(approvals) = &approvals {
        for (index, step) in after.steps().iter().enumerate() {
            if step.state != StepState::Active || after.status() != RequestStatus::Pending {
                continue;
            }
            if step.approver_type == ApproverType::Administrator && approvals.posts_to_channels() {
                let was_active = before.is_some_and(|b| {
                    b.status() == RequestStatus::Pending
                        && b.steps()
                            .get(index)
                            .is_some_and(|s| s.state == StepState::Active)
                });
                if was_active {
                    continue;
                }
                let channels: Vec<String> = if approvals.channel_ids.is_empty() {
                    connection.default_channel_ids.clone()
                } else {
                    approvals
                        .channel_ids
                        .iter()
                        .map(|c| c.as_str().to_owned())
                        .collect()
                };
                for channel in channels {
                    let job = Job::PostToChannel {
                        request_id: request_id.clone(),
                        channel,
                    };
                    enqueue(conn, &job, event_id, now)?;
                }
                continue;
            }
            for approver in &step.approver_ids {
                let new = after.awaits(*approver) && !before.is_some_and(|b| b.awaits(*approver));
                if new {
                    let job = Job::AskApprover {
                        request_id: request_id.clone(),
                        approver_id: approver.to_string(),
                    };
                    enqueue(conn, &job, event_id, now)?;
                }
            }
        }
    }
    let Some(before) = before else {
        return Ok(());
    };
    let someone_stopped = before
        .people()
        .into_iter()
        .any(|p| before.awaits(p) && !after.awaits(p));
    let channels_stopped = channel_post_open(before) && !channel_post_open(after);
    if someone_stopped || channels_stopped {
        let job = Job::CloseMessages {
            request_id: request_id.clone(),
        };
        enqueue(conn, &job, event_id, now)?;
    }
    let decided = before.status() != after.status()
        && matches!(
            after.status(),
            RequestStatus::Approved | RequestStatus::Denied | RequestStatus::Expired
        );
    if decided && connection.notify_requester && approvals.is_some() {
        enqueue(conn, &Job::TellRequester { request_id }, event_id, now)?;
    }
    Ok(())
}

/// A break-glass request: when Slack is connected, each of its reviewers (the administrators) gets
/// a direct message at once, whatever the flow's Slack approvals (a break-glass flow has none).
pub fn alert_admins(
    conn: &mut Tx,
    event_id: EventId,
    request: &AccessRequest,
    reviewers: &[portcullis_domain::UserId],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if reviewers.is_empty()
        || conn.slack_connected() == Some(false)
        || slack::connection(conn)?.is_none()
    {
        return Ok(());
    }
    for admin in reviewers {
        let job = Job::AlertAdmin {
            request_id: request.id().to_string(),
            admin_id: admin.to_string(),
        };
        enqueue(conn, &job, Some(event_id), now)?;
    }
    Ok(())
}
