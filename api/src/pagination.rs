//! The cursor pagination every list endpoint uses: `limit` (default 50, max 200) and an opaque
//! `page_token`; responses carry `next_page_token` until the last page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use portcullis_persistence::{Cursor, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
const TOKEN_VERSION: &str = "1";

#[derive(Debug, Clone, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return (1–200, default 50).
    #[param(minimum = 1, maximum = 200, default = 50, example = 50)]
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page; omit for the first page.
    pub page_token: Option<String>,
}

impl PageParams {
    pub fn to_request(&self) -> Result<PageRequest, ApiError> {
        let after = match self.page_token.as_deref() {
            None | Some("") => None,
            Some(token) => Some(decode(token).ok_or_else(|| {
                ApiError::bad_field(
                    "page_token",
                    "is not a token this API issued (use next_page_token as given)",
                )
            })?),
        };
        Ok(PageRequest {
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
            after,
        })
    }
}

pub fn encode(cursor: &Cursor) -> String {
    let micros = cursor.created_at.and_utc().timestamp_micros();
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_VERSION}|{micros}|{}", cursor.id))
}

fn decode(token: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '|');
    if parts.next()? != TOKEN_VERSION {
        return None;
    }
    let micros: i64 = parts.next()?.parse().ok()?;
    let id = parts.next()?;
    uuid::Uuid::parse_str(id).ok()?;
    Some(Cursor {
        created_at: DateTime::from_timestamp_micros(micros)?.naive_utc(),
        id: id.to_owned(),
    })
}

/// Declares a named list response `{ items, next_page_token }` for an item type, so that generated
/// clients get one concrete type per list.
#[macro_export]
macro_rules! list_response {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `page_token` to get the next page; `null` on the last page.
            #[schema(required = true)]
            pub next_page_token: Option<String>,
        }

        impl $name {
            pub fn from_page<T>(
                page: portcullis_persistence::Page<T>,
                f: impl FnMut(T) -> $item,
            ) -> Self {
                Self {
                    next_page_token: page.next.as_ref().map($crate::pagination::encode),
                    items: page.items.into_iter().map(f).collect(),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_763_900_000_123_456)
                .unwrap()
                .naive_utc(),
            id: uuid::Uuid::now_v7().to_string(),
        };
        assert_eq!(decode(&encode(&cursor)), Some(cursor));
    }

    #[test]
    fn garbage_tokens_are_rejected() {
        for token in [
            "x",
            "!!!",
            &URL_SAFE_NO_PAD.encode("2|1|abc"),
            &URL_SAFE_NO_PAD.encode("1|x|abc"),
        ] {
            let params = PageParams {
                limit: None,
                page_token: Some(token.to_owned()),
            };
            assert!(params.to_request().is_err(), "{token}");
        }
    }
}
