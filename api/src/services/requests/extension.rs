//! Extensions (issue 27): the holder of an active timed grant asks for more time. The extension is a
//! request through the grant's flow (its approvals, unless the flow's `extensions` say otherwise),
//! with the original request's form answers; its approval moves the grant's end (see
//! [`super::fulfilment::complete_approval`]).

use chrono::{DateTime, Utc};
use portcullis_domain::GrantId;
use portcullis_domain::access::Grant;
use portcullis_domain::directory::User;
use portcullis_domain::request::AccessRequest;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::{grants, requests};

use super::create::{NewRequest, create};
use crate::error::ApiError;
use crate::tx::Tx;

/// What the holder asks: how much longer, and why.
pub struct ExtensionAsk {
    pub duration_seconds: i64,
    pub reason: String,
}

/// The caller's grant `id`: others' grants are 404s (403 for an administrator, who may see them
/// but not act as their holder).
pub fn held(conn: &mut DbConnection, holder: &User, id: GrantId) -> Result<Grant, ApiError> {
    let missing = || ApiError::NotFound(format!("no grant with id {id}"));
    let grant = grants::find(conn, id)?.ok_or_else(missing)?;
    if grant.user_id != holder.id {
        return Err(if holder.acts_as_admin() {
            ApiError::Forbidden("only the grant's holder can do this".to_owned())
        } else {
            missing()
        });
    }
    Ok(grant)
}

/// Creates the extension request for `id`, the caller's grant (see [`held`]).
pub fn extend_grant(
    conn: &mut Tx,
    holder: &User,
    id: GrantId,
    ask: ExtensionAsk,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let grant = held(conn, holder, id)?;
    let original = requests::find(conn, grant.request_id)?
        .ok_or_else(|| ApiError::internal(format!("grant {id} has no request")))?;
    original.check_extension_source().map_err(super::refusal)?;
    let input = NewRequest {
        flow_id: original.flow_id(),
        reason: ask.reason,
        duration_seconds: Some(ask.duration_seconds),
        device_id: None,
        requester_id: None,
        resubmitted_from: None,
        form: original.form().clone(),
        extends_grant: Some(id),
        starts_at: None,
    };
    create(conn, holder, &input, &None, now).map(|(request, _)| request)
}
