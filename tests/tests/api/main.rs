//! Black-box tests: the real server over real HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod audit;
mod auth;
mod authz;
mod bad_input;
mod catalog;
mod commands;
mod contract;
mod crash;
mod devices;
mod empty_bodies;
mod flows;
mod group_commit;
mod groups;
mod indexes;
mod limits;
mod links;
mod notifications;
mod operations;
mod people;
mod policy;
mod pool;
mod queue;
mod receivers;
mod request_access;
mod requests;
mod round_trips;
mod scim;
mod staged_writes;
mod statistics;
mod text_input;
mod users;
mod views;
