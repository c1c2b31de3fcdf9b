//! The names of every event the product records: in the audit log, in webhook deliveries and as
//! what a webhook channel subscribes to. Requests' events use the seeds' names (JumpCloud's
//! `access_management_*`); the directory's and the channels' are the product's own. Defined once
//! here, so the use cases that record them and the notifications that react to them share them.

/// A request was submitted.
pub const REQUEST_CREATED: &str = "access_management_access_request";
/// A request was approved (by its approvers, an override, or at once by an automatic flow).
pub const REQUEST_APPROVED: &str = "access_management_access_request_approval";
/// A request was denied.
pub const REQUEST_DENIED: &str = "access_management_access_request_deny";
/// Access was added or removed: a grant's membership of the flow's target group.
pub const ASSOCIATION_CHANGE: &str = "access_management_association_change";
/// An approval gave access that starts later: a grant `scheduled` for its `starts_at`, or one
/// `awaiting_activation` by its holder.
pub const GRANT_SCHEDULE: &str = "access_management_grant_schedule";
/// A grant that waited started: at its `starts_at` (the jobs) or on its holder's activation; its
/// membership was added.
pub const GRANT_START: &str = "access_management_grant_start";
/// A grant that never started ended: revoked before its start, or not activated in time (or its
/// whole time passed before it could start). It never had a membership.
pub const GRANT_CANCEL: &str = "access_management_grant_cancel";
/// An approver decided on a step without settling the request.
pub const STEP_DECISION: &str = "access_management_access_request_step_decision";
pub const REQUEST_CANCELED: &str = "access_management_access_request_cancel";
pub const REQUEST_EXPIRED: &str = "access_management_access_request_expire";
/// A request moved to `error`: something it depends on changed.
pub const REQUEST_ERROR: &str = "access_management_access_request_error";
pub const REQUEST_RETRIED: &str = "access_management_access_request_retry";
pub const REQUEST_REASSIGNED: &str = "access_management_access_request_reassign";
/// A request left undecided got its flow's fallback approvers (escalation).
pub const REQUEST_ESCALATED: &str = "access_management_access_request_escalate";
pub const REQUEST_COMMENTED: &str = "access_management_access_request_comment";
/// A request through a break-glass flow was approved at once: the administrators' alert.
pub const REQUEST_BREAK_GLASS: &str = "access_management_access_request_break_glass";
/// An administrator reviewed a break-glass request (confirmed it, or revoked its access).
pub const REQUEST_BREAK_GLASS_REVIEW: &str = "access_management_access_request_break_glass_review";
/// A fulfilment task (provisioning, assignment, deprovisioning) opened for its assignees.
pub const FULFILMENT_TASK_OPEN: &str = "access_management_access_request_fulfilment_task_open";
/// A fulfilment task was completed.
pub const FULFILMENT_TASK_DONE: &str = "access_management_access_request_fulfilment_task_done";
pub const SESSION_START: &str = "access_management_device_admin_session_start";
pub const SESSION_END: &str = "access_management_device_admin_session_end";
/// Someone asked an app's admins for help (seed 004); a help request never grants access.
pub const HELP_REQUESTED: &str = "access_management_help_request";
pub const HELP_COMMENTED: &str = "access_management_help_request_comment";
pub const HELP_RESOLVED: &str = "access_management_help_request_resolve";

pub const FLOW_CREATE: &str = "access_management_approval_flow_create";
pub const FLOW_UPDATE: &str = "access_management_approval_flow_update";
pub const FLOW_DELETE: &str = "access_management_approval_flow_delete";
pub const SETTINGS_UPDATE: &str = "access_management_access_request_settings_update";

pub const USER_CREATE: &str = "user_create";
pub const USER_UPDATE: &str = "user_update";
pub const USER_DEACTIVATE: &str = "user_deactivate";
pub const USER_DELETE: &str = "user_delete";
pub const GROUP_CREATE: &str = "user_group_create";
pub const GROUP_UPDATE: &str = "user_group_update";
pub const GROUP_DELETE: &str = "user_group_delete";
pub const GROUP_MEMBER_ADD: &str = "user_group_member_add";
pub const GROUP_MEMBER_REMOVE: &str = "user_group_member_remove";
pub const DEVICE_CREATE: &str = "device_create";
pub const DEVICE_UPDATE: &str = "device_update";
pub const DEVICE_DELETE: &str = "device_delete";
pub const CHANNEL_CREATE: &str = "webhook_channel_create";
pub const CHANNEL_UPDATE: &str = "webhook_channel_update";
pub const CHANNEL_DELETE: &str = "webhook_channel_delete";
pub const SCIM_TOKEN_CREATE: &str = "scim_token_create";
pub const SCIM_TOKEN_REVOKE: &str = "scim_token_revoke";
/// The Slack connection (bot token, signing secret, channels) was set or changed.
pub const SLACK_CONNECTION_UPDATE: &str = "slack_connection_update";
/// A click or form in Slack was refused (not an approver, the requester, unknown to Portcullis…).
pub const SLACK_INTERACTION_REFUSED: &str = "slack_interaction_refused";

/// Every event type the server records, which is what a webhook channel may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    REQUEST_CREATED,
    REQUEST_APPROVED,
    REQUEST_DENIED,
    ASSOCIATION_CHANGE,
    GRANT_SCHEDULE,
    GRANT_START,
    GRANT_CANCEL,
    FLOW_CREATE,
    FLOW_UPDATE,
    FLOW_DELETE,
    SETTINGS_UPDATE,
    STEP_DECISION,
    REQUEST_CANCELED,
    REQUEST_EXPIRED,
    REQUEST_ERROR,
    REQUEST_RETRIED,
    REQUEST_REASSIGNED,
    REQUEST_ESCALATED,
    REQUEST_COMMENTED,
    REQUEST_BREAK_GLASS,
    REQUEST_BREAK_GLASS_REVIEW,
    FULFILMENT_TASK_OPEN,
    FULFILMENT_TASK_DONE,
    SESSION_START,
    SESSION_END,
    HELP_REQUESTED,
    HELP_COMMENTED,
    HELP_RESOLVED,
    USER_CREATE,
    USER_UPDATE,
    USER_DEACTIVATE,
    USER_DELETE,
    GROUP_CREATE,
    GROUP_UPDATE,
    GROUP_DELETE,
    GROUP_MEMBER_ADD,
    GROUP_MEMBER_REMOVE,
    DEVICE_CREATE,
    DEVICE_UPDATE,
    DEVICE_DELETE,
    CHANNEL_CREATE,
    CHANNEL_UPDATE,
    CHANNEL_DELETE,
    SCIM_TOKEN_CREATE,
    SCIM_TOKEN_REVOKE,
    SLACK_CONNECTION_UPDATE,
    SLACK_INTERACTION_REFUSED,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_unique() {
        let mut sorted = EVENT_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EVENT_TYPES.len());
    }
}
