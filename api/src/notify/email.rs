//! Emails: which ones a request's events cause (following the settings' toggles), queued in the
//! outbox with their data, and rendered from the templates in `api/templates/email` when sent.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use portcullis_domain::EventId;
use portcullis_domain::access::GrantStatus;
use portcullis_domain::directory::User;
use portcullis_domain::flow::{ApproverType, FlowKind};
use portcullis_domain::request::{
    AccessRequest, FulfilmentState, RequestEventKind, RequestStatus, StepState, TaskState, TaskType,
};
use portcullis_domain::settings::Settings;
use portcullis_persistence::repo::outbox::{self, NewEntry};
use portcullis_persistence::repo::{grants, settings, users};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::SmtpSettings;
use crate::error::ApiError;
use crate::tx::Tx;
use portcullis_domain::events::{
    REQUEST_APPROVED as APPROVED, REQUEST_CREATED as CREATED, REQUEST_DENIED as DENIED,
    REQUEST_EXPIRED as EXPIRED,
};

pub const REQUEST_RECEIVED: &str = "request_received";
pub const APPROVAL_NEEDED: &str = "approval_needed";
pub const ADMIN_NEW_REQUEST: &str = "admin_new_request";
pub const REQUEST_APPROVED: &str = "request_approved";
pub const REQUEST_DENIED: &str = "request_denied";
pub const REQUEST_EXPIRED: &str = "request_expired";
pub const APPROVAL_REMINDER: &str = "approval_reminder";
pub const ACCESS_ENDING: &str = "access_ending";
pub const TASK_WAITING: &str = "task_waiting";
pub const ACCESS_READY: &str = "access_ready";
pub const ACCESS_STARTED: &str = "access_started";
pub const HELP_REQUESTED: &str = "help_requested";
pub const HELP_COMMENT: &str = "help_comment";
pub const HELP_RESOLVED: &str = "help_resolved";

macro_rules! template {
    ($name:ident) => {
        (
            stringify!($name),
            include_str!(concat!(
                "../../templates/email/",
                stringify!($name),
                ".subject"
            )),
            include_str!(concat!("../../templates/email/", stringify!($name), ".txt")),
            include_str!(concat!(
                "../../templates/email/",
                stringify!($name),
                ".html"
            )),
        )
    };
}

/// Every message, with its subject, plain-text and HTML templates.
const TEMPLATES: &[(&str, &str, &str, &str)] = &[
    template!(request_received),
    template!(approval_needed),
    template!(admin_new_request),
    template!(request_approved),
    template!(request_denied),
    template!(request_expired),
    template!(approval_reminder),
    template!(access_ending),
    template!(task_waiting),
    template!(access_ready),
    template!(access_started),
    template!(help_requested),
    template!(help_comment),
    template!(help_resolved),
    template!(break_glass),
    template!(break_glass_reviewed),
];

/// An email as queued: one recipient, the message's name and the data its templates use.
#[derive(Debug, Serialize, Deserialize)]
pub struct Intent {
    pub to: String,
    pub to_name: String,
    pub data: Value,
}

pub(crate) fn queue(
    conn: &mut Tx,
    event_id: Option<EventId>,
    message: &'static str,
    to: &User,
    mut data: Value,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !to.active || !conn.sends_email() {
        return Ok(());
    }
    if let Some(map) = data.as_object_mut() {
        map.insert("recipient_name".into(), to.display_name.as_str().into());
    }
    let intent = Intent {
        to: to.email.as_str().to_owned(),
        to_name: to.display_name.as_str().to_owned(),
        data,
    };
    outbox::enqueue(
        conn,
        &NewEntry {
            kind: outbox::EMAIL,
            channel_id: None,
            event_id,
            topic: message.to_owned(),
            payload: serde_json::to_string(&intent)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        },
        now,
    )?;
    conn.queued();
    Ok(())
}

/// "8 hours", "3 days", "90 minutes": a duration as a person says it.
pub fn human_duration(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match seconds {
        s if s % 86_400 == 0 && s >= 86_400 => plural(s / 86_400, "day"),
        s if s % 3600 == 0 && s >= 3600 => plural(s / 3600, "hour"),
        s if s % 60 == 0 && s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What every email about a request says about it.
pub(crate) fn request_data(request: &AccessRequest, requester: &User) -> Value {
    json!({
        "request_id": request.id(),
        "flow_name": request.flow_name(),
        "requester_name": requester.display_name.as_str(),
        "requester_email": requester.email.as_str(),
        "reason": request.reason(),
        "duration": request.duration_seconds().map(human_duration),
        "created_at": when(request.created_at()),
        "device_admin": request.kind() == FlowKind::DeviceAdmin,
        "form": request.form(),
    })
}

pub(crate) fn with(mut data: Value, extra: Value) -> Value {
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    data
}

/// The requester's emails for a request event: confirmation on submission, and the outcome
/// (approved, denied, expired), each as the settings allow.
pub fn on_request_event(
    conn: &mut Tx,
    event_id: EventId,
    event_type: &str,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() || ![CREATED, APPROVED, DENIED, EXPIRED].contains(&event_type) {
        return Ok(());
    }
    let settings = settings::get(conn)?.settings;
    let wanted = if event_type == CREATED {
        settings.email_request_received
    } else {
        settings.email_decision
    };
    if !wanted {
        return Ok(());
    }
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let data = request_data(request, &requester);
    let decided_by = match request.outcome().and_then(|o| o.decided_by) {
        Some(id) => users::find(conn, id)?.map(|u| u.display_name.as_str().to_owned()),
        None => None,
    };
    let (message, data) = match event_type {
        CREATED => {
            let approvers = if settings.show_approval_progress {
                approver_names(conn, request)?
            } else {
                Vec::new()
            };
            (
                REQUEST_RECEIVED,
                with(data, json!({ "approvers": approvers })),
            )
        }
        APPROVED => {
            let ends = request
                .duration_seconds()
                .filter(|_| request.kind() == FlowKind::ResourceRequest)
                .map(|s| when(now + chrono::Duration::seconds(s)));
            let comment = request.outcome().and_then(|o| o.comment.clone());
            let being_set_up = request.fulfilment_state() == Some(FulfilmentState::InProgress);
            let data = with(
                data,
                json!({
                    "access_ends_at": ends, "decided_by": decided_by, "comment": comment,
                    "being_set_up": being_set_up,
                }),
            );
            // Access that starts later says when (the grant was written with the approval).
            (
                REQUEST_APPROVED,
                with(data, approval_schedule(conn, request)?),
            )
        }
        DENIED => {
            let outcome = request.outcome().cloned();
            (
                REQUEST_DENIED,
                with(
                    data,
                    json!({
                        "decided_by": decided_by,
                        "denial_reason": outcome.as_ref().and_then(|o| o.reason.clone()),
                        "next_steps": outcome.as_ref().and_then(|o| o.next_steps.clone()),
                        "comment": outcome.as_ref().and_then(|o| o.comment.clone()),
                    }),
                ),
            )
        }
        _ => (
            REQUEST_EXPIRED,
            with(data, json!({ "expiry_days": settings.expiry_days })),
        ),
    };
    queue(conn, Some(event_id), message, &requester, data, now)
}

/// Fulfilment's emails: whoever a task now waits on (it opened, or was reassigned to them) is
/// told; the requester is told when the fulfilment is done (their access is ready).
pub fn on_fulfilment_event(
    conn: &mut Tx,
    event_id: EventId,
    kind: &RequestEventKind,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() {
        return Ok(());
    }
    let (task, recipients) = match kind {
        RequestEventKind::TaskOpened { task, assignee_ids } => (*task, assignee_ids.clone()),
        RequestEventKind::Reassigned {
            to,
            task: Some(task),
            ..
        } => (*task, vec![*to]),
        RequestEventKind::TaskDone { .. }
            if request.fulfilment_state() == Some(FulfilmentState::Done)
                && !request
                    .tasks()
                    .iter()
                    .any(|t| t.task_type == TaskType::Deprovisioning) =>
        {
            return access_ready(conn, event_id, request, now);
        }
        _ => return Ok(()),
    };
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let label = match task {
        TaskType::Provisioning => "create the account (provisioning)",
        TaskType::Assignment => "assign the licence or role (assignment)",
        TaskType::Deprovisioning => "remove the account (deprovisioning)",
        // Break-glass reviewers are alerted with their own email (`notify::break_glass`).
        TaskType::Review => return Ok(()),
    };
    let data = with(
        request_data(request, &requester),
        json!({ "task": task, "task_label": label }),
    );
    for user in users::find_many(conn, &recipients)? {
        queue(conn, Some(event_id), TASK_WAITING, &user, data.clone(), now)?;
    }
    Ok(())
}

fn access_ready(
    conn: &mut Tx,
    event_id: EventId,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let ends = portcullis_persistence::repo::grants::for_request(conn, request.id())?
        .and_then(|g| g.expires_at)
        .map(when);
    let assigned = request
        .tasks()
        .iter()
        .any(|t| t.task_type == TaskType::Assignment && t.state == TaskState::Done);
    let data = with(
        request_data(request, &requester),
        json!({ "access_ends_at": ends, "assigned": assigned }),
    );
    queue(conn, Some(event_id), ACCESS_READY, &requester, data, now)
}

fn approver_names(conn: &mut Tx, request: &AccessRequest) -> Result<Vec<String>, ApiError> {
    let mut ids: Vec<_> = request
        .steps()
        .iter()
        .flat_map(|s| s.approver_ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(users::find_many(conn, &ids)?
        .into_iter()
        .map(|u| u.display_name.as_str().to_owned())
        .collect())
}

/// Tells the approvers of a step that just became theirs (on submission, when an earlier step is
/// done, on reassignment or retry). Steps decided by administrators send the administrators'
/// new-request email instead, if the settings allow it.
pub fn approvers_newly_awaiting(
    conn: &mut Tx,
    event_id: EventId,
    before: Option<&AccessRequest>,
    after: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() || after.status() != RequestStatus::Pending {
        return Ok(());
    }
    let mut recipients = Vec::new();
    for step in after
        .steps()
        .iter()
        .filter(|s| s.state == StepState::Active)
    {
        for approver in &step.approver_ids {
            let new = after.awaits(*approver) && !before.is_some_and(|b| b.awaits(*approver));
            if new && !recipients.iter().any(|(id, _)| id == approver) {
                recipients.push((*approver, step.approver_type));
            }
        }
    }
    if recipients.is_empty() {
        return Ok(());
    }
    let settings: Settings = settings::get(conn)?.settings;
    let Some(requester) = users::find(conn, after.requester_id())? else {
        return Ok(());
    };
    let data = request_data(after, &requester);
    let ids: Vec<_> = recipients.iter().map(|(id, _)| *id).collect();
    for user in users::find_many(conn, &ids)? {
        let admin_step = recipients
            .iter()
            .any(|(id, kind)| *id == user.id && *kind == ApproverType::Administrator);
        let (message, data) = if admin_step {
            if !settings.email_admin_new_request {
                continue;
            }
            let data = with(data.clone(), json!({ "administrator_decides": true }));
            (ADMIN_NEW_REQUEST, data)
        } else {
            (APPROVAL_NEEDED, data.clone())
        };
        queue(conn, Some(event_id), message, &user, data, now)?;
    }
    Ok(())
}

/// Seed 001: "When a user submits a resource request, admins receive an email notification." Every
/// active administrator hears of a newly submitted request that waits for a decision, when the
/// settings allow it; those it already waits on are told by [`approvers_newly_awaiting`] instead,
/// and the requester never hears of their own request this way. Automatic flows' requests are
/// approved on submission: nothing waits for a review, so no email.
pub fn admins_of_submitted_request(
    conn: &mut Tx,
    event_id: EventId,
    event_type: &str,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() || event_type != CREATED || request.status() != RequestStatus::Pending {
        return Ok(());
    }
    if !settings::get(conn)?.settings.email_admin_new_request {
        return Ok(());
    }
    let admins: Vec<User> = users::active_admins(conn)?
        .into_iter()
        .filter(|a| a.id != request.requester_id() && !request.awaits(a.id))
        .collect();
    if admins.is_empty() {
        return Ok(());
    }
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let data = with(
        request_data(request, &requester),
        json!({ "administrator_decides": false }),
    );
    for admin in &admins {
        queue(
            conn,
            Some(event_id),
            ADMIN_NEW_REQUEST,
            admin,
            data.clone(),
            now,
        )?;
    }
    Ok(())
}

/// A reminder to the approvers who still have to act on a request.
pub fn reminder(
    conn: &mut Tx,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    if !conn.sends_email() {
        return Ok(0);
    }
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(0);
    };
    let data = request_data(request, &requester);
    let awaiting: Vec<_> = request
        .steps()
        .iter()
        .flat_map(|s| s.approver_ids.iter().copied())
        .filter(|id| request.awaits(*id))
        .collect();
    let mut sent = 0;
    for user in users::find_many(conn, &awaiting)? {
        queue(conn, None, APPROVAL_REMINDER, &user, data.clone(), now)?;
        sent += 1;
    }
    Ok(sent)
}

/// Tells a holder that their timed access ends soon.
pub fn access_ending(
    conn: &mut Tx,
    request: &AccessRequest,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let Some(holder) = users::find(conn, request.requester_id())? else {
        return Ok(false);
    };
    let data = with(
        request_data(request, &holder),
        json!({ "access_ends_at": when(ends_at) }),
    );
    queue(conn, None, ACCESS_ENDING, &holder, data, now)?;
    Ok(true)
}

/// A rendered email.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The email templates, loaded once.
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = minijinja::Environment::new();
        env.add_template("base.html", include_str!("../../templates/email/base.html"))?;
        for (name, subject, text, html) in TEMPLATES {
            env.add_template_owned(format!("{name}.subject"), *subject)?;
            env.add_template_owned(format!("{name}.txt"), *text)?;
            env.add_template_owned(format!("{name}.html"), *html)?;
        }
        Ok(Self { env })
    }

    /// Renders message `name` with `data` and the portal's address for links.
    pub fn render(&self, name: &str, data: &Value, portal_url: &str) -> Result<Rendered, String> {
        let context = with(data.clone(), json!({ "portal_url": portal_url }));
        let render = |suffix: &str| {
            self.env
                .get_template(&format!("{name}.{suffix}"))
                .and_then(|t| t.render(&context))
                .map_err(|e| format!("cannot render the {name} email: {e}"))
        };
        let subject = render("subject")?;
        Ok(Rendered {
            // A header is one line, whatever the data holds.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: render("txt")?,
            html: render("html")?,
        })
    }
}

/// Sends email over SMTP (connections pooled by lettre).
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &SmtpSettings, timeout: std::time::Duration) -> Result<Self, String> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.expose_secret())
                .map_err(|_| "PORTCULLIS_SMTP_URL is not a valid SMTP URL".to_owned())?
                .timeout(Some(timeout))
                .build();
        Ok(Self {
            transport,
            from: settings.from.clone(),
        })
    }

    /// Sends one message; `Ok` carries the server's reply code.
    pub async fn send(
        &self,
        intent: &Intent,
        email: Rendered,
    ) -> Result<u16, (Option<u16>, String)> {
        let to = Mailbox::new(
            Some(intent.to_name.clone()),
            intent.to.parse().map_err(|_| {
                (
                    None,
                    format!("'{}' is not a deliverable address", intent.to),
                )
            })?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))
            .map_err(|e| (None, format!("cannot build the message: {e}")))?;
        let code = |c: lettre::transport::smtp::response::Code| c.to_string().parse::<u16>().ok();
        match self.transport.send(message).await {
            Ok(response) => Ok(code(response.code()).unwrap_or(250)),
            Err(error) => Err((error.status().and_then(code), error.to_string())),
        }
    }
}

/// Shared by the dispatcher: the mailer, if email is configured.
pub type SharedMailer = Option<Arc<Mailer>>;

/// What the approval email adds for a grant that starts later: when it starts and ends, or until
/// when its holder may activate it (an empty object for access given at once).
fn approval_schedule(conn: &mut Tx, request: &AccessRequest) -> Result<Value, ApiError> {
    let Some(grant) = grants::for_request(conn, request.id())? else {
        return Ok(json!({}));
    };
    Ok(match grant.status {
        GrantStatus::Scheduled => json!({
            "access_starts_at": grant.starts_at.map(when),
            "access_ends_at": grant.expires_at.map(when),
        }),
        GrantStatus::AwaitingActivation => json!({
            "access_starts_at": grant.starts_at.map(when),
            "activate_by": grant.activate_by.map(when),
        }),
        _ => json!({}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(8 * 3600), "8 hours");
        assert_eq!(human_duration(3 * 86_400), "3 days");
        assert_eq!(human_duration(5400), "90 minutes");
        assert_eq!(human_duration(61), "61 seconds");
    }

    #[test]
    fn every_template_renders_and_html_is_escaped() {
        let templates = Templates::new().unwrap();
        let data = json!({
            "recipient_name": "Rita <script>", "request_id": "r1", "flow_name": "GitHub & Co",
            "requester_name": "Rita", "requester_email": "rita@example.com", "reason": "ship it",
            "duration": "8 hours", "created_at": "2026-11-23 10:00 UTC", "device_admin": false,
            "approvers": ["Mo"], "access_ends_at": "2026-11-24 10:00 UTC", "decided_by": "Mo",
            "comment": "ok", "denial_reason": "no", "next_steps": "ask Mo", "expiry_days": 30,
            "help_request_id": "h1", "asker_name": "Rita", "asker_email": "rita@example.com",
            "message": "which licence?", "author_name": "Mo", "body": "the pro one",
        });
        for (name, ..) in TEMPLATES {
            let email = templates
                .render(name, &data, "https://portal.example.com")
                .unwrap();
            assert!(
                !email.subject.is_empty() && !email.subject.contains('\n'),
                "{name}"
            );
            assert!(
                email.text.contains("https://portal.example.com/"),
                "{name}: {}",
                email.text
            );
            assert!(
                email.html.contains("Rita &lt;script&gt;"),
                "{name}: {}",
                email.html
            );
            assert!(!email.html.contains("<script>"), "{name}");
        }
    }

    #[test]
    fn approvers_read_the_form_answers() {
        let templates = Templates::new().unwrap();
        let data = json!({
            "recipient_name": "Mo", "request_id": "r1", "flow_name": "GitHub", "requester_name": "Rita",
            "requester_email": "rita@example.com", "reason": "ship it", "duration": null,
            "form": { "environment": "prod", "ticket": "OPS-<1>" },
        });
        let email = templates
            .render(APPROVAL_NEEDED, &data, "https://portal.example.com")
            .unwrap();
        assert!(
            email.text.contains("environment: prod\nticket: OPS-<1>\n"),
            "{}",
            email.text
        );
        assert!(
            email.html.contains("<li>ticket: OPS-&lt;1&gt;</li>"),
            "{}",
            email.html
        );
        let without =
            json!({ "recipient_name": "Mo", "request_id": "r1", "reason": "ship it", "form": {} });
        let plain = templates
            .render(APPROVAL_NEEDED, &without, "https://portal.example.com")
            .unwrap();
        assert!(
            plain.text.contains("Reason: ship it\n\nApprove"),
            "{}",
            plain.text
        );
    }
}
