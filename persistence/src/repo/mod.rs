//! Repositories: plain functions over a connection, composed by callers inside one transaction.

pub mod authzen;
pub mod catalog;
pub mod devices;
pub mod events;
pub mod flows;
pub mod grants;
pub mod groups;
pub mod help;
pub mod outbox;
pub mod requests;
pub mod scim;
pub mod settings;
pub mod slack;
pub mod users;
pub mod webhooks;

mod opaque;

use diesel::result::Error;

/// Converts a stored row into its domain entity, reporting a row the domain rejects as a
/// deserialization error.
pub(crate) fn convert<R, T>(row: R) -> diesel::QueryResult<T>
where
    T: TryFrom<R, Error = Box<dyn std::error::Error + Send + Sync>>,
{
    T::try_from(row).map_err(Error::DeserializationError)
}

/// A JSON array a statement aggregated into one column (`json_agg`, `NULL` when it aggregated
/// nothing) as its rows, a malformed one reported as a deserialization error.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(
    json: Option<&str>,
) -> diesel::QueryResult<Vec<T>> {
    json.map_or_else(|| Ok(Vec::new()), json_value)
}

/// A JSON value a statement built (`row_to_json`, `json_agg`) as `T`.
pub(crate) fn json_value<T: serde::de::DeserializeOwned>(json: &str) -> diesel::QueryResult<T> {
    serde_json::from_str(json).map_err(|e| Error::DeserializationError(Box::new(e)))
}

/// A `LIKE` pattern matching `text` anywhere, with the wildcards in `text` escaped by `\`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
