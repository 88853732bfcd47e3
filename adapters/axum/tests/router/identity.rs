//! Signed-cookie identity: issued on `/session`, verified on every request,
//! preferred over the body's `user`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chatkit_leads_axum::{CookieKey, UserIdentity};
use chatkit_leads_core::testkit::ChatKitCall;

use crate::{Answer, Harness, settings};

fn cookie_harness() -> Harness {
    let key = CookieKey::new([42u8; 32]).unwrap();
    Harness::with(|b| {
        b.sessions(settings())
            .identity(UserIdentity::signed_cookie(key))
    })
}

fn with_cookie(path: &str, body: &str, cookie: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// `name=value` of the answer's `Set-Cookie`.
fn issued(answer: &Answer) -> String {
    let set_cookie = answer.header("set-cookie").expect("a cookie is issued");
    set_cookie.split(';').next().unwrap().to_owned()
}

fn session_users(h: &Harness) -> Vec<String> {
    h.chatkit
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            ChatKitCall::CreateSession(body) => Some(body.user.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn session_issues_a_signed_http_only_cookie() {
    let h = cookie_harness();
    let answer = h.post("/session", r#"{"user":"anon_claimed"}"#).await;
    assert_eq!(answer.status, StatusCode::OK);
    let set_cookie = answer.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("chatkit_uid=anon_"), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure", "Max-Age="] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let value = issued(&answer);
    let (user, tag) = value
        .trim_start_matches("chatkit_uid=")
        .rsplit_once('.')
        .unwrap();
    assert!(!tag.is_empty());
    assert_eq!(session_users(&h), [user.to_owned()]);
    assert_ne!(user, "anon_claimed", "the body's user is not trusted");
}

#[tokio::test]
async fn a_valid_cookie_is_kept_and_not_reissued() {
    let h = cookie_harness();
    let cookie = issued(&h.post("/session", "{}").await);
    let again = h.send(with_cookie("/session", "{}", &cookie)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.header("set-cookie").is_none());
    let users = session_users(&h);
    assert_eq!(users.len(), 2);
    assert_eq!(users[0], users[1]);
}

#[tokio::test]
async fn a_tampered_cookie_is_replaced() {
    let h = cookie_harness();
    let cookie = issued(&h.post("/session", "{}").await);
    let (_, tag) = cookie.rsplit_once('.').unwrap();
    let forged = format!("chatkit_uid=anon_victim.{tag}");
    let answer = h
        .send(with_cookie(
            "/session",
            r#"{"user":"anon_victim"}"#,
            &forged,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let replaced = issued(&answer);
    assert_ne!(replaced, forged);
    assert_ne!(replaced, cookie);
    let users = session_users(&h);
    assert!(users.iter().all(|u| u != "anon_victim"), "{users:?}");

    let unsigned = h
        .send(with_cookie("/session", "{}", "chatkit_uid=anon_victim"))
        .await;
    assert!(unsigned.header("set-cookie").is_some());
}

#[tokio::test]
async fn lead_uses_the_cookie_user_instead_of_the_body_user() {
    let h = cookie_harness();
    let cookie = issued(&h.post("/session", "{}").await);
    let cookie_user = session_users(&h).remove(0);
    let body = serde_json::json!({
        "threadId": "cthr_fx_en_truck_seats",
        "reason": "idle",
        "user": "anon_body_claim",
    })
    .to_string();
    let answer = h.send(with_cookie("/lead", &body, &cookie)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["reason"], "idle");
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].html.contains(&cookie_user));
    assert!(!sent[0].html.contains("anon_body_claim"));
}

#[tokio::test]
async fn lead_without_a_valid_cookie_ignores_the_body_user() {
    let h = cookie_harness();
    let body = serde_json::json!({
        "threadId": "cthr_fx_en_truck_seats",
        "reason": "idle",
        "user": "anon_body_claim",
    })
    .to_string();
    let answer = h
        .send(with_cookie(
            "/lead",
            &body,
            "chatkit_uid=anon_body_claim.AAAA",
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!h.mailer.sent()[0].html.contains("anon_body_claim"));
}

#[tokio::test]
async fn a_malformed_body_user_is_ignored_in_cookie_mode_and_refused_when_trusted() {
    let body = serde_json::json!({
        "threadId": "cthr_fx_en_truck_seats",
        "reason": "idle",
        "user": "anon\u{7}bell",
    })
    .to_string();
    let cookies = cookie_harness();
    let answer = cookies.post("/lead", body.clone()).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    assert_eq!(answer.json["sent"], true);
    let trusted = Harness::new();
    let answer = trusted.post("/lead", body).await;
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "the trusted user must be valid"
    );
    assert!(trusted.mailer.sent().is_empty());
}

#[tokio::test]
async fn trust_browser_mode_uses_the_body_user() {
    let h = Harness::new();
    let body = serde_json::json!({
        "threadId": "cthr_fx_en_truck_seats",
        "reason": "idle",
        "user": "anon_from_body",
    })
    .to_string();
    let answer = h.post("/lead", body).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(h.mailer.sent()[0].html.contains("anon_from_body"));
    let session = h.post("/session", r#"{"user":"anon_from_body"}"#).await;
    assert!(session.header("set-cookie").is_none());
    assert_eq!(session_users(&h), ["anon_from_body"]);
}
