//! The whole workflow on the in-memory ports: a first send, and the
//! `already_sent` fast path that repeated triggers hit.

use std::sync::Arc;

use chatkit_leads_benches::fixtures;
use chatkit_leads_core::testkit::{
    ManualClock, MemoryStore, RecordingMailer, ScriptedChatKit, ScriptedSummarizer, SummaryScript,
};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadRequest, LeadSummary, LeadWorkflow, Ports, ShopProfile,
    ThreadId, TriggerReason,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

type Workflow = LeadWorkflow<
    Arc<ScriptedChatKit>,
    MemoryStore,
    RecordingMailer,
    ScriptedSummarizer,
    ManualClock,
>;

fn workflow(chatkit: &Arc<ScriptedChatKit>) -> Workflow {
    let shop = ShopProfile::seed();
    let envelope = Envelope {
        from: EmailAddress::parse("leads@example.com").expect("from"),
        from_name: Some(shop.name.clone()),
        to: vec![EmailAddress::parse("shop@example.com").expect("to")],
    };
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
    LeadWorkflow::new(ports, LeadConfig::new(shop, envelope)).expect("config")
}

fn bench_workflow(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let chatkit =
        Arc::new(ScriptedChatKit::from_fixture_dir(&fixtures().join("chatkit")).expect("fixtures"));
    for id in ["cthr_fx_en_truck_seats", "cthr_fx_long_pages"] {
        let request = LeadRequest::new(ThreadId::parse(id).expect("id"), TriggerReason::Idle);
        c.bench_function(&format!("workflow first send: {id}"), |b| {
            b.iter_batched(
                || workflow(&chatkit),
                |wf| runtime.block_on(wf.process(&request)).expect("sent"),
                BatchSize::SmallInput,
            )
        });
    }
    let request = LeadRequest::new(
        ThreadId::parse("cthr_fx_en_truck_seats").expect("id"),
        TriggerReason::Idle,
    );
    let sent = workflow(&chatkit);
    runtime
        .block_on(sent.process(&request))
        .expect("first send");
    c.bench_function("workflow already_sent fast path", |b| {
        b.iter(|| {
            runtime
                .block_on(sent.process(&request))
                .expect("already sent")
        })
    });
}

criterion_group!(benches, bench_workflow);
criterion_main!(benches);
