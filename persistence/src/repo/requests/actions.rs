//! Action Required: every action that waits on a user, from each source, as one list in
//! (since, request id) order, newest first. A source is an index of what waits on whom: the
//! approver index (`approve`), the open tasks' assignees (`provision`, `assign`, `deprovision`) and
//! the open help requests' answerers (`answer`; their ids are UUID v7 strings like requests').
//! Each source reads at most a page after the cursor; the page is the newest of their union, so
//! the cursor means the same in every source. A waiting task's index row says when it started
//! waiting, so the requests of the tasks are read (with their tasks) only for the tasks that make
//! the page. Another source (help requests to answer, say) is one more variant of [`Action`] and
//! one more arm here, reading its own index of who it waits on.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::UserId;
use portcullis_domain::help::HelpRequest;
use portcullis_domain::request::TaskType;

use super::queries::tasks_query;
use super::rows::{Listed, RequestRow, into_listed};
use super::tasks::{WaitingTask, waiting_on};
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
    // The waiting tasks say when each started waiting, so the page is cut before their requests
    // are read: only those of the tasks on the page are (and their tasks attached).
    let waiting = match task_source {
        Some(task_type) => waiting_on(
            conn,
            user,
            task_type,
            page.after.as_ref(),
            crate::Page::<()>::fetch_size(page),
        )?,
        None => Vec::new(),
    };
    if matches!(only, None | Some(Action::Answer)) {
        // A page one longer than this one's: up to its fetch size, as the other sources read.
        let longer = crate::PageRequest {
            limit: page.limit + 1,
            after: page.after.clone(),
        };
        let questions = crate::repo::help::waiting_on(conn, user, &longer)?;
        for help in questions.items {
            items.push(ActionItem {
                action: Action::Answer,
                // An answerer is asked when the question is.
                since: crate::time::to_db(help.created_at),
                subject: Subject::Help(Box::new(help)),
            });
        }
    }
    let fetch = crate::Page::<()>::fetch_size(page) as usize;
    let others: Vec<(NaiveDateTime, String)> = items
        .iter()
        .map(|item| (item.since, item.subject.id()))
        .collect();
    let waiting = on_the_page(waiting, &others, fetch);
    items.extend(task_items(conn, waiting)?);
    items.sort_by_cached_key(|item| std::cmp::Reverse((item.since, item.subject.id())));
    items.truncate(fetch);
    Ok(crate::Page::from_rows(
        items,
        page.limit,
        ActionItem::cursor,
    ))
}

/// The waiting tasks that make the page of the `fetch` newest items with the other sources' items
/// (`others`, by when each started waiting and the id of what it is on, as the page orders them).
fn on_the_page(
    mut waiting: Vec<WaitingTask>,
    others: &[(NaiveDateTime, String)],
    fetch: usize,
) -> Vec<WaitingTask> {
    let key = |w: &WaitingTask| (w.since, w.request_id.to_string());
    let mut keys: Vec<(NaiveDateTime, String)> = others
        .iter()
        .cloned()
        .chain(waiting.iter().map(key))
        .collect();
    if keys.len() <= fetch || fetch == 0 {
        return waiting;
    }
    keys.sort_unstable_by(|a, b| b.cmp(a));
    let last = &keys[fetch - 1];
    waiting.retain(|w| key(w) >= *last);
    waiting
}

/// The items of `waiting`, each with its request (and that request's tasks), in one read each.
fn task_items(conn: &mut DbConnection, waiting: Vec<WaitingTask>) -> QueryResult<Vec<ActionItem>> {
    let ids: Vec<String> = waiting.iter().map(|w| w.request_id.to_string()).collect();
    // Most people have no task waiting on the page: then nothing more is read.
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<RequestRow> = access_requests::table
        .filter(access_requests::id.eq_any(&ids))
        .select(RequestRow::as_select())
        .load(conn)?;
    let mut listed: Vec<Listed> = rows
        .into_iter()
        .map(into_listed)
        .collect::<Result<_, _>>()?;
    listed = super::tasks::attach(conn, listed)?;
    let mut items = Vec::with_capacity(waiting.len());
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
    Ok(items)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use portcullis_domain::RequestId;

    use super::*;

    fn at(minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 4)
            .unwrap()
            .and_hms_opt(9, minute, 0)
            .unwrap()
    }

    fn task(minute: u32) -> WaitingTask {
        WaitingTask {
            request_id: RequestId::new_v7(),
            task_type: TaskType::Provisioning,
            since: at(minute),
        }
    }

    #[test]
    fn only_the_tasks_among_the_newest_of_every_source_are_read() {
        let others: Vec<(NaiveDateTime, String)> = [10, 8, 6, 4]
            .iter()
            .map(|m| (at(*m), RequestId::new_v7().to_string()))
            .collect();
        let waiting: Vec<WaitingTask> = [9, 7, 5, 3].into_iter().map(task).collect();
        let minutes = |kept: Vec<WaitingTask>| kept.iter().map(|w| w.since).collect::<Vec<_>>();
        // The four newest of all eight: 10, 9, 8, 7.
        assert_eq!(
            minutes(on_the_page(waiting.clone(), &others, 4)),
            [at(9), at(7)]
        );
        assert_eq!(
            minutes(on_the_page(waiting.clone(), &others, 1)),
            Vec::<NaiveDateTime>::new()
        );
        assert_eq!(
            minutes(on_the_page(waiting.clone(), &others, 8)),
            [at(9), at(7), at(5), at(3)]
        );
        assert_eq!(
            minutes(on_the_page(waiting.clone(), &[], 2)),
            [at(9), at(7)]
        );
        // At the same time, the larger id comes first (newest first on (since, id)).
        let tie = (at(9), "ffffffff-ffff-7fff-bfff-ffffffffffff".to_owned());
        assert_eq!(
            minutes(on_the_page(waiting, &[tie], 1)),
            Vec::<NaiveDateTime>::new()
        );
    }
}
