//! # chatkit-leads-openai
//!
//! The only place chatkit-leads talks to OpenAI: a [`OpenAiClient`] that
//! implements the core's [`ChatKitClient`](chatkit_leads_core::ChatKitClient)
//! over the ChatKit REST API (`/v1/chatkit/...`, with the
//! `OpenAI-Beta: chatkit_beta=v1` header) and its
//! [`Summarizer`](chatkit_leads_core::Summarizer) over `POST /v1/responses`
//! with a strict `json_schema` text format.
//!
//! Calls time out, and 429/5xx/connection failures are retried with
//! exponential backoff and jitter, honouring `retry-after`, bounded in count
//! and total time. The API key never appears in `Debug` output, logs or
//! errors; neither do upstream bodies or transcript text.
//!
//! ```no_run
//! use chatkit_leads_openai::{ApiKey, OpenAiClient, OpenAiConfig};
//! let config = OpenAiConfig::new(ApiKey::new("sk-..."));
//! let client = OpenAiClient::new(config).expect("client");
//! ```
#![forbid(unsafe_code)]

mod chatkit;
mod config;
mod responses;
mod retry;
mod transport;

pub use config::{ApiKey, ConfigError, OpenAiConfig, RetryPolicy};
pub use responses::{parse_summary, responses_request};
pub use transport::OpenAiClient;
