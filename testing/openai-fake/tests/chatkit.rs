//! The ChatKit endpoints over real HTTP: auth, beta header, sessions, threads
//! and cursor pagination.

mod common;

use common::{KEY, authed, chatkit, client, fixture, ids, send, start};
use reqwest::Method;
use serde_json::{Value, json};

const LONG: &str = "/v1/chatkit/threads/cthr_fx_long_pages/items";

fn long_ids() -> Vec<String> {
    fixture("chatkit/cthr_fx_long_pages/items.json")
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_255_item_thread_pages_in_three_pages_of_100_oldest_first() {
    let fake = start().await;
    let mut seen = Vec::new();
    let mut has_more = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("{LONG}?order=asc&limit=100");
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let (status, page) = send(chatkit(&fake, Method::GET, &path)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["object"], "list");
        let page_ids = ids(&page);
        assert_eq!(page["first_id"], json!(page_ids.first()));
        assert_eq!(page["last_id"], json!(page_ids.last()));
        seen.extend(page_ids);
        has_more.push(page["has_more"].as_bool().expect("has_more"));
        if !page["has_more"].as_bool().expect("has_more") {
            break;
        }
        after = page["last_id"].as_str().map(str::to_owned);
    }
    assert_eq!(has_more, [true, true, false]);
    assert_eq!(seen, long_ids());
    assert_eq!(fake.count("GET", LONG), 3);
}

#[tokio::test]
async fn the_after_cursor_starts_right_after_the_given_item() {
    let fake = start().await;
    let all = long_ids();
    let path = format!("{LONG}?order=asc&limit=5&after={}", all[9]);
    let (status, page) = send(chatkit(&fake, Method::GET, &path)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), all[10..15]);
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn desc_order_returns_the_newest_first_and_pages_backwards() {
    let fake = start().await;
    let all = long_ids();
    let (_, first) = send(chatkit(
        &fake,
        Method::GET,
        &format!("{LONG}?order=desc&limit=3"),
    ))
    .await;
    assert_eq!(ids(&first), [all[254].as_str(), &all[253], &all[252]]);
    let after = first["last_id"].as_str().expect("last_id");
    let (_, second) = send(chatkit(
        &fake,
        Method::GET,
        &format!("{LONG}?order=desc&limit=3&after={after}"),
    ))
    .await;
    assert_eq!(ids(&second), [all[251].as_str(), &all[250], &all[249]]);
}

#[tokio::test]
async fn the_default_page_is_20_newest_first() {
    let fake = start().await;
    let all = long_ids();
    let (_, page) = send(chatkit(&fake, Method::GET, LONG)).await;
    let page_ids = ids(&page);
    assert_eq!(page_ids.len(), 20);
    assert_eq!(page_ids[0], all[254]);
}

#[tokio::test]
async fn a_limit_outside_1_to_100_is_refused() {
    let fake = start().await;
    for limit in ["0", "101", "ten"] {
        let (status, body) = send(chatkit(
            &fake,
            Method::GET,
            &format!("{LONG}?order=asc&limit={limit}"),
        ))
        .await;
        assert_eq!(status, 400, "limit={limit}");
        assert_eq!(body["error"]["param"], "limit");
    }
}

#[tokio::test]
async fn an_unknown_thread_is_404_naming_the_id() {
    let fake = start().await;
    let shape = fixture("openai/thread_not_found.json");
    for path in [
        "/v1/chatkit/threads/cthr_nope",
        "/v1/chatkit/threads/cthr_nope/items?order=asc",
    ] {
        let (status, body) = send(chatkit(&fake, Method::GET, path)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            body["error"]["message"],
            "No thread found with id 'cthr_nope'."
        );
        assert_eq!(body["error"]["type"], shape["error"]["type"]);
    }
}

#[tokio::test]
async fn a_thread_is_served_from_its_fixture() {
    let fake = start().await;
    let (status, body) = send(chatkit(
        &fake,
        Method::GET,
        "/v1/chatkit/threads/cthr_fx_en_truck_seats",
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, fixture("chatkit/cthr_fx_en_truck_seats/thread.json"));
}

fn user_query(user: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("user", user)
        .finish()
}

#[tokio::test]
async fn threads_are_listed_per_user() {
    let fake = start().await;
    let thread = fixture("chatkit/cthr_fx_es_boat_email/thread.json");
    let user = thread["user"].as_str().expect("user");
    let (status, page) = send(chatkit(
        &fake,
        Method::GET,
        &format!("/v1/chatkit/threads?order=asc&{}", user_query(user)),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), ["cthr_fx_es_boat_email"]);
    assert_eq!(page["data"][0], thread);
    assert_eq!(page["has_more"], false);

    let (_, none) = send(chatkit(
        &fake,
        Method::GET,
        &format!("/v1/chatkit/threads?{}", user_query("anon_nobody")),
    ))
    .await;
    assert!(ids(&none).is_empty());

    let (_, all) = send(chatkit(&fake, Method::GET, "/v1/chatkit/threads?limit=3")).await;
    assert_eq!(ids(&all).len(), 3);
    assert_eq!(all["has_more"], true);
}

#[tokio::test]
async fn a_request_without_a_key_is_401() {
    let fake = start().await;
    let (status, body) = send(
        client()
            .get(format!("{}/chatkit/threads/cthr_fx_empty", fake.base_url()))
            .header("OpenAI-Beta", "chatkit_beta=v1"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("API key")
    );
}

#[tokio::test]
async fn a_wrong_key_is_401_and_recorded_as_invalid() {
    let fake = start().await;
    let (status, body) = send(
        client()
            .post(format!("{}/responses", fake.base_url()))
            .bearer_auth("sk-wrong")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let recorded = fake.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].header("authorization"), Some("[invalid]"));
}

#[tokio::test]
async fn a_chatkit_call_without_the_beta_header_is_400() {
    let fake = start().await;
    let (status, body) = send(authed(
        &fake,
        Method::GET,
        "/v1/chatkit/threads/cthr_fx_empty",
    ))
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("chatkit_beta=v1")
    );
}

#[tokio::test]
async fn an_unknown_route_is_a_404_json_error() {
    let fake = start().await;
    let (status, body) = send(
        authed(&fake, Method::GET, "/v1/chatkit/sessions").header("OpenAI-Beta", "chatkit_beta=v1"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["message"],
        "Invalid URL (GET /v1/chatkit/sessions)"
    );
    let (status, _) = send(authed(&fake, Method::GET, "/v2/models")).await;
    assert_eq!(status, 404);
}

fn session_body(user: Value, state_variables: Value) -> Value {
    json!({
        "user": user,
        "workflow": {"id": "wf_test_123", "state_variables": state_variables},
    })
}

async fn post_session(fake: &chatkit_leads_openai_fake::FakeOpenAi, body: &Value) -> (u16, Value) {
    send(chatkit(fake, Method::POST, "/v1/chatkit/sessions").json(body)).await
}

#[tokio::test]
async fn a_session_answers_the_official_shape_with_a_fresh_secret() {
    let fake = start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let body = session_body(
        json!("anon_abc"),
        json!({"locale": "en", "shop_is_open_now": true, "n": 3}),
    );
    let (status, first) = post_session(&fake, &body).await;
    assert_eq!(status, 200, "{first}");
    let (_, second) = post_session(&fake, &body).await;

    let template = fixture("openai/session_ok.json");
    let keys = |v: &Value| {
        v.as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&first), keys(&template));
    assert_eq!(first["object"], "chatkit.session");
    assert_eq!(first["user"], "anon_abc");
    assert_eq!(first["workflow"]["id"], "wf_test_123");
    assert_eq!(first["client_secret"], "ek_fake_1");
    assert_eq!(second["client_secret"], "ek_fake_2");
    let expires_at = first["expires_at"].as_i64().expect("expires_at");
    assert!(
        (now + 590..=now + 610).contains(&expires_at),
        "{expires_at} vs {now}"
    );
}

#[tokio::test]
async fn a_state_variable_that_is_not_a_primitive_is_400() {
    let fake = start().await;
    for bad in [json!({"a": 1}), json!([1]), Value::Null] {
        let (status, body) =
            post_session(&fake, &session_body(json!("u"), json!({"page": bad}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["param"], "workflow.state_variables.page");
    }
}

#[tokio::test]
async fn a_state_variable_key_of_65_chars_is_400_and_64_is_fine() {
    let fake = start().await;
    let vars = |len: usize| json!({ "k".repeat(len): "v" });
    let (status, body) = post_session(&fake, &session_body(json!("u"), vars(65))).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "workflow.state_variables");
    let (status, _) = post_session(&fake, &session_body(json!("u"), vars(64))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_session_without_user_is_400() {
    let fake = start().await;
    let (status, body) = post_session(&fake, &json!({"workflow": {"id": "wf_1"}})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "user");
    let (status, _) = post_session(&fake, &session_body(json!(""), json!({}))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_session_needs_a_wf_workflow_id() {
    let fake = start().await;
    for workflow in [json!({}), json!({"id": "agent_1"}), json!({"id": 7})] {
        let (status, body) = post_session(&fake, &json!({"user": "u", "workflow": workflow})).await;
        assert_eq!(status, 400, "{workflow}");
        assert_eq!(body["error"]["param"], "workflow.id");
    }
}

#[tokio::test]
async fn every_request_is_recorded_in_order_without_the_key() {
    let fake = start().await;
    let _ = send(chatkit(
        &fake,
        Method::GET,
        "/v1/chatkit/threads/cthr_fx_empty",
    ))
    .await;
    let _ = post_session(&fake, &session_body(json!("u"), json!({}))).await;
    let _ = send(client().get(format!("{}/chatkit/threads", fake.base_url()))).await;
    let recorded = fake.requests();
    let summary: Vec<(&str, &str)> = recorded
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("GET", "/v1/chatkit/threads/cthr_fx_empty"),
            ("POST", "/v1/chatkit/sessions"),
            ("GET", "/v1/chatkit/threads"),
        ]
    );
    assert_eq!(recorded[0].header("authorization"), Some("Bearer [valid]"));
    assert_eq!(recorded[0].header("openai-beta"), Some("chatkit_beta=v1"));
    assert_eq!(recorded[1].body.as_ref().expect("body")["user"], "u");
    assert_eq!(recorded[2].header("authorization"), None);
    assert!(!format!("{recorded:?}").contains(KEY));
    assert_eq!(fake.count("get", "/v1/chatkit/threads"), 2);
}

#[tokio::test]
async fn an_added_thread_is_a_shifted_copy_listed_under_its_user() {
    let fake = start().await;
    let original = fixture("chatkit/cthr_fx_en_truck_seats/items.json");
    let original = original.as_array().expect("items");
    let newest = original
        .iter()
        .filter_map(|i| i["created_at"].as_i64())
        .max();
    let shift = 1_900_000_000 - newest.expect("times");

    assert!(fake.add_thread(
        "cthr_fx_en_truck_seats",
        "cthr_new_1",
        "anon_u1",
        1_900_000_000
    ));
    assert!(!fake.add_thread("cthr_nope", "cthr_new_2", "anon_u1", 1_900_000_000));

    let (status, thread) = send(chatkit(
        &fake,
        Method::GET,
        "/v1/chatkit/threads/cthr_new_1",
    ))
    .await;
    assert_eq!(status, 200, "{thread}");
    assert_eq!(
        (thread["id"].as_str(), thread["user"].as_str()),
        (Some("cthr_new_1"), Some("anon_u1"))
    );
    let path = "/v1/chatkit/threads/cthr_new_1/items?order=asc&limit=100";
    let (_, page) = send(chatkit(&fake, Method::GET, path)).await;
    let items = page["data"].as_array().expect("data");
    assert_eq!(items.len(), original.len());
    for (copy, item) in items.iter().zip(original) {
        assert_eq!(copy["thread_id"], "cthr_new_1");
        assert_eq!(copy["content"], item["content"]);
        assert_eq!(
            copy["created_at"].as_i64(),
            item["created_at"].as_i64().map(|t| t + shift)
        );
    }
    let (_, listed) = send(chatkit(
        &fake,
        Method::GET,
        "/v1/chatkit/threads?user=anon_u1",
    ))
    .await;
    assert_eq!(ids(&listed), ["cthr_new_1"]);

    // Replacing it with another fixture: the chat grew.
    assert!(fake.add_thread(
        "cthr_fx_es_boat_email",
        "cthr_new_1",
        "anon_u1",
        1_900_000_100
    ));
    let (_, listed) = send(chatkit(
        &fake,
        Method::GET,
        "/v1/chatkit/threads?user=anon_u1",
    ))
    .await;
    assert_eq!(ids(&listed), ["cthr_new_1"]);
    let (_, page) = send(chatkit(&fake, Method::GET, path)).await;
    assert_eq!(
        page["data"][0]["content"],
        fixture("chatkit/cthr_fx_es_boat_email/items.json")[0]["content"]
    );
}
