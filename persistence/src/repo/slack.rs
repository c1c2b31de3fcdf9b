//! Slack approvals: the connection (write-only secrets), the messages posted for each request, who
//! Slack knows (by email), and the interactions already received.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{RequestId, UserId};
use secrecy::{ExposeSecret, SecretString};

use crate::connection::DbConnection;
use crate::is_unique_violation;
use crate::schema::{slack_connection, slack_interactions, slack_messages, slack_users};
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The workspace connection. The secrets are wrapped so that `Debug` never prints them.
#[derive(Debug, Clone)]
pub struct SlackConnection {
    pub bot_token: SecretString,
    pub signing_secret: SecretString,
    pub default_channel_ids: Vec<String>,
    /// The requester gets a direct message with the decision.
    pub notify_requester: bool,
    pub team_name: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verification_error: Option<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = slack_connection, treat_none_as_null = true)]
struct ConnectionRow {
    id: i32,
    bot_token: String,
    signing_secret: String,
    default_channel_ids: String,
    notify_requester: bool,
    team_name: Option<String>,
    verified_at: Option<NaiveDateTime>,
    verification_error: Option<String>,
    version: i64,
    updated_at: NaiveDateTime,
}

pub fn connection(conn: &mut DbConnection) -> QueryResult<Option<SlackConnection>> {
    let Some(row) = slack_connection::table
        .find(1)
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let channels: Vec<String> = serde_json::from_str(&row.default_channel_ids)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Some(SlackConnection {
        bot_token: SecretString::from(row.bot_token),
        signing_secret: SecretString::from(row.signing_secret),
        default_channel_ids: channels,
        notify_requester: row.notify_requester,
        team_name: row.team_name,
        verified_at: row.verified_at.map(from_db),
        verification_error: row.verification_error,
        version: row.version,
        updated_at: from_db(row.updated_at),
    }))
}

/// Writes the connection if the stored version is still `expected` (`None`: none is stored yet);
/// returns whether it did.
pub fn save_connection(
    conn: &mut DbConnection,
    new: &SlackConnection,
    expected: Option<i64>,
) -> QueryResult<bool> {
    let row = ConnectionRow {
        id: 1,
        bot_token: new.bot_token.expose_secret().to_owned(),
        signing_secret: new.signing_secret.expose_secret().to_owned(),
        default_channel_ids: serde_json::Value::from(new.default_channel_ids.clone()).to_string(),
        notify_requester: new.notify_requester,
        team_name: new.team_name.clone(),
        verified_at: new.verified_at.map(to_db),
        verification_error: new.verification_error.clone(),
        version: new.version,
        updated_at: to_db(new.updated_at),
    };
    match expected {
        Some(version) => diesel::update(
            slack_connection::table
                .find(1)
                .filter(slack_connection::version.eq(version)),
        )
        .set(&row)
        .execute(conn)
        .map(|n| n == 1),
        None => {
            let inserted = conn.transaction(|conn| {
                diesel::insert_into(slack_connection::table)
                    .values(&row)
                    .execute(conn)
            });
            match inserted {
                Ok(n) => Ok(n == 1),
                Err(e) if is_unique_violation(&e, "slack_connection") => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// A message posted for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub request_id: RequestId,
    /// The approver a direct message asks; `None` for a channel post.
    pub recipient_id: Option<UserId>,
    pub channel: String,
    pub ts: String,
    pub closed: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = slack_messages)]
struct MessageRow {
    id: String,
    request_id: String,
    recipient_id: Option<String>,
    channel: String,
    ts: String,
    closed: bool,
    created_at: NaiveDateTime,
}

fn message(row: MessageRow) -> QueryResult<Message> {
    let parse = || -> Result<Message, BoxError> {
        Ok(Message {
            id: row.id,
            request_id: row.request_id.parse()?,
            recipient_id: row.recipient_id.as_deref().map(str::parse).transpose()?,
            channel: row.channel,
            ts: row.ts,
            closed: row.closed,
        })
    };
    parse().map_err(diesel::result::Error::DeserializationError)
}

pub fn record_message(
    conn: &mut DbConnection,
    request_id: RequestId,
    recipient_id: Option<UserId>,
    channel: &str,
    ts: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(slack_messages::table)
        .values(MessageRow {
            id: uuid::Uuid::now_v7().to_string(),
            request_id: request_id.to_string(),
            recipient_id: recipient_id.map(|r| r.to_string()),
            channel: channel.to_owned(),
            ts: ts.to_owned(),
            closed: false,
            created_at: to_db(now),
        })
        .execute(conn)
        .map(drop)
}

/// Every message posted for a request, oldest first.
pub fn messages_of(conn: &mut DbConnection, request_id: RequestId) -> QueryResult<Vec<Message>> {
    slack_messages::table
        .filter(slack_messages::request_id.eq(request_id.to_string()))
        .order((slack_messages::created_at.asc(), slack_messages::id.asc()))
        .select(MessageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(message)
        .collect()
}

/// Marks a message as showing the outcome (its buttons are gone).
pub fn close_message(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(slack_messages::table.find(id))
        .set(slack_messages::closed.eq(true))
        .execute(conn)
        .map(drop)
}

/// What Slack said about a user's email: `None` when never asked (or asked about another email),
/// `Some(None)` when Slack does not know them, `Some(Some(id))` their Slack user id.
pub fn known_user(
    conn: &mut DbConnection,
    user_id: UserId,
    email: &str,
) -> QueryResult<Option<Option<String>>> {
    slack_users::table
        .find(user_id.to_string())
        .filter(slack_users::email.eq(email))
        .select(slack_users::slack_user_id)
        .first::<Option<String>>(conn)
        .optional()
}

/// Remembers what Slack said about a user's email (replacing what it said before).
pub fn remember_user(
    conn: &mut DbConnection,
    user_id: UserId,
    email: &str,
    slack_user_id: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(slack_users::table.find(user_id.to_string())).execute(conn)?;
    diesel::insert_into(slack_users::table)
        .values((
            slack_users::user_id.eq(user_id.to_string()),
            slack_users::email.eq(email),
            slack_users::slack_user_id.eq(slack_user_id),
            slack_users::looked_up_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map(drop)
}

/// Records an interaction by its id; false if it was already received (Slack retried it).
pub fn first_interaction(
    conn: &mut DbConnection,
    id: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let seen = diesel::select(diesel::dsl::exists(slack_interactions::table.find(id)))
        .get_result::<bool>(conn)?;
    if seen {
        return Ok(false);
    }
    // A savepoint, so that losing a race to a concurrent retry leaves the transaction usable.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(slack_interactions::table)
            .values((
                slack_interactions::id.eq(id),
                slack_interactions::received_at.eq(to_db(now)),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e, "slack_interactions") => Ok(false),
        Err(e) => Err(e),
    }
}
