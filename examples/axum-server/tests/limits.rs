//! The public listener's limits, against the server binary: slow or idle
//! connections are cut off, beyond the in-flight limit work is shed with
//! `503` + `Retry-After` while health probes keep answering, a client or
//! user over its rate gets `429` + `Retry-After` — and no lead is lost to a
//! limit.

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
    // A lead that holds the only slot while the model is slow.
    let slow_lead = |thread: &'static str| {
        fake.push_fault(Fault::Slow {
            path_prefix: "/v1/responses".into(),
            delay: Duration::from_millis(2000),
        });
        tokio::spawn(lead(thread))
    };
    let first = slow_lead("cthr_fx_en_truck_seats");
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

    let first = json_of(first.await.expect("task")).await;
    assert_eq!(first["sent"], true, "{first}");
    let retried = json_of(lead("cthr_fx_es_boat_email").await).await;
    assert_eq!(retried["reason"], "idle", "{retried}");
    assert_eq!(smtp.messages().len(), 2);

    // A finished chat's triggers need no slot: while a slow lead holds it,
    // the thread sent above is still answered.
    let third = slow_lead("cthr_fx_long_pages");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = lead("cthr_fx_en_truck_seats").await.expect("answered");
    assert_eq!(again.status(), 200, "known answers are not shed");
    let again = json_of(Ok(again)).await;
    assert_eq!(again["reason"], "already_sent", "{again}");
    let third = json_of(third.await.expect("task")).await;
    assert_eq!(third["sent"], true, "{third}");
}

/// The JSON body of an answer.
async fn json_of(answer: reqwest::Result<reqwest::Response>) -> Value {
    answer.expect("answered").json().await.expect("json")
}

/// Status and `Retry-After` of one answer.
async fn status_and_wait(response: reqwest::Response) -> (u16, Option<u64>) {
    let wait = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status().as_u16(), wait)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_gets_429_and_its_lead_goes_through_later() {
    let live = Live::start().await;
    let server = ServerProcess::start(&binary(), &live.with("LEADS_RATE_PER_ADDRESS", "60")).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: String| {
        http.post(format!("{}{path}", server.url()))
            .body(body)
            .send()
    };
    // A burst of 60 bad triggers spends this client's whole budget on /lead.
    for _ in 0..60 {
        let (status, _) = status_and_wait(post("/lead", "{}".into()).await.expect("answer")).await;
        assert_eq!(status, 400);
    }
    let lead = json!({"threadId": "cthr_fx_es_boat_email", "reason": "idle"}).to_string();
    let (status, wait) = status_and_wait(post("/lead", lead.clone()).await.expect("answer")).await;
    assert_eq!(
        (status, wait),
        (429, Some(1)),
        "60 a minute refill one a second"
    );
    assert!(
        sqlite_record(&live.db(), "cthr_fx_es_boat_email")
            .await
            .is_none(),
        "a limited lead leaves nothing that blocks the next trigger"
    );
    // The session budget is its own.
    let (status, _) = status_and_wait(post("/session", "{}".into()).await.expect("answer")).await;
    assert_eq!(status, 200);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let sent: Value = post("/lead", lead)
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(sent["sent"], true, "{sent}");
    assert_eq!(live.smtp.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_over_its_rate_gets_429_while_other_visitors_do_not() {
    let live = Live::start().await;
    let mut env = live.with("LEADS_RATE_PER_USER", "2");
    env.insert("LEADS_RATE_PER_ADDRESS".into(), "0".into());
    let server = ServerProcess::start(&binary(), &env).await;
    let http = reqwest::Client::new();
    let session = |cookie: Option<&str>| {
        let request = http.post(format!("{}/session", server.url())).body("{}");
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };
    // A new visitor's first session makes its user and is not counted.
    let first = session(None).await.expect("answer");
    assert_eq!(first.status(), 200);
    let cookie = first
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("user cookie")
        .to_owned();
    for _ in 0..2 {
        assert_eq!(session(Some(&cookie)).await.expect("answer").status(), 200);
    }
    let (status, wait) = status_and_wait(session(Some(&cookie)).await.expect("answer")).await;
    assert_eq!(status, 429);
    assert!(wait.is_some_and(|s| (1..=30).contains(&s)), "{wait:?}");
    assert_eq!(
        session(None).await.expect("answer").status(),
        200,
        "another visitor on the same address is not held back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let live = Live::start().await;
    let mut env = live.with("LEADS_RATE_PER_ADDRESS", "1");
    env.insert("LEADS_TRUSTED_PROXIES".into(), "127.0.0.1".into());
    let server = ServerProcess::start(&binary(), &env).await;
    let lead_from = |peer: &str, client: &str| {
        let http = reqwest::Client::builder()
            .local_address(peer.parse::<std::net::IpAddr>().ok())
            .build()
            .expect("client");
        let request = http
            .post(format!("{}/lead", server.url()))
            .header("x-forwarded-for", client)
            .body("{}");
        async move { request.send().await.expect("answer").status().as_u16() }
    };
    // Through the trusted proxy: each forwarded client has its own budget.
    assert_eq!(lead_from("127.0.0.1", "198.51.100.1").await, 400);
    assert_eq!(lead_from("127.0.0.1", "198.51.100.1").await, 429);
    assert_eq!(lead_from("127.0.0.1", "198.51.100.2").await, 400);
    // Any other peer is the client, whatever header it sends.
    assert_eq!(lead_from("127.0.0.2", "203.0.113.1").await, 400);
    assert_eq!(lead_from("127.0.0.2", "203.0.113.2").await, 429);
}
