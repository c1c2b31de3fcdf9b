//! The OpenAPI components that handlers name in their annotations: the shared problem responses
//! (`#/components/responses/<Name>`). The document itself is assembled in `crate::spec`.

use serde_json::json;
use utoipa::ToResponse;
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};

use crate::error::PROBLEM_CONTENT_TYPE;

/// Declares a reusable problem response (`#/components/responses/<Name>`) with an example.
macro_rules! problem_response {
    ($($name:ident => $status:literal, $description:literal, $slug:literal, $title:literal, $detail:literal;)+) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                let example = json!({
                    "type": concat!("urn:portcullis:problem:", $slug),
                    "title": $title,
                    "status": $status,
                    "detail": $detail,
                    "request_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"
                });
                let content = ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .example(Some(example))
                    .build();
                (
                    stringify!($name),
                    ResponseBuilder::new()
                        .description($description)
                        .content(PROBLEM_CONTENT_TYPE, content)
                        .build()
                        .into(),
                )
            }
        }
    )+};
}

problem_response! {
    BadRequest => 400, "The request is malformed (unreadable JSON, bad query parameter or page token).",
        "bad-request", "Malformed request", "page_token: is not a token this API issued (use next_page_token as given)";
    Unauthorized => 401, "No bearer token, or one that is invalid, expired, or names no active user.",
        "unauthorized", "Authentication required", "The bearer token has expired.";
    Forbidden => 403, "The caller may not perform this operation.",
        "forbidden", "Not allowed", "this operation needs an administrator";
    NotFound => 404, "No such resource (or not visible to the caller).",
        "not-found", "Not found", "no user with id 0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80";
    Conflict => 409, "The change conflicts with the current state (a duplicate, or a rule on what exists).",
        "conflict", "Conflict", "a user with this email already exists";
    PreconditionFailed => 412, "`If-Match` names a version that is no longer current.",
        "precondition-failed", "Precondition failed", "the resource has changed (current ETag \"3\"); fetch it again and retry";
    PayloadTooLarge => 413, "The body is larger than the API accepts (64 KiB).",
        "payload-too-large", "Payload too large", "the body must be at most 65536 bytes";
    UnsupportedMediaType => 415, "The body is not JSON.",
        "unsupported-media-type", "Unsupported media type", "the body must be JSON (Content-Type: application/json)";
    TooManyRequests => 429, "This principal made too many requests (`PORTCULLIS_RATE_LIMIT_PER_MINUTE`); wait `Retry-After` seconds.",
        "rate-limited", "Too many requests", "this account made too many requests; retry in 3 s";
    BreakGlassTooMany => 429, "Too many requests: this principal's allowance a minute (`PORTCULLIS_RATE_LIMIT_PER_MINUTE`), or through a break-glass flow the requester's (2 break-glass requests per rolling 24 hours, across every break-glass flow); wait `Retry-After` seconds.",
        "rate-limited", "Too many requests", "at most 2 break-glass requests per person in 24 hours; the next is allowed in 79200 s";
    UnprocessableEntity => 422, "Well-formed input that breaks a rule; `errors[]` names each field.",
        "validation", "Invalid input", "manager_id: this manager would create a cycle in the management chain";
    ServiceUnavailable => 503, "The database is unreachable or saturated; retry later.",
        "unavailable", "Service unavailable", "the database is not reachable";
}
