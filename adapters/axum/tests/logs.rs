//! Logs carry ids, never secrets, contact details, message text or cookies.
//!
//! Its own test binary: a thread-local subscriber in a binary whose other
//! tests run in parallel can miss events (tracing caches per-callsite
//! interest process-wide).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chatkit_leads_axum::{CookieKey, UserIdentity};

use common::{Harness, lead_body, settings};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_ids_but_no_secrets_contacts_or_cookies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        // Plain text whatever features other crates turn on.
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let key = CookieKey::new([5u8; 32]).unwrap();
    let h = Harness::with(|b| {
        b.sessions(settings())
            .identity(UserIdentity::signed_cookie(key))
    });
    let session = h
        .post("/session", r#"{"locale":"en","user":"anon_x"}"#)
        .await;
    let secret = session.json["client_secret"].as_str().unwrap().to_owned();
    let cookie = session.header("set-cookie").unwrap().to_owned();
    let cookie_value = cookie.split(';').next().unwrap().to_owned();
    let request = Request::post("/lead")
        .header("cookie", &cookie_value)
        .header("x-request-id", "req-log-1")
        .body(Body::from(lead_body("cthr_fx_en_truck_seats", "idle")))
        .unwrap();
    assert_eq!(h.send(request).await.status, StatusCode::OK);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The workflow's `lead` span runs inside the request's span, which
    // gained the thread id once the body was parsed.
    assert!(
        logs.contains(
            "request{method=POST path=/lead request_id=req-log-1 \
             thread_id=cthr_fx_en_truck_seats}:lead{"
        ),
        "{logs}"
    );
    let (_, tag) = cookie_value.rsplit_once('.').unwrap();
    for needle in [
        secret.as_str(),
        tag,
        "555-0142",
        "5550142",
        "@example",
        "seats redone",
    ] {
        assert!(
            !logs.contains(needle),
            "`{needle}` leaked into logs:\n{logs}"
        );
    }
}
