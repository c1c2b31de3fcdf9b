//! Slack: the Web API client ([`client`]), the Block Kit messages and the modal ([`blocks`]), the
//! verification of Slack's signed requests ([`signature`]) and the interaction payloads Slack posts
//! ([`interaction`]). What Portcullis does with them is in `crate::services::slack`.

pub mod blocks;
pub mod client;
pub mod interaction;
pub mod signature;

pub use client::{SlackClient, SlackError};
