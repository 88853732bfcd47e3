//! The SES mailer over the SES v2 wire protocol of a local stand-in, with
//! every sent message read back from the stand-in's state.
//!
//! Needs `TEST_AWS_ENDPOINT_URL` (e.g. `http://127.0.0.1:5000`): the
//! project's `scripts/test.sh` starts `scripts/moto_server.py` and sets it.
//! Each test sends from a sender domain of its own, so tests run in
//! parallel and against a server other runs share.

use std::time::Duration;

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use chatkit_leads_core::email::{Envelope, OutgoingEmail, RenderedEmail, build};
use chatkit_leads_core::{EmailAddress, MailError, Mailer};
use chatkit_leads_ses::SesMailer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ENDPOINT_VAR: &str = "TEST_AWS_ENDPOINT_URL";

/// The stand-in's URL; a missing variable fails the test with directions.
fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set. Run `scripts/test.sh`, or start \
             `python3 scripts/moto_server.py --port 0` and export \
             {ENDPOINT_VAR}=http://127.0.0.1:<port>"
        )
    })
}

fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).unwrap_or_else(|| panic!("test address {raw}"))
}

/// A sender on a domain no other test or run uses.
fn fresh_sender() -> EmailAddress {
    address(&format!(
        "leads@{}.shop.example",
        uuid::Uuid::new_v4().simple()
    ))
}

/// Makes `sender` a verified SES identity (the stand-in verifies at once).
async fn verify(client: &Client, sender: &EmailAddress) {
    client
        .create_email_identity()
        .email_identity(sender.as_str())
        .send()
        .await
        .expect("create email identity");
}

/// A lead email as the workflow builds it: multipart/alternative with
/// UTF-8 text and HTML, a display name and the customer as Reply-To.
fn lead_email(from: &EmailAddress) -> OutgoingEmail {
    let rendered = RenderedEmail {
        subject: "New chat lead: 2014 Honda Civic - Driver seat repair".to_owned(),
        text: "New chat lead from craigs.autos\n\n== At a glance ==\nCustomer: Ana Núñez\n\
               Phone: +1 408-555-0123\nVehicle: 2014 Honda Civic\n\n== Transcript ==\n\
               [2026-11-03 14:25:01Z] Customer: The driver seat is torn — can you fix it?\n"
            .to_owned(),
        html: "<!doctype html><html><body style=\"font-family:sans-serif\">\
               <h1 style=\"color:#b91c1c\">New chat lead from craigs.autos</h1>\
               <p>Customer: Ana Núñez · <a href=\"tel:+14085550123\">+1 408-555-0123</a></p>\
               <p>Vehicle: 2014 Honda Civic</p></body></html>"
            .to_owned(),
    };
    let envelope = Envelope {
        from: from.clone(),
        from_name: Some("Craig's Auto Upholstery".to_owned()),
        to: vec![
            address("owner@craigs.example"),
            address("front-desk@craigs.example"),
        ],
    };
    build(
        &rendered,
        &envelope,
        Some(&address("ana.nunez@example.com")),
        &Default::default(),
    )
}

/// `GET <endpoint>/moto-api/data.json`: the stand-in's whole state.
async fn moto_state(endpoint: &str) -> serde_json::Value {
    let authority = endpoint
        .strip_prefix("http://")
        .expect("an http:// endpoint")
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect to the stand-in");
    let request = format!(
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");
    let response = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    serde_json::from_str(body).expect("JSON state")
}

/// The raw message SES recorded under `message_id`, and its recipients.
async fn sent_message(endpoint: &str, message_id: &str) -> (String, Vec<String>) {
    let state = moto_state(endpoint).await;
    let messages = state["ses"]["RawMessage"]
        .as_array()
        .expect("ses.RawMessage is a list");
    let message = messages
        .iter()
        .find(|m| m["id"] == message_id)
        .unwrap_or_else(|| panic!("no raw message with id {message_id}"));
    let raw = message["raw_data"].as_str().expect("raw_data").to_owned();
    let destinations = message["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .map(|d| d.as_str().expect("destination").to_owned())
        .collect();
    (raw, destinations)
}

/// The top-level headers of `raw`, unfolded, as (lower-case name, value).
fn headers(raw: &str) -> Vec<(String, String)> {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    headers
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[tokio::test]
async fn a_lead_email_goes_out_as_raw_mime_with_its_headers_and_both_parts() {
    let endpoint = endpoint();
    let client = client_for(&endpoint);
    let sender = fresh_sender();
    verify(&client, &sender).await;
    let email = lead_email(&sender);

    let message_id = SesMailer::new(client)
        .send(&email)
        .await
        .expect("SES accepts the message");
    assert!(!message_id.is_empty());

    let (raw, destinations) = sent_message(&endpoint, &message_id).await;
    assert_eq!(
        raw.as_bytes(),
        email.mime.as_slice(),
        "SES got the MIME bytes unchanged"
    );
    for to in &email.to {
        assert!(
            destinations.iter().any(|d| d == to.as_str()),
            "{to} among {destinations:?}"
        );
    }

    let headers = headers(&raw);
    let from = header(&headers, "from");
    assert_eq!(from.len(), 1, "one From: {from:?}");
    assert!(from[0].contains(&format!("<{sender}>")), "{from:?}");
    assert!(from[0].contains("Craig's Auto Upholstery"), "{from:?}");
    let to = header(&headers, "to");
    assert_eq!(to.len(), 1, "one To: {to:?}");
    assert!(
        to[0].contains("owner@craigs.example") && to[0].contains("front-desk@craigs.example"),
        "{to:?}"
    );
    assert_eq!(
        header(&headers, "reply-to")
            .iter()
            .map(|v| v.trim_matches(['<', '>']))
            .collect::<Vec<_>>(),
        vec!["ana.nunez@example.com"]
    );
    assert_eq!(
        header(&headers, "message-id"),
        vec![format!("<{}>", email.message_id).as_str()]
    );
    assert!(
        header(&headers, "subject")
            .first()
            .is_some_and(|s| s.contains("New chat lead")),
        "{headers:?}"
    );
    let content_type = header(&headers, "content-type");
    assert_eq!(content_type.len(), 1, "{content_type:?}");
    assert!(
        content_type[0]
            .to_ascii_lowercase()
            .starts_with("multipart/alternative"),
        "{content_type:?}"
    );
    let body = raw.to_ascii_lowercase();
    let plain = body.find("content-type: text/plain; charset=\"utf-8\"");
    let html = body.find("content-type: text/html; charset=\"utf-8\"");
    assert!(
        matches!((plain, html), (Some(p), Some(h)) if p < h),
        "text/plain then text/html parts, both UTF-8"
    );
}

#[tokio::test]
async fn every_message_gets_its_own_ses_message_id() {
    let endpoint = endpoint();
    let client = client_for(&endpoint);
    let sender = fresh_sender();
    verify(&client, &sender).await;
    let mailer = SesMailer::new(client).with_configuration_set("lead-emails");
    let first = mailer.send(&lead_email(&sender)).await.expect("first");
    let second = mailer.send(&lead_email(&sender)).await.expect("second");
    assert_ne!(first, second);
    sent_message(&endpoint, &first).await;
    sent_message(&endpoint, &second).await;
}

#[tokio::test]
async fn an_unverified_sender_is_rejected_without_quoting_addresses() {
    let endpoint = endpoint();
    let sender = fresh_sender(); // never verified
    let err = SesMailer::new(client_for(&endpoint))
        .send(&lead_email(&sender))
        .await
        .expect_err("an unverified sender");
    assert!(
        matches!(&err, MailError::Rejected(reason) if reason.contains("MessageRejected")),
        "{err:?}"
    );
    assert!(err.certainly_not_sent());
    let text = err.to_string();
    assert!(!text.contains('@'), "{text}");
    assert!(!text.contains("Núñez") && !text.contains("Honda"), "{text}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mailer = SesMailer::new(client_for(&format!("http://127.0.0.1:{port}")));
    let err = mailer
        .send(&lead_email(&fresh_sender()))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, MailError::Transport(_)), "{err:?}");
    assert!(!err.certainly_not_sent());
    assert!(!err.to_string().contains('@'), "{err}");
}

#[tokio::test]
async fn check_finds_the_senders_identity_and_says_when_there_is_none() {
    let client = client_for(&endpoint());
    let mailer = SesMailer::new(client.clone());
    let sender = fresh_sender();
    let err = mailer
        .check(&sender)
        .await
        .expect_err("not an identity yet");
    assert!(err.certainly_not_sent(), "{err:?}");
    assert!(!err.to_string().contains('@'), "{err}");
    verify(&client, &sender).await;
    mailer.check(&sender).await.expect("a verified sender");
    let domain = sender
        .as_str()
        .rsplit_once('@')
        .expect("domain")
        .1
        .to_owned();
    client
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .expect("create domain identity");
    let colleague = address(&format!("other@{domain}"));
    mailer
        .check(&colleague)
        .await
        .expect("a verified domain covers it");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mailer = SesMailer::new(client_for(&format!("http://127.0.0.1:{port}")));
    let err = mailer.check(&sender).await.expect_err("nothing listens");
    assert!(matches!(err, MailError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused_before_ses_sees_it() {
    let endpoint = endpoint();
    let client = client_for(&endpoint);
    let sender = fresh_sender();
    verify(&client, &sender).await;
    let mailer = SesMailer::new(client);
    assert_eq!(
        mailer.max_message_bytes(),
        Some(chatkit_leads_ses::SES_MAX_MESSAGE_BYTES),
        "the workflow fits photos under SES v2's 40 MB"
    );
    let email = lead_email(&sender);
    let small = mailer.with_max_message_bytes(email.mime.len() - 1);
    let err = small.send(&email).await.expect_err("too large");
    assert!(err.certainly_not_sent(), "{err}");
    assert!(err.to_string().contains("SES takes at most"), "{err}");
    let state = moto_state(&endpoint).await.to_string();
    assert!(!state.contains(&email.message_id), "nothing reached SES");
}

#[tokio::test]
async fn photos_reach_ses_inline() {
    use chatkit_leads_core::photos::{ImageKind, Photo, Photos};
    let endpoint = endpoint();
    let client = client_for(&endpoint);
    let sender = fresh_sender();
    verify(&client, &sender).await;
    let plain = lead_email(&sender);
    let photos = Photos {
        attached: vec![Photo {
            name: "seat.png".to_owned(),
            url: "https://files.example/seat.png".to_owned(),
            kind: ImageKind::Png,
            size: Some((1, 1)),
            bytes: b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec(),
            cid: "photo1@chatkit-leads".to_owned(),
        }],
        skipped: Vec::new(),
    };
    let rendered = RenderedEmail {
        subject: plain.subject.clone(),
        text: "A photo.".to_owned(),
        html: "<img src=\"cid:photo1@chatkit-leads\">".to_owned(),
    };
    let envelope = Envelope {
        from: sender.clone(),
        from_name: None,
        to: vec![address("owner@craigs.example")],
    };
    let email = build(&rendered, &envelope, None, &photos);
    let id = SesMailer::new(client).send(&email).await.expect("sent");
    let (raw, _) = sent_message(&endpoint, &id).await;
    assert!(raw.contains("Content-ID: <photo1@chatkit-leads>"), "{raw}");
    assert!(raw.contains("multipart/related"), "{raw}");
}
