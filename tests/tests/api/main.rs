//! Black-box tests: the real server over real HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod bad_input;
mod contract;
mod devices;
mod groups;
mod operations;
mod users;
