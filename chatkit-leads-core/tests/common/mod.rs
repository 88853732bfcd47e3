//! Shared set-up for the core's integration tests: the fixture threads and a
//! workflow wired to the testkit's in-memory ports.
#![allow(dead_code, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::testkit::{
    ManualClock, MemoryStore, RecordingMailer, ScriptedChatKit, ScriptedSummarizer, SummaryScript,
};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadSummary, LeadWorkflow, Ports, ShopProfile, ThreadId,
};

pub type Workflow = LeadWorkflow<
    Arc<ScriptedChatKit>,
    Arc<MemoryStore>,
    Arc<RecordingMailer>,
    Arc<ScriptedSummarizer>,
    Arc<ManualClock>,
>;

/// Unix time the tests start at: a day after the fixture chats.
pub const NOW: i64 = 1_767_400_000;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn thread(id: &str) -> ThreadId {
    ThreadId::parse(id).expect("fixture thread id")
}

pub fn envelope() -> Envelope {
    Envelope {
        from: EmailAddress::parse("leads@craigs.autos").expect("from"),
        from_name: Some("Craig's Auto Upholstery".into()),
        to: vec![EmailAddress::parse("shop@craigs.autos").expect("to")],
    }
}

pub struct Harness {
    pub chatkit: Arc<ScriptedChatKit>,
    pub store: Arc<MemoryStore>,
    pub mailer: Arc<RecordingMailer>,
    pub summarizer: Arc<ScriptedSummarizer>,
    pub clock: Arc<ManualClock>,
    pub workflow: Arc<Workflow>,
}

/// A fixture thread and its items.
pub fn fixture_thread(id: &str) -> (Thread, Vec<ThreadItem>) {
    let dir = fixtures().join("chatkit").join(id);
    let read = |name: &str| std::fs::read(dir.join(name)).expect("fixture file");
    (
        serde_json::from_slice(&read("thread.json")).expect("thread.json"),
        serde_json::from_slice(&read("items.json")).expect("items.json"),
    )
}

impl Harness {
    /// The summarizer script answering with `summary_ok.json`.
    pub fn ok_script() -> SummaryScript {
        SummaryScript::Answer(Box::new(summary_ok()))
    }

    pub fn new(summary: SummaryScript) -> Self {
        Self::with_config(summary, |_| {})
    }

    pub fn with_config(summary: SummaryScript, configure: impl FnOnce(&mut LeadConfig)) -> Self {
        Self::build(NOW, summary, configure)
    }

    pub fn build(
        now: i64,
        summary: SummaryScript,
        configure: impl FnOnce(&mut LeadConfig),
    ) -> Self {
        let chatkit = Arc::new(
            ScriptedChatKit::from_fixture_dir(&fixtures().join("chatkit")).expect("fixtures"),
        );
        let store = Arc::new(MemoryStore::new());
        let mailer = Arc::new(RecordingMailer::new());
        let summarizer = Arc::new(ScriptedSummarizer::new(summary));
        let clock = Arc::new(ManualClock::at_unix(now));
        let mut config = LeadConfig::new(ShopProfile::seed(), envelope());
        configure(&mut config);
        let ports = Ports {
            chatkit: Arc::clone(&chatkit),
            store: Arc::clone(&store),
            mailer: Arc::clone(&mailer),
            summarizer: Arc::clone(&summarizer),
            clock: Arc::clone(&clock),
        };
        let workflow = Arc::new(LeadWorkflow::new(ports, config).expect("valid config"));
        Self {
            chatkit,
            store,
            mailer,
            summarizer,
            clock,
            workflow,
        }
    }
}

impl Harness {
    /// The same harness, its workflow fetching photos with `fetcher`.
    pub fn with_photos(mut self, fetcher: Arc<dyn chatkit_leads_core::PhotoFetcher>) -> Self {
        let workflow = Arc::try_unwrap(self.workflow)
            .unwrap_or_else(|_| panic!("the workflow is not shared yet"));
        self.workflow = Arc::new(workflow.with_photos(fetcher));
        self
    }
}

/// The model answer in `openai/summary_ok.json` (Maria's F-150 seats).
pub fn summary_ok() -> LeadSummary {
    let response: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("openai/summary_ok.json")).expect("fixture"),
    )
    .expect("json");
    let text = response["output"]
        .as_array()
        .expect("output")
        .iter()
        .find(|o| o["type"] == "message")
        .and_then(|m| m["content"][0]["text"].as_str())
        .expect("output_text");
    serde_json::from_str(text).expect("summary json")
}

/// A summary that says the lead is ready, with the given contact values.
pub fn ready_summary(phone: Option<&str>, email: Option<&str>) -> LeadSummary {
    LeadSummary {
        customer_phone: phone.map(str::to_owned),
        customer_email: email.map(str::to_owned),
        handoff_ready: true,
        handoff_reason: "ready_for_follow_up".into(),
        summary: "Customer wants upholstery work.".into(),
        ..LeadSummary::default()
    }
}
