//! The Block Kit messages: the approval request with its Approve and Deny buttons, the same message
//! showing the outcome (its buttons gone), the denial modal, and the requester's note of the decision.

use serde_json::{Value, json};

/// `action_id`s of the buttons and the modal's identifiers.
pub const APPROVE: &str = "approve";
pub const DENY: &str = "deny";
pub const DENY_CALLBACK: &str = "deny_request";
pub const REASON: &str = "reason";
pub const NEXT_STEPS: &str = "next_steps";
/// Slack's limit on a section's text.
const SECTION_CHARS: usize = 3000;

/// What a message says about a request.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    pub request_id: String,
    pub flow_name: String,
    pub requester_name: String,
    pub requester_email: String,
    pub reason: String,
    /// "8 hours"; `None`: no time limit.
    pub duration: Option<String>,
    /// One line per step when the settings show the approval progress.
    pub progress: Option<Vec<String>>,
    pub link: String,
}

/// How a request ended, for the messages that show it.
#[derive(Debug, Clone)]
pub struct OutcomeSummary {
    /// "Approved", "Denied", "Expired", "Canceled", …
    pub status: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub next_steps: Option<String>,
}

/// Escapes what Slack's mrkdwn reads as markup (`&`, `<`, `>`), and keeps within a section's limit.
fn escape(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    escaped.chars().take(SECTION_CHARS - 100).collect()
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn summary_blocks(summary: &RequestSummary) -> Vec<Value> {
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": format!("Access request: {}", summary.flow_name).chars().take(150).collect::<String>() } }),
        json!({ "type": "section", "fields": [
            { "type": "mrkdwn", "text": format!("*Requester*\n{} ({})", escape(&summary.requester_name), escape(&summary.requester_email)) },
            { "type": "mrkdwn", "text": format!("*For how long*\n{}", summary.duration.as_deref().unwrap_or("No time limit")) },
        ] }),
        section(format!("*Why*\n{}", escape(&summary.reason))),
    ];
    if let Some(progress) = &summary.progress {
        let lines: Vec<String> = progress
            .iter()
            .map(|l| format!("• {}", escape(l)))
            .collect();
        blocks.push(section(format!(
            "*Approval progress*\n{}",
            lines.join("\n")
        )));
    }
    blocks.push(json!({ "type": "context", "elements": [
        { "type": "mrkdwn", "text": format!("<{}|Open the request in the portal>", summary.link) }
    ] }));
    blocks
}

/// The fallback text (notifications, screen readers).
pub fn request_text(summary: &RequestSummary) -> String {
    format!(
        "{} requests {}: {}",
        summary.requester_name, summary.flow_name, summary.reason
    )
}

/// The approval request, with Approve and Deny.
pub fn approval_request(summary: &RequestSummary) -> Value {
    let mut blocks = summary_blocks(summary);
    blocks.push(
        json!({ "type": "actions", "block_id": "decision", "elements": [
        { "type": "button", "action_id": APPROVE, "style": "primary", "value": summary.request_id,
          "text": { "type": "plain_text", "text": "Approve" } },
        { "type": "button", "action_id": DENY, "style": "danger", "value": summary.request_id,
          "text": { "type": "plain_text", "text": "Deny" } },
    ] }),
    );
    Value::Array(blocks)
}

fn outcome_line(outcome: &OutcomeSummary) -> String {
    let mut line = format!("*{}*", outcome.status);
    if let Some(by) = &outcome.decided_by {
        line.push_str(&format!(" by {}", escape(by)));
    }
    if let Some(reason) = &outcome.reason {
        line.push_str(&format!("\n*Reason:* {}", escape(reason)));
    }
    if let Some(next) = &outcome.next_steps {
        line.push_str(&format!("\n*Next steps:* {}", escape(next)));
    }
    line
}

/// The fallback text of a break-glass alert.
pub fn break_glass_text(summary: &RequestSummary) -> String {
    format!(
        "Break-glass: {} took emergency access to {}: {}",
        summary.requester_name, summary.flow_name, summary.reason
    )
}

/// An administrator's alert of a break-glass request: what was taken and why, and where to review
/// it (no buttons: the access is already given).
pub fn break_glass_alert(summary: &RequestSummary) -> Value {
    let mut blocks = vec![section(
        ":rotating_light: *Break-glass access* was granted at once, without approval. Review it: confirm it, or revoke the access.".to_owned(),
    )];
    blocks.extend(summary_blocks(summary));
    Value::Array(blocks)
}

/// The approval request as it ends: the outcome instead of the buttons.
pub fn closed_request(summary: &RequestSummary, outcome: &OutcomeSummary) -> Value {
    let mut blocks = summary_blocks(summary);
    blocks.push(section(outcome_line(outcome)));
    Value::Array(blocks)
}

pub fn outcome_text(summary: &RequestSummary, outcome: &OutcomeSummary) -> String {
    format!(
        "{}'s request for {}: {}",
        summary.requester_name, summary.flow_name, outcome.status
    )
}

/// The requester's note of the decision.
pub fn decision_for_requester(summary: &RequestSummary, outcome: &OutcomeSummary) -> Value {
    json!([
        section(format!("Your request for *{}*", escape(&summary.flow_name))),
        section(outcome_line(outcome)),
        { "type": "context", "elements": [
            { "type": "mrkdwn", "text": format!("<{}|Open the request in the portal>", summary.link) }
        ] },
    ])
}

/// The modal a Deny button opens: why, and what the requester can do next (seed 001).
pub fn denial_modal(request_id: &str, flow_name: &str) -> Value {
    let input = |block: &str, label: &str, optional: bool, hint: &str| {
        json!({ "type": "input", "block_id": block, "optional": optional,
            "label": { "type": "plain_text", "text": label },
            "hint": { "type": "plain_text", "text": hint },
            "element": { "type": "plain_text_input", "action_id": block, "multiline": true, "max_length": 2000 } })
    };
    json!({
        "type": "modal",
        "callback_id": DENY_CALLBACK,
        "private_metadata": request_id,
        "title": { "type": "plain_text", "text": "Deny access" },
        "submit": { "type": "plain_text", "text": "Deny" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            section(format!("Deny the request for *{}*?", escape(flow_name))),
            input(REASON, "Reason", false, "Why the request is denied; the requester sees it."),
            input(NEXT_STEPS, "Next steps", true, "What the requester can do instead."),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RequestSummary {
        RequestSummary {
            request_id: "r1".into(),
            flow_name: "GitHub Admin".into(),
            requester_name: "Riley <script>".into(),
            requester_email: "riley@example.org".into(),
            reason: "Review & ship".into(),
            duration: Some("1 hour".into()),
            progress: Some(vec!["Manager: approved".into()]),
            link: "https://portal.example.com/approvals/r1".into(),
        }
    }

    #[test]
    fn the_request_has_both_buttons_and_the_outcome_none() {
        let open = approval_request(&summary()).to_string();
        assert!(
            open.contains("\"action_id\":\"approve\"") && open.contains("\"action_id\":\"deny\"")
        );
        assert!(open.contains("Riley &lt;script&gt;") && open.contains("Review &amp; ship"));
        let outcome = OutcomeSummary {
            status: "Approved".into(),
            decided_by: Some("Max".into()),
            reason: None,
            next_steps: None,
        };
        let closed = closed_request(&summary(), &outcome).to_string();
        assert!(!closed.contains("\"actions\"") && closed.contains("*Approved* by Max"));
    }
}
