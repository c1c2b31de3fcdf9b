//! The data generator: a directory, flows and a history of requests, made through the domain's
//! own rules and stored in bulk.

mod history;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use diesel::Connection;
use portcullis_api::auth::TokenIssuer;
use portcullis_domain::directory::{
    Description, DisplayName, Email, Group, GroupName, Membership, MembershipSource, User, UserKind,
};
use portcullis_domain::flow::{
    ApprovalFlow, ApprovalType, ApproverDraft, ApproverRequirement, ApproverType, Candidate,
    Directory, DisplayDraft, FlowDraft, FlowKind, FlowLimits, Fulfilment, Provisioning,
    TimedAccess, TimedAccessMode,
};
use portcullis_domain::{GroupId, MembershipId, RequestId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::{flows, groups, users};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

use crate::*;

struct Person {
    user: User,
    groups: Vec<usize>,
}

pub struct Generator {
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

/// Whether bench flow `n` carries conditions (`auto_approve_if`, a step's `required_if`): half of
/// them, half of those timed as half of the others are, so `create_cel` measures what conditions
/// cost against `create`.
fn conditional(n: usize) -> bool {
    n < BENCH_FLOWS && matches!(n % 4, 1 | 2)
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
    pub fn new(seed: u64) -> Self {
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
    pub fn directory(&mut self, conn: &mut DbConnection) -> anyhow::Result<()> {
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
    pub fn flows(&mut self, conn: &mut DbConnection) -> anyhow::Result<()> {
        let limits = FlowLimits {
            max_duration_seconds: 30 * 24 * 3600,
        };
        let approver = |approver_type, group_id: Option<GroupId>, require_all| ApproverDraft {
            approver_type,
            group_id,
            require_all,
            admin_ids: None,
            required_if: None,
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
            // One application in ten has seed 004's fulfilment: manual provisioning (IT Admins)
            // for half of them, automatic for the others, then an assignment by its App Admin.
            let fulfilment = (!bench && n % 10 == 5).then_some(Fulfilment {
                provisioning: if n % 20 == 5 {
                    Provisioning::Manual
                } else {
                    Provisioning::Automatic
                },
                assignment: true,
            });
            let approvers = if automatic {
                Vec::new()
            } else if bench {
                let mut group_step = approver(
                    ApproverType::UserGroup,
                    Some(self.groups[1].id),
                    Some(false),
                );
                if conditional(n) {
                    // True for every bench requester (none is an administrator): the step stays.
                    group_step.required_if =
                        Some("!requester.is_admin || \"oncall\" in requester.groups".to_owned());
                }
                vec![
                    approver(ApproverType::RequesterManager, None, None),
                    group_step,
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
                owner_ids: if fulfilment.is_some() {
                    // A bench approver is this app's App Admin: they assign its licences.
                    vec![self.people[100 + (n / 10) % BENCH_APPROVERS].user.id]
                } else {
                    vec![self.people[500 + n].user.id, self.people[700 + n].user.id]
                },
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
                slack: None,
                fulfilment,
                // False for every bench requester (none is on call): it stays for the approvers.
                auto_approve_if: conditional(n)
                    .then(|| "\"oncall\" in requester.groups && !requester.is_admin".to_owned()),
                extensions: None,
                scheduling: None,
                activation: None,
                escalation: None,
                break_glass: false,
                form: Default::default(),
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

    /// Lines the wrk scripts read: `token <user> <jwt>`, `approver <user>`, `mixed <user>`, `create <user> <flow id> <duration|->`
    /// (`create_cel` for a flow with conditions), `approve <request id> <user>`, `get <request id>`, `admin <user>`,
    /// `requester <name part>`, `authzen <user id> <group id>`.
    pub fn data_file(&mut self, secret: &SecretString) -> anyhow::Result<String> {
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
        // Action Required with mixed actions: the bench approvers (approvals, and the assignments
        // of the applications whose App Admins they are) and the administrators (approvals of the
        // administrator flows, and provisioning).
        for n in (0..ADMINS).chain(100..100 + BENCH_APPROVERS) {
            let _ = writeln!(out, "mixed {n}");
        }
        // Requesters with no open request in a bench flow, interleaved across flows: `create`
        // through the flows without conditions, `create_cel` through those with.
        let mut creates = 0;
        'outer: for requester in ADMINS..USERS {
            for flow in 0..BENCH_FLOWS {
                if !self.open_pairs.contains(&(requester, flow)) {
                    let duration = self.flows[flow]
                        .duration_choices()
                        .first()
                        .map_or("-".to_owned(), ToString::to_string);
                    let kind = if conditional(flow) {
                        "create_cel"
                    } else {
                        "create"
                    };
                    let _ = writeln!(
                        out,
                        "{kind} {requester} {} {duration}",
                        self.flows[flow].id()
                    );
                    creates += 1;
                    if creates == 400_000 {
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
        // AuthZEN evaluations (issue 28): a person and a group they are a member of (a permit, the
        // gateway's hot path), every person with a group.
        for person in &self.people {
            if let Some(group) = person.groups.first() {
                let _ = writeln!(out, "authzen {} {}", person.user.id, self.groups[*group].id);
            }
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
