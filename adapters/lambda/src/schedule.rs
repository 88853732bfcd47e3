//! One function for both kinds of invocation: HTTP events (Function URLs,
//! API Gateway HTTP APIs) go to the router, EventBridge scheduled events to
//! a job of the caller's (the sweep). `lambda_http::run` takes HTTP events
//! only, and its own dispatch types are hidden, so this module receives the
//! raw event, tells the two apart, and maps the router's answer to the
//! HTTP API payload format 2.0 response itself.

use std::future::Future;

use axum::Router;
use axum::http::header::SET_COOKIE;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Body, Error, Response, service_fn};
use serde::Serialize;
use serde_json::Value;

use crate::handle;

/// Whether `event` is an EventBridge scheduled event (a rule's
/// `rate(…)`/`cron(…)` target): `"source": "aws.events"` and
/// `"detail-type": "Scheduled Event"`.
pub fn is_scheduled(event: &Value) -> bool {
    event["source"] == "aws.events" && event["detail-type"] == "Scheduled Event"
}

/// Serves `router` for HTTP events and runs `on_schedule` for scheduled
/// events, until the runtime stops the process. What `on_schedule` returns
/// becomes the invocation's result (visible in the console and logs).
///
/// # Errors
/// As [`crate::run`]. A failing `on_schedule` fails that invocation only
/// (EventBridge retries it per the rule's retry policy).
pub async fn run_with_schedule<F, Fut, T>(router: Router, on_schedule: F) -> Result<(), Error>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<T, Error>> + Send,
    T: Serialize,
{
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let router = router.clone();
        let on_schedule = on_schedule.clone();
        async move { dispatch(&router, event.payload, &on_schedule).await }
    }))
    .await
}

/// One invocation of [`run_with_schedule`]: the scheduled job's result, or
/// the router's answer as an HTTP API (payload format 2.0) response.
///
/// # Errors
/// When the event is neither scheduled nor an HTTP event this crate reads,
/// or the scheduled job fails.
pub async fn dispatch<F, Fut, T>(
    router: &Router,
    event: Value,
    on_schedule: &F,
) -> Result<Value, Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
    T: Serialize,
{
    if is_scheduled(&event) {
        return Ok(serde_json::to_value(on_schedule().await?)?);
    }
    let request = lambda_http::request::from_str(&event.to_string())
        .map_err(|err| format!("neither a scheduled nor an HTTP event: {err}"))?;
    let response = handle(router, request).await;
    Ok(serde_json::to_value(into_v2_response(response))?)
}

/// The response in payload format 2.0: `Set-Cookie` headers move to
/// `cookies`, a binary body is base64 (as `lambda_http` does).
fn into_v2_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (mut parts, body) = response.into_parts();
    let cookies = parts
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    parts.headers.remove(SET_COOKIE);
    let mut v2 = ApiGatewayV2httpResponse::default();
    v2.status_code = i64::from(parts.status.as_u16());
    v2.is_base64_encoded = matches!(body, Body::Binary(_));
    v2.body = match body {
        Body::Empty => None,
        other => Some(other),
    };
    v2.headers = parts.headers;
    v2.cookies = cookies;
    v2
}
