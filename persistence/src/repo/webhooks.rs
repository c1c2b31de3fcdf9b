//! Webhook channels: where event notifications are sent, and which events each receives.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::ChannelId;
use secrecy::SecretString;

use crate::connection::DbConnection;
use crate::page::{Cursor, Page, PageRequest};
use crate::schema::webhook_channels;
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A channel as stored. The secret is wrapped so that it never reaches a log through `Debug`.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<String>,
    pub secret: SecretString,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Channel {
    pub fn receives(&self, event_type: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == event_type)
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_channels)]
struct ChannelRow {
    id: String,
    name: String,
    url: String,
    enabled: bool,
    events: String,
    secret: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<&Channel> for ChannelRow {
    fn from(c: &Channel) -> Self {
        use secrecy::ExposeSecret;
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            url: c.url.clone(),
            enabled: c.enabled,
            events: serde_json::Value::from(c.events.clone()).to_string(),
            secret: c.secret.expose_secret().to_owned(),
            version: c.version,
            created_at: to_db(c.created_at),
            updated_at: to_db(c.updated_at),
        }
    }
}

fn channel(row: ChannelRow) -> QueryResult<Channel> {
    let parse = || -> Result<Channel, BoxError> {
        Ok(Channel {
            id: row.id.parse()?,
            name: row.name,
            url: row.url,
            enabled: row.enabled,
            events: serde_json::from_str(&row.events)?,
            secret: SecretString::from(row.secret),
            version: row.version,
            created_at: from_db(row.created_at),
            updated_at: from_db(row.updated_at),
        })
    };
    parse().map_err(diesel::result::Error::DeserializationError)
}

pub fn insert(conn: &mut DbConnection, c: &Channel) -> QueryResult<()> {
    diesel::insert_into(webhook_channels::table)
        .values(ChannelRow::from(c))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: ChannelId) -> QueryResult<Option<Channel>> {
    webhook_channels::table
        .find(id.to_string())
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()?
        .map(channel)
        .transpose()
}

/// Writes the channel if the stored version is still `expected_version`; returns whether it did.
pub fn update(conn: &mut DbConnection, c: &Channel, expected_version: i64) -> QueryResult<bool> {
    diesel::update(
        webhook_channels::table
            .find(c.id.to_string())
            .filter(webhook_channels::version.eq(expected_version)),
    )
    .set(ChannelRow::from(c))
    .execute(conn)
    .map(|n| n == 1)
}

/// Deletes the channel and, by cascade, its deliveries.
pub fn delete(conn: &mut DbConnection, id: ChannelId) -> QueryResult<bool> {
    diesel::delete(webhook_channels::table.find(id.to_string()))
        .execute(conn)
        .map(|n| n == 1)
}

/// The enabled channels (few in any organisation; filtered by event type in memory).
pub fn enabled(conn: &mut DbConnection) -> QueryResult<Vec<Channel>> {
    webhook_channels::table
        .filter(webhook_channels::enabled.eq(true))
        .select(ChannelRow::as_select())
        .load(conn)?
        .into_iter()
        .map(channel)
        .collect()
}

/// Channels newest first.
pub fn list(conn: &mut DbConnection, page: &PageRequest) -> QueryResult<Page<Channel>> {
    let query = webhook_channels::table
        .select(ChannelRow::as_select())
        .into_boxed();
    let rows: Vec<ChannelRow> = crate::keyset_page!(
        query,
        webhook_channels::created_at,
        webhook_channels::id,
        page
    )
    .load(conn)?;
    Page::from_rows(rows, page.limit, |row| Cursor {
        created_at: row.created_at,
        id: row.id.clone(),
    })
    .try_map(channel)
}
