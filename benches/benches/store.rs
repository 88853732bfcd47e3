//! The lead store on SQLite (a file in WAL mode, as the server runs it):
//! the `already_sent` fast-path read, the record codec alone, and the
//! store writes of a first send (acquire, checkpoint, mark sent) through
//! the core's compare-and-set lease.

use chatkit_leads_core::LeadStore;
use chatkit_leads_core::ids::{LeaseId, ThreadId};
use chatkit_leads_core::lease::{self, AcquireRequest, Acquired, SentMark};
use chatkit_leads_core::record::{Told, codec};
use chatkit_leads_sqlite::SqliteStore;
use criterion::{Criterion, criterion_group, criterion_main};

const NOW: i64 = 1_800_000_000;

fn request(thread: &ThreadId) -> AcquireRequest {
    AcquireRequest {
        thread_id: thread.clone(),
        lease_id: LeaseId::random(),
        now: NOW,
        lock_expires_at: NOW + 120,
        ttl: NOW + 30 * 24 * 3600,
        reason: "idle".to_owned(),
    }
}

/// Acquire, checkpoint and mark sent: the store's part of one first send.
async fn send_once(store: &SqliteStore, thread: &ThreadId) {
    let Ok(Acquired::Won(mut held)) = lease::acquire(store, &request(thread), None).await else {
        panic!("a fresh thread is acquired");
    };
    assert!(held.checkpoint(NOW + 1, None).await.expect("checkpoint"));
    let mark = SentMark {
        now: NOW + 2,
        message_id: "<0f9e@leads.example>".to_owned(),
        ttl: NOW + 30 * 24 * 3600,
        told: Told {
            items: 24,
            last_item: Some("cthi_24".to_owned()),
            message_id: Some("0f9e@leads.example".to_owned()),
            subject: Some("New chat lead: 2018 Civic - seats".to_owned()),
            checked_at: Some(NOW + 2),
            ..Told::default()
        },
        event: None,
    };
    assert!(held.mark_sent(&mark).await.expect("mark sent"));
}

fn bench_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("leads.db");
    let store = runtime
        .block_on(SqliteStore::connect(path.to_str().expect("utf-8 path")))
        .expect("store");
    let sent = ThreadId::parse("cthr_bench_sent").expect("id");
    runtime.block_on(send_once(&store, &sent));

    c.bench_function("sqlite: load a sent record (the already_sent read)", |b| {
        b.iter(|| runtime.block_on(store.load(&sent)).expect("load"))
    });

    let json = codec::to_json(
        &runtime
            .block_on(store.get(&sent))
            .expect("get")
            .expect("record"),
    )
    .expect("json");
    c.bench_function("codec: decode a sent record's JSON", |b| {
        b.iter(|| codec::decode_json(&sent, &json).expect("decode"))
    });

    let mut n = 0_u64;
    c.bench_function(
        "sqlite: acquire + checkpoint + mark sent (a first send's writes)",
        |b| {
            b.iter(|| {
                n += 1;
                let thread = ThreadId::parse(&format!("cthr_bench_{n}")).expect("id");
                runtime.block_on(send_once(&store, &thread));
            })
        },
    );
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
