//! The versioned API. One module per resource; handlers parse, call one service function, and map
//! the result.

pub mod devices;
pub mod groups;
pub mod me;
pub mod users;

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
        .service(me::get_me)
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
}
