//! Crash consistency: a `portcullis serve` process takes a load of creates and decisions and is
//! SIGKILLed in the middle of it, several times; after every restart the database tells one
//! consistent story. Every request that got a 201 exists, every decision that got a 200 holds,
//! approved ⇔ a grant (active or ended), exactly one approval event per approved request, and every
//! event a webhook channel subscribes to has its outbox entry (none lost, none doubled).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::per_backend;
use crate::receivers::free_port;
use crate::requests::join;

const CREATED: &str = "access_management_access_request";
const APPROVED: &str = "access_management_access_request_approval";
const DENIED: &str = "access_management_access_request_deny";
const CRASHES: usize = 3;
const WORKERS: usize = 6;

per_backend! {
    killing_the_server_mid_load_loses_or_half_writes_nothing => super::killing_the_server_mid_load_loses_or_half_writes_nothing,
}

/// What clients were told before the crash.
#[derive(Default, Clone)]
struct Acknowledged {
    created: HashSet<String>,
    approved: HashSet<String>,
    denied: HashSet<String>,
}

struct Remote {
    client: reqwest::Client,
    base: String,
    admin: String,
}

impl Remote {
    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        expect_status(response, StatusCode::OK).await
    }

    async fn pages(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        let separator = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut url = format!("{path}{separator}limit=200");
            if let Some(token) = &next {
                url.push_str(&format!("&page_token={token}"));
            }
            let page = self.get(&url).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_page_token"].as_str() {
                Some(token) => next = Some(token.to_owned()),
                None => return items,
            }
        }
    }
}

/// One client: creates a request for a (requester, flow) pair, then approves or denies it, forever.
async fn drive(
    client: reqwest::Client,
    base: String,
    pairs: Vec<(String, String)>,
    manager: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
) {
    let mut turn = 0usize;
    loop {
        for (requester, flow) in &pairs {
            turn += 1;
            let body = json!({ "flow_id": flow, "reason": "Crash test: needs access now", "duration_seconds": 3600 });
            let Ok(response) = client
                .post(format!("{base}/v1/access-requests"))
                .bearer_auth(requester)
                .json(&body)
                .send()
                .await
            else {
                return; // the server is gone
            };
            if response.status() != StatusCode::CREATED {
                continue;
            }
            let Ok(created) = response.json::<Value>().await else {
                return;
            };
            let id = created["id"].as_str().unwrap().to_owned();
            acknowledged.lock().unwrap().created.insert(id.clone());
            let (action, body) = if turn.is_multiple_of(3) {
                ("deny", json!({ "reason": "Not now" }))
            } else {
                ("approve", json!({}))
            };
            let Ok(response) = client
                .post(format!("{base}/v1/access-requests/{id}/{action}"))
                .bearer_auth(&manager)
                .json(&body)
                .send()
                .await
            else {
                return;
            };
            if response.status() == StatusCode::OK {
                let mut acknowledged = acknowledged.lock().unwrap();
                match action {
                    "approve" => acknowledged.approved.insert(id),
                    _ => acknowledged.denied.insert(id),
                };
            }
        }
    }
}

async fn killing_the_server_mid_load_loses_or_half_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn_for(backend, Options::default()).await else {
        return;
    };
    // A manager approves for a dozen requesters, on three flows decided by "any" approver.
    let target = app.create_group("Target").await;
    let visible = app.create_group("Everyone").await;
    let manager = app.create_user("max@example.org", "Max Manager").await;
    let mut requesters = Vec::new();
    for n in 0..12 {
        let body = json!({ "email": format!("r{n}@example.org"), "display_name": format!("Requester {n}"), "manager_id": manager });
        let id = app.create_user_with(body).await;
        join(&app, &visible, &id).await;
        requesters.push(app.token_for(&id));
    }
    let mut flows = Vec::new();
    for n in 0..3 {
        let flow = json!({
            "kind": "resource_request", "name": format!("Flow {n}"), "display": { "color": "#24292f" },
            "target_group_id": target, "visibility_group_ids": [visible],
            "timed_access": { "mode": "choices", "durations_seconds": [3600] },
            "approval_type": "manual", "approvers": [{ "type": "requester_manager" }],
            "approver_requirement": "any"
        });
        let created = expect_status(
            app.post("/v1/approval-flows", &app.admin_token, &flow)
                .await,
            StatusCode::CREATED,
        )
        .await;
        flows.push(created["id"].as_str().unwrap().to_owned());
    }
    // Its receiver is down: every message stays in the outbox, where the check can count it.
    let channel = json!({ "name": "Down", "url": format!("http://127.0.0.1:{}/hook", free_port()), "events": [CREATED, APPROVED, DENIED] });
    let channel = expect_status(
        app.post("/v1/webhook-channels", &app.admin_token, &channel)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    app.stop_server().await;

    let port = free_port();
    let remote = Remote {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        base: format!("http://127.0.0.1:{port}"),
        admin: app.admin_token.clone(),
    };
    let manager_token = app.token_for(&manager);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let env = [("PORTCULLIS_DELIVERY_BACKOFF_SECONDS", "3600".to_owned())];
    for crash in 0..CRASHES {
        let mut server = serve_process(&app, port, &env, None);
        wait_until_ready(&remote.client, port).await;
        let mut workers = Vec::new();
        for worker in 0..WORKERS {
            let pairs = (0..requesters.len())
                .filter(|n| n % WORKERS == worker)
                .map(|n| {
                    (
                        requesters[n].clone(),
                        flows[(n + crash) % flows.len()].clone(),
                    )
                })
                .collect();
            workers.push(tokio::spawn(drive(
                remote.client.clone(),
                remote.base.clone(),
                pairs,
                manager_token.clone(),
                acknowledged.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(1500 + 300 * crash as u64)).await;
        server.kill().unwrap(); // SIGKILL, in the middle of the load
        server.wait().unwrap();
        for worker in workers {
            worker.await.unwrap();
        }
        sessions_of_the_killed_server_ended(&app, backend).await;

        let mut server = serve_process(&app, port, &env, None);
        wait_until_ready(&remote.client, port).await;
        let snapshot = acknowledged.lock().unwrap().clone();
        check_invariants(&remote, &snapshot, &channel).await;
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap();
    assert!(
        acknowledged.created.len() >= 10 && !acknowledged.approved.is_empty(),
        "the load ran: {} created, {} approved",
        acknowledged.created.len(),
        acknowledged.approved.len()
    );
    eprintln!(
        "crash test ({backend:?}): {CRASHES} SIGKILLs, {} requests created, {} approved, {} denied",
        acknowledged.created.len(),
        acknowledged.approved.len(),
        acknowledged.denied.len()
    );
}

/// On PostgreSQL a transaction whose `COMMIT` the killed server had already sent still commits
/// after the kill, when its session gets to it. Waits until no session is inside a transaction or
/// a statement (idle ones cannot commit anything), so that nothing lands between the reads of the
/// check (a request read as pending, then its grant committing before the grants are read).
async fn sessions_of_the_killed_server_ended(app: &TestApp, backend: Backend) {
    #[derive(diesel::QueryableByName)]
    struct Sessions {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    if backend != Backend::Postgres {
        return; // SQLite has no server: the killed process's unfinished transaction is gone.
    }
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut conn = PgConnection::establish(app.database_url()).unwrap();
    for _ in 0..200 {
        let left = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND state IS DISTINCT FROM 'idle'",
        )
        .get_result::<Sessions>(&mut conn)
        .unwrap()
        .n;
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the killed server's transactions did not end within 10 s");
}

async fn check_invariants(remote: &Remote, acknowledged: &Acknowledged, channel: &str) {
    let requests = remote
        .pages("/v1/access-requests?status=all&approval_type=all")
        .await;
    let status: HashMap<String, String> = requests
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for id in &acknowledged.created {
        assert!(
            status.contains_key(id),
            "request {id} got a 201 but is gone"
        );
    }
    for id in &acknowledged.approved {
        assert_eq!(status[id], "approved", "request {id} got a 200 approval");
    }
    for id in &acknowledged.denied {
        assert_eq!(status[id], "denied", "request {id} got a 200 denial");
    }

    let approvals = remote.pages(&format!("/v1/events?type={APPROVED}")).await;
    let mut approvals_of: HashMap<String, usize> = HashMap::new();
    for event in &approvals {
        *approvals_of
            .entry(event["subject_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let grants = remote.pages("/v1/grants").await;
    let mut grants_of: HashMap<String, usize> = HashMap::new();
    for grant in &grants {
        assert!(
            ["active", "expired"].contains(&grant["status"].as_str().unwrap()),
            "{grant}"
        );
        *grants_of
            .entry(grant["request_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for (id, status) in &status {
        let approved = status == "approved";
        let expected = usize::from(approved);
        assert_eq!(
            grants_of.get(id).copied().unwrap_or(0),
            expected,
            "grants of {status} request {id}"
        );
        assert_eq!(
            approvals_of.get(id).copied().unwrap_or(0),
            expected,
            "approval events of {status} request {id}"
        );
    }

    // The outbox: one delivery per subscribed event, none missing, none twice.
    let mut events = HashSet::new();
    for event_type in [CREATED, APPROVED, DENIED] {
        for event in remote.pages(&format!("/v1/events?type={event_type}")).await {
            events.insert(event["id"].as_str().unwrap().to_owned());
        }
    }
    let deliveries = remote
        .pages(&format!("/v1/webhook-channels/{channel}/deliveries"))
        .await;
    let delivered: Vec<String> = deliveries
        .iter()
        .filter_map(|d| d["event_id"].as_str().map(str::to_owned))
        .collect();
    let unique: HashSet<String> = delivered.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        delivered.len(),
        "an event has two outbox entries"
    );
    assert_eq!(
        unique, events,
        "outbox entries and subscribed events differ"
    );
}
