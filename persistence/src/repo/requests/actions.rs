//! Action Required: every action that waits on a user, from each source, as one list in
//! (since, request id) order, newest first. A source is an index of what waits on whom: the
//! approver index (`approve`), the open tasks' assignees (`provision`, `assign`, `deprovision`) and
//! the open help requests' answerers (`answer`; their ids are UUID v7 strings like requests').
//! Each source reads at most a page after the cursor; the page is the newest of their union, so
//! the cursor means the same in every source. Another source (help requests to answer, say) is one
//! more variant of [`Action`] and one more arm here, reading its own index of who it waits on.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::UserId;
use portcullis_domain::help::HelpRequest;
use portcullis_domain::request::TaskType;

use super::queries::tasks_query;
use super::rows::{Listed, RequestRow, into_listed};
use super::tasks::waiting_on;
use crate::connection::DbConnection;
use crate::schema::access_requests;

/// What the user is to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Decide on an active step (approve or deny).
    Approve,
    /// Complete a fulfilment task.
    Task(TaskType),
    /// Answer an open help request.
    Answer,
}

/// What an action is on.
#[derive(Debug)]
pub enum Subject {
    Request(Box<Listed>),
    Help(Box<HelpRequest>),
}

impl Subject {
    pub(super) fn id(&self) -> String {
        match self {
            Self::Request(listed) => listed.request.id().to_string(),
            Self::Help(help) => help.id.to_string(),
        }
    }
}

/// One action waiting on the user, since `since`, on `subject`.
#[derive(Debug)]
pub struct ActionItem {
    pub action: Action,
    pub since: NaiveDateTime,
    pub subject: Subject,
}

impl ActionItem {
    fn cursor(&self) -> crate::Cursor {
        crate::Cursor {
            created_at: self.since,
            id: self.subject.id(),
        }
    }
}

/// The actions waiting on `user` (only `only`'s, if given), newest first.
pub fn action_required(
    conn: &mut DbConnection,
    user: UserId,
    only: Option<Action>,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<ActionItem>> {
    let mut items = Vec::new();
    if matches!(only, None | Some(Action::Approve)) {
        // An approver's row is as old as the request (`since` is when it was submitted).
        let rows: Vec<RequestRow> = tasks_query(user, page).load(conn)?;
        for row in rows {
            let since = row.created_at;
            items.push(ActionItem {
                action: Action::Approve,
                since,
                subject: Subject::Request(Box::new(into_listed(row)?)),
            });
        }
    }
    let task_source = match only {
        None => Some(None),
        Some(Action::Task(task_type)) => Some(Some(task_type)),
        Some(Action::Approve | Action::Answer) => None,
    };
    if let Some(task_type) = task_source {
        let waiting = waiting_on(
            conn,
            user,
            task_type,
            page.after.as_ref(),
            crate::Page::<()>::fetch_size(page),
        )?;
        let ids: Vec<String> = waiting.iter().map(|w| w.request_id.to_string()).collect();
        // Most people have no task waiting: then nothing more is read.
        let rows: Vec<RequestRow> = if ids.is_empty() {
            Vec::new()
        } else {
            access_requests::table
                .filter(access_requests::id.eq_any(&ids))
                .select(RequestRow::as_select())
                .load(conn)?
        };
        let mut listed: Vec<Listed> = rows
            .into_iter()
            .map(into_listed)
            .collect::<Result<_, _>>()?;
        listed = super::tasks::attach(conn, listed)?;
        for task in waiting {
            let Some(at) = listed
                .iter()
                .position(|l| l.request.id() == task.request_id)
            else {
                continue;
            };
            items.push(ActionItem {
                action: Action::Task(task.task_type),
                since: task.since,
                subject: Subject::Request(Box::new(listed.swap_remove(at))),
            });
        }
    }
    if matches!(only, None | Some(Action::Answer)) {
        // A page one longer than this one's: up to its fetch size, as the other sources read.
        let longer = crate::PageRequest {
            limit: page.limit + 1,
            after: page.after.clone(),
        };
        let waiting = crate::repo::help::waiting_on(conn, user, &longer)?;
        for help in waiting.items {
            items.push(ActionItem {
                action: Action::Answer,
                // An answerer is asked when the question is.
                since: crate::time::to_db(help.created_at),
                subject: Subject::Help(Box::new(help)),
            });
        }
    }
    items.sort_by_cached_key(|item| std::cmp::Reverse((item.since, item.subject.id())));
    items.truncate(crate::Page::<()>::fetch_size(page) as usize);
    Ok(crate::Page::from_rows(
        items,
        page.limit,
        ActionItem::cursor,
    ))
}
