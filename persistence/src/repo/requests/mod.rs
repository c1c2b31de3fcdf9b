//! The request store. A request is one row of `access_requests` (see [`rows`]) plus its approver
//! index (see [`approvers`]), both derived from the domain's aggregate: the store stores and does
//! not decide. A command's [`Change`](portcullis_domain::request::Change) is written by
//! [`save`], in the caller's transaction, with the version check in one place.

mod actions;
mod approvers;
pub mod break_glass;
mod insert;
mod manage;
mod mine;
mod page;
mod plans;
mod queries;
mod queue;
mod rows;
mod sql;
mod tasks;
mod writes;

pub use actions::{Action, ActionItem, Subject, action_required};
pub use manage::{Scope, View, count_view, manage, manages_any};
pub use mine::{MyRequest, mine};
pub use page::{RequestPage, page, page_one_by_one};
pub use plans::{ListQuery, explain};
pub use queries::*;
pub use queue::*;
pub use rows::Listed;
pub(crate) use rows::open_key;
pub use tasks::{WaitingTask, attach as attach_tasks, waiting_on};
pub use writes::*;

#[cfg(test)]
mod tests;
