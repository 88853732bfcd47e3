//! Update emails through the server binary: a customer who writes again
//! after the lead went out gets the shop one update, threaded under the
//! lead in the outbox's `.eml` files, however many triggers arrive.

mod common;

use std::time::Duration;

use chatkit_leads_test_support::ServerProcess;
use common::{Live, binary};
use serde_json::{Value, json};

const TRUCK: &str = "cthr_fx_en_truck_seats";

/// A new message from the customer and the agent's reply, written now.
fn customer_writes_again(live: &Live) {
    let now = unix_now();
    let items = vec![
        json!({
            "id": "cthi_update_1",
            "object": "chatkit.thread_item",
            "type": "chatkit.user_message",
            "created_at": now,
            "content": [{"type": "input_text", "text": "Also the back seat please. New number: 408-555-0199"}],
            "attachments": [],
            "inference_options": null,
        }),
        json!({
            "id": "cthi_update_2",
            "object": "chatkit.thread_item",
            "type": "chatkit.assistant_message",
            "created_at": now,
            "content": [{"type": "output_text", "text": "Noted, the shop will see it.", "annotations": []}],
        }),
    ];
    assert!(live.fake.append_items(TRUCK, items));
}

fn unix_now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit")
}

async fn lead(http: &reqwest::Client, server: &ServerProcess) -> Value {
    http.post(format!("{}/lead", server.url()))
        .body(json!({"threadId": TRUCK, "reason": "idle"}).to_string())
        .send()
        .await
        .expect("lead")
        .json()
        .await
        .expect("json")
}

/// The `.eml` files in `outbox`, parsed, oldest first (by `Date`, then name).
fn outbox_emails(outbox: &std::path::Path) -> Vec<mail_parser::Message<'static>> {
    let mut names: Vec<_> = std::fs::read_dir(outbox)
        .expect("outbox")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    names.sort();
    let mut emails: Vec<_> = names
        .into_iter()
        .map(|path| {
            let raw = std::fs::read(&path).expect("eml");
            mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("parseable .eml")
                .into_owned()
        })
        .collect();
    emails.sort_by_key(|m| m.subject().is_some_and(|s| s.starts_with("Re: ")));
    emails
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_triggers_after_new_messages_send_one_update_threaded_under_the_lead() {
    let live = Live::start().await;
    let outbox = live.dir.path().join("outbox");
    let mut env = live.with("LEADS_MAILER", &format!("outbox:{}", outbox.display()));
    env.insert("LEADS_UPDATE_CHECK_SECONDS".to_owned(), "1".to_owned());
    let server = ServerProcess::start(&binary(), &env).await;
    let http = reqwest::Client::new();

    let first = lead(&http, &server).await;
    assert_eq!(first["reason"], "idle", "{first}");
    customer_writes_again(&live);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let calls = (0..50).map(|_| lead(&http, &server));
    let answers = futures::future::join_all(calls).await;
    let reasons: Vec<&str> = answers
        .iter()
        .map(|a| a["reason"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        reasons.iter().filter(|r| **r == "update_sent").count(),
        1,
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .all(|r| matches!(*r, "update_sent" | "already_sent" | "in_progress")),
        "{reasons:?}"
    );
    let update = answers
        .iter()
        .find(|a| a["reason"] == "update_sent")
        .expect("the update");
    assert_eq!(update["sent"], true);
    assert!(update["message_id"].is_string());

    let emails = outbox_emails(&outbox);
    assert_eq!(emails.len(), 2, "the lead and one update");
    let (lead_email, update_email) = (&emails[0], &emails[1]);
    let lead_id = lead_email.message_id().expect("lead Message-ID");
    assert_eq!(
        update_email.in_reply_to().as_text(),
        Some(lead_id),
        "In-Reply-To names the lead"
    );
    assert_eq!(
        update_email.references().as_text(),
        Some(lead_id),
        "References names the lead"
    );
    assert_eq!(
        update_email.subject(),
        Some(format!("Re: {}", lead_email.subject().expect("subject")).as_str())
    );
    let text = update_email.body_text(0).expect("text part");
    assert!(text.contains("Also the back seat"), "{text}");
    assert!(text.contains("Phone (new)"), "{text}");
    assert!(
        !text.contains("You can reach me at (408) 555-0142"),
        "{text}"
    );

    // Nothing new since: the next look sends nothing.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(lead(&http, &server).await["reason"], "already_sent");
    assert_eq!(outbox_emails(&outbox).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_updates_off_a_sent_thread_never_asks_chatkit() {
    let live = Live::start().await;
    let env = live.with("LEADS_UPDATE_CHECK_SECONDS", "0");
    let server = ServerProcess::start(&binary(), &env).await;
    let http = reqwest::Client::new();
    assert_eq!(lead(&http, &server).await["reason"], "idle");
    customer_writes_again(&live);
    let reads = live.fake.count("GET", "/v1/chatkit/threads/");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(lead(&http, &server).await["reason"], "already_sent");
    assert_eq!(live.fake.count("GET", "/v1/chatkit/threads/"), reads);
    assert_eq!(live.smtp.messages().len(), 1);
}

/// A photo the customer sends after the lead: the update carries it inline,
/// fetched from the file host the settings allow (the fake, by name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_sent_after_the_lead_rides_inline_in_the_update() {
    use chatkit_leads_openai_fake::ServedFile;
    let live = Live::start().await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x03\x20\0\0\x02\x58\x08\x02\0\0\0".to_vec();
    png.resize(50_000, 0);
    live.fake
        .serve_file("back-seat.png", ServedFile::ok("image/png", png));
    let port = live.fake.addr().port();
    let mut env = live.with("LEADS_UPDATE_CHECK_SECONDS", "1");
    for (name, value) in [
        ("LEADS_PHOTO_HOSTS", "chatkit.test".to_owned()),
        (
            "LEADS_PHOTO_PIN",
            format!("files.chatkit.test={}", live.fake.addr().ip()),
        ),
        (
            "LEADS_PHOTO_ALLOW_NETWORKS",
            live.fake.addr().ip().to_string(),
        ),
        ("LEADS_PHOTO_REQUIRE_HTTPS", "false".to_owned()),
    ] {
        env.insert(name.to_owned(), value);
    }
    let server = ServerProcess::start(&binary(), &env).await;
    let http = reqwest::Client::new();
    assert_eq!(lead(&http, &server).await["reason"], "idle");

    let photo = json!({
        "id": "cthi_photo_1",
        "object": "chatkit.thread_item",
        "type": "chatkit.user_message",
        "created_at": unix_now(),
        "content": [{"type": "input_text", "text": "Here is the back seat."}],
        "attachments": [{
            "id": "cfile_9", "type": "image", "name": "back-seat.png", "mime_type": "image/png",
            "preview_url": format!("http://files.chatkit.test:{port}/files/back-seat.png"),
        }],
    });
    assert!(live.fake.append_items(TRUCK, vec![photo]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(lead(&http, &server).await["reason"], "update_sent");

    let messages = live.smtp.messages();
    assert_eq!(messages.len(), 2);
    let update = &messages[1].raw;
    assert!(
        update.contains("Content-ID: <photo1@chatkit-leads>"),
        "the photo is inline"
    );
    assert!(update.contains("multipart/related"));
    assert_eq!(live.fake.count("GET", "/files/back-seat.png"), 1);
}
