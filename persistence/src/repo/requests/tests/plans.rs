//! The plans PostgreSQL keeps for a create's reads.

use chrono::Utc;
use diesel::prelude::*;
use portcullis_domain::{GroupId, UserId};

use crate::DbConnection;
use crate::test_support::{plans_of, scratch_postgres};

/// On PostgreSQL, a create's resolution of its approvers (the flow's named people and a group's
/// current members, one statement) is planned once per connection: its values are bound where the
/// planner cannot see them (`repo::opaque`), so the prepared statement's generic plan is kept after
/// the first five executions. The same lookup with the list bound as is (`id = ANY($1)`) is planned
/// again on every execution, which is what this guards against.
#[test]
fn postgres_plans_the_resolution_of_approvers_once_per_connection() {
    use diesel::connection::SimpleConnection;
    let Some((mut pg, _drop)) = scratch_postgres() else {
        return;
    };
    // 20,000 people in ten groups; statistics as a live database has them.
    pg.batch_execute(
        "INSERT INTO users (id, email, display_name, is_admin, active, kind, version, created_at, updated_at) \
         SELECT 'u' || n, 'p' || n || '@example.com', 'P' || n, false, true, 'person', 1, now(), now() \
         FROM generate_series(1, 20000) n; \
         INSERT INTO user_groups (id, name, description, version, created_at, updated_at) \
         SELECT 'g' || n, 'G' || n, '', 1, now(), now() FROM generate_series(1, 10) n; \
         INSERT INTO memberships (id, group_id, user_id, source, created_at) \
         SELECT 'm' || n, 'g' || (1 + n % 10), 'u' || n, 'direct', now() FROM generate_series(1, 20000) n; \
         ANALYZE users; ANALYZE memberships;",
    )
    .unwrap();
    let group = GroupId::new_v7();
    let named = [UserId::new_v7(), UserId::new_v7()];
    let mut conn = DbConnection::Postgres(pg);
    for _ in 0..8 {
        crate::repo::flows::named_and_members(&mut conn, &named, group, Utc::now()).unwrap();
        let listed: Vec<String> = crate::schema::users::table
            .filter(crate::schema::users::id.eq_any(["u1", "u2"]))
            .select(crate::schema::users::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(listed.len(), 2);
    }
    assert_eq!(
        plans_of(&mut conn, "%unnest((SELECT%"),
        (5, 3),
        "planned for five executions, then the generic plan"
    );
    assert_eq!(
        plans_of(
            &mut conn,
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id" = ANY($1))"#,
        ),
        (8, 0),
        "a list bound as is is planned on every execution"
    );
}
