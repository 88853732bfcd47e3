#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod config;
mod failure;
mod mailer;

pub use config::{ConfigError, Credentials, DEFAULT_TIMEOUT, Security, SmtpConfig};
pub use mailer::SmtpMailer;
