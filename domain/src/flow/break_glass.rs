//! Break-glass flows (issue 27): emergency access that is granted at once, told loudly to the
//! administrators and reviewed by them after the fact. What such a flow must be is checked here; what
//! a request through one must carry, and its review, are the request's rules
//! (`crate::request::break_glass`).

use super::{ApprovalType, ExtensionApproval, FlowDraft, FlowKind, Provisioning};
use crate::validation::ValidationErrors;

/// The longest access a break-glass flow may grant: 4 hours.
pub const MAX_BREAK_GLASS_SECONDS: i64 = 4 * 3600;
/// The shortest reason a break-glass request takes (once trimmed): an emergency is explained.
pub const BREAK_GLASS_REASON_MIN_CHARS: usize = 40;
/// How many break-glass requests one person may make within [`BREAK_GLASS_WINDOW_HOURS`], across
/// every break-glass flow.
pub const BREAK_GLASS_PER_WINDOW: usize = 2;
/// The rolling window of the rate limit, in hours.
pub const BREAK_GLASS_WINDOW_HOURS: i64 = 24;

/// The rules of a break-glass flow: a resource request (a group membership) with short timed
/// access, approved at once (`automatic`: it has no approvers to ask, and so no conditions or
/// escalation), its access added at once (no fulfilment task, no scheduled start, no activation),
/// never extended, and no Slack approvals (its alerts go to the administrators whatever the flow says).
pub(super) fn check(draft: &FlowDraft, errors: &mut ValidationErrors) {
    if draft.kind != FlowKind::ResourceRequest {
        errors.push(
            "break_glass",
            "only a resource_request flow can be break-glass",
        );
        return;
    }
    if draft.approval_type != ApprovalType::Automatic {
        errors.push(
            "approval_type",
            "a break-glass flow grants access at once: it must be automatic (administrators review each request after the fact)",
        );
    }
    match &draft.timed_access {
        None => errors.push(
            "timed_access",
            format!(
                "a break-glass flow grants short access: give durations of at most {MAX_BREAK_GLASS_SECONDS} seconds (4 hours)"
            ),
        ),
        Some(timed) => {
            for (index, seconds) in timed.durations_seconds.iter().enumerate() {
                if *seconds > MAX_BREAK_GLASS_SECONDS {
                    errors.push(
                        format!("timed_access.durations_seconds[{index}]"),
                        format!(
                            "a break-glass flow grants at most {MAX_BREAK_GLASS_SECONDS} seconds (4 hours)"
                        ),
                    );
                }
            }
        }
    }
    if let Some(fulfilment) = draft.fulfilment {
        if fulfilment.provisioning != Provisioning::Automatic {
            errors.push(
                "fulfilment.provisioning",
                "break-glass access is added at once: provisioning must be automatic",
            );
        }
        if fulfilment.assignment {
            errors.push(
                "fulfilment.assignment",
                "break-glass access is complete at once: it has no assignment task",
            );
        }
    }
    if draft
        .extensions
        .is_some_and(|e| e.approval != ExtensionApproval::None)
    {
        errors.push(
            "extensions",
            "break-glass access cannot be extended; ask again (another break-glass request) if the emergency lasts",
        );
    }
    if draft.scheduling.is_some() {
        errors.push(
            "scheduling",
            "break-glass access is for now: it cannot be scheduled to start later",
        );
    }
    if draft.activation.is_some() {
        errors.push(
            "activation",
            "break-glass access starts at once: it does not wait for activation",
        );
    }
    if draft.slack.as_ref().is_some_and(|s| s.enabled) {
        errors.push(
            "slack.enabled",
            "a break-glass flow asks no approver; when Slack is connected its alerts go to the administrators by direct message",
        );
    }
}
