use actix_web::{get, web};
use chrono::{DateTime, Utc};
use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::events::EventFilter;
use portcullis_persistence::time::from_db;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::events;
use crate::state::AppState;

/// An audit event, written in the same transaction as the change it records.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e99", "type": "access_management_approval_flow_update",
    "occurred_at": "2026-11-23T09:31:00Z", "actor_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "subject_type": "approval_flow", "subject_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90",
    "data": { "version_before": 1, "version_after": 2 }
}))]
pub struct EventResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// Who made the change; `null` for the system (command-line administration).
    pub actor_id: Option<Uuid>,
    pub subject_type: String,
    pub subject_id: String,
    /// What changed (for updates: versions before and after, and both states).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

list_response!(
    EventList,
    EventResponse,
    "A page of audit events, newest first."
);

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// An event type, e.g. `access_management_approval_flow_create`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    #[validate(length(min = 1, max = 100))]
    #[param(min_length = 1, max_length = 100)]
    pub event_type: Option<String>,
    /// The id of the object the events are about.
    #[validate(length(min = 1, max = 100))]
    #[param(min_length = 1, max_length = 100)]
    pub subject_id: Option<String>,
    /// Events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Events before this instant.
    pub until: Option<DateTime<Utc>>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// List audit events
///
/// Administrators read the audit log, newest first, filtered by `type`, `subject_id`, `since` and
/// `until`.
#[utoipa::path(
    tag = "audit",
    params(EventParams),
    responses(
        (status = 200, description = "A page of events, newest first", body = EventList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<EventParams>,
) -> Result<web::Json<EventList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let filter = EventFilter {
        event_type: params.event_type,
        subject_id: params.subject_id,
        since: params.since,
        until: params.until,
    };
    let rows = state
        .read(move |conn| events::list(conn, &filter, &page))
        .await?;
    Ok(web::Json(EventList::from_page(rows, EventResponse::from)))
}

impl EventResponse {
    /// The event as a request's timeline shows it: without the decisions' internal notes when
    /// `hide_notes` (they are for administrators).
    pub fn without_internal_note(row: EventRow, hide_notes: bool) -> Self {
        let mut event = Self::from(row);
        if hide_notes && let Some(data) = event.data.as_object_mut() {
            data.remove("internal_note");
        }
        event
    }
}

impl From<EventRow> for EventResponse {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id.parse().unwrap_or_default(),
            event_type: row.event_type,
            occurred_at: from_db(row.occurred_at),
            actor_id: row.actor_id.and_then(|a| a.parse().ok()),
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
        }
    }
}
