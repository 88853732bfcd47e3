//! Benchmarks for chatkit-leads live in `benches/`; run them with
//! `cargo bench -p chatkit-leads-benches`. Results are in `docs/performance.md`.
//!
//! This library holds what the criterion benches and the instruction-count
//! probe (`src/bin/instructions.rs`, driven by `scripts/instructions.sh`)
//! share, so both measure exactly the same work.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::email::{self, Diagnostics, EmailCopy, LeadEmailInput, OutgoingEmail};
use chatkit_leads_core::photos::Photos;
use chatkit_leads_core::testkit::{
    ManualClock, MemoryStore, RecordingMailer, RecordingSink, ScriptedChatKit, ScriptedSummarizer,
    SummaryScript,
};
use chatkit_leads_core::{
    Contact, EmailAddress, Envelope, LeadConfig, LeadRequest, LeadSummary, LeadWorkflow, Ports,
    ShopProfile, Sink, ThreadId, Transcript, TriggerReason,
};

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A fixture thread and its items.
pub fn load_thread(id: &str) -> (Thread, Vec<ThreadItem>) {
    let dir = fixtures().join("chatkit").join(id);
    let read =
        |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{id}/{name}: {e}"));
    let thread =
        serde_json::from_slice(&read("thread.json")).unwrap_or_else(|e| panic!("{id}: {e}"));
    let items = serde_json::from_slice(&read("items.json")).unwrap_or_else(|e| panic!("{id}: {e}"));
    (thread, items)
}

/// The largest fixture thread: 255 items over three pages, 229 of them the
/// customer's.
pub const LONG_THREAD: &str = "cthr_fx_long_pages";

/// A short, ordinary chat (11 items).
pub const SHORT_THREAD: &str = "cthr_fx_en_truck_seats";

/// The sender and recipient every bench uses.
pub fn envelope(shop: &ShopProfile) -> Envelope {
    Envelope {
        from: EmailAddress::parse("leads@example.com").expect("from"),
        from_name: Some(shop.name.clone()),
        to: vec![EmailAddress::parse("shop@example.com").expect("to")],
    }
}

/// Everything the email pipeline (normalise, extract, render, MIME) reads
/// besides the items, for one fixture thread.
pub struct Pipeline {
    /// The thread object.
    pub thread: Thread,
    /// Every item of the thread, oldest first.
    pub items: Vec<ThreadItem>,
    /// The seed's shop.
    pub shop: ShopProfile,
    /// The default email copy.
    pub copy: EmailCopy,
    /// An idle trigger for the thread.
    pub request: LeadRequest,
    /// See [`envelope`].
    pub envelope: Envelope,
    /// A first attempt.
    pub diagnostics: Diagnostics,
    /// None attached.
    pub photos: Photos,
}

impl Pipeline {
    /// The pipeline's inputs for the fixture thread `id`.
    pub fn new(id: &str) -> Self {
        let (thread, items) = load_thread(id);
        let shop = ShopProfile::seed();
        Self {
            thread,
            items,
            copy: EmailCopy::default(),
            request: LeadRequest::new(ThreadId::parse(id).expect("id"), TriggerReason::Idle),
            envelope: envelope(&shop),
            diagnostics: Diagnostics {
                attempt: 1,
                ..Diagnostics::default()
            },
            photos: Photos::default(),
            shop,
        }
    }

    /// The email's input for an already normalised transcript and contact
    /// (no summary, no photos).
    pub fn input<'a>(
        &'a self,
        transcript: &'a Transcript,
        contact: &'a Contact,
    ) -> LeadEmailInput<'a> {
        LeadEmailInput {
            shop: &self.shop,
            copy: &self.copy,
            request: &self.request,
            thread: &self.thread,
            transcript,
            contact,
            summary: None,
            diagnostics: &self.diagnostics,
            photos: &self.photos,
        }
    }

    /// Normalise, extract, render and MIME: the CPU work of one lead email.
    pub fn run(&self) -> OutgoingEmail {
        let transcript = Transcript::from_items(&self.items);
        let contact = Contact::extract(&transcript, &self.shop.phone);
        let rendered = email::render(&self.input(&transcript, &contact));
        email::build(
            &rendered,
            &self.envelope,
            contact.email.as_ref(),
            &self.photos,
        )
    }
}

/// The workflow on the in-memory ports, with a model that answers at once.
pub type BenchWorkflow = LeadWorkflow<
    Arc<ScriptedChatKit>,
    MemoryStore,
    RecordingMailer,
    ScriptedSummarizer,
    ManualClock,
>;

/// The fixture threads served by an in-memory ChatKit.
pub fn fixture_chatkit() -> Arc<ScriptedChatKit> {
    Arc::new(ScriptedChatKit::from_fixture_dir(&fixtures().join("chatkit")).expect("fixtures"))
}

/// A fresh workflow (empty store, empty outbox) over `chatkit`.
pub fn workflow(chatkit: &Arc<ScriptedChatKit>) -> BenchWorkflow {
    let shop = ShopProfile::seed();
    let summary = LeadSummary {
        handoff_ready: true,
        summary: "Customer wants the seats redone.".into(),
        ..LeadSummary::default()
    };
    let ports = Ports {
        chatkit: Arc::clone(chatkit),
        store: MemoryStore::new(),
        mailer: RecordingMailer::new(),
        summarizer: ScriptedSummarizer::new(SummaryScript::Answer(Box::new(summary))),
        clock: ManualClock::at_unix(1_767_400_000),
    };
    LeadWorkflow::new(ports, LeadConfig::new(shop.clone(), envelope(&shop))).expect("config")
}

/// [`workflow`] delivering to two recording sinks (a webhook and Slack):
/// what queuing and delivering events costs, without the network.
pub fn workflow_with_sinks(chatkit: &Arc<ScriptedChatKit>) -> BenchWorkflow {
    let sinks: Vec<Arc<dyn Sink>> = vec![
        Arc::new(RecordingSink::new("webhook:default")),
        Arc::new(RecordingSink::new("slack")),
    ];
    workflow(chatkit).with_sinks(sinks)
}

/// A trigger for the fixture thread `id`.
pub fn trigger(id: &str) -> LeadRequest {
    LeadRequest::new(ThreadId::parse(id).expect("id"), TriggerReason::Idle)
}
