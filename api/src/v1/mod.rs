//! The versioned API. One module per resource; handlers parse, call one service function, and map
//! the result.

pub mod access;
pub mod callbacks;
pub mod catalog;
pub mod devices;
pub mod events;
pub mod flows;
pub mod grant_time;
pub mod groups;
pub mod help;
pub mod manage;
pub mod me;
pub mod my_requests;
pub mod people;
pub mod queue;
pub mod requests;
pub mod scim_tokens;
pub mod settings;
pub mod slack;
pub mod users;
pub mod views;
pub mod webhooks;

use utoipa_actix_web::scope::{self, Scope};

/// Every `/v1` route, registered once for both serving and the OpenAPI document.
pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    scope::scope("/v1")
        .wrap(actix_web::middleware::from_fn(crate::auth::authenticate))
        .service(me::get_me)
        .service(people::search_people)
        .service(users::list_users)
        .service(users::create_user)
        .service(users::get_user)
        .service(users::update_user)
        .service(users::delete_user)
        .service(groups::list_groups)
        .service(groups::create_group)
        .service(groups::get_group)
        .service(groups::update_group)
        .service(groups::delete_group)
        .service(groups::list_group_members)
        .service(groups::add_group_member)
        .service(groups::remove_group_member)
        .service(devices::list_devices)
        .service(devices::create_device)
        .service(devices::get_device)
        .service(devices::update_device)
        .service(devices::delete_device)
        .service(flows::list_approval_flows)
        .service(flows::create_approval_flow)
        .service(flows::get_approval_flow)
        .service(flows::update_approval_flow)
        .service(flows::delete_approval_flow)
        .service(flows::preview_approval_flow)
        .service(catalog::get_catalog)
        .service(help::ask_for_help)
        .service(help::list_help_requests)
        .service(help::get_help_request)
        .service(help::comment_on_help_request)
        .service(help::resolve_help_request)
        .service(settings::get_settings)
        .service(settings::replace_settings)
        .service(slack::get_slack_connection)
        .service(slack::connect_slack)
        .service(slack::list_slack_deliveries)
        .service(callbacks::list_callback_deliveries)
        .service(slack::receive_slack_interaction)
        .service(events::list_events)
        .service(scim_tokens::list_scim_tokens)
        .service(scim_tokens::create_scim_token)
        .service(scim_tokens::revoke_scim_token)
        .service(webhooks::list_webhook_channels)
        .service(webhooks::create_webhook_channel)
        .service(webhooks::get_webhook_channel)
        .service(webhooks::update_webhook_channel)
        .service(webhooks::delete_webhook_channel)
        .service(webhooks::test_webhook_channel)
        .service(webhooks::list_webhook_deliveries)
        .service(webhooks::get_webhook_delivery)
        .service(webhooks::resend_webhook_delivery)
        .service(queue::list_access_requests)
        .service(queue::count_access_requests)
        .service(queue::export_access_requests)
        .service(requests::create_access_request)
        .service(requests::get_access_request)
        .service(requests::approve_access_request)
        .service(requests::deny_access_request)
        .service(requests::cancel_access_request)
        .service(requests::retry_access_request)
        .service(requests::reassign_access_request)
        .service(requests::complete_fulfilment_task)
        .service(requests::reassign_fulfilment_task)
        .service(requests::review_access_request)
        .service(requests::resubmit_access_request)
        .service(requests::list_access_request_comments)
        .service(requests::comment_on_access_request)
        .service(requests::start_device_admin_session)
        .service(access::list_my_grants)
        .service(access::list_grants)
        .service(access::revoke_grant)
        .service(grant_time::extend_grant)
        .service(grant_time::activate_grant)
        .service(access::list_device_admin_sessions)
        .service(access::end_device_admin_session)
        .service(manage::list_managed_requests)
        .service(views::list_my_access_requests)
        .service(my_requests::list_my_requests)
        .service(views::list_my_tasks)
}
