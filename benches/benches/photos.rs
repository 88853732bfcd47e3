//! What photos add to a lead: four photos whose file server answers each
//! after 50 ms, fetched at the same time over real HTTP (the local fake's
//! `/files`) through the SSRF-checked fetcher, against the same lead
//! without photos. The difference is the latency a shop's lead pays for
//! carrying its photos.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chatkit_leads_benches::fixtures;
use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::testkit::{MemoryStore, RecordingMailer, ScriptedChatKit};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadOutcome, LeadRequest, LeadWorkflow, NoSummarizer,
    Ports, ShopProfile, SystemClock, ThreadId, TriggerReason,
};
use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi, Fault, ServedFile};
use chatkit_leads_photos::{FetchPolicy, HttpPhotoFetcher};
use criterion::{Criterion, criterion_group, criterion_main};

const PHOTOS: usize = 4;
const DELAY: Duration = Duration::from_millis(50);

type Workflow =
    LeadWorkflow<Arc<ScriptedChatKit>, MemoryStore, RecordingMailer, NoSummarizer, SystemClock>;

fn workflow(chatkit: &Arc<ScriptedChatKit>) -> Workflow {
    let envelope = Envelope {
        from: EmailAddress::parse("leads@example.com").expect("from"),
        from_name: None,
        to: vec![EmailAddress::parse("shop@example.com").expect("to")],
    };
    let ports = Ports {
        chatkit: Arc::clone(chatkit),
        store: MemoryStore::new(),
        mailer: RecordingMailer::new(),
        summarizer: NoSummarizer,
        clock: SystemClock,
    };
    LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope)).expect("config")
}

/// A new thread whose customer sent the four photos; its id.
fn thread_with_photos(chatkit: &ScriptedChatKit, n: u64, port: u16) -> ThreadId {
    let id = format!("cthr_bench_photos_{n}");
    let attachments: Vec<serde_json::Value> = (1..=PHOTOS)
        .map(|p| {
            serde_json::json!({
                "id": format!("cfile_{p}"), "type": "image", "name": format!("seat-{p}.jpg"),
                "mime_type": "image/jpeg",
                "preview_url": format!("http://files.bench.test:{port}/files/seat-{p}.jpg"),
            })
        })
        .collect();
    let item: ThreadItem = serde_json::from_value(serde_json::json!({
        "id": "cthi_1", "type": "chatkit.user_message", "created_at": 1_767_300_000,
        "content": [{"type": "input_text", "text": "Seats are torn, photos attached. 408-555-0142"}],
        "attachments": attachments,
    }))
    .expect("item");
    let thread: Thread =
        serde_json::from_value(serde_json::json!({"id": id, "created_at": 1_767_300_000}))
            .expect("thread");
    chatkit.add_thread(thread, vec![item]);
    ThreadId::parse(&id).expect("id")
}

/// What every measured lead shares.
struct Setup<'a> {
    chatkit: &'a ScriptedChatKit,
    fake: &'a FakeOpenAi,
    next: &'a AtomicU64,
    port: u16,
}

impl Setup<'_> {
    /// One lead on a new thread with four photos, each answering after
    /// [`DELAY`] when `slow`.
    async fn lead(&self, workflow: &Workflow, slow: bool) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = thread_with_photos(self.chatkit, n, self.port);
        if slow {
            for p in 1..=PHOTOS {
                self.fake.push_fault(Fault::Slow {
                    path_prefix: format!("/files/seat-{p}.jpg"),
                    delay: DELAY,
                });
            }
        }
        let request = LeadRequest::new(id, TriggerReason::Idle);
        let outcome = workflow.process(&request).await.expect("outcome");
        assert!(matches!(outcome, LeadOutcome::Sent { .. }));
    }
}

fn photos(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let fake = runtime
        .block_on(FakeOpenAi::start(FakeConfig::new(fixtures(), "sk-bench")))
        .expect("fake");
    let mut jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0".to_vec();
    jpeg.resize(20_000, 7);
    for p in 1..=PHOTOS {
        fake.serve_file(
            &format!("seat-{p}.jpg"),
            ServedFile::ok("image/jpeg", jpeg.clone()),
        );
    }
    let port = fake.addr().port();
    let fetcher = HttpPhotoFetcher::new(FetchPolicy {
        hosts: vec!["bench.test".to_owned()],
        allowed_networks: vec![fake.addr().ip().into()],
        require_https: false,
        pinned: vec![("files.bench.test".to_owned(), fake.addr().ip())],
        ..FetchPolicy::default()
    })
    .expect("fetcher");

    let chatkit = Arc::new(ScriptedChatKit::new());
    let with_photos = workflow(&chatkit).with_photos(Arc::new(fetcher));
    let without = workflow(&chatkit);
    let next = AtomicU64::new(0);
    let setup = Setup {
        chatkit: &chatkit,
        fake: &fake,
        next: &next,
        port,
    };

    let mut group = c.benchmark_group("photos");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("lead without photos", |b| {
        b.to_async(&runtime).iter(|| setup.lead(&without, false));
    });
    group.bench_function("lead with 4 photos, 50 ms each, fetched at once", |b| {
        b.to_async(&runtime).iter(|| setup.lead(&with_photos, true));
    });
    group.finish();
}

criterion_group!(benches, photos);
criterion_main!(benches);
