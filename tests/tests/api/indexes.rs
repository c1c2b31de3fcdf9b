//! The main list queries use indexes, on both backends: each test asks the database for the plan
//! of the very query the API runs (`repo::requests::explain`).

use portcullis_domain::FlowId;
use portcullis_domain::flow::ApprovalType;
use portcullis_domain::request::RequestStatus;
use portcullis_persistence::repo::help;
use portcullis_persistence::repo::requests::{self, ListQuery, QueueFilter, Tab, View};
use portcullis_persistence::{Database, DatabaseTarget};

use crate::both_backends;
use crate::helpers::*;

fn plans(app: &TestApp) -> Vec<(&'static str, Vec<String>)> {
    let database =
        Database::connect(&DatabaseTarget::parse(app.database_url()).unwrap(), 1).unwrap();
    let mut conn = database.reader().unwrap();
    let default_queue = QueueFilter {
        statuses: vec![RequestStatus::Pending],
        approval_type: Some(ApprovalType::Manual),
        ..QueueFilter::default()
    };
    let queries = [
        ("my tasks", ListQuery::Tasks(app.admin_id.parse().unwrap())),
        ("default queue", ListQuery::Queue(default_queue.clone())),
        (
            "administrator tab",
            ListQuery::Queue(QueueFilter {
                tab: Some(Tab::Administrator),
                ..default_queue.clone()
            }),
        ),
        (
            "requester filter",
            ListQuery::Queue(QueueFilter {
                requester: Some("riley".into()),
                statuses: vec![],
                approval_type: None,
                ..QueueFilter::default()
            }),
        ),
        (
            "status filter",
            ListQuery::Queue(QueueFilter {
                statuses: vec![RequestStatus::Approved, RequestStatus::Denied],
                approval_type: None,
                ..QueueFilter::default()
            }),
        ),
        (
            "open requests of a flow",
            ListQuery::OpenForFlow(FlowId::new_v7()),
        ),
        ("expiry sweep", ListQuery::DueForExpiry),
        (
            "a deactivated approver's requests",
            ListQuery::PendingWithApprover(app.admin_id.parse().unwrap()),
        ),
        ("people by name", ListQuery::PeopleMatching("riley".into())),
    ];
    queries
        .into_iter()
        .map(|(name, query)| (name, requests::explain(&mut conn, &query).unwrap()))
        .collect()
}

/// Whether a plan reads `access_requests` only through an index (never a full table scan).
fn uses_an_index_on_requests(plan: &[String]) -> bool {
    let text = plan.join("\n");
    let sqlite_full_scan = plan
        .iter()
        .any(|line| line.trim_start().starts_with("SCAN access_requests"));
    let postgres_full_scan = text.contains("Seq Scan on access_requests");
    let reads_requests = plan.iter().any(|line| {
        line.contains("SEARCH access_requests USING")
            || (line.contains("Index") && line.contains("access_requests_"))
    });
    reads_requests && !sqlite_full_scan && !postgres_full_scan
}

both_backends! {
    async fn the_main_list_queries_read_requests_through_indexes(app: TestApp) {
        let plans = tokio::task::block_in_place(|| plans(&app));
        assert_eq!(plans.len(), 9);
        let ((_, people), plans) = plans.split_last().unwrap();
        for (name, plan) in plans {
            assert!(uses_an_index_on_requests(plan), "{name} scans the requests table:\n{}", plan.join("\n"));
        }
        let (_, tasks) = &plans[0];
        assert!(tasks.iter().any(|l| l.contains("request_approvers_tasks_idx")), "my tasks starts from the approver index: {tasks:?}");
        // The partial indexes hold open requests only; these queries must say so to use them.
        let (_, of_flow) = &plans[5];
        assert!(of_flow.iter().any(|l| l.contains("access_requests_open_flow_idx")), "open requests of a flow: {of_flow:?}");
        let (_, expiry) = &plans[6];
        assert!(expiry.iter().any(|l| l.contains("access_requests_expiry_idx")), "expiry sweep: {expiry:?}");
        // Awaiting approvers from the (partial) tasks index, the others from the index of only them.
        let (_, approver) = &plans[7];
        for index in ["request_approvers_tasks_idx", "request_approvers_later_idx"] {
            assert!(approver.iter().any(|l| l.contains(index)), "a deactivated approver's requests through {index}: {approver:?}");
        }
        // Both find people by part of their name through trigram indexes: pg_trgm on PostgreSQL,
        // an FTS5 trigram table on SQLite.
        if app.database_url().starts_with("postgres") {
            assert!(people.iter().any(|l| l.contains("users_name_trgm_idx")), "people by name: {people:?}");
        } else {
            assert!(people.iter().any(|l| l.contains("SCAN users_search VIRTUAL TABLE INDEX")), "people by name: {people:?}");
        }
    }

    async fn the_break_glass_rate_limit_reads_a_persons_window_through_the_requester_index(app: TestApp) {
        let plan = tokio::task::block_in_place(|| {
            let database = Database::connect(&DatabaseTarget::parse(app.database_url()).unwrap(), 1).unwrap();
            let mut conn = database.reader().unwrap();
            requests::explain(&mut conn, &ListQuery::BreakGlassOf(app.admin_id.parse().unwrap())).unwrap()
        });
        assert!(uses_an_index_on_requests(&plan), "{}", plan.join("\n"));
        assert!(plan.iter().any(|l| l.contains("access_requests_requester_idx")), "{plan:?}");
    }

    async fn the_help_requests_waiting_on_someone_are_read_from_their_index(app: TestApp) {
        let plan = tokio::task::block_in_place(|| {
            let database = Database::connect(&DatabaseTarget::parse(app.database_url()).unwrap(), 1).unwrap();
            let mut conn = database.reader().unwrap();
            help::explain_waiting_on(&mut conn, app.admin_id.parse().unwrap()).unwrap()
        });
        assert!(plan.iter().any(|l| l.contains("help_request_answerers_waiting_idx")), "{}", plan.join("\n"));
        // SQLite reads the page in the index's order; PostgreSQL, on an empty table without statistics,
        // may choose a bitmap scan and sort its few rows, so only the index is checked there.
        if !app.database_url().starts_with("postgres") {
            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "no sort: the index gives the order\n{}", plan.join("\n"));
        }
    }
}

/// The plans of Action Required's task source and of the Manage Requests views.
fn fulfilment_plans(app: &TestApp) -> Vec<(&'static str, Vec<String>)> {
    let database =
        Database::connect(&DatabaseTarget::parse(app.database_url()).unwrap(), 1).unwrap();
    let mut conn = database.reader().unwrap();
    let me = app.admin_id.parse().unwrap();
    [
        ("tasks waiting on a user", ListQuery::WaitingTasks(me)),
        ("managed, open", ListQuery::Managed(me, View::Open)),
        ("managed, closed", ListQuery::Managed(me, View::Closed)),
        (
            "managed, action required",
            ListQuery::Managed(me, View::ActionRequired),
        ),
    ]
    .into_iter()
    .map(|(name, query)| (name, requests::explain(&mut conn, &query).unwrap()))
    .collect()
}

both_backends! {
    async fn action_required_and_manage_requests_read_through_indexes(app: TestApp) {
        let plans = tokio::task::block_in_place(|| fulfilment_plans(&app));
        let (_, waiting) = &plans[0];
        // By the user's part of an assignee index (which of the two is the planner's choice).
        let by_index = waiting.iter().any(|l| l.contains("request_task_assignees_user_idx") || l.contains("request_task_assignees_type_idx"));
        let scanned = waiting.iter().any(|l| l.contains("Seq Scan") || l.trim_start().starts_with("SCAN request_task_assignees"));
        assert!(by_index && !scanned, "tasks waiting on a user: {waiting:?}");
        // A manager's tickets: those of the flows they own and those that named them, each found
        // by index (then sorted: as many as they manage, not the whole table).
        for (name, plan) in &plans[1..] {
            assert!(uses_an_index_on_requests(plan), "{name} scans the requests table:\n{}", plan.join("\n"));
        }
    }
}

#[test]
fn the_plan_check_recognises_a_full_scan() {
    assert!(!uses_an_index_on_requests(&[
        "SCAN access_requests".to_owned()
    ]));
    assert!(!uses_an_index_on_requests(&[
        "Seq Scan on access_requests  (cost=0.00..1.01 rows=1 width=416)".to_owned()
    ]));
    assert!(uses_an_index_on_requests(&[
        "SEARCH access_requests USING INDEX access_requests_status_idx (status=?)".to_owned()
    ]));
    assert!(uses_an_index_on_requests(&[
        "Index Scan using access_requests_status_idx on access_requests".to_owned()
    ]));
}
