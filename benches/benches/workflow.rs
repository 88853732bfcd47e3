//! The whole workflow on the in-memory ports: a first send (also with a
//! webhook and Slack queued), and the `already_sent` fast path that
//! repeated triggers hit.

use chatkit_leads_benches::{
    LONG_THREAD, SHORT_THREAD, fixture_chatkit, trigger, workflow, workflow_with_sinks,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn bench_workflow(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let chatkit = fixture_chatkit();
    for id in [SHORT_THREAD, LONG_THREAD] {
        let request = trigger(id);
        c.bench_function(&format!("workflow first send: {id}"), |b| {
            b.iter_batched(
                || workflow(&chatkit),
                |wf| runtime.block_on(wf.process(&request)).expect("sent"),
                BatchSize::SmallInput,
            )
        });
    }
    let request = trigger(SHORT_THREAD);
    c.bench_function(
        &format!("workflow first send, two sinks: {SHORT_THREAD}"),
        |b| {
            b.iter_batched(
                || workflow_with_sinks(&chatkit),
                |wf| runtime.block_on(wf.process(&request)).expect("sent"),
                BatchSize::SmallInput,
            )
        },
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
