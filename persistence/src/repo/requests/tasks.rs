//! A request's fulfilment tasks (`request_tasks`) and the index of who they wait on
//! (`request_task_assignees`, open tasks only), both derived from the aggregate and written by the
//! one save. Requests without a fulfilment have no rows and cost no query: their row's
//! `fulfilment` is `NULL`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::request::{AccessRequest, ReviewOutcome, Task, TaskState, TaskType};
use portcullis_domain::{RequestId, UserId};

use super::rows::Listed;
use crate::connection::DbConnection;
use crate::schema::{request_people, request_task_assignees, request_tasks};
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = request_tasks)]
struct TaskRow {
    request_id: String,
    task_type: String,
    position: i32,
    state: String,
    assignee_ids: String,
    opened_at: Option<NaiveDateTime>,
    completed_by: Option<String>,
    completed_at: Option<NaiveDateTime>,
    note: Option<String>,
    /// A review's outcome.
    outcome: Option<String>,
}

impl TaskRow {
    fn of(request: RequestId, position: usize, task: &Task) -> Self {
        Self {
            request_id: request.to_string(),
            task_type: task.task_type.as_str().to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            state: task.state.as_str().to_owned(),
            assignee_ids: serde_json::to_string(&task.assignee_ids).unwrap_or_default(),
            opened_at: task.opened_at.map(to_db),
            completed_by: task.completed_by.map(|u| u.to_string()),
            completed_at: task.completed_at.map(to_db),
            note: task.note.clone(),
            outcome: task.outcome.map(|o| o.as_str().to_owned()),
        }
    }

    fn into_task(self) -> Result<Task, BoxError> {
        Ok(Task {
            task_type: TaskType::parse(&self.task_type)?,
            state: TaskState::parse(&self.state)?,
            assignee_ids: serde_json::from_str(&self.assignee_ids)?,
            opened_at: self.opened_at.map(from_db),
            completed_by: self.completed_by.map(|u| u.parse()).transpose()?,
            completed_at: self.completed_at.map(from_db),
            note: self.note,
            outcome: self
                .outcome
                .as_deref()
                .map(ReviewOutcome::parse)
                .transpose()?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = request_task_assignees)]
struct AssigneeRow {
    request_id: String,
    task_type: String,
    user_id: String,
    since: NaiveDateTime,
}

fn assignee_rows(request: &AccessRequest) -> Vec<AssigneeRow> {
    request
        .task_index()
        .into_iter()
        .map(|entry| AssigneeRow {
            request_id: request.id().to_string(),
            task_type: entry.task_type.as_str().to_owned(),
            user_id: entry.user_id.to_string(),
            since: to_db(entry.since),
        })
        .collect()
}

/// Writes the tasks of `after` when they differ from `before`'s: a request has a few tasks at most,
/// so its rows (and its open tasks' assignees) are rewritten rather than patched.
pub(super) fn write(
    conn: &mut DbConnection,
    before: Option<&AccessRequest>,
    after: &AccessRequest,
) -> QueryResult<()> {
    let unchanged = match before {
        Some(before) => before.tasks() == after.tasks(),
        None => after.tasks().is_empty(),
    };
    if unchanged {
        return Ok(());
    }
    let id = after.id().to_string();
    diesel::delete(request_tasks::table.filter(request_tasks::request_id.eq(&id))).execute(conn)?;
    diesel::delete(
        request_task_assignees::table.filter(request_task_assignees::request_id.eq(&id)),
    )
    .execute(conn)?;
    let rows: Vec<TaskRow> = after
        .tasks()
        .iter()
        .enumerate()
        .map(|(position, task)| TaskRow::of(after.id(), position, task))
        .collect();
    crate::insert_many!(conn, request_tasks::table, rows);
    let assignees = assignee_rows(after);
    crate::insert_many!(conn, request_task_assignees::table, assignees);
    Ok(())
}

/// Stores the tasks of many requests (bulk loads only).
pub(super) fn insert_many(conn: &mut DbConnection, requests: &[AccessRequest]) -> QueryResult<()> {
    let rows: Vec<TaskRow> = requests
        .iter()
        .flat_map(|r| {
            r.tasks()
                .iter()
                .enumerate()
                .map(|(position, task)| TaskRow::of(r.id(), position, task))
        })
        .collect();
    let assignees: Vec<AssigneeRow> = requests.iter().flat_map(assignee_rows).collect();
    crate::insert_many!(conn, request_tasks::table, rows);
    crate::insert_many!(conn, request_task_assignees::table, assignees);
    Ok(())
}

fn convert(rows: Vec<TaskRow>) -> QueryResult<HashMap<String, Vec<Task>>> {
    let mut tasks: HashMap<String, Vec<Task>> = HashMap::new();
    for row in rows {
        let request = row.request_id.clone();
        let task = row
            .into_task()
            .map_err(diesel::result::Error::DeserializationError)?;
        tasks.entry(request).or_default().push(task);
    }
    Ok(tasks)
}

/// The tasks of the requests `ids`, by request id, each request's in their order.
fn load_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, Vec<Task>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<TaskRow> = request_tasks::table
        .filter(request_tasks::request_id.eq_any(ids))
        .order((request_tasks::request_id, request_tasks::position))
        .select(TaskRow::as_select())
        .load(conn)?;
    convert(rows)
}

/// `request` with its tasks (when its row said it has some).
pub(super) fn attach_one(
    conn: &mut DbConnection,
    request: AccessRequest,
    has_tasks: bool,
) -> QueryResult<AccessRequest> {
    if !has_tasks {
        return Ok(request);
    }
    let id = request.id().to_string();
    let mut tasks = load_many(conn, std::slice::from_ref(&id))?;
    Ok(request.with_tasks(tasks.remove(&id).unwrap_or_default()))
}

/// The listed requests with their tasks, in one query for the page.
pub fn attach(conn: &mut DbConnection, listed: Vec<Listed>) -> QueryResult<Vec<Listed>> {
    let ids: Vec<String> = listed
        .iter()
        .filter(|l| l.has_tasks)
        .map(|l| l.request.id().to_string())
        .collect();
    let mut tasks = load_many(conn, &ids)?;
    Ok(listed
        .into_iter()
        .map(|mut l| {
            if let Some(found) = tasks.remove(&l.request.id().to_string()) {
                l.request = l.request.with_tasks(found);
            }
            l
        })
        .collect())
}

/// One open task waiting on a user: which request, which task, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingTask {
    pub request_id: RequestId,
    pub task_type: TaskType,
    pub since: NaiveDateTime,
}

/// The keyset query behind [`waiting_on`] (boxed, so that the index tests can explain it).
pub(super) fn waiting_on_query(
    user: UserId,
    task_type: Option<TaskType>,
    after: Option<&crate::Cursor>,
    limit: i64,
) -> WaitingQuery {
    let mut query = request_task_assignees::table
        .filter(request_task_assignees::user_id.eq(user.to_string()))
        .select((
            request_task_assignees::request_id,
            request_task_assignees::task_type,
            request_task_assignees::since,
        ))
        .into_boxed();
    if let Some(task_type) = task_type {
        query = query.filter(request_task_assignees::task_type.eq(task_type.as_str()));
    }
    let page = crate::PageRequest {
        limit: u32::try_from(limit - 1).unwrap_or(0),
        after: after.cloned(),
    };
    crate::keyset_page!(
        query,
        request_task_assignees::since,
        request_task_assignees::request_id,
        &page
    )
}

pub(super) type WaitingQuery = request_task_assignees::BoxedQuery<
    'static,
    crate::connection::MultiBackend,
    (
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Timestamp,
    ),
>;

/// The open tasks waiting on `user` (of `task_type` only, if given), newest first, after `after`
/// ((since, request id) of the last one seen), at most `limit`.
pub fn waiting_on(
    conn: &mut DbConnection,
    user: UserId,
    task_type: Option<TaskType>,
    after: Option<&crate::Cursor>,
    limit: i64,
) -> QueryResult<Vec<WaitingTask>> {
    let rows: Vec<(String, String, NaiveDateTime)> =
        waiting_on_query(user, task_type, after, limit).load(conn)?;
    rows.into_iter()
        .map(|(id, task_type, since)| {
            Ok(WaitingTask {
                request_id: id.parse().map_err(|e: uuid::Error| {
                    diesel::result::Error::DeserializationError(Box::new(e))
                })?,
                task_type: TaskType::parse(&task_type)
                    .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?,
                since,
            })
        })
        .collect()
}

#[derive(Insertable)]
#[diesel(table_name = request_people)]
pub(super) struct PersonRow {
    pub(super) user_id: String,
    request_id: String,
}

/// The rows of who `after` names that `before` did not (all of them for a new request).
pub(super) fn newly_named(before: Option<&AccessRequest>, after: &AccessRequest) -> Vec<PersonRow> {
    let known = before.map(AccessRequest::named).unwrap_or_default();
    after
        .named()
        .into_iter()
        .filter(|id| !known.contains(id))
        .map(|id| PersonRow {
            user_id: id.to_string(),
            request_id: after.id().to_string(),
        })
        .collect()
}

/// Remembers who a change newly named (the Manage views' index of App Approvers' tickets).
pub(super) fn write_named(
    conn: &mut DbConnection,
    before: Option<&AccessRequest>,
    after: &AccessRequest,
) -> QueryResult<()> {
    if before.is_some_and(|b| b.steps() == after.steps() && b.tasks() == after.tasks()) {
        return Ok(());
    }
    // Someone named before (and reassigned away since) may be named again: kept once.
    let rows = newly_named(before, after);
    match conn {
        // One statement, whatever the number of people: a round trip each would be most of a
        // create's round trips.
        DbConnection::Postgres(c) => {
            if rows.is_empty() {
                return Ok(());
            }
            let users: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
            diesel::sql_query(
                "INSERT INTO request_people (user_id, request_id) \
                 SELECT u, $1 FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING",
            )
            .bind::<diesel::sql_types::Text, _>(after.id().to_string())
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(users)
            .execute(c)?;
        }
        // In-process: a cached single-row statement per person costs no round trip.
        DbConnection::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(request_people::table)
                    .values(&row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
    }
    Ok(())
}
