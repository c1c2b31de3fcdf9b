use diesel::result::{DatabaseErrorKind, Error};

/// Whether `error` is a unique-constraint violation on `column` (matched by the constraint's
/// name on PostgreSQL and by the message on SQLite, which names `table.column`).
pub fn is_unique_violation(error: &Error, column: &str) -> bool {
    match error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name()
                .is_some_and(|name| name.contains(column))
                || info.message().contains(column)
        }
        _ => false,
    }
}

pub fn is_foreign_key_violation(error: &Error) -> bool {
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
}
