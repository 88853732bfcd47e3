#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod item;
mod options;
mod store;
mod table;

pub use options::DynamoStoreOptions;
pub use store::DynamoStore;
pub use table::create_table;
