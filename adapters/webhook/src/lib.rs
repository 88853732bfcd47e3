//! # chatkit-leads-webhook
//!
//! Delivers every lead beyond the inbox: a signed webhook for CRMs, Zapier,
//! Make or n8n ([`WebhookSink`], signed per the Standard Webhooks
//! specification) and a Slack message a shop owner can act on from the
//! phone ([`SlackSink`]). Both are [`chatkit_leads_core::Sink`]s: the
//! workflow queues each lead's event in the lead record with the email's
//! own write and delivers it afterwards, exactly once per event and sink
//! (one event id on every retry and every instance), retried on a bounded
//! schedule — the email never waits for them.
//!
//! Receivers are the operator's, but a sink still refuses loopback,
//! private and link-local targets (and plain `http`) unless
//! [`TargetPolicy::allow_private`] is set, follows no redirect, gives up
//! after [`TargetPolicy::timeout`] and never reads a receiver's body.
//!
//! ```no_run
//! use chatkit_leads_webhook::SinkSettings;
//!
//! # fn demo() -> Result<(), chatkit_leads_webhook::SinkSettingsError> {
//! // LEADS_WEBHOOK_URL, LEADS_WEBHOOK_SECRET, LEADS_SLACK_WEBHOOK_URL, …
//! let settings = SinkSettings::from_lookup(|name| std::env::var(name).ok())?;
//! let sinks = settings.sinks()?;
//! // let workflow = workflow.with_sinks(sinks);
//! # let _ = sinks;
//! # Ok(())
//! # }
//! ```
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
