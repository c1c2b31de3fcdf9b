use chrono::{DateTime, Utc};
use portcullis_domain::directory::{User, UserKind};
use portcullis_domain::flow::{ApprovalFlow, FlowDraft, ResolvedStep};
use portcullis_domain::{FlowId, UserId, ValidationErrors};
use portcullis_persistence::repo::flows::{self, FlowFilter};
use portcullis_persistence::repo::{groups, settings, users};
use portcullis_persistence::{DbConnection, Page, PageRequest, is_foreign_key_violation};
use serde_json::json;

use super::audit;
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::tx::Tx;

pub use portcullis_domain::events::{FLOW_CREATE, FLOW_DELETE, FLOW_UPDATE};

fn not_found(id: FlowId) -> ApiError {
    ApiError::NotFound(format!("no approval flow with id {id}"))
}

pub fn get(conn: &mut DbConnection, id: FlowId) -> Result<ApprovalFlow, ApiError> {
    flows::find(conn, id)?.ok_or_else(|| not_found(id))
}

pub fn list(
    conn: &mut DbConnection,
    filter: &FlowFilter,
    page: &PageRequest,
) -> Result<Page<ApprovalFlow>, ApiError> {
    Ok(flows::list(conn, filter, page)?)
}

pub fn create(
    conn: &mut Tx,
    actor: Option<UserId>,
    draft: FlowDraft,
    now: DateTime<Utc>,
) -> Result<ApprovalFlow, ApiError> {
    let limits = settings::get(conn)?.settings.flow_limits();
    let flow = ApprovalFlow::new(FlowId::new_v7(), draft, limits, now)?;
    check_references(conn, &flow)?;
    flows::insert(conn, &flow).map_err(reference_race)?;
    let data = json!({ "version_after": flow.version(), "flow": flow.to_draft() });
    audit(
        conn,
        FLOW_CREATE,
        actor,
        ("approval_flow", flow.id().to_string()),
        data,
        now,
    )?;
    Ok(flow)
}

/// Applies `change` to the current configuration and validates the whole result.
pub fn update(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: FlowId,
    change: impl FnOnce(FlowDraft) -> Result<FlowDraft, ApiError>,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<ApprovalFlow, ApiError> {
    let before = get(conn, id)?;
    if_match.check(before.version())?;
    let limits = settings::get(conn)?.settings.flow_limits();
    let after = before.revise(change(before.to_draft())?, limits, now)?;
    if after.version() == before.version() {
        return Ok(after);
    }
    check_references(conn, &after)?;
    if !flows::update(conn, &after, before.version()).map_err(reference_race)? {
        return Err(ApiError::PreconditionFailed(
            "the flow changed while it was being updated; retry".to_owned(),
        ));
    }
    let data = json!({
        "version_before": before.version(),
        "version_after": after.version(),
        "before": before.to_draft(),
        "after": after.to_draft(),
    });
    audit(
        conn,
        FLOW_UPDATE,
        actor,
        ("approval_flow", id.to_string()),
        data,
        now,
    )?;
    // Seed 003: editing who approves puts the flow's pending requests in `error` for an admin to handle.
    let approval_changed = before.approvers() != after.approvers()
        || before.approver_requirement() != after.approver_requirement()
        || before.approval_type() != after.approval_type()
        || before.owner_ids() != after.owner_ids();
    if approval_changed {
        let pending = portcullis_persistence::repo::requests::open_for_flow(conn, id)?;
        super::requests::fail_all(conn, pending, "the flow's approvers changed", actor, now)?;
    }
    Ok(after)
}

pub fn delete(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: FlowId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let flow = get(conn, id)?;
    super::requests::cancel_for_flow(conn, id, actor, now)?;
    flows::delete(conn, id)?;
    let data = json!({ "version_before": flow.version(), "flow": flow.to_draft() });
    audit(
        conn,
        FLOW_DELETE,
        actor,
        ("approval_flow", id.to_string()),
        data,
        now,
    )?;
    Ok(())
}

/// A reference that vanished between the check and the write (a concurrent delete).
fn reference_race(error: diesel::result::Error) -> ApiError {
    if is_foreign_key_violation(&error) {
        ApiError::conflict(
            "a group or user the flow refers to was just removed; check the flow and retry",
        )
    } else {
        error.into()
    }
}

/// Every group and user the flow names must exist; owners must be active people and named
/// admins active administrators. Errors name the field as sent (`approvers[1].group_id`).
fn check_references(conn: &mut DbConnection, flow: &ApprovalFlow) -> Result<(), ApiError> {
    let draft = flow.to_draft();
    let mut errors = ValidationErrors::new();
    let mut group = |conn: &mut DbConnection, field: String, id| -> Result<(), ApiError> {
        if groups::find(conn, id)?.is_none() {
            errors.push(field, format!("no group with id {id}"));
        }
        Ok(())
    };
    if let Some(target) = draft.target_group_id {
        group(conn, "target_group_id".to_owned(), target)?;
    }
    for (index, id) in draft.visibility_group_ids.iter().enumerate() {
        group(conn, format!("visibility_group_ids[{index}]"), *id)?;
    }
    for (index, approver) in draft.approvers.iter().enumerate() {
        if let Some(id) = approver.group_id {
            group(conn, format!("approvers[{index}].group_id"), id)?;
        }
    }
    let check_people = |conn: &mut DbConnection,
                        field: &str,
                        ids: &[UserId],
                        admins: bool,
                        errors: &mut ValidationErrors| {
        let found = users::find_many(conn, ids)?;
        for (index, id) in ids.iter().enumerate() {
            let field = format!("{field}[{index}]");
            match found.iter().find(|u| u.id == *id) {
                None => errors.push(field, format!("no user with id {id}")),
                Some(user) if !user.active || user.kind != UserKind::Person => {
                    errors.push(field, "must be an active person")
                }
                Some(user) if admins && !user.is_admin => {
                    errors.push(field, "must be an administrator")
                }
                Some(_) => {}
            }
        }
        Ok::<(), ApiError>(())
    };
    check_people(conn, "owner_ids", &draft.owner_ids, false, &mut errors)?;
    for (index, approver) in draft.approvers.iter().enumerate() {
        if let Some(admins) = &approver.admin_ids {
            check_people(
                conn,
                &format!("approvers[{index}].admin_ids"),
                admins,
                true,
                &mut errors,
            )?;
        }
    }
    Ok(errors.into_result()?)
}

/// Who approves `flow` for `requester` today, with the people named (for the preview endpoint).
pub fn preview(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    now: DateTime<Utc>,
) -> Result<(Vec<ResolvedStep>, Vec<User>), ApiError> {
    let steps = super::approvers::resolve(conn, flow, requester, now)?;
    let mut ids: Vec<UserId> = steps
        .iter()
        .flat_map(|s| s.approver_ids.iter().copied())
        .collect();
    ids.sort();
    ids.dedup();
    let people = users::find_many(conn, &ids)?;
    Ok((steps, people))
}
