use diesel::connection::SimpleConnection;
use portcullis_domain::flow::{FlowDraft, FlowLimits};

use super::*;
use crate::repo::{flows, users};
use crate::test_support::{plans_of, scratch_postgres};

/// The people of [`flow`]: a requester (visible through `seeing`) and their manager, two owners (one
/// inactive), an approver group `team` (one member twice, by a direct membership and a grant's,
/// and one whose membership expired) and an approver group `empty` with no current member.
struct Org {
    requester: UserId,
    manager: UserId,
    owners: [UserId; 2],
    team: GroupId,
    empty: GroupId,
    flow: FlowId,
}

fn org(conn: &mut DbConnection) -> Org {
    let [requester, manager, owner, retired, first, second, gone] =
        std::array::from_fn(|_| UserId::new_v7());
    let [seeing, team, empty, target] = std::array::from_fn(|_| GroupId::new_v7());
    let mut sql = String::new();
    for (id, active) in [
        (requester, true),
        (manager, true),
        (owner, true),
        (retired, false),
        (first, true),
        (second, true),
        (gone, true),
    ] {
        sql += &format!(
            "INSERT INTO users (id, email, display_name, is_admin, active, kind, version, created_at, \
             updated_at) VALUES ('{id}', '{id}@example.com', 'P', false, {active}, 'person', 1, now(), now());"
        );
    }
    sql += &format!("UPDATE users SET manager_id = '{manager}' WHERE id = '{requester}';");
    for group in [seeing, team, empty, target] {
        sql += &format!(
            "INSERT INTO user_groups (id, name, description, version, created_at, updated_at) \
             VALUES ('{group}', '{group}', '', 1, now(), now());"
        );
    }
    for (n, (group, user, source, expires)) in [
        (seeing, requester, "direct", "NULL"),
        (team, first, "direct", "NULL"),
        (team, second, "direct", "NULL"),
        (team, second, "grant", "now() + interval '1 day'"),
        (team, gone, "direct", "now() - interval '1 day'"),
    ]
    .into_iter()
    .enumerate()
    {
        sql += &format!(
            "INSERT INTO memberships (id, group_id, user_id, source, created_at, expires_at) \
             VALUES ('m{n}', '{group}', '{user}', '{source}', now(), {expires});"
        );
    }
    conn.batch_execute(&sql).unwrap();
    let draft: FlowDraft = serde_json::from_value(serde_json::json!({
        "kind": "resource_request",
        "name": "Wiki",
        "display": {"color": "#336699"},
        "target_group_id": target,
        "owner_ids": [owner, retired],
        "visibility_group_ids": [seeing],
        "approval_type": "manual",
        "approvers": [
            {"type": "requester_manager"},
            {"type": "user_group", "group_id": team},
            {"type": "user_group", "group_id": empty},
            {"type": "resource_owner"},
        ],
        "approver_requirement": "all_in_order",
    }))
    .unwrap();
    let limits = FlowLimits {
        max_duration_seconds: 30 * 24 * 3600,
    };
    let flow = ApprovalFlow::new(FlowId::new_v7(), draft, limits, Utc::now()).unwrap();
    flows::insert(conn, &flow).unwrap();
    Org {
        requester,
        manager,
        owners: [owner, retired],
        team,
        empty,
        flow: flow.id(),
    }
}

fn candidates(conn: &mut DbConnection, ids: &[UserId]) -> Vec<Candidate> {
    let mut people = users::find_many(conn, ids).unwrap();
    people.sort_by_key(|u| u.id);
    people
        .into_iter()
        .map(|u| Candidate {
            id: u.id,
            active: u.active,
            kind: u.kind,
            is_admin: u.is_admin,
        })
        .collect()
}

/// On PostgreSQL a submission's flow comes with the people its approvers are resolved from, equal
/// to what reading them one by one gives (`users::find_many`, `flows::members`): every current
/// member of each approver group once, an empty group present, an expired membership left out; and
/// with the same flow, visibility and open request as [`find_for_request`].
#[test]
fn postgres_reads_a_submissions_flow_with_the_people_its_approvers_are_resolved_from() {
    let Some((pg, _drop)) = scratch_postgres() else {
        return;
    };
    let mut conn = DbConnection::Postgres(pg);
    let org = org(&mut conn);
    let now = Utc::now();
    let found = find_for_submission(&mut conn, org.flow, org.requester, Some(org.manager), now)
        .unwrap()
        .expect("the flow");
    let plain = find_for_request(&mut conn, org.flow, org.requester, now)
        .unwrap()
        .unwrap();
    assert_eq!(found.flow, plain.flow);
    assert!(found.visible && plain.visible);
    assert_eq!((found.open_request, plain.open_request), (None, None));
    assert!(plain.people.is_none());

    let people = found.people.expect("read with the flow");
    assert_eq!(
        people.manager,
        candidates(&mut conn, &[org.manager]).pop(),
        "the manager"
    );
    assert_eq!(people.owners, candidates(&mut conn, &org.owners));
    assert_eq!(people.owners.len(), 2, "an inactive owner too");
    let team: Vec<UserId> = flows::members(&mut conn, org.team, now)
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(team.len(), 2, "the expired membership left out");
    assert_eq!(
        people.group_members,
        vec![
            (org.team, candidates(&mut conn, &team)),
            (org.empty, Vec::new())
        ],
        "each member once, in the flow's order of groups"
    );
    assert!(people.admins.is_empty());

    // Without a manager, a flow that does not exist, a requester who cannot see it.
    let other = UserId::new_v7();
    let unseen = find_for_submission(&mut conn, org.flow, other, None, now)
        .unwrap()
        .unwrap();
    assert!(!unseen.visible);
    assert!(unseen.people.unwrap().manager.is_none());
    assert!(
        find_for_submission(&mut conn, FlowId::new_v7(), org.requester, None, now)
            .unwrap()
            .is_none()
    );
}

/// The statement is planned once per connection (five custom plans, then the generic one kept), and
/// every plan looks people up by id: with 20,000 people stored, all in one large group (so that the
/// generic plan expects many members per group, as on a real directory), none reads the whole
/// `users` table.
#[test]
fn postgres_plans_a_submissions_flow_read_once_per_connection_with_lookups_by_id() {
    use diesel::sql_types::BigInt;

    #[derive(QueryableByName)]
    struct Scans {
        #[diesel(sql_type = BigInt)]
        seq_scan: i64,
    }

    let Some((pg, _drop)) = scratch_postgres() else {
        return;
    };
    let mut conn = DbConnection::Postgres(pg);
    let org = org(&mut conn);
    conn.batch_execute(
        "INSERT INTO users (id, email, display_name, is_admin, active, kind, version, created_at, updated_at) \
         SELECT 'u' || n, 'p' || n || '@example.com', 'P' || n, false, true, 'person', 1, now(), now() \
         FROM generate_series(1, 20000) n; \
         INSERT INTO user_groups (id, name, description, version, created_at, updated_at) \
         VALUES ('everyone', 'Everyone', '', 1, now(), now()); \
         INSERT INTO memberships (id, group_id, user_id, source, created_at) \
         SELECT 'e' || n, 'everyone', 'u' || n, 'direct', now() FROM generate_series(1, 20000) n; \
         ANALYZE",
    )
    .unwrap();
    // In one transaction: the backend's table scans not yet reported (`pg_stat_xact_user_tables`,
    // which may hold earlier transactions' too) are not reported inside it, so the two counts differ
    // by this transaction's scans.
    let seq_scans = |conn: &mut DbConnection| {
        diesel::sql_query("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'users'")
            .get_result::<Scans>(conn)
            .map(|s| s.seq_scan)
    };
    let scans = conn
        .transaction(|conn| {
            let before = seq_scans(conn)?;
            for _ in 0..8 {
                let found = find_for_submission(
                    conn,
                    org.flow,
                    org.requester,
                    Some(org.manager),
                    Utc::now(),
                )?
                .expect("the flow");
                assert_eq!(found.people.unwrap().group_members[0].1.len(), 2);
            }
            Ok::<_, diesel::result::Error>(seq_scans(conn)? - before)
        })
        .unwrap();
    assert_eq!(scans, 0, "people looked up by id, not the table read");
    assert_eq!(
        plans_of(&mut conn, "%json_agg%"),
        (5, 3),
        "planned for five executions, then the generic plan"
    );
}
