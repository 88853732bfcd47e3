//! The HTTP contract of SPEC §3, driven through the router with
//! `tower::ServiceExt::oneshot` on the testkit's in-memory ports.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod edge;
mod identity;
mod lead;
mod remember;
mod script;
mod session;

pub use common::*;
