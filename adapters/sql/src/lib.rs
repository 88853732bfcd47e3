#![doc = include_str!("../README.md")]
// docs.rs: mark items that need a feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod dialect;
mod error;
mod migrations;
mod options;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod statements;
mod store;

pub use dialect::{Connect, Dialect, Driver};
pub use options::StoreOptions;
pub use store::SqlStore;
