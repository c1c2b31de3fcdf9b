//! The plans of the list queries, for the index tests: each query exactly as the API runs it.

use chrono::Utc;
use diesel::prelude::*;
use portcullis_domain::{FlowId, UserId};

use super::queries::*;
use super::queue::{LISTED_PEOPLE, QueueFilter, listed_requesters, queue_query};
use crate::connection::DbConnection;
use crate::repo::users::{PeopleSearch, with_people};

/// The queries whose plans the index tests check.
#[derive(Debug, Clone)]
pub enum ListQuery {
    Tasks(UserId),
    Queue(QueueFilter),
    /// The open requests of a flow (failed or cancelled with it).
    OpenForFlow(FlowId),
    /// The expiry sweep's batch.
    DueForExpiry,
    /// The people a requester filter with this text matches.
    PeopleMatching(String),
    /// The pending requests a deactivated approver leaves behind.
    PendingWithApprover(UserId),
    /// The open fulfilment tasks waiting on a user (Action Required's tasks).
    WaitingTasks(UserId),
    /// A Manage Requests view of the tickets a (non-admin) user helps manage.
    Managed(UserId, super::View),
    /// A person's break-glass requests of the rate limit's window.
    BreakGlassOf(UserId),
}

/// The database's plan for the first page of a list query, exactly as the API runs it.
pub fn explain(conn: &mut DbConnection, which: &ListQuery) -> QueryResult<Vec<String>> {
    let page = crate::PageRequest {
        limit: 50,
        after: None,
    };
    match which {
        ListQuery::Tasks(user) => crate::explain::plan(conn, tasks_query(*user, &page)),
        ListQuery::Queue(filter) => {
            let listed = listed_requesters(conn, filter)?;
            {
                let backend = conn.backend();
                crate::explain::plan(conn, queue_query(filter, backend, listed.as_deref(), &page))
            }
        }
        ListQuery::OpenForFlow(flow) => crate::explain::plan(conn, open_for_flow_query(*flow)),
        ListQuery::DueForExpiry => {
            crate::explain::plan(conn, due_for_expiry_query(Utc::now(), 100))
        }
        ListQuery::PendingWithApprover(user) => {
            crate::explain::plan(conn, pending_with_approver_query(*user))
        }
        ListQuery::WaitingTasks(user) => {
            crate::explain::plan(conn, super::tasks::waiting_on_query(*user, None, None, 51))
        }
        ListQuery::Managed(user, view) => {
            let query = super::manage::page_query(
                conn,
                super::Scope::ManagedBy(*user),
                *view,
                *user,
                &QueueFilter::default(),
                None,
                &page,
            );
            crate::explain::plan(conn, query)
        }
        ListQuery::BreakGlassOf(user) => crate::explain::plan(
            conn,
            super::break_glass::made_since_query(*user, Utc::now() - chrono::Duration::hours(24)),
        ),
        ListQuery::PeopleMatching(text) => {
            let search = PeopleSearch::new(conn.backend(), text);
            with_people!(&search, |people| crate::explain::plan(
                conn,
                people.limit(LISTED_PEOPLE + 1)
            ))
        }
    }
}
