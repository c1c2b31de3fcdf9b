//! A PostgreSQL database filled through the API right after its migrations is planned as well as
//! an analyzed one: the server analyzes the tables whose statistics are missing or stale itself.
//!
//! Without statistics PostgreSQL guesses that any equality matches 0.5% of the rows, so the admin
//! queue's default view gathered every pending request and sorted them (7.7 ms a call on 9,000
//! pending requests, 1.3 ms once analyzed). The first test shows that plan on a database the API
//! filled, then that one refresh of the statistics gives each main list query the very plan a full
//! `ANALYZE` gives; the second, that the server runs the refresh on its own.

use diesel::{Connection, PgConnection, RunQueryDsl};
use futures_util::StreamExt;
use portcullis_domain::flow::ApprovalType;
use portcullis_domain::request::RequestStatus;
use portcullis_persistence::repo::requests::{self, ListQuery, QueueFilter};
use portcullis_persistence::{Database, DatabaseTarget, statistics};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const MANAGERS: usize = 5;
const PEOPLE: usize = 100;
const FLOWS: usize = 20;

/// The requester filter the queue test uses: 11 of the 100 people ("Person 1", "Person 10"…"19").
const REQUESTER: &str = "person 1";

/// Fills the database through the API: managers, people reporting to them, flows every person may
/// request through (manager first, then the managers' group), and one pending request per person
/// and flow. Returns a manager's id (an approver with tasks).
async fn fill(app: &TestApp) -> String {
    let everyone = app.create_group("everyone").await;
    let approvers = app.create_group("approvers").await;
    let target = app.create_group("target").await;
    let mut managers = Vec::new();
    for i in 0..MANAGERS {
        let id = app
            .create_user(&format!("manager{i}@example.com"), &format!("Manager {i}"))
            .await;
        let added = app
            .post(
                &format!("/v1/groups/{approvers}/members"),
                &app.admin_token,
                &json!({ "user_id": id }),
            )
            .await;
        expect_status(added, StatusCode::CREATED).await;
        managers.push(id);
    }
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let id = app
            .create_user_with(json!({
                "email": format!("person{i}@example.com"),
                "display_name": format!("Person {i}"),
                "manager_id": managers[i % MANAGERS],
            }))
            .await;
        let added = app
            .post(
                &format!("/v1/groups/{everyone}/members"),
                &app.admin_token,
                &json!({ "user_id": id }),
            )
            .await;
        expect_status(added, StatusCode::CREATED).await;
        people.push(id);
    }
    let mut flows = Vec::new();
    for i in 0..FLOWS {
        let created = app
            .post(
                "/v1/approval-flows",
                &app.admin_token,
                &json!({
                    "kind": "resource_request",
                    "name": format!("Application {i}"),
                    "description": "An application",
                    "enabled": true,
                    "display": { "color": "#24292f" },
                    "target_group_id": target,
                    "owner_ids": [managers[0]],
                    "visibility_group_ids": [everyone],
                    "approval_type": "manual",
                    "approvers": [
                        { "type": "requester_manager" },
                        { "type": "user_group", "group_id": approvers }
                    ],
                    "approver_requirement": "all_in_order"
                }),
            )
            .await;
        flows.push(
            expect_status(created, StatusCode::CREATED).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let creates = flows
        .iter()
        .flat_map(|flow| people.iter().map(move |person| (flow, person)))
        .map(|(flow, person)| async move {
            let body = json!({
                "flow_id": flow,
                "requester_id": person,
                "reason": "Quarterly release work needs this",
            });
            app.post("/v1/access-requests", &app.admin_token, &body)
                .await
                .status()
        });
    let statuses: Vec<StatusCode> = futures_util::stream::iter(creates)
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    managers.swap_remove(0)
}

/// The plans of the queue's default view, an approver's tasks and the queue filtered by requester,
/// without their cost estimates (which change with any statistic; the plan's shape is what the time
/// follows).
fn plan_shapes(database: &Database, approver: &str) -> Vec<(&'static str, String)> {
    let default_queue = QueueFilter {
        statuses: vec![RequestStatus::Pending],
        approval_type: Some(ApprovalType::Manual),
        ..QueueFilter::default()
    };
    let queries = [
        ("default queue", ListQuery::Queue(default_queue.clone())),
        ("my tasks", ListQuery::Tasks(approver.parse().unwrap())),
        (
            "requester filter",
            ListQuery::Queue(QueueFilter {
                requester: Some(REQUESTER.to_owned()),
                ..default_queue
            }),
        ),
    ];
    let mut conn = database.reader().unwrap();
    queries
        .into_iter()
        .map(|(name, query)| {
            let plan = requests::explain(&mut conn, &query).unwrap();
            let shape = plan
                .iter()
                .map(|line| line.split("  (cost=").next().unwrap_or(line).to_owned())
                .collect::<Vec<_>>()
                .join("\n");
            (name, shape)
        })
        .collect()
}

/// Waits up to 30 s until `sql` (one `n` column) returns a row with `n >= at_least`: PostgreSQL's
/// activity counters reach other sessions up to ~10 s after the writes.
async fn until_at_least(url: &str, sql: &'static str, at_least: i64) {
    for _ in 0..300 {
        let url = url.to_owned();
        let n = tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            diesel::sql_query(sql)
                .get_result::<Count>(&mut conn)
                .map_or(0, |c| c.n)
        })
        .await
        .unwrap();
        if n >= at_least {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {sql} reaches {at_least}");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
async fn one_refresh_gives_a_database_filled_through_the_api_its_analyzed_plans() {
    let options = Options {
        analyze_interval: None,
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_postgres_with(options).await else {
        return;
    };
    let approver = fill(&app).await;
    until_at_least(
        app.database_url(),
        "SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables WHERE relname = 'access_requests'",
        (PEOPLE * FLOWS) as i64,
    )
    .await;
    let url = app.database_url().to_owned();
    tokio::task::block_in_place(|| {
        let database = Database::connect(&DatabaseTarget::parse(&url).unwrap(), 1).unwrap();
        let cold = plan_shapes(&database, &approver);

        let refreshed = statistics::refresh(&mut database.reader().unwrap()).unwrap();
        for table in ["access_requests", "request_approvers", "users"] {
            assert!(
                refreshed.iter().any(|t| t == table),
                "{table} not analyzed: {refreshed:?}"
            );
        }
        let kept = plan_shapes(&database, &approver);
        assert_eq!(
            statistics::refresh(&mut database.reader().unwrap()).unwrap(),
            Vec::<String>::new(),
            "nothing is stale right after"
        );

        let mut admin = PgConnection::establish(&url).unwrap();
        diesel::sql_query("ANALYZE").execute(&mut admin).unwrap();
        let analyzed = plan_shapes(&database, &approver);

        // The cliff was there: without statistics the default view sorted every pending request.
        assert_ne!(
            cold[0].1, analyzed[0].1,
            "the default queue's plan without statistics:\n{}",
            cold[0].1
        );
        assert!(cold[0].1.contains("Sort"), "{}", cold[0].1);
        for ((name, kept), (_, analyzed)) in kept.iter().zip(&analyzed) {
            assert_eq!(
                kept, analyzed,
                "{name}: refreshed plan\n{kept}\nis not the analyzed plan\n{analyzed}"
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
async fn the_server_analyzes_the_tables_it_writes() {
    let Some(app) = TestApp::spawn_postgres().await else {
        return;
    };
    for i in 0..3 {
        app.create_user(&format!("someone{i}@example.com"), &format!("Someone {i}"))
            .await;
    }
    until_at_least(
        app.database_url(),
        "SELECT count(*) AS n FROM pg_stat_user_tables WHERE relname = 'users' AND last_analyze IS NOT NULL",
        1,
    )
    .await;
}
