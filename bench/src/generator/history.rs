//! The generated requests and their history (events, ended grants).

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use diesel::Connection;
use portcullis_domain::access::{Grant, GrantStatus};
use portcullis_domain::flow::{ApprovalFlow, resolve_approvers};
use portcullis_domain::request::{
    AccessRequest, Actor, Change, DecisionCommand, FulfilmentPlan, RequestError, RequestStatus,
    Role, Submission, TaskState, Verdict,
};
use portcullis_domain::{EventId, RequestId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::{events, grants, requests};
use portcullis_persistence::time::to_db;
use rand::Rng;
use serde_json::json;

use super::*;

impl Generator {
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
            conditions: Vec::new(),
            extends_grant: None,
            break_glass: None,
            starts_at: None,
            form: Default::default(),
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

    /// Decides as the first approver still awaited; false when nobody is. An approval that settles
    /// a request of a flow with a fulfilment opens its tasks (`plan`).
    fn decide_once(
        request: &mut AccessRequest,
        verdict: Verdict,
        at: DateTime<Utc>,
        plan: Option<&FulfilmentPlan>,
    ) -> bool {
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
            via: portcullis_domain::request::Via::Api,
            duration_seconds: None,
        };
        let actor = Actor {
            id: actor,
            role: Role::Person,
        };
        let change = request
            .decide(&command, &actor, at)
            .and_then(|change| match plan {
                Some(plan) if change.needs_target_group() => change.fulfil(plan.clone(), at),
                _ => Ok(change),
            });
        Self::apply(request, change)
    }

    /// The fulfilment plan of `flow`'s approvals: its App Admins, the administrators as IT Admins
    /// (an automatic provisioning's grant is left out of the data set, as the others are).
    fn plan_of(&self, flow: usize) -> Option<FulfilmentPlan> {
        let f = &self.flows[flow];
        f.fulfilment().map(|fulfilment| FulfilmentPlan {
            fulfilment,
            target_group: f.target_group_id(),
            it_admins: self.people[..ADMINS].iter().map(|p| p.user.id).collect(),
            app_admins: f.app_admin_ids().to_vec(),
            activation: f.activation(),
        })
    }

    /// Completes the open tasks of an approved request, in order, as their first assignee.
    fn fulfil_all(request: &mut AccessRequest, at: DateTime<Utc>) {
        while let Some(task) = request
            .tasks()
            .iter()
            .find(|t| t.state == TaskState::Open)
            .cloned()
        {
            let actor = Actor {
                id: task.assignee_ids[0],
                role: Role::Admin,
            };
            let change = request.complete_task(task.task_type, &actor, None, None, at);
            if !Self::apply(request, change) {
                break;
            }
        }
    }

    pub fn requests(&mut self, conn: &mut DbConnection, total: usize) -> anyhow::Result<String> {
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
                Self::decide_once(
                    &mut request,
                    Verdict::Approve,
                    at + Duration::minutes(30),
                    None,
                );
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
                let plan = self.plan_of(flow);
                if request.status() == RequestStatus::Pending && !recent {
                    match roll {
                        0..55 => {
                            // The fulfilments still waiting were approved lately (so Action
                            // Required mixes them with the recent approvals).
                            let decided = if plan.is_some() && roll < 11 {
                                self.now
                                    - Duration::seconds(self.rng.random_range(3600..20 * 86_400))
                            } else {
                                later
                            };
                            while Self::decide_once(
                                &mut request,
                                Verdict::Approve,
                                decided,
                                plan.as_ref(),
                            ) {}
                            // One in five fulfilments is still waiting (one open ticket per
                            // requester and flow); the others were done.
                            if request.is_open()
                                && (roll >= 11 || !self.open_pairs.insert((requester, flow)))
                            {
                                Self::fulfil_all(&mut request, later + Duration::hours(2));
                            }
                        }
                        55..70 => {
                            Self::decide_once(&mut request, Verdict::Deny, later, None);
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
}
