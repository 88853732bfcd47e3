//! The photo step of the workflow on in-memory ports: photos fetched with
//! the summary, carried inline, and left out — largest first, the reason in
//! the email — when the message would exceed the mail provider's limit.
//! (The HTTP fetcher's own checks are tested in adapters/photos.)

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chatkit_leads_core::{LeadOutcome, LeadRequest, PhotoError, PhotoFetcher, TriggerReason};
use common::{Harness, thread};

const TRUCK: &str = "cthr_fx_en_truck_seats";

/// Answers from a map of URL → bytes; anything else is a 404.
struct Files(BTreeMap<String, Vec<u8>>);

#[async_trait]
impl PhotoFetcher for Files {
    async fn fetch(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, PhotoError> {
        let bytes = self.0.get(url).cloned().ok_or(PhotoError::Status(404))?;
        if bytes.len() > max_bytes {
            return Err(PhotoError::TooLarge(max_bytes));
        }
        Ok(bytes)
    }
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0".to_vec();
    bytes.resize(len, 7);
    bytes
}

/// The truck fixture's two seat photos, of these sizes.
fn harness(driver: usize, passenger: usize) -> Harness {
    let files = Files(BTreeMap::from([
        (
            "https://files.example-cdn.test/cfile_1/driver-seat.jpg".to_owned(),
            jpeg(driver),
        ),
        (
            "https://files.example-cdn.test/cfile_2/passenger-seat.jpg".to_owned(),
            jpeg(passenger),
        ),
    ]));
    Harness::new(Harness::ok_script()).with_photos(Arc::new(files))
}

async fn send(h: &Harness) {
    let request = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    let outcome = h.workflow.process(&request).await.expect("outcome");
    assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
}

#[tokio::test]
async fn the_fixtures_seat_photos_ride_inline() {
    let h = harness(40_000, 30_000);
    send(&h).await;
    let email = &h.mailer.sent()[0];
    assert_eq!(email.inline.len(), 2);
    assert!(email.html.contains("src=\"cid:photo1@chatkit-leads\""));
    assert!(email.html.contains("src=\"cid:photo2@chatkit-leads\""));
    assert!(
        email.html.contains("2 (2 attached)"),
        "the glance counts them"
    );
    assert_eq!(h.summarizer.calls(), 1);
}

#[tokio::test]
async fn a_provider_size_limit_leaves_the_largest_photo_out_and_says_so() {
    let h = harness(600_000, 200_000);
    h.mailer.limit_message_bytes(Some(700_000));
    send(&h).await;
    let email = &h.mailer.sent()[0];
    assert!(email.mime.len() <= 700_000);
    assert_eq!(email.inline.len(), 1, "the smaller photo stays");
    assert_eq!(email.inline[0].bytes.len(), 200_000);
    assert!(
        email.html.contains(
            "Not attached: left out: the email would be larger than the mail provider&#39;s limit of 700 KB"
        ),
        "{}",
        email.html
    );

    // A limit no photo fits: the lead still goes out, with links.
    let h = harness(600_000, 200_000);
    h.mailer.limit_message_bytes(Some(60_000));
    send(&h).await;
    assert!(h.mailer.sent()[0].inline.is_empty());
}

/// Never answers.
struct Hangs;

#[async_trait]
impl PhotoFetcher for Hangs {
    async fn fetch(&self, _url: &str, _max_bytes: usize) -> Result<Vec<u8>, PhotoError> {
        futures::future::pending().await
    }
}

#[tokio::test]
async fn photos_never_wait_longer_than_the_summary_may_take() {
    let h = Harness::with_config(Harness::ok_script(), |config| {
        config.lease.lease = std::time::Duration::from_secs(6);
        config.summary_timeout = std::time::Duration::from_secs(3);
    })
    .with_photos(Arc::new(Hangs));
    send(&h).await;
    let email = &h.mailer.sent()[0];
    assert!(email.inline.is_empty());
    assert!(
        email
            .html
            .contains("Not attached: no answer within 3 s; the link may still work"),
        "{}",
        email.html
    );
}
