//! Persistence for Portcullis: one diesel code path over SQLite (embedded default) and PostgreSQL.
//!
//! Repositories are plain functions over `&mut DbConnection`; callers compose them inside
//! `DbConnection::transaction` so that a state change and its audit event commit together.

mod connection;
mod database;
pub mod error;
mod explain;
pub mod models;
pub mod page;
pub mod repo;
pub mod schema;
pub mod time;

pub use connection::{Backend, ConnectionManager, DatabaseTarget, DbConnection};
pub use database::{Database, DatabaseError, PoolStatus, PooledConnection};
pub use error::{is_foreign_key_violation, is_unique_violation};
pub use page::{Cursor, Page, PageRequest};
