//! `POST /scim/v2/.search`: users and groups in one list (RFC 7644 §3.4.3), users first, each in
//! creation order, paged across both. A filter applies to both: what groups lack (`userName`,
//! `emails`) matches none of them.

use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_domain::UserId;
use portcullis_persistence::repo::scim as repo;

use super::filter::Resource;
use super::{
    IdentityProvider, ListParams, ScimBody, ScimError, base_url, groups, list_response, users,
};
use crate::services::scim as service;
use crate::state::AppState;

pub async fn search(
    state: web::Data<AppState>,
    _idp: IdentityProvider,
    req: HttpRequest,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_search(&body)?;
    let (offset, count) = params.window()?;
    let filter = params.filter(Resource::User)?;
    let members = !params.without_members();
    let (user_total, people, details, group_total, teams) = state
        .read(move |conn| {
            let user_total = repo::list_users(conn, filter.as_ref(), 0, 0)?.total;
            let people = if offset < user_total {
                repo::list_users(conn, filter.as_ref(), offset, count)?.items
            } else {
                Vec::new()
            };
            let ids: Vec<UserId> = people.iter().map(|u| u.id).collect();
            let details = service::scim_details(conn, &ids)?;
            let left = count - people.len() as i64;
            let listed =
                repo::list_groups(conn, filter.as_ref(), (offset - user_total).max(0), left)?;
            let mut teams = Vec::with_capacity(listed.items.len());
            for (group, external_id) in listed.items {
                let listed_members = if members {
                    Some(repo::scim_members(conn, group.id)?)
                } else {
                    None
                };
                teams.push((group, external_id, listed_members));
            }
            Ok((user_total, people, details, listed.total, teams))
        })
        .await?;
    let base = base_url(&req);
    let (rows, pending) = details;
    let mut resources: Vec<_> = people
        .iter()
        .map(|u| {
            let id = u.id.to_string();
            let row = rows.iter().find(|r| r.user_id == id);
            let manager = pending.iter().find(|(user, _)| *user == id);
            params.project(users::resource(
                &base,
                u,
                row,
                manager.map(|(_, m)| m.as_str()),
            ))
        })
        .collect();
    resources.extend(
        teams.iter().map(|(g, e, m)| {
            params.project(groups::resource(&base, g, e.as_deref(), m.as_deref()))
        }),
    );
    Ok(list_response(user_total + group_total, offset, resources))
}
