//! The flow a new request names, with what the request is checked and resolved against: on
//! PostgreSQL in one statement, the flow, whether the requester may see it, their open request
//! through it, and the people its approvers are resolved from.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Nullable, Text, Timestamp};
use portcullis_domain::directory::UserKind;
use portcullis_domain::flow::{ApprovalFlow, ApproverSpec, Candidate, Directory};
use portcullis_domain::{FlowId, GroupId, RequestId, UserId};

use super::{FlowRow, convert, current_groups_of};
use crate::connection::DbConnection;
use crate::repo::opaque::{Opaque, opaque};
use crate::schema::{access_requests, approval_flows, flow_groups};

/// A flow as a new request of one requester needs it (see [`find_for_request`]).
#[derive(Debug, Clone)]
pub struct FlowForRequest {
    pub flow: ApprovalFlow,
    /// Whether the requester is a current member of one of the flow's visibility groups.
    pub visible: bool,
    /// The requester's open (pending or failed) request through the flow.
    pub open_request: Option<RequestId>,
    /// The people the flow's approvers are resolved from, when they were read with the flow (see
    /// [`find_for_submission`]): its owners, the requester's manager and the current members of
    /// each of its approver groups. The administrators an administrator step names are not in it.
    pub people: Option<Directory>,
}

/// The flow `id` with what a new request of `requester` through it checks first, in one statement
/// (one round trip on PostgreSQL instead of three): whether the requester may see the flow, and
/// the requester's open request through it.
pub fn find_for_request(
    conn: &mut DbConnection,
    id: FlowId,
    requester: UserId,
    now: DateTime<Utc>,
) -> QueryResult<Option<FlowForRequest>> {
    let flow_id = id.to_string();
    let my_groups = current_groups_of(requester, now);
    let visible = diesel::dsl::exists(
        flow_groups::table
            .filter(flow_groups::flow_id.eq(flow_id.clone()))
            .filter(flow_groups::role.eq("visibility"))
            .filter(flow_groups::group_id.eq_any(my_groups)),
    );
    let open_request = access_requests::table
        .filter(access_requests::open_key.eq(crate::repo::requests::open_key(requester, id)))
        .select(access_requests::id)
        .single_value();
    let row: Option<(FlowRow, bool, Option<String>)> = approval_flows::table
        .find(flow_id)
        .select((FlowRow::as_select(), visible, open_request))
        .first(conn)
        .optional()?;
    row.map(|(flow, visible, open_request)| found(flow, visible, open_request))
        .transpose()
}

/// [`find_for_request`] for a submission, which then resolves the flow's approvers: on PostgreSQL
/// the same statement also reads the people they are resolved from ([`FlowForRequest::people`]),
/// one round trip instead of two; on SQLite (no round trips) they are read when resolving.
pub fn find_for_submission(
    conn: &mut DbConnection,
    id: FlowId,
    requester: UserId,
    manager: Option<UserId>,
    now: DateTime<Utc>,
) -> QueryResult<Option<FlowForRequest>> {
    let DbConnection::Postgres(pg) = conn else {
        return find_for_request(conn, id, requester, now);
    };
    let statement = Submission {
        columns: FlowRow::as_select(),
        requester: opaque(requester.to_string()),
        now: opaque(crate::time::to_db(now)),
        open_key: opaque(crate::repo::requests::open_key(requester, id)),
        manager: opaque(manager.map(|m| m.to_string())),
        flow: opaque(id.to_string()),
    };
    let row: Option<(FlowRow, bool, Option<String>, Option<String>)> =
        statement.get_result(pg).optional()?;
    let Some((flow, visible, open_request, people)) = row else {
        return Ok(None);
    };
    let people: Vec<Person> = crate::repo::json_rows(people.as_deref())?;
    let mut found = found(flow, visible, open_request)?;
    found.people = Some(directory(&found.flow, people));
    Ok(Some(found))
}

/// The people `flow`'s approvers are resolved from for `requester` ([`FlowForRequest::people`]): on
/// PostgreSQL through [`find_for_submission`]'s statement, one round trip; `None` on SQLite, where the
/// caller reads them as the flow's steps need them (no round trips to save).
pub fn approver_people(
    conn: &mut DbConnection,
    flow: FlowId,
    requester: UserId,
    manager: Option<UserId>,
    now: DateTime<Utc>,
) -> QueryResult<Option<Directory>> {
    match conn {
        DbConnection::Postgres(_) => Ok(find_for_submission(conn, flow, requester, manager, now)?
            .and_then(|found| found.people)),
        DbConnection::Sqlite(_) => Ok(None),
    }
}

/// The flow's row and what was read with it, without its people.
fn found(
    flow: FlowRow,
    visible: bool,
    open_request: Option<String>,
) -> QueryResult<FlowForRequest> {
    Ok(FlowForRequest {
        flow: convert(flow)?,
        visible,
        open_request: open_request
            .map(|id| id.parse())
            .transpose()
            .map_err(|e: uuid::Error| diesel::result::Error::DeserializationError(Box::new(e)))?,
        people: None,
    })
}

/// One person as the statement lists them: why (`owner`, `manager` or `member`), the approver group
/// for a member, then what the resolution looks at.
type Person = (String, Option<GroupId>, UserId, bool, UserKind, bool);

/// The directory of `flow`'s owners, the manager and its approver groups' members (every approver
/// group present, an empty one too, so that nothing reads it again).
fn directory(flow: &ApprovalFlow, people: Vec<Person>) -> Directory {
    let mut directory = Directory::default();
    for spec in flow.approvers() {
        if let ApproverSpec::UserGroup { group_id, .. } = spec
            && !directory.group_members.iter().any(|(g, _)| g == group_id)
        {
            directory.group_members.push((*group_id, Vec::new()));
        }
    }
    for (role, group, id, active, kind, is_admin) in people {
        let candidate = Candidate {
            id,
            active,
            kind,
            is_admin,
        };
        match (role.as_str(), group) {
            ("owner", _) => directory.owners.push(candidate),
            ("manager", _) => directory.manager = Some(candidate),
            (_, Some(group)) => {
                if let Some((_, members)) = directory
                    .group_members
                    .iter_mut()
                    .find(|(g, _)| *g == group)
                {
                    members.push(candidate);
                }
            }
            (_, None) => {}
        }
    }
    directory
}

/// [`find_for_submission`]'s statement on PostgreSQL. Written out rather than composed: it is the
/// first read of every create, and as its own type it has a static id in diesel's statement cache
/// (no text to build and hash per execution) and only its six values to bind.
///
/// The people are one JSON array (`json_agg`) in the flow's row rather than rows of their own, which
/// would repeat the flow in each. Every value is bound as `(SELECT $n)` ([`opaque`]),
/// so the plan, the same index lookups for any values, is made once per connection. A person in an
/// approver group twice (a direct membership and a grant's) is listed once (`DISTINCT`). Each person
/// is looked up by id (`LATERAL … LIMIT 1`, which the planner cannot turn into a join): as a join, the
/// generic plan, which cannot know how many people there are, hashed the whole `users` table (10 ms
/// on the benchmark's 10,000 people, against 0.2 ms).
struct Submission {
    columns: diesel::dsl::AsSelect<FlowRow, Pg>,
    requester: Opaque<Text, String>,
    now: Opaque<Timestamp, NaiveDateTime>,
    open_key: Opaque<Text, String>,
    manager: Opaque<Nullable<Text>, Option<String>>,
    flow: Opaque<Text, String>,
}

impl QueryId for Submission {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for Submission {
    type SqlType = (
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<FlowRow, Pg>>,
        Bool,
        Nullable<Text>,
        Nullable<Text>,
    );
}

impl QueryFragment<Pg> for Submission {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        self.columns.walk_ast(out.reborrow())?;
        out.push_sql(
            ", EXISTS (SELECT 1 FROM flow_groups v WHERE v.flow_id = approval_flows.id \
             AND v.role = 'visibility' AND v.group_id IN (SELECT m.group_id FROM memberships m \
             WHERE m.user_id = ",
        );
        self.requester.walk_ast(out.reborrow())?;
        out.push_sql(" AND (m.expires_at IS NULL OR m.expires_at > ");
        self.now.walk_ast(out.reborrow())?;
        out.push_sql("))), (SELECT r.id FROM access_requests r WHERE r.open_key = ");
        self.open_key.walk_ast(out.reborrow())?;
        out.push_sql(
            "), (SELECT json_agg(json_build_array(p.role, p.group_id, u.id, u.active, u.kind, \
             u.is_admin) ORDER BY p.role, p.group_id, u.id)::text FROM (\
             SELECT 'owner' AS role, NULL::text AS group_id, o.user_id FROM flow_users o \
             WHERE o.flow_id = approval_flows.id AND o.role = 'owner' \
             UNION ALL SELECT 'manager', NULL, ",
        );
        self.manager.walk_ast(out.reborrow())?;
        out.push_sql(
            " UNION ALL SELECT DISTINCT 'member', a.group_id, m.user_id FROM flow_groups a \
             JOIN memberships m ON m.group_id = a.group_id WHERE a.flow_id = approval_flows.id \
             AND a.role = 'approver' AND (m.expires_at IS NULL OR m.expires_at > ",
        );
        self.now.walk_ast(out.reborrow())?;
        out.push_sql(
            ")) p CROSS JOIN LATERAL (SELECT u.id, u.active, u.kind, u.is_admin FROM users u \
             WHERE u.id = p.user_id LIMIT 1) u) FROM approval_flows WHERE approval_flows.id = ",
        );
        self.flow.walk_ast(out.reborrow())
    }
}

impl<Conn> RunQueryDsl<Conn> for Submission {}

#[cfg(test)]
mod tests;
