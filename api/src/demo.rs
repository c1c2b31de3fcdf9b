//! Command-line administration: `create-admin`, `seed-demo` and `token`, through the same services
//! as the API (so they are validated and audited the same way; the actor is the system).

use anyhow::{Context, bail};
use diesel::Connection;
use portcullis_domain::Clock;
use portcullis_domain::directory::{
    CertificateFingerprint, Description, DeviceName, DeviceOs, DisplayName, Email, GroupName,
    UserKind,
};
use portcullis_domain::flow::{
    ApprovalType, ApproverDraft, ApproverRequirement, ApproverType, DisplayDraft, FlowDraft,
    FlowKind, Fulfilment, Provisioning, TimedAccess, TimedAccessMode,
};
use portcullis_domain::{GroupId, UserId};
use portcullis_persistence::repo;
use portcullis_persistence::{Database, DbConnection};

use crate::clock::SystemClock;
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::services::users::{NewUser, UserChanges};
use crate::services::{devices, flows, groups, users};
use crate::tx::Tx;

/// The demo directory's people: (email, name, admin, kind, manager's email).
const DEMO_USERS: &[(&str, &str, bool, UserKind, Option<&str>)] = &[
    (
        "admin@example.com",
        "Ada Admin",
        true,
        UserKind::Person,
        None,
    ),
    (
        "manager@example.com",
        "Max Manager",
        false,
        UserKind::Person,
        None,
    ),
    (
        "requester@example.com",
        "Riley Requester",
        false,
        UserKind::Person,
        Some("manager@example.com"),
    ),
    (
        "owner@example.com",
        "Olive Owner",
        false,
        UserKind::Person,
        None,
    ),
    (
        "security@example.com",
        "Sam Security",
        false,
        UserKind::Person,
        None,
    ),
    (
        "hr-bot@example.com",
        "HR Automation",
        false,
        UserKind::Integration,
        None,
    ),
];

/// The demo groups and the members each gets.
/// The demo laptop's device certificate (a made-up SHA-256 fingerprint).
const DEMO_DEVICE_FINGERPRINT: &str =
    "5f2c9a0e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";

const DEMO_GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "Engineering",
        "Everyone in engineering",
        &["manager@example.com", "requester@example.com"],
    ),
    (
        "GitHub Admins",
        "Admin rights on the GitHub organisation",
        &[],
    ),
    (
        "Security Team",
        "Approves sensitive access",
        &["security@example.com", "owner@example.com"],
    ),
];

fn email(raw: &str) -> anyhow::Result<Email> {
    Email::parse(raw).map_err(anyhow::Error::msg)
}

/// Runs `work` in one transaction of a one-shot command (which sends no email: what it records is
/// delivered to webhooks by the server's dispatcher).
fn run<T>(db: &Database, work: impl FnOnce(&mut Tx) -> Result<T, ApiError>) -> anyhow::Result<T> {
    let mut pooled = db.writer()?;
    let conn: &mut DbConnection = &mut pooled;
    conn.transaction(|conn| work(&mut Tx::new(conn, false)))
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))
}

/// Creates an administrator, or makes an existing user one (and reactivates them).
pub fn create_admin(db: &Database, raw_email: &str, name: Option<&str>) -> anyhow::Result<UserId> {
    let email = email(raw_email)?;
    let name = name.map(str::to_owned).unwrap_or_else(|| {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("admin")
            .to_owned()
    });
    let display_name = DisplayName::parse(&name).map_err(anyhow::Error::msg)?;
    run(db, |conn| {
        let now = SystemClock.now();
        match repo::users::find_by_email(conn, &email)? {
            Some(user) => {
                if user.kind == UserKind::Integration {
                    return Err(ApiError::invalid_field(
                        "email",
                        "an integration user cannot be an administrator",
                    ));
                }
                let changes = UserChanges {
                    is_admin: Some(true),
                    active: Some(true),
                    ..UserChanges::default()
                };
                users::update(conn, None, user.id, changes, &IfMatch::Absent, now).map(|u| u.id)
            }
            None => {
                let input = NewUser {
                    email,
                    display_name,
                    manager_id: None,
                    is_admin: true,
                    kind: UserKind::Person,
                    external_id: None,
                };
                users::create(conn, None, input, now).map(|u| u.id)
            }
        }
    })
}

/// Seeds the demo directory unless its admin already exists. Returns whether it seeded.
pub fn seed_demo(db: &Database) -> anyhow::Result<bool> {
    let admin_email = email(DEMO_USERS[0].0)?;
    run(db, |conn| {
        if repo::users::find_by_email(conn, &admin_email)?.is_some() {
            return Ok(false);
        }
        let now = SystemClock.now();
        let mut ids: Vec<(&str, UserId)> = Vec::new();
        for (address, name, is_admin, kind, manager) in DEMO_USERS {
            let manager_id =
                manager.and_then(|m| ids.iter().find(|(e, _)| *e == m).map(|(_, id)| *id));
            let input = NewUser {
                email: Email::parse(address).map_err(|m| ApiError::invalid_field("email", m))?,
                display_name: DisplayName::parse(name)
                    .map_err(|m| ApiError::invalid_field("display_name", m))?,
                manager_id,
                is_admin: *is_admin,
                kind: *kind,
                external_id: None,
            };
            ids.push((address, users::create(conn, None, input, now)?.id));
        }
        let id_of = |address: &str| ids.iter().find(|(e, _)| *e == address).map(|(_, id)| *id);
        for (name, description, members) in DEMO_GROUPS {
            let group = groups::create(
                conn,
                None,
                GroupName::parse(name).map_err(|m| ApiError::invalid_field("name", m))?,
                Description::parse(description)
                    .map_err(|m| ApiError::invalid_field("description", m))?,
                now,
            )?;
            for member in members.iter().filter_map(|m| id_of(m)) {
                groups::add_member(conn, None, group.id, member, now)?;
            }
        }
        let requester = id_of("requester@example.com").into_iter().collect();
        let device_name =
            DeviceName::parse("riley-macbook").map_err(|m| ApiError::invalid_field("name", m))?;
        // Managed (seed 003): it presented its device certificate, so admin rights may be requested on it.
        let fingerprint = CertificateFingerprint::parse(DEMO_DEVICE_FINGERPRINT)
            .map_err(|m| ApiError::invalid_field("certificate_fingerprint", m))?;
        let device = devices::NewDevice {
            name: device_name,
            os: DeviceOs::Macos,
            assigned_user_ids: requester,
            certificate_fingerprint: Some(fingerprint),
        };
        devices::create(conn, None, device, now)?;
        for flow in demo_flows(conn, &id_of)? {
            flows::create(conn, None, flow, now)?;
        }
        Ok(true)
    })
}

/// The id of the active user with this email, for minting their token.
pub fn active_user_id(db: &Database, raw_email: &str) -> anyhow::Result<UserId> {
    let email = email(raw_email)?;
    let mut conn = db.reader()?;
    let Some(user) =
        repo::users::find_by_email(&mut conn, &email).context("cannot look the user up")?
    else {
        bail!(
            "no user with email {email} (create one with `portcullis create-admin --email {email}`)"
        );
    };
    if !user.active {
        bail!("{email} is deactivated; tokens for them would be refused");
    }
    Ok(user.id)
}

/// The demo flows: an automatic one, a manual two-step timed one, and a device-admin one.
fn demo_flows(
    conn: &mut Tx,
    id_of: &dyn Fn(&str) -> Option<UserId>,
) -> Result<Vec<FlowDraft>, ApiError> {
    let group = |conn: &mut Tx, name: &str| -> Result<GroupId, ApiError> {
        let page = portcullis_persistence::PageRequest {
            limit: 10,
            after: None,
        };
        repo::groups::list(conn, Some(name), &page)?
            .items
            .into_iter()
            .find(|g| g.name.as_str() == name)
            .map(|g| g.id)
            .ok_or_else(|| ApiError::internal(format!("demo group {name} is missing")))
    };
    let (engineering, github, security) = (
        group(conn, "Engineering")?,
        group(conn, "GitHub Admins")?,
        group(conn, "Security Team")?,
    );
    let owner = id_of("owner@example.com").into_iter().collect::<Vec<_>>();
    let base = FlowDraft {
        kind: FlowKind::ResourceRequest,
        name: String::new(),
        description: String::new(),
        enabled: true,
        display: DisplayDraft {
            logo: Some("github".to_owned()),
            color: None,
        },
        target_group_id: Some(github),
        owner_ids: owner,
        visibility_group_ids: vec![engineering],
        timed_access: None,
        session_durations_seconds: Vec::new(),
        approval_type: ApprovalType::Automatic,
        approvers: Vec::new(),
        approver_requirement: None,
        slack: None,
        fulfilment: None,
        auto_approve_if: None,
        extensions: None,
        scheduling: None,
        activation: None,
        escalation: None,
        break_glass: false,
        form: Default::default(),
    };
    let approver = |approver_type, group_id, require_all| ApproverDraft {
        approver_type,
        group_id,
        require_all,
        admin_ids: None,
        required_if: None,
    };
    Ok(vec![
        FlowDraft {
            name: "GitHub Read".to_owned(),
            description: "Read access to the GitHub organisation, approved automatically"
                .to_owned(),
            ..base.clone()
        },
        FlowDraft {
            name: "GitHub Admin".to_owned(),
            description:
                "Admin rights on the GitHub organisation: your manager, then the security team"
                    .to_owned(),
            display: DisplayDraft {
                logo: None,
                color: Some("#24292f".to_owned()),
            },
            timed_access: Some(TimedAccess {
                mode: TimedAccessMode::Choices,
                durations_seconds: vec![3600, 86_400],
            }),
            approval_type: ApprovalType::Manual,
            approvers: vec![
                approver(ApproverType::RequesterManager, None, None),
                approver(ApproverType::UserGroup, Some(security), Some(false)),
            ],
            approver_requirement: Some(ApproverRequirement::AllInOrder),
            ..base.clone()
        },
        FlowDraft {
            kind: FlowKind::DeviceAdmin,
            name: "Laptop admin".to_owned(),
            description: "Temporary local admin rights on your laptop".to_owned(),
            display: DisplayDraft {
                logo: Some("apple".to_owned()),
                color: None,
            },
            target_group_id: None,
            owner_ids: Vec::new(),
            session_durations_seconds: vec![900, 3600],
            approval_type: ApprovalType::Manual,
            approvers: vec![approver(ApproverType::Administrator, None, None)],
            ..base.clone()
        },
        // Seed 004's journey: the manager approves, an IT Admin (an administrator) creates the
        // account by hand (the app is not in the SSO: no target group), then the App Admin (the
        // flow's owner, Olive) assigns the licence; only then is the ticket closed.
        FlowDraft {
            name: "Figma".to_owned(),
            description: "A Figma editor seat: your manager approves, IT creates the account, the app's admin assigns the seat"
                .to_owned(),
            display: DisplayDraft {
                logo: Some("figma".to_owned()),
                color: None,
            },
            target_group_id: None,
            approval_type: ApprovalType::Manual,
            approvers: vec![approver(ApproverType::RequesterManager, None, None)],
            approver_requirement: Some(ApproverRequirement::Any),
            fulfilment: Some(Fulfilment {
                provisioning: Provisioning::Manual,
                assignment: true,
            }),
            ..base
        },
    ])
}
