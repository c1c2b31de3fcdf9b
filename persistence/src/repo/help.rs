//! The help request store: a row of `help_requests`, its answerers (with the open flag that puts it
//! in their Action Required) and its comments. It stores what the aggregate decided.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::help::{HelpChange, HelpComment, HelpEvent, HelpRequest, HelpState};
use portcullis_domain::{HelpRequestId, UserId};

use crate::connection::DbConnection;
use crate::keyset_page;
use crate::page::{Cursor, Page, PageRequest};
use crate::schema::{help_request_answerers, help_request_comments, help_requests};
use crate::time::{from_db, to_db};

type ConversionError = Box<dyn std::error::Error + Send + Sync>;

fn parsed<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ConversionError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| format!("stored {what} is invalid: {e}").into())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = help_requests, treat_none_as_null = true)]
struct HelpRow {
    id: String,
    flow_id: String,
    flow_name: String,
    asker_id: String,
    message: String,
    state: String,
    created_at: NaiveDateTime,
    resolved_at: Option<NaiveDateTime>,
    resolved_by: Option<String>,
    version: i64,
}

impl From<&HelpRequest> for HelpRow {
    fn from(h: &HelpRequest) -> Self {
        Self {
            id: h.id.to_string(),
            flow_id: h.flow_id.to_string(),
            flow_name: h.flow_name.clone(),
            asker_id: h.asker_id.to_string(),
            message: h.message.clone(),
            state: h.state.as_str().to_owned(),
            created_at: to_db(h.created_at),
            resolved_at: h.resolved_at.map(to_db),
            resolved_by: h.resolved_by.map(|u| u.to_string()),
            version: h.version,
        }
    }
}

impl HelpRow {
    fn into_help(self, answerers: Vec<String>) -> Result<HelpRequest, ConversionError> {
        Ok(HelpRequest {
            id: parsed("help request id", &self.id)?,
            flow_id: parsed("flow id", &self.flow_id)?,
            flow_name: self.flow_name,
            asker_id: parsed("asker id", &self.asker_id)?,
            message: self.message,
            answerer_ids: answerers
                .iter()
                .map(|a| parsed("answerer id", a))
                .collect::<Result<_, _>>()?,
            state: HelpState::parse(&self.state)?,
            created_at: from_db(self.created_at),
            resolved_at: self.resolved_at.map(from_db),
            resolved_by: self
                .resolved_by
                .as_deref()
                .map(|u| parsed("resolver id", u))
                .transpose()?,
            version: self.version,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = help_request_comments)]
struct CommentRow {
    id: String,
    help_request_id: String,
    author_id: String,
    body: String,
    created_at: NaiveDateTime,
}

/// Writes a command's change: a new help request with its answerers, or the next version of one
/// (its answerers' open flag follows its state) with the comment it gained. `false`, with nothing
/// written, when another writer changed it first.
pub fn save(conn: &mut DbConnection, change: &HelpChange) -> QueryResult<bool> {
    let help = &change.after;
    match &change.before {
        None => {
            diesel::insert_into(help_requests::table)
                .values(HelpRow::from(help))
                .execute(conn)?;
            // One statement per row: batch inserts do not compile through the multi-backend connection.
            for answerer in &help.answerer_ids {
                diesel::insert_into(help_request_answerers::table)
                    .values((
                        help_request_answerers::help_request_id.eq(help.id.to_string()),
                        help_request_answerers::user_id.eq(answerer.to_string()),
                        help_request_answerers::open.eq(help.state == HelpState::Open),
                        help_request_answerers::since.eq(to_db(help.created_at)),
                    ))
                    .execute(conn)?;
            }
        }
        Some(before) => {
            let updated = diesel::update(
                help_requests::table
                    .filter(help_requests::id.eq(help.id.to_string()))
                    .filter(help_requests::version.eq(before.version)),
            )
            .set(HelpRow::from(help))
            .execute(conn)?;
            if updated != 1 {
                return Ok(false);
            }
            if before.state != help.state {
                diesel::update(
                    help_request_answerers::table
                        .filter(help_request_answerers::help_request_id.eq(help.id.to_string())),
                )
                .set(help_request_answerers::open.eq(help.state == HelpState::Open))
                .execute(conn)?;
            }
        }
    }
    if let HelpEvent::Commented(comment) = &change.event {
        diesel::insert_into(help_request_comments::table)
            .values(CommentRow {
                id: comment.id.to_string(),
                help_request_id: comment.help_request_id.to_string(),
                author_id: comment.author_id.to_string(),
                body: comment.body.clone(),
                created_at: to_db(comment.created_at),
            })
            .execute(conn)?;
    }
    Ok(true)
}

/// Loads the answerers of `rows` in one query, in the order they were asked.
fn with_answerers(conn: &mut DbConnection, rows: Vec<HelpRow>) -> QueryResult<Vec<HelpRequest>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let answerers: Vec<(String, String)> = help_request_answerers::table
        .filter(help_request_answerers::help_request_id.eq_any(ids))
        .order((
            help_request_answerers::help_request_id.asc(),
            help_request_answerers::user_id.asc(),
        ))
        .select((
            help_request_answerers::help_request_id,
            help_request_answerers::user_id,
        ))
        .load(conn)?;
    let mut by_request: HashMap<String, Vec<String>> = HashMap::new();
    for (request, user) in answerers {
        by_request.entry(request).or_default().push(user);
    }
    rows.into_iter()
        .map(|row| {
            let answerers = by_request.remove(&row.id).unwrap_or_default();
            row.into_help(answerers)
                .map_err(diesel::result::Error::DeserializationError)
        })
        .collect()
}

pub fn find(conn: &mut DbConnection, id: HelpRequestId) -> QueryResult<Option<HelpRequest>> {
    let rows: Vec<HelpRow> = help_requests::table
        .filter(help_requests::id.eq(id.to_string()))
        .select(HelpRow::as_select())
        .load(conn)?;
    Ok(with_answerers(conn, rows)?.pop())
}

/// The comments on a help request, oldest first.
pub fn comments(conn: &mut DbConnection, id: HelpRequestId) -> QueryResult<Vec<HelpComment>> {
    let rows: Vec<CommentRow> = help_request_comments::table
        .filter(help_request_comments::help_request_id.eq(id.to_string()))
        .order((
            help_request_comments::created_at.asc(),
            help_request_comments::id.asc(),
        ))
        .select(CommentRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            Ok(HelpComment {
                id: parsed("comment id", &row.id)?,
                help_request_id: parsed("help request id", &row.help_request_id)?,
                author_id: parsed("author id", &row.author_id)?,
                body: row.body,
                created_at: from_db(row.created_at),
            })
        })
        .collect::<Result<_, ConversionError>>()
        .map_err(diesel::result::Error::DeserializationError)
}

/// The help requests `user` asked or is asked to answer, newest first; only those in `state` when given.
pub fn involving(
    conn: &mut DbConnection,
    user: UserId,
    state: Option<HelpState>,
    page: &PageRequest,
) -> QueryResult<Page<HelpRequest>> {
    let answering = help_request_answerers::table
        .filter(help_request_answerers::user_id.eq(user.to_string()))
        .select(help_request_answerers::help_request_id);
    let query = help_requests::table
        .filter(
            help_requests::asker_id
                .eq(user.to_string())
                .or(help_requests::id.eq_any(answering)),
        )
        .into_boxed();
    newest_first(conn, query, state, page)
}

/// The help requests `user` asked, newest first; only those in `state` when given (the asker's
/// side of "My requests", beside their access requests).
pub fn asked_by(
    conn: &mut DbConnection,
    user: UserId,
    state: Option<HelpState>,
    page: &PageRequest,
) -> QueryResult<Page<HelpRequest>> {
    let query = help_requests::table
        .filter(help_requests::asker_id.eq(user.to_string()))
        .into_boxed();
    newest_first(conn, query, state, page)
}

/// A keyset page of `query`'s help requests (only those in `state` when given), newest first.
fn newest_first(
    conn: &mut DbConnection,
    mut query: help_requests::BoxedQuery<'static, crate::connection::MultiBackend>,
    state: Option<HelpState>,
    page: &PageRequest,
) -> QueryResult<Page<HelpRequest>> {
    if let Some(state) = state {
        query = query.filter(help_requests::state.eq(state.as_str()));
    }
    let query = query.select(HelpRow::as_select());
    let rows: Vec<HelpRow> =
        keyset_page!(query, help_requests::created_at, help_requests::id, page).load(conn)?;
    let page = Page::from_rows(rows, page.limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    });
    Ok(Page {
        items: with_answerers(conn, page.items)?,
        next: page.next,
    })
}

type WaitingQuery = help_request_answerers::BoxedQuery<
    'static,
    crate::connection::MultiBackend,
    (diesel::sql_types::Timestamp, diesel::sql_types::Text),
>;

fn waiting_query(user: UserId, page: &PageRequest) -> WaitingQuery {
    let query = help_request_answerers::table
        .filter(help_request_answerers::user_id.eq(user.to_string()))
        .filter(help_request_answerers::open.eq(true))
        .select((
            help_request_answerers::since,
            help_request_answerers::help_request_id,
        ))
        .into_boxed();
    keyset_page!(
        query,
        help_request_answerers::since,
        help_request_answerers::help_request_id,
        page
    )
}

/// The database's plan for the first page of [`waiting_on`], exactly as it runs (for the index tests).
pub fn explain_waiting_on(conn: &mut DbConnection, user: UserId) -> QueryResult<Vec<String>> {
    let page = PageRequest {
        limit: 50,
        after: None,
    };
    crate::explain::plan(conn, waiting_query(user, &page))
}

/// The open help requests waiting on `user` (they are asked to answer), keyset-paged by (since,
/// id), newest first: what Action Required's `answer` items list.
pub fn waiting_on(
    conn: &mut DbConnection,
    user: UserId,
    page: &PageRequest,
) -> QueryResult<Page<HelpRequest>> {
    let waiting: Vec<(NaiveDateTime, String)> = waiting_query(user, page).load(conn)?;
    let waiting = Page::from_rows(waiting, page.limit, |(since, id)| Cursor {
        created_at: *since,
        id: id.clone(),
    });
    if waiting.items.is_empty() {
        // Most people have no question waiting: then nothing more is read.
        return Ok(Page {
            items: Vec::new(),
            next: waiting.next,
        });
    }
    let ids: Vec<&str> = waiting.items.iter().map(|(_, id)| id.as_str()).collect();
    let rows: Vec<HelpRow> = help_requests::table
        .filter(help_requests::id.eq_any(ids))
        .select(HelpRow::as_select())
        .load(conn)?;
    let mut found = with_answerers(conn, rows)?;
    // In the page's order.
    found.sort_by_key(|h| {
        waiting
            .items
            .iter()
            .position(|(_, id)| *id == h.id.to_string())
    });
    Ok(Page {
        items: found,
        next: waiting.next,
    })
}
