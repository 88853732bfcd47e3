#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod chatkit;
mod config;
mod responses;
mod retry;
mod transport;

pub use config::{ApiKey, ConfigError, OpenAiConfig, RetryPolicy};
pub use responses::{parse_summary, responses_request};
pub use transport::OpenAiClient;
