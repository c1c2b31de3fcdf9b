//! The people picker: what every signed-in person may learn about colleagues (id, name, email),
//! found by part of their name or email. Full user records are for administrators (`/v1/users`).

use actix_web::{get, web};
use portcullis_domain::directory::{User, UserKind};
use portcullis_persistence::repo::users::UserFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::users;
use crate::state::AppState;
pub use crate::v1::requests::PersonSummary;

/// The shortest search text: a shorter one would page through the whole directory.
pub const MIN_QUERY_CHARS: usize = 2;

/// A colleague as a picker shows them (the schema requests use for their people): id, display name
/// and email; no role, manager, external id or history.
pub fn summary(user: User) -> PersonSummary {
    PersonSummary {
        id: user.id.as_uuid(),
        display_name: user.display_name.into_inner(),
        email: user.email.as_str().to_owned(),
    }
}

list_response!(PersonList, PersonSummary, "A page of people, newest first.");

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleSearchParams {
    /// Case-insensitive part of the person's email or display name, of at least two characters that
    /// are not spaces.
    #[validate(length(max = 200), custom(function = "long_enough"))]
    #[param(
        min_length = 2,
        max_length = 200,
        pattern = r"\S[\s\S]*\S",
        example = "ada"
    )]
    pub q: String,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// At least two characters that are not spaces: exactly the contract's pattern `\S[\s\S]*\S`, so a
/// generated client's check and the server's agree (ECMAScript's `\s` is Unicode's White_Space,
/// without U+0085 and with U+FEFF).
fn long_enough(q: &str) -> Result<(), validator::ValidationError> {
    let is_space = |c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}';
    if q.chars().filter(|c| !is_space(*c)).count() >= MIN_QUERY_CHARS {
        Ok(())
    } else {
        let mut error = validator::ValidationError::new("too_short");
        error.message = Some("must hold at least 2 characters that are not spaces".into());
        Err(error)
    }
}

/// Search people
///
/// Every signed-in caller finds active people (not integration accounts) by part of their name or
/// email, to pick an approver to reassign to or a colleague to mention. Only the id, display name
/// and email are returned; administrators read full records at `/v1/users`.
#[utoipa::path(
    tag = "users",
    params(PeopleSearchParams),
    responses(
        (status = 200, description = "A page of people", body = PersonList, example = json!({
            "items": [{ "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "display_name": "Ada Lovelace", "email": "ada@example.com" }],
            "next_page_token": null
        })),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/people")]
pub async fn search_people(
    state: web::Data<AppState>,
    _principal: Principal,
    ValidQuery(params): ValidQuery<PeopleSearchParams>,
) -> Result<web::Json<PersonList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let filter = UserFilter {
        q: Some(params.q),
        active: Some(true),
        kind: Some(UserKind::Person),
        is_admin: None,
    };
    let people = state
        .read(move |conn| users::list(conn, &filter, &page))
        .await?;
    Ok(web::Json(PersonList::from_page(people, summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_needs_two_characters_that_are_not_spaces() {
        for short in ["", "a", " a ", "\u{feff}a", "\u{a0}\u{3000}b\t"] {
            assert!(long_enough(short).is_err(), "{short:?}");
        }
        for enough in ["ab", " a b ", "\u{85}a", "ö ß"] {
            assert!(long_enough(enough).is_ok(), "{enough:?}");
        }
    }
}
