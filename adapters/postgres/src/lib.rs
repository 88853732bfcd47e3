#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use chatkit_leads_sql::StoreOptions;
pub use chatkit_leads_sql::postgres::{PostgresSettings, PostgresStore, PostgresStoreOptions};
