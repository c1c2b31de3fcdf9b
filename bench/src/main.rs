//! `portcullis-bench generate`: fills an empty database with a realistic organisation and years of
//! access-request history, reproducibly (seeded), with bulk inserts; then writes the data file the
//! load benchmark's wrk scripts read (tokens, flows to request, requests to approve, ids to fetch).
//!
//! The organisation: 10,000 people in a management tree (5 admins), 500 groups with memberships
//! (everyone, the bench approvers, 48 application groups, 400 departments, 50 approver teams of five),
//! 200 flows covering every approver type, requirement and approval type, and `--requests` requests
//! (default 1,000,000) in every status with their steps, decisions, grants and events, built with the
//! domain's own transitions so that every row is one the server could have written.
//!
//! `portcullis-bench ceilings`: the bare database ceilings of our stack in the same run (see
//! `ceilings.rs`).

mod ceilings;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use diesel::Connection;
use portcullis_api::auth::TokenIssuer;
use portcullis_domain::access::{Grant, GrantStatus};
use portcullis_domain::directory::{
    Description, DisplayName, Email, Group, GroupName, Membership, MembershipSource, User, UserKind,
};
use portcullis_domain::flow::{
    ApprovalFlow, ApprovalType, ApproverDraft, ApproverRequirement, ApproverType, Candidate,
    Directory, DisplayDraft, FlowDraft, FlowKind, FlowLimits, TimedAccess, TimedAccessMode,
    resolve_approvers,
};
use portcullis_domain::request::{
    AccessRequest, Actor, Change, DecisionCommand, RequestError, RequestStatus, Role, Submission,
    Verdict,
};
use portcullis_domain::{EventId, GroupId, MembershipId, RequestId, UserId};
use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::{events, flows, grants, groups, requests, users};
use portcullis_persistence::time::to_db;
use portcullis_persistence::{Database, DatabaseTarget, DbConnection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde_json::json;

const USERS: usize = 10_000;
const ADMINS: usize = 5;
const GROUPS: usize = 500;
const FLOWS: usize = 200;
/// Flows the load benchmark requests through: manual, the manager then the approver group.
const BENCH_FLOWS: usize = 30;
/// Members of the approver group of the bench flows.
const BENCH_APPROVERS: usize = 10;
/// Requests waiting for the approval that completes them (the approve benchmark's supply): this
/// many, or two in five of a smaller data set's requests, so that a quick run (100,000 requests,
/// 10 s per run: a closed run and a paced one at half its rate) does not run out of them.
const READY_TO_APPROVE: usize = 60_000;
const EXPIRY_DAYS: i64 = 30;
const HISTORY_DAYS: i64 = 3 * 365;
/// Requests per transaction and bulk statement batch.
const CHUNK: usize = 5_000;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis-bench",
    about = "Benchmark data and database ceilings for Portcullis"
)]
enum Command {
    /// Fill an empty database (migrations are applied) and write the load benchmark's data file.
    Generate {
        /// A SQLite file path or a `postgres://` URL; the database must be empty.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Requests to store in all.
        #[arg(long, default_value_t = 1_000_000)]
        requests: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The HS256 secret the benchmarked server verifies tokens with.
        #[arg(long, env = "PORTCULLIS_JWT_SECRET", hide_env_values = true)]
        jwt_secret: String,
        /// Where to write the data file for the wrk scripts.
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure the bare database ceilings through the server's pools and pragmas (a single-row
    /// insert in its own transaction, a read by primary key) in a scratch table created and
    /// dropped here; print one JSON line.
    Ceilings {
        #[command(flatten)]
        database: portcullis_api::config::DatabaseArgs,
        /// Seconds each operation is measured for.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds each operation runs before it is measured.
        #[arg(long, default_value_t = 1)]
        warmup_seconds: u64,
        /// Threads calling at once (the wrk runs' connections).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
        callers: u16,
    },
}

fn main() -> anyhow::Result<()> {
    match Command::parse() {
        Command::Generate {
            database_url,
            requests,
            seed,
            jwt_secret,
            out,
        } => generate(&database_url, requests, seed, jwt_secret, &out),
        Command::Ceilings {
            database,
            seconds,
            warmup_seconds,
            callers,
        } => ceilings::run(&ceilings::Options {
            database,
            seconds,
            warmup_seconds,
            callers: usize::from(callers),
        }),
    }
}

fn generate(
    database_url: &str,
    requests: usize,
    seed: u64,
    jwt_secret: String,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let target = DatabaseTarget::parse(database_url).map_err(anyhow::Error::msg)?;
    let db = Database::connect(&target, 2)?;
    db.run_migrations()?;
    let started = Instant::now();
    let mut generator = Generator::new(seed);
    let mut pooled = db.writer()?;
    let conn: &mut DbConnection = &mut pooled;
    if let DbConnection::Sqlite(sqlite) = &mut *conn {
        // A bulk load into a scratch file: a crash means generating again, so skip the syncs.
        diesel::RunQueryDsl::execute(diesel::sql_query("PRAGMA synchronous = OFF"), sqlite)?;
        diesel::RunQueryDsl::execute(diesel::sql_query("PRAGMA cache_size = -262144"), sqlite)?;
    }
    if users::count_active_admins(conn)? > 0 {
        bail!("the database is not empty; the generator fills a fresh one");
    }
    generator.directory(conn)?;
    eprintln!("directory: {:.1} s", started.elapsed().as_secs_f64());
    generator.flows(conn)?;
    eprintln!("flows: {:.1} s", started.elapsed().as_secs_f64());
    let counts = generator.requests(conn, requests)?;
    eprintln!(
        "requests: {:.1} s ({counts})",
        started.elapsed().as_secs_f64()
    );
    let data = generator.data_file(&SecretString::from(jwt_secret))?;
    std::fs::write(out, data).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "generated in {:.1} s; data file {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

struct Person {
    user: User,
    groups: Vec<usize>,
}

struct Generator {
    rng: StdRng,
    now: DateTime<Utc>,
    people: Vec<Person>,
    person_index: HashMap<UserId, usize>,
    groups: Vec<Group>,
    group_index: HashMap<GroupId, usize>,
    members: Vec<Vec<usize>>,
    flows: Vec<ApprovalFlow>,
    /// (requester, bench flow) pairs with an open request: the create benchmark uses the others.
    open_pairs: HashSet<(usize, usize)>,
    ready: Vec<(RequestId, usize)>,
    sample_ids: Vec<RequestId>,
}

fn candidate(user: &User) -> Candidate {
    Candidate {
        id: user.id,
        active: user.active,
        kind: user.kind,
        is_admin: user.is_admin,
    }
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            now: Utc::now(),
            people: Vec::new(),
            person_index: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            members: Vec::new(),
            flows: Vec::new(),
            open_pairs: HashSet::new(),
            ready: Vec::new(),
            sample_ids: Vec::new(),
        }
    }

    /// People in a management tree, groups and memberships. Group 0 holds everyone (it sees the
    /// bench flows); group 1 is the bench flows' approver group; groups 2–49 are flows' targets.
    fn directory(&mut self, conn: &mut DbConnection) -> anyhow::Result<()> {
        let created = self.now - Duration::days(HISTORY_DAYS + 30);
        for n in 0..USERS {
            let manager = match n {
                0 => None,
                1..=20 => Some(0),
                21..=420 => Some(1 + (n - 21) % 20),
                _ => Some(21 + self.rng.random_range(0..400)),
            };
            let user = User {
                id: UserId::new_v7(),
                email: Email::parse(&format!("user{n}@bench.example.com"))
                    .map_err(anyhow::Error::msg)?,
                display_name: DisplayName::parse(&format!("Bench User {n:05}"))
                    .map_err(anyhow::Error::msg)?,
                manager_id: manager.map(|m: usize| self.people[m].user.id),
                is_admin: n < ADMINS,
                active: true,
                kind: UserKind::Person,
                external_id: None,
                version: 1,
                created_at: created,
                updated_at: created,
            };
            self.person_index.insert(user.id, n);
            self.people.push(Person {
                user,
                groups: Vec::new(),
            });
        }
        for n in 0..GROUPS {
            let name = match n {
                0 => "Bench requesters".to_owned(),
                1 => "Bench approvers".to_owned(),
                2..50 => format!("Application {n:03} users"),
                50..450 => format!("Department {n:03}"),
                _ => format!("Approver team {n:03}"),
            };
            self.groups.push(Group {
                id: GroupId::new_v7(),
                name: GroupName::parse(&name).map_err(anyhow::Error::msg)?,
                description: Description::parse("generated for the benchmark")
                    .map_err(anyhow::Error::msg)?,
                version: 1,
                created_at: created,
                updated_at: created,
            });
            self.group_index.insert(self.groups[n].id, n);
            self.members.push(Vec::new());
        }
        for n in 0..USERS {
            let mut own = vec![0];
            if (100..100 + BENCH_APPROVERS).contains(&n) {
                own.push(1);
            }
            // Three departments; every 40th person also sits on one of the 50 approver teams (five each).
            while own.len() < 4 {
                let g = self.rng.random_range(50..450);
                if !own.contains(&g) {
                    own.push(g);
                }
            }
            if n % 40 == 0 {
                own.push(450 + (n / 40) % 50);
            }
            for g in &own {
                self.members[*g].push(n);
            }
            self.people[n].groups = own;
        }
        conn.transaction(|conn| -> anyhow::Result<()> {
            for person in &self.people {
                users::insert(conn, &person.user)?;
            }
            for group in &self.groups {
                groups::insert(conn, group)?;
            }
            for (g, members) in self.members.iter().enumerate() {
                for m in members {
                    groups::insert_membership(
                        conn,
                        &Membership {
                            id: MembershipId::new_v7(),
                            group_id: self.groups[g].id,
                            user_id: self.people[*m].user.id,
                            source: MembershipSource::Direct,
                            expires_at: None,
                            created_at: created,
                        },
                    )?;
                }
            }
            Ok(())
        })
    }

    /// The bench flows, then flows of every approver type, requirement and approval type.
    fn flows(&mut self, conn: &mut DbConnection) -> anyhow::Result<()> {
        let limits = FlowLimits {
            max_duration_seconds: 30 * 24 * 3600,
        };
        let approver = |approver_type, group_id: Option<GroupId>, require_all| ApproverDraft {
            approver_type,
            group_id,
            require_all,
            admin_ids: None,
        };
        let types = [
            ApproverType::RequesterManager,
            ApproverType::ResourceOwner,
            ApproverType::UserGroup,
            ApproverType::Administrator,
        ];
        let requirements = [
            ApproverRequirement::Any,
            ApproverRequirement::All,
            ApproverRequirement::AllInOrder,
        ];
        for n in 0..FLOWS {
            let target = self.groups[2 + n % 48].id;
            let bench = n < BENCH_FLOWS;
            let automatic = !bench && n % 10 == 0;
            let visibility = if bench {
                vec![self.groups[0].id]
            } else {
                vec![self.groups[50 + n % 400].id, self.groups[0].id]
            };
            let approvers = if automatic {
                Vec::new()
            } else if bench {
                vec![
                    approver(ApproverType::RequesterManager, None, None),
                    approver(
                        ApproverType::UserGroup,
                        Some(self.groups[1].id),
                        Some(false),
                    ),
                ]
            } else {
                let first = types[n % 4];
                match first {
                    ApproverType::Administrator => vec![approver(first, None, None)],
                    ApproverType::UserGroup => vec![
                        approver(first, Some(self.groups[450 + n % 50].id), Some(n % 3 == 0)),
                        approver(ApproverType::RequesterManager, None, None),
                    ],
                    _ => vec![
                        approver(first, None, None),
                        approver(
                            ApproverType::UserGroup,
                            Some(self.groups[450 + n % 50].id),
                            Some(false),
                        ),
                    ],
                }
            };
            let requirement = match (automatic, bench) {
                (true, _) => None,
                (false, true) => Some(ApproverRequirement::AllInOrder),
                (false, false) if approvers.len() == 1 => Some(ApproverRequirement::Any),
                (false, false) => Some(requirements[(n / 4) % 3]),
            };
            let draft = FlowDraft {
                kind: FlowKind::ResourceRequest,
                name: if bench {
                    format!("Bench flow {n:02}")
                } else {
                    format!("Application {n:03}")
                },
                description: format!("Generated flow {n} for the benchmark"),
                enabled: true,
                display: DisplayDraft {
                    logo: Some("github".to_owned()),
                    color: None,
                },
                target_group_id: Some(target),
                owner_ids: vec![self.people[500 + n].user.id, self.people[700 + n].user.id],
                visibility_group_ids: visibility,
                timed_access: (n % 2 == 0).then(|| TimedAccess {
                    mode: TimedAccessMode::Choices,
                    durations_seconds: vec![3600, 86_400, 7 * 86_400],
                }),
                session_durations_seconds: Vec::new(),
                approval_type: if automatic {
                    ApprovalType::Automatic
                } else {
                    ApprovalType::Manual
                },
                approvers,
                approver_requirement: requirement,
            };
            let created = self.now - Duration::days(HISTORY_DAYS + 10);
            let flow =
                ApprovalFlow::new(portcullis_domain::FlowId::new_v7(), draft, limits, created)
                    .map_err(|e| anyhow::anyhow!("flow {n} is invalid: {e}"))?;
            self.flows.push(flow);
        }
        conn.transaction(|conn| -> anyhow::Result<()> {
            for flow in &self.flows {
                flows::insert(conn, flow)?;
            }
            Ok(())
        })
    }

    fn directory_for(&self, flow: &ApprovalFlow, requester: usize) -> Directory {
        let person = |id: UserId| self.person_index.get(&id).map(|n| &self.people[*n]);
        let manager = self.people[requester]
            .user
            .manager_id
            .and_then(|m| person(m).map(|p| candidate(&p.user)));
        let group_members = flow
            .approvers()
            .iter()
            .filter_map(|spec| match spec.to_draft().group_id {
                Some(group) => {
                    let g = *self.group_index.get(&group)?;
                    Some((
                        group,
                        self.members[g]
                            .iter()
                            .map(|m| candidate(&self.people[*m].user))
                            .collect(),
                    ))
                }
                None => None,
            })
            .collect();
        Directory {
            manager,
            owners: flow
                .owner_ids()
                .iter()
                .filter_map(|id| person(*id).map(|p| candidate(&p.user)))
                .collect(),
            group_members,
            admins: self.people[..ADMINS]
                .iter()
                .map(|p| candidate(&p.user))
                .collect(),
        }
    }

    /// Submits a request the way the engine does, at `at`.
    fn submit(
        &mut self,
        flow: usize,
        requester: usize,
        at: DateTime<Utc>,
    ) -> anyhow::Result<AccessRequest> {
        let f = &self.flows[flow];
        let directory = self.directory_for(f, requester);
        let resolved = resolve_approvers(f, self.people[requester].user.id, &directory);
        let duration = f.duration_choices().first().copied();
        let submission = Submission {
            flow_id: f.id(),
            flow_name: f.name().to_owned(),
            flow_version: f.version(),
            kind: f.kind(),
            approval_type: f.approval_type(),
            approver_requirement: f.approver_requirement(),
            requester_id: self.people[requester].user.id,
            reason: format!(
                "Needed for ticket OPS-{}",
                self.rng.random_range(1000..99_999)
            ),
            duration_seconds: duration,
            device_id: None,
            resubmitted_from: None,
        };
        let requester_id = self.people[requester].user.id;
        // An automatic flow's request is approved at once (its grant is left out of the data set).
        AccessRequest::submit(
            RequestId::new_v7(),
            submission,
            resolved,
            EXPIRY_DAYS,
            requester_id,
            at,
        )
        .map(|change| change.request)
        .map_err(|e| anyhow::anyhow!("cannot submit: {e}"))
    }

    /// Applies a command's result to `request` as the engine would store it; whether it succeeded.
    fn apply(request: &mut AccessRequest, change: Result<Change, RequestError>) -> bool {
        match change {
            Ok(change) => {
                *request = change.request;
                true
            }
            Err(_) => false,
        }
    }

    /// Decides as the first approver still awaited; false when nobody is.
    fn decide_once(request: &mut AccessRequest, verdict: Verdict, at: DateTime<Utc>) -> bool {
        let Some(actor) = request
            .steps()
            .iter()
            .flat_map(|s| s.approver_ids.iter().copied())
            .find(|id| request.awaits(*id))
        else {
            return false;
        };
        let denial = |text: &str| (verdict == Verdict::Deny).then(|| text.to_owned());
        let command = DecisionCommand {
            verdict,
            comment: None,
            reason: denial("Not needed for this role"),
            next_steps: denial("Ask your manager"),
            is_override: false,
            internal_note: None,
            duration_seconds: None,
        };
        let actor = Actor {
            id: actor,
            role: Role::Person,
        };
        let change = request.decide(&command, &actor, at);
        Self::apply(request, change)
    }

    fn requests(&mut self, conn: &mut DbConnection, total: usize) -> anyhow::Result<String> {
        let mut statuses = [0usize; 6];
        let mut batch: Vec<AccessRequest> = Vec::with_capacity(CHUNK);
        let mut history_events: Vec<EventRow> = Vec::new();
        let mut ended: Vec<Grant> = Vec::new();
        let ready = READY_TO_APPROVE.min(total * 2 / 5);
        for n in 0..total {
            let request = if n < ready {
                // Ready to approve: a bench flow, the manager's step done, the approver group's active.
                let (flow, requester) = (n % BENCH_FLOWS, BENCH_APPROVERS + 200 + n / BENCH_FLOWS);
                let at = self.now - Duration::seconds(self.rng.random_range(3600..20 * 86_400));
                let mut request = self.submit(flow, requester, at)?;
                Self::decide_once(&mut request, Verdict::Approve, at + Duration::minutes(30));
                self.open_pairs.insert((requester, flow));
                let approver = request
                    .steps()
                    .iter()
                    .flat_map(|s| s.approver_ids.iter().copied())
                    .find(|id| request.awaits(*id))
                    .and_then(|id| self.person_index.get(&id).copied())
                    .context("a ready request awaits an approver")?;
                self.ready.push((request.id(), approver));
                request
            } else {
                let (flow, requester, roll, recent, at, mut request) = loop {
                    let flow = BENCH_FLOWS + self.rng.random_range(0..FLOWS - BENCH_FLOWS);
                    let requester = self.rng.random_range(ADMINS..USERS);
                    let roll = self.rng.random_range(0..100);
                    let recent = roll >= 89 && !self.open_pairs.contains(&(requester, flow));
                    let at = if recent {
                        self.now
                            - Duration::seconds(
                                self.rng.random_range(60..(EXPIRY_DAYS - 1) * 86_400),
                            )
                    } else {
                        self.now
                            - Duration::seconds(
                                self.rng.random_range(40 * 86_400..HISTORY_DAYS * 86_400),
                            )
                    };
                    // A flow nobody could approve for this requester cannot be requested: pick again.
                    if let Ok(request) = self.submit(flow, requester, at) {
                        break (flow, requester, roll, recent, at, request);
                    }
                };
                if recent && request.status() == RequestStatus::Pending {
                    self.open_pairs.insert((requester, flow));
                }
                let later = at + Duration::minutes(self.rng.random_range(5..3 * 24 * 60));
                if request.status() == RequestStatus::Pending && !recent {
                    match roll {
                        0..55 => while Self::decide_once(&mut request, Verdict::Approve, later) {},
                        55..70 => {
                            Self::decide_once(&mut request, Verdict::Deny, later);
                        }
                        70..78 => {
                            let requester = Actor {
                                id: request.requester_id(),
                                role: Role::Person,
                            };
                            let change = request.cancel(&requester, later);
                            Self::apply(&mut request, change);
                        }
                        78..79 => {
                            let change = request.fail("the requester's manager changed", None);
                            Self::apply(&mut request, change);
                        }
                        _ => {
                            let change = request.expire(at + Duration::days(EXPIRY_DAYS));
                            Self::apply(&mut request, change);
                        }
                    }
                }
                if request.status() == RequestStatus::Error {
                    // An open request too: one per requester and flow (an admin cancels the second).
                    if !self.open_pairs.insert((requester, flow)) {
                        let admin = Actor {
                            id: self.people[0].user.id,
                            role: Role::Admin,
                        };
                        let change = request.cancel(&admin, later);
                        Self::apply(&mut request, change);
                    }
                }
                request
            };
            statuses[match request.status() {
                RequestStatus::Pending => 0,
                RequestStatus::Approved => 1,
                RequestStatus::Denied => 2,
                RequestStatus::Canceled => 3,
                RequestStatus::Expired => 4,
                RequestStatus::Error => 5,
            }] += 1;
            self.history(&request, &mut history_events, &mut ended);
            if n % 97 == 0 && self.sample_ids.len() < 10_000 {
                self.sample_ids.push(request.id());
            }
            batch.push(request);
            if batch.len() == CHUNK || n + 1 == total {
                conn.transaction(|conn| -> anyhow::Result<()> {
                    requests::insert_many(conn, &batch)?;
                    events::insert_many(conn, &history_events)?;
                    grants::insert_many_ended(conn, &ended)?;
                    Ok(())
                })?;
                batch.clear();
                history_events.clear();
                ended.clear();
                if (n + 1) % 100_000 == 0 {
                    eprintln!("  {} requests", n + 1);
                }
            }
        }
        let mut summary = String::new();
        for (name, count) in [
            "pending", "approved", "denied", "canceled", "expired", "error",
        ]
        .iter()
        .zip(statuses)
        {
            let _ = write!(summary, "{name} {count}, ");
        }
        Ok(summary.trim_end_matches(", ").to_owned())
    }

    /// The events a request's life wrote, and the (ended) grant of an approval.
    fn history(&self, request: &AccessRequest, out: &mut Vec<EventRow>, ended: &mut Vec<Grant>) {
        let event = |event_type: &str, at: DateTime<Utc>, actor: Option<UserId>| EventRow {
            id: EventId::new_v7().to_string(),
            event_type: event_type.to_owned(),
            occurred_at: to_db(at),
            actor_id: actor.map(|a| a.to_string()),
            subject_type: "access_request".to_owned(),
            subject_id: request.id().to_string(),
            data: json!({ "request_id": request.id(), "flow_id": request.flow_id(),
                "flow_version": request.flow_version(), "requester_id": request.requester_id() })
            .to_string(),
        };
        out.push(event(
            "access_management_access_request",
            request.created_at(),
            Some(request.requester_id()),
        ));
        let decided_by = request.outcome().as_ref().and_then(|o| o.decided_by);
        let at = request.decided_at().unwrap_or(request.created_at());
        let closing = match request.status() {
            RequestStatus::Approved => Some("access_management_access_request_approval"),
            RequestStatus::Denied => Some("access_management_access_request_deny"),
            RequestStatus::Canceled => Some("access_management_access_request_cancel"),
            RequestStatus::Expired => Some("access_management_access_request_expire"),
            RequestStatus::Error => Some("access_management_access_request_error"),
            RequestStatus::Pending => None,
        };
        if let Some(closing) = closing {
            out.push(event(closing, at, decided_by));
        }
        if request.status() == RequestStatus::Approved {
            let target = self
                .flows
                .iter()
                .find(|f| f.id() == request.flow_id())
                .and_then(ApprovalFlow::target_group_id);
            if let Some(group) = target {
                let mut grant = Grant::new(
                    request.id(),
                    request.requester_id(),
                    group,
                    request.duration_seconds(),
                    at,
                );
                let end = grant.expires_at.unwrap_or(at + Duration::days(90));
                let status = if grant.expires_at.is_some() {
                    GrantStatus::Expired
                } else {
                    GrantStatus::Revoked
                };
                if grant.end(status, None, end).is_ok() {
                    out.push(event(
                        "access_management_association_change",
                        at,
                        decided_by,
                    ));
                    ended.push(grant);
                }
            }
        }
    }

    /// Lines the wrk scripts read: `token <user> <jwt>`, `approver <user>`, `create <user> <flow id> <duration|->`,
    /// `approve <request id> <user>`, `get <request id>`, `admin <user>`, `requester <name part>`.
    fn data_file(&mut self, secret: &SecretString) -> anyhow::Result<String> {
        let issuer = TokenIssuer::new(secret, None, None);
        let now = Utc::now().timestamp();
        let mut out = String::new();
        for (n, person) in self.people.iter().enumerate() {
            let token = issuer.issue(&person.user.id.to_string(), now, 12 * 3600)?;
            let _ = writeln!(out, "token {n} {token}");
        }
        let _ = writeln!(out, "admin 0");
        for n in 100..100 + BENCH_APPROVERS {
            let _ = writeln!(out, "approver {n}");
        }
        // Requesters with no open request in a bench flow, interleaved across flows.
        let mut creates = 0;
        'outer: for requester in ADMINS..USERS {
            for flow in 0..BENCH_FLOWS {
                if !self.open_pairs.contains(&(requester, flow)) {
                    let duration = self.flows[flow]
                        .duration_choices()
                        .first()
                        .map_or("-".to_owned(), ToString::to_string);
                    let _ = writeln!(
                        out,
                        "create {requester} {} {duration}",
                        self.flows[flow].id()
                    );
                    creates += 1;
                    if creates == 250_000 {
                        break 'outer;
                    }
                }
            }
        }
        for (id, approver) in &self.ready {
            let _ = writeln!(out, "approve {id} {approver}");
        }
        for id in &self.sample_ids {
            let _ = writeln!(out, "get {id}");
        }
        for n in [1234, 5678, 9012] {
            let _ = writeln!(
                out,
                "requester {}",
                self.people[n].user.display_name.as_str()
            );
        }
        Ok(out)
    }
}
