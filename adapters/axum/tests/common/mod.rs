//! Shared set-up: a workflow on the fixture threads and the testkit's
//! in-memory ports, a router built from it, and request helpers.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::new_without_default
)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chatkit_leads_axum::LeadsRouter;
use chatkit_leads_core::session::{SessionSettings, WorkflowId};
use chatkit_leads_core::testkit::{
    ManualClock, MemoryStore, RecordingMailer, ScriptedChatKit, ScriptedSummarizer, SummaryScript,
};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadSummary, LeadWorkflow, Ports, ShopProfile,
};
use tower::ServiceExt as _;

/// Friday 2026-01-02 16:26:40 in San Jose: the shop is open.
pub const NOW: i64 = 1_767_400_000;

pub type Builder = LeadsRouter<
    Arc<ScriptedChatKit>,
    Arc<MemoryStore>,
    Arc<RecordingMailer>,
    Arc<ScriptedSummarizer>,
    Arc<ManualClock>,
>;

/// The fakes behind a workflow.
pub struct Fakes {
    pub chatkit: Arc<ScriptedChatKit>,
    pub store: Arc<MemoryStore>,
    pub mailer: Arc<RecordingMailer>,
    pub summarizer: Arc<ScriptedSummarizer>,
}

/// A workflow on the fixture threads, and a router builder for it.
pub fn fakes_and_builder() -> (Fakes, Builder) {
    let chatkit = Arc::new(ScriptedChatKit::from_fixture_dir(&fixtures()).unwrap());
    let store = Arc::new(MemoryStore::new());
    let mailer = Arc::new(RecordingMailer::new());
    let summarizer = Arc::new(ScriptedSummarizer::new(SummaryScript::Answer(Box::new(
        summary(),
    ))));
    let envelope = Envelope {
        from: EmailAddress::parse("leads@craigs.autos").unwrap(),
        from_name: None,
        to: vec![EmailAddress::parse("shop@craigs.autos").unwrap()],
    };
    let ports = Ports {
        chatkit: Arc::clone(&chatkit),
        store: Arc::clone(&store),
        mailer: Arc::clone(&mailer),
        summarizer: Arc::clone(&summarizer),
        clock: Arc::new(ManualClock::at_unix(NOW)),
    };
    let config = LeadConfig::new(ShopProfile::seed(), envelope);
    let workflow = Arc::new(LeadWorkflow::new(ports, config).unwrap());
    let fakes = Fakes {
        chatkit,
        store,
        mailer,
        summarizer,
    };
    (fakes, LeadsRouter::new(workflow))
}

pub struct Harness {
    pub chatkit: Arc<ScriptedChatKit>,
    pub store: Arc<MemoryStore>,
    pub mailer: Arc<RecordingMailer>,
    pub summarizer: Arc<ScriptedSummarizer>,
    pub router: Router,
}

/// An answer: status, headers and the JSON body (`Null` when empty).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/chatkit")
}

pub fn settings() -> SessionSettings {
    SessionSettings::new(WorkflowId::parse("wf_test_workflow").unwrap())
}

fn summary() -> LeadSummary {
    LeadSummary {
        handoff_ready: true,
        handoff_reason: "ready_for_follow_up".into(),
        summary: "Customer wants the seats redone.".into(),
        ..LeadSummary::default()
    }
}

impl Harness {
    /// Sessions configured, no CORS, trust the browser.
    pub fn new() -> Self {
        Self::with(|b| b.sessions(settings()))
    }

    /// The router as `configure` builds it.
    pub fn with(configure: impl FnOnce(Builder) -> Builder) -> Self {
        let (fakes, builder) = fakes_and_builder();
        Self {
            router: configure(builder).build().unwrap(),
            chatkit: fakes.chatkit,
            store: fakes.store,
            mailer: fakes.mailer,
            summarizer: fakes.summarizer,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            json,
        }
    }

    pub async fn post(&self, path: &str, body: impl Into<Body>) -> Answer {
        self.send(post(path, body)).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }
}

pub fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

/// `{"threadId": id, "reason": reason}`.
pub fn lead_body(thread_id: &str, reason: &str) -> String {
    serde_json::json!({ "threadId": thread_id, "reason": reason }).to_string()
}
