//! My requests: everything a person asked for, as one list — their access requests and the help
//! requests they asked from an app's card (seed 004's Open and Closed Requests) — newest first by
//! (created_at, id). Both sources are keyset-paged on the same key (UUID v7 ids), so one cursor
//! means the same in each: each reads at most a page after it and the page is the newest of their
//! union, as Action Required does.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::UserId;
use portcullis_domain::help::HelpState;

use super::actions::Subject;
use super::queries::{OpenOrClosed, of_requester};

/// One of a person's requests, created at `created_at`.
#[derive(Debug)]
pub struct MyRequest {
    pub created_at: NaiveDateTime,
    pub subject: Subject,
}

/// The requests `user` made (only the open or only the closed ones when `state` is given), newest
/// first: a help request is open until it is resolved.
pub fn mine(
    conn: &mut crate::DbConnection,
    user: UserId,
    state: Option<OpenOrClosed>,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<MyRequest>> {
    // Each source reads a page one longer than this one's (its fetch size), so that the union
    // tells whether a next page exists.
    let longer = crate::PageRequest {
        limit: page.limit + 1,
        after: page.after.clone(),
    };
    let mut items: Vec<MyRequest> = of_requester(conn, user, state, &longer)?
        .items
        .into_iter()
        .map(|listed| MyRequest {
            created_at: crate::time::to_db(listed.request.created_at()),
            subject: Subject::Request(Box::new(listed)),
        })
        .collect();
    let help_state = state.map(|s| match s {
        OpenOrClosed::Open => HelpState::Open,
        OpenOrClosed::Closed => HelpState::Resolved,
    });
    let asked = crate::repo::help::asked_by(conn, user, help_state, &longer)?;
    items.extend(asked.items.into_iter().map(|help| MyRequest {
        created_at: crate::time::to_db(help.created_at),
        subject: Subject::Help(Box::new(help)),
    }));
    items.sort_by_cached_key(|item| std::cmp::Reverse((item.created_at, item.subject.id())));
    items.truncate(crate::Page::<()>::fetch_size(page) as usize);
    Ok(crate::Page::from_rows(items, page.limit, |item| {
        crate::Cursor {
            created_at: item.created_at,
            id: item.subject.id(),
        }
    }))
}
