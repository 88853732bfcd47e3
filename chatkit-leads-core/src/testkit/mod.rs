//! Test doubles for the ports and the store conformance suite.
//!
//! Enabled by the `testkit` feature. The fakes are for unit tests of the core
//! and for examples; adapter crates prove themselves against real services
//! and run [`conformance::run_all`] on their store.

mod chatkit;
mod clock;
pub mod conformance;
mod mailer;
mod memory_store;
mod sink;
mod summarizer;

pub use chatkit::{ChatKitCall, ScriptedChatKit};
pub use clock::ManualClock;
pub use mailer::RecordingMailer;
pub use memory_store::{MemoryStore, StoreOp};
pub use sink::RecordingSink;
pub use summarizer::{ScriptedSummarizer, SummaryScript};
