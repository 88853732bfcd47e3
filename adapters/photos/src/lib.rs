#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod address;
mod fetcher;
mod resolver;
mod settings;

pub use address::refusal as address_refusal;
pub use fetcher::{FetchPolicy, HttpPhotoFetcher};
pub use resolver::{GuardedResolver, Refusal};
