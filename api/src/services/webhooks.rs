//! Webhook channels and their deliveries (admin only).

use chrono::{DateTime, Utc};
use portcullis_domain::{ChannelId, DeliveryId, UserId, ValidationErrors};
use portcullis_persistence::repo::outbox::{self, Attempt, Entry, NewEntry};
use portcullis_persistence::repo::webhooks::Channel;
use portcullis_persistence::repo::{users, webhooks};
use portcullis_persistence::{DbConnection, Page, PageRequest};
use secrecy::SecretString;
use serde_json::json;

use super::audit;
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::notify::EVENT_TYPES;
use crate::notify::webhook::{self, CHANNEL_CREATE, CHANNEL_DELETE, CHANNEL_UPDATE, PING};
use crate::tx::Tx;

const MAX_NAME_CHARS: usize = 200;
const MAX_URL_CHARS: usize = 2000;
const MAX_EVENTS: usize = 100;

/// A channel's fields as sent; `None` leaves a field as it is on update.
#[derive(Debug, Default)]
pub struct ChannelFields {
    pub name: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<String>>,
}

/// Checks the fields, naming each bad one; returns the trimmed name and the de-duplicated events.
fn check(fields: &mut ChannelFields) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    if let Some(name) = &mut fields.name {
        // The maximum holds for the name as sent (the schema's), the minimum once trimmed.
        let sent = name.chars().count();
        *name = name.trim().to_owned();
        if name.is_empty() || sent > MAX_NAME_CHARS {
            errors.push("name", format!("must be 1 to {MAX_NAME_CHARS} characters"));
        }
    }
    if let Some(url) = &mut fields.url {
        let sent = url.chars().count();
        *url = url.trim().to_owned();
        if sent > MAX_URL_CHARS {
            errors.push("url", format!("must be at most {MAX_URL_CHARS} characters"));
        } else if let Err(message) = check_url(url) {
            errors.push("url", message);
        }
    }
    if let Some(events) = &mut fields.events {
        if events.is_empty() || events.len() > MAX_EVENTS {
            errors.push("events", format!("must name 1 to {MAX_EVENTS} event types"));
        }
        for (i, event) in events.iter().enumerate() {
            if !EVENT_TYPES.contains(&event.as_str()) {
                errors.push(
                    format!("events[{i}]"),
                    format!("'{event}' is not an event type (see the EventType schema)"),
                );
            }
        }
        let mut seen = Vec::new();
        events.retain(|e| {
            let new = !seen.contains(e);
            seen.push(e.clone());
            new
        });
    }
    errors.into_result()
}

fn check_url(raw: &str) -> Result<(), String> {
    if raw.len() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    // As the schema's pattern says: a host name of letters, digits, hyphens and dots.
    if let Some(domain) = url.domain()
        && !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err("must name its host with letters, digits, hyphens and dots".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not hold credentials (every admin could read them); receivers authenticate \
             Portcullis by the signature"
                .to_owned(),
        );
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".to_owned());
    }
    Ok(())
}

fn not_found(id: ChannelId) -> ApiError {
    ApiError::NotFound(format!("no webhook channel with id {id}"))
}

/// What the audit log keeps of a channel: never its secret.
fn audited(c: &Channel) -> serde_json::Value {
    json!({ "name": c.name, "url": c.url, "enabled": c.enabled, "events": c.events, "version": c.version })
}

pub fn create(
    conn: &mut Tx,
    actor: Option<UserId>,
    mut fields: ChannelFields,
    now: DateTime<Utc>,
) -> Result<Channel, ApiError> {
    check(&mut fields)?;
    let channel = Channel {
        id: ChannelId::new_v7(),
        name: fields.name.unwrap_or_default(),
        url: fields.url.unwrap_or_default(),
        enabled: fields.enabled.unwrap_or(true),
        events: fields.events.unwrap_or_default(),
        secret: SecretString::from(webhook::new_secret()),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    webhooks::insert(conn, &channel)?;
    audit(
        conn,
        CHANNEL_CREATE,
        actor,
        ("webhook_channel", channel.id.to_string()),
        json!({ "after": audited(&channel) }),
        now,
    )?;
    Ok(channel)
}

pub fn get(conn: &mut DbConnection, id: ChannelId) -> Result<Channel, ApiError> {
    webhooks::find(conn, id)?.ok_or_else(|| not_found(id))
}

pub fn list(conn: &mut DbConnection, page: &PageRequest) -> Result<Page<Channel>, ApiError> {
    Ok(webhooks::list(conn, page)?)
}

pub fn update(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: ChannelId,
    mut fields: ChannelFields,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<Channel, ApiError> {
    check(&mut fields)?;
    let before = get(conn, id)?;
    if_match.check(before.version)?;
    let mut after = before.clone();
    if let Some(name) = fields.name {
        after.name = name;
    }
    if let Some(url) = fields.url {
        after.url = url;
    }
    if let Some(enabled) = fields.enabled {
        after.enabled = enabled;
    }
    if let Some(events) = fields.events {
        after.events = events;
    }
    if audited(&after) == audited(&before) {
        return Ok(before);
    }
    after.version = before.version + 1;
    after.updated_at = now;
    if !webhooks::update(conn, &after, before.version)? {
        return Err(ApiError::PreconditionFailed(
            "the channel changed while it was being updated; fetch it again and retry".to_owned(),
        ));
    }
    audit(
        conn,
        CHANNEL_UPDATE,
        actor,
        ("webhook_channel", id.to_string()),
        json!({
            "version_before": before.version, "version_after": after.version,
            "before": audited(&before), "after": audited(&after),
        }),
        now,
    )?;
    Ok(after)
}

/// Deletes a channel with its delivery log; deliveries not yet made are dropped.
pub fn delete(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: ChannelId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let before = get(conn, id)?;
    webhooks::delete(conn, id)?;
    audit(
        conn,
        CHANNEL_DELETE,
        actor,
        ("webhook_channel", id.to_string()),
        json!({ "before": audited(&before) }),
        now,
    )?;
    Ok(())
}

/// Writes a test message to the channel (enabled or not), claimed by the caller until
/// `lease_until` so that the caller delivers it at once.
pub fn queue_ping(
    conn: &mut DbConnection,
    actor: UserId,
    id: ChannelId,
    now: DateTime<Utc>,
    (token, lease_until): (&str, DateTime<Utc>),
) -> Result<Entry, ApiError> {
    let channel = get(conn, id)?;
    let actor = users::find(conn, actor)?.map(|u| {
        json!({ "id": u.id, "email": u.email.as_str(), "display_name": u.display_name.as_str() })
    });
    let body = json!({
        "id": uuid::Uuid::now_v7(),
        "type": PING,
        "time": now,
        "category": "di_events",
        "service": "access_management",
        "actor": actor,
        "subject": { "type": "webhook_channel", "id": channel.id },
        "data": { "message": "A test message from Portcullis: this channel receives signed webhooks." },
    });
    Ok(outbox::enqueue_claimed(
        conn,
        &NewEntry {
            kind: outbox::WEBHOOK,
            channel_id: Some(id),
            event_id: None,
            topic: PING.to_owned(),
            payload: body.to_string(),
        },
        now,
        lease_until,
        token,
    )?)
}

pub fn deliveries(
    conn: &mut DbConnection,
    id: ChannelId,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Entry>, ApiError> {
    get(conn, id)?;
    Ok(outbox::list_for_channel(conn, id, status, page)?)
}

/// One of the channel's deliveries with its attempts.
pub fn delivery(
    conn: &mut DbConnection,
    channel: ChannelId,
    id: DeliveryId,
) -> Result<(Entry, Vec<Attempt>), ApiError> {
    let entry = outbox::find(conn, id)?
        .filter(|e| e.channel_id == Some(channel))
        .ok_or_else(|| ApiError::NotFound(format!("channel {channel} has no delivery {id}")))?;
    let attempts = outbox::attempts(conn, id)?;
    Ok((entry, attempts))
}

/// Queues a delivery again (same message id, so receivers that got it already can drop it).
pub fn resend(
    conn: &mut DbConnection,
    channel: ChannelId,
    id: DeliveryId,
    now: DateTime<Utc>,
) -> Result<Entry, ApiError> {
    delivery(conn, channel, id)?;
    if !outbox::resend(conn, id, now)? {
        return Err(ApiError::conflict(
            "this delivery is already queued; it will be attempted again on its own",
        ));
    }
    outbox::find(conn, id)?.ok_or_else(|| ApiError::NotFound(format!("no delivery {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_or_https() {
        assert!(check_url("http://receiver.example*").is_err());
        assert!(check_url("https://receiver.example/hooks").is_ok());
        assert!(check_url("https://hooks.example.com/portcullis?x=1").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://example.com/#top",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_events_are_named_by_position_and_duplicates_dropped() {
        let mut fields = ChannelFields {
            events: Some(vec![
                "access_management_access_request".into(),
                "nope".into(),
                "access_management_access_request".into(),
            ]),
            ..ChannelFields::default()
        };
        let errors = check(&mut fields).unwrap_err();
        let named: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["events[1]"]);
    }
}
