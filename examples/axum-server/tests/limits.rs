//! The public listener's limits, against the server binary: slow or idle
//! connections are cut off, and beyond the in-flight limit work is shed
//! with `503` + `Retry-After` while health probes keep answering — and no
//! lead is lost to a limit.

mod common;

use std::time::{Duration, Instant};

use chatkit_leads_openai_fake::Fault;
use chatkit_leads_test_support::ServerProcess;
use common::{Live, binary, sqlite_record};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; how long that took, or
/// `None` when it was still open after `patience`.
async fn closed_within(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(patience, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    let live = Live::start().await;
    let server =
        ServerProcess::start(&binary(), &live.with("LEADS_HEADER_TIMEOUT_SECONDS", "1")).await;
    let addr = ("127.0.0.1", server.port());

    // Half a request header each, then nothing.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"POST /lead HTTP/1.1\r\nHost: shop.example\r\nContent-Ty")
            .await
            .expect("write");
        slow.push(stream);
    }
    // A keep-alive connection that finished a request and went quiet.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: shop.example\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.expect("response");
    assert_eq!(&first, b"HTTP/1.1 200");

    let patience = Duration::from_secs(5);
    let mut cut_off = 0;
    for stream in &mut slow {
        if closed_within(stream, patience).await.is_some() {
            cut_off += 1;
        }
    }
    assert_eq!(cut_off, 200, "every slow client is cut off");
    assert!(
        closed_within(&mut idle, patience).await.is_some(),
        "the idle keep-alive connection is closed"
    );
    let health = reqwest::get(format!("{}/healthz", server.url()))
        .await
        .expect("still serving");
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_in_flight_limit_work_is_shed_and_no_lead_is_lost() {
    let live = Live::start().await;
    let (fake, smtp, db) = (&live.fake, &live.smtp, live.db());
    let server = ServerProcess::start(&binary(), &live.with("LEADS_MAX_IN_FLIGHT", "1")).await;
    let http = reqwest::Client::new();
    let lead = |thread: &str| {
        http.post(format!("{}/lead", server.url()))
            .body(json!({"threadId": thread, "reason": "idle"}).to_string())
            .send()
    };
    // The first lead holds the only slot while the model is slow.
    fake.push_fault(Fault::Slow {
        path_prefix: "/v1/responses".into(),
        delay: Duration::from_millis(2000),
    });
    let first = tokio::spawn(lead("cthr_fx_en_truck_seats"));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let shed = lead("cthr_fx_es_boat_email").await.expect("answered");
    assert_eq!(shed.status(), 503);
    assert_eq!(
        shed.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let health = http
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200, "probes are not shed");
    assert!(
        sqlite_record(&db, "cthr_fx_es_boat_email").await.is_none(),
        "a shed lead leaves nothing that blocks the next trigger"
    );

    let first: Value = first
        .await
        .expect("task")
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(first["sent"], true, "{first}");
    let retried: Value = lead("cthr_fx_es_boat_email")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(retried["reason"], "idle", "{retried}");
    assert_eq!(smtp.messages().len(), 2);
}
