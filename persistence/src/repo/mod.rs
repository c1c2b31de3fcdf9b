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
