//! Help requests' use cases: load, let the aggregate decide ([`portcullis_domain::help`]), save,
//! publish (the event, its webhook deliveries and its emails, in the same transaction).

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::help::{
    HelpAsk, HelpChange, HelpComment, HelpError, HelpEvent, HelpRequest, HelpState,
};
use portcullis_domain::request::{Actor, Refusal, Role, check_enabled};
use portcullis_domain::{CommentId, FlowId, HelpRequestId, UserId};
use portcullis_persistence::repo::events::NewEvent;
use portcullis_persistence::repo::{flows, help, settings, users};
use portcullis_persistence::{DbConnection, Page, PageRequest};
use serde_json::json;

use super::requests::refusal as request_refusal;
use crate::error::ApiError;
use crate::notify;
use crate::tx::Tx;

/// How a refused help command is answered.
pub fn refusal(error: HelpError) -> ApiError {
    let message = error.to_string();
    match error.refusal() {
        Refusal::NotFound => ApiError::NotFound(message),
        Refusal::Forbidden => ApiError::Forbidden(message),
        Refusal::Conflict => ApiError::conflict(message),
        Refusal::Invalid => ApiError::invalid_field(error.field().unwrap_or("body"), message),
        // No help command is rate-limited.
        Refusal::TooMany | Refusal::Internal => ApiError::internal(message),
    }
}

/// Checks that `asker` may ask for help about `flow_id` at all (before their message is read):
/// integration accounts never do, and a flow they cannot see is a 404.
pub fn check_may_ask(
    conn: &mut DbConnection,
    asker: &User,
    flow_id: FlowId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if Actor::of(asker).role == Role::Integration {
        return Err(refusal(HelpError::Forbidden(
            "integration accounts never ask for help",
        )));
    }
    let found = flows::find_for_request(conn, flow_id, asker.id, now)?;
    if found.is_some_and(|f| f.visible && f.flow.enabled()) {
        Ok(())
    } else {
        Err(refusal(HelpError::FlowUnavailable(flow_id)))
    }
}

/// Opens a help request about `flow_id` for its App Admins (or the IT Admins).
pub fn open(
    conn: &mut Tx,
    asker: &User,
    flow_id: FlowId,
    message: &str,
    now: DateTime<Utc>,
) -> Result<HelpRequest, ApiError> {
    check_enabled(&settings::get(conn)?.settings).map_err(request_refusal)?;
    let found = flows::find_for_request(conn, flow_id, asker.id, now)?;
    let owners: Vec<UserId> = match &found {
        Some(f) => users::find_many(conn, f.flow.owner_ids())?
            .into_iter()
            .filter(|u| u.active && Actor::of(u).role != Role::Integration)
            .map(|u| u.id)
            .collect(),
        None => Vec::new(),
    };
    let admins: Vec<UserId> = users::active_admins(conn)?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let ask = HelpAsk {
        flow_id,
        flow: found.as_ref().map(|f| &f.flow),
        visible: found.as_ref().is_some_and(|f| f.visible),
        message,
        app_admins: &owners,
        it_admins: &admins,
    };
    let change =
        HelpRequest::open(HelpRequestId::new_v7(), ask, &Actor::of(asker), now).map_err(refusal)?;
    if !save_and_publish(conn, &change, now)? {
        return Err(ApiError::internal(
            "a new help request was found already stored",
        ));
    }
    Ok(change.after)
}

/// A help request the viewer may see (a 404 otherwise), with its comments.
pub fn get(
    conn: &mut DbConnection,
    id: HelpRequestId,
    viewer: &User,
) -> Result<(HelpRequest, Vec<HelpComment>), ApiError> {
    let found = visible(conn, id, viewer)?;
    let comments = help::comments(conn, id)?;
    Ok((found, comments))
}

/// The help requests the viewer asked or is asked to answer, newest first.
pub fn list(
    conn: &mut DbConnection,
    viewer: &User,
    state: Option<HelpState>,
    page: &PageRequest,
) -> Result<Page<HelpRequest>, ApiError> {
    Ok(help::involving(conn, viewer.id, state, page)?)
}

/// The open help requests waiting on `user`: Action Required's `answer` items.
pub fn waiting_on(
    conn: &mut DbConnection,
    user: UserId,
    page: &PageRequest,
) -> Result<Page<HelpRequest>, ApiError> {
    Ok(help::waiting_on(conn, user, page)?)
}

pub fn comment(
    conn: &mut Tx,
    id: HelpRequestId,
    author: &User,
    body: &str,
    now: DateTime<Utc>,
) -> Result<HelpComment, ApiError> {
    let change = decide_and_store(conn, id, author, now, |found, actor| {
        found.comment(CommentId::new_v7(), body, actor, now)
    })?;
    match change.event {
        HelpEvent::Commented(comment) => Ok(comment),
        _ => Err(ApiError::internal("a comment command recorded no comment")),
    }
}

pub fn resolve(
    conn: &mut Tx,
    id: HelpRequestId,
    by: &User,
    now: DateTime<Utc>,
) -> Result<HelpRequest, ApiError> {
    let change = decide_and_store(conn, id, by, now, |found, actor| found.resolve(actor, now))?;
    Ok(change.after)
}

/// Loads the help request, lets the aggregate decide and saves; a writer that lost a race with
/// another (two comments at once, a comment and a resolution) loads it again and decides anew, so a
/// comment after a resolution is refused as such.
fn decide_and_store(
    conn: &mut Tx,
    id: HelpRequestId,
    actor: &User,
    now: DateTime<Utc>,
    command: impl Fn(&HelpRequest, &Actor) -> Result<HelpChange, HelpError>,
) -> Result<HelpChange, ApiError> {
    for _ in 0..super::STALE_RETRIES {
        let found = visible(conn, id, actor)?;
        let change = command(&found, &Actor::of(actor)).map_err(refusal)?;
        if save_and_publish(conn, &change, now)? {
            return Ok(change);
        }
    }
    Err(super::stale())
}

/// Checks that `viewer` may see `id`, checking only that (for a caller whose body was bad).
pub fn check_visible(
    conn: &mut DbConnection,
    id: HelpRequestId,
    viewer: &User,
) -> Result<(), ApiError> {
    visible(conn, id, viewer).map(drop)
}

fn visible(
    conn: &mut DbConnection,
    id: HelpRequestId,
    viewer: &User,
) -> Result<HelpRequest, ApiError> {
    let found = help::find(conn, id)?.ok_or_else(|| refusal(HelpError::NotFound(id)))?;
    found.visible_to(&Actor::of(viewer)).map_err(refusal)?;
    Ok(found)
}

/// Saves a change and publishes its event (and the emails it causes), in the caller's transaction;
/// `false`, with nothing written, when another writer changed the help request first.
fn save_and_publish(
    conn: &mut Tx,
    change: &HelpChange,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    if !help::save(conn, change)? {
        return Ok(false);
    }
    let help = &change.after;
    let mut data = json!({
        "help_request_id": help.id,
        "flow_id": help.flow_id,
        "asker_id": help.asker_id,
        "answerer_ids": help.answerer_ids,
        "state_before": change.before.as_ref().map(|b| b.state),
        "state_after": help.state,
    });
    if let (HelpEvent::Commented(comment), Some(fields)) = (&change.event, data.as_object_mut()) {
        fields.insert("comment_id".into(), json!(comment.id));
    }
    let event_id = notify::publish(
        conn,
        &NewEvent {
            event_type: change.event.event_type(),
            occurred_at: now,
            actor_id: Some(change.actor),
            subject_type: "help_request",
            subject_id: help.id.to_string(),
            data,
        },
    )?;
    notify::help::on_help_event(conn, event_id, change, now)?;
    Ok(true)
}
