//! `POST /v1/responses` over real HTTP: the strict structured-output checks
//! and the summary fixture it answers with.

mod common;

use common::{authed, fixture, send, start};
use reqwest::Method;
use serde_json::{Value, json};

/// The shape of the core's `summary::json_schema()` (SPEC §8): every
/// property required, no additional properties.
fn lead_summary_schema() -> Value {
    let nullable = json!({"type": ["string", "null"]});
    let list = |max: u32| json!({"type": "array", "items": {"type": "string"}, "maxItems": max});
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "customer_name": nullable, "customer_phone": nullable, "customer_email": nullable,
            "customer_location": nullable, "customer_language": nullable, "vehicle": nullable,
            "project": nullable, "timeline": nullable,
            "handoff_ready": {"type": "boolean"},
            "handoff_reason": {"type": "string"},
            "summary": {"type": "string"},
            "next_steps": list(6), "follow_up_questions": list(6),
            "call_script_prompts": list(3), "missing_info": list(8),
            "outreach_message": nullable
        },
        "required": [
            "customer_name", "customer_phone", "customer_email", "customer_location",
            "customer_language", "vehicle", "project", "timeline", "handoff_ready",
            "handoff_reason", "summary", "next_steps", "follow_up_questions",
            "call_script_prompts", "missing_info", "outreach_message"
        ]
    })
}

fn summary_request(schema: Value) -> Value {
    json!({
        "model": "gpt-5.2-2025-12-11",
        "instructions": "You write internal lead summaries.",
        "input": "Locale: en\n\nCustomer: hi, call me at 408 555 0142",
        "max_output_tokens": 700,
        "text": {"format": {"type": "json_schema", "name": "lead_summary", "strict": true, "schema": schema}}
    })
}

async fn post(fake: &chatkit_leads_openai_fake::FakeOpenAi, body: &Value) -> (u16, Value) {
    send(authed(fake, Method::POST, "/v1/responses").json(body)).await
}

#[tokio::test]
async fn a_strict_summary_request_gets_summary_ok_verbatim() {
    let fake = start().await;
    let resp = authed(&fake, Method::POST, "/v1/responses")
        .json(&summary_request(lead_summary_schema()))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.bytes().await.expect("body");
    let file = std::fs::read(common::fixtures_dir().join("openai/summary_ok.json")).expect("file");
    assert_eq!(bytes.as_ref(), file.as_slice());
}

#[tokio::test]
async fn the_selected_summary_fixture_is_served() {
    let fake = start().await;
    fake.set_summary_fixture("summary_refusal.json");
    let (status, body) = post(&fake, &summary_request(lead_summary_schema())).await;
    assert_eq!(status, 200);
    assert_eq!(body, fixture("openai/summary_refusal.json"));
}

#[tokio::test]
async fn a_schema_missing_a_required_entry_is_400_naming_it() {
    let fake = start().await;
    let mut schema = lead_summary_schema();
    schema["required"]
        .as_array_mut()
        .expect("required")
        .retain(|k| k != "timeline");
    let (status, body) = post(&fake, &summary_request(schema)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "text.format.schema");
    assert_eq!(body["error"]["code"], "invalid_json_schema");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("Missing 'timeline'")
    );
    assert_eq!(fake.count("POST", "/v1/responses"), 1);
}

#[tokio::test]
async fn a_schema_allowing_additional_properties_is_400() {
    let fake = start().await;
    let mut schema = lead_summary_schema();
    schema["additionalProperties"] = json!(true);
    let (status, body) = post(&fake, &summary_request(schema)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("'additionalProperties' is required to be supplied and to be false")
    );
}

#[tokio::test]
async fn a_non_strict_or_non_schema_format_is_400() {
    let fake = start().await;
    let mut not_strict = summary_request(lead_summary_schema());
    not_strict["text"]["format"]["strict"] = json!(false);
    let mut text_format = summary_request(lead_summary_schema());
    text_format["text"]["format"] = json!({"type": "text"});
    let mut no_name = summary_request(lead_summary_schema());
    no_name["text"]["format"]
        .as_object_mut()
        .expect("format")
        .remove("name");
    for (body, param) in [
        (not_strict, "text.format.strict"),
        (text_format, "text.format.type"),
        (no_name, "text.format.name"),
    ] {
        let (status, answer) = post(&fake, &body).await;
        assert_eq!(status, 400, "{param}");
        assert_eq!(answer["error"]["param"], param);
    }
}

#[tokio::test]
async fn a_request_without_model_or_input_is_400() {
    let fake = start().await;
    for field in ["model", "input"] {
        let mut body = summary_request(lead_summary_schema());
        body.as_object_mut().expect("object").remove(field);
        let (status, answer) = post(&fake, &body).await;
        assert_eq!(status, 400, "{field}");
        assert_eq!(answer["error"]["param"], field);
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let fake = start().await;
    let (status, body) = send(
        authed(&fake, Method::POST, "/v1/responses")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("could not parse the JSON body")
    );
}
