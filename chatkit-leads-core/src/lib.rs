#![doc = include_str!("../README.md")]
// docs.rs: mark items that need a feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod attach;
pub mod chatkit;
pub mod config;
pub mod contact;
pub mod deliver;
pub mod delivery;
pub mod email;
mod flight;
pub mod hours;
pub mod ids;
pub mod inspect;
pub mod lease;
mod memo;
pub mod outcome;
pub mod photos;
pub mod ports;
pub mod record;
pub mod request;
pub mod session;
pub mod settings_file;
pub mod shop;
pub mod summary;
pub mod sweep;
mod telemetry;
pub mod text;
pub mod transcript;
mod updates;
pub mod workflow;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{
    DuplicatePolicy, LeadConfig, LeasePolicy, MemoPolicy, ReadinessPolicy, UpdatePolicy,
};
pub use contact::{Contact, EmailAddress, Phone};
pub use email::{Envelope, OutgoingEmail};
pub use ids::{IdError, LeaseId, ThreadId, UserId};
pub use outcome::{ErrorResponse, LeadError, LeadOutcome, LeadResponse, SummaryStatus};
#[cfg(feature = "tokio-clock")]
pub use ports::SystemClock;
pub use ports::{
    ChatKitClient, ChatKitError, Clock, LeadStore, MailError, Mailer, NoSummarizer, PhotoError,
    PhotoFetcher, Sink, SinkError, SinkEvent, StoreError, Summarizer, SummaryError,
};
pub use record::{LeadRecord, LeadStatus, Version, Versioned};
pub use request::{
    Attribution, LeadRequest, Locale, PageUrl, RequestError, SessionRequest, TriggerReason,
};
pub use shop::ShopProfile;
pub use summary::LeadSummary;
pub use transcript::Transcript;
pub use workflow::{LeadWorkflow, Ports};
