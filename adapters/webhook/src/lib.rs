#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod settings;
pub mod slack;
mod standard;
mod target;

pub use error::SinkSettingsError;
pub use settings::{SinkSettings, WebhookEndpoint};
pub use slack::SlackSink;
pub use standard::WebhookSink;
pub use target::TargetPolicy;
