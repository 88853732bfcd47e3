#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod schedule;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderValue, StatusCode, Uri};
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, service_fn};
use tower::ServiceExt as _;
use tracing::warn;

pub use lambda_http;
pub use lambda_http::{Body, Error, Request, Response};
pub use schedule::{dispatch, is_scheduled, run_with_schedule};

/// The header the router reads and echoes as the request id.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Serves `router` as this Lambda function's handler until the runtime
/// stops the process: one invocation at a time, each a Function URL or
/// API Gateway HTTP API event translated by [`handle`].
///
/// Call it once, at the end of `main`, after the cold-start set-up (clients,
/// configuration, the router) has succeeded.
///
/// # Errors
/// When the Lambda runtime API cannot be reached or answers unexpectedly
/// (outside Lambda, without `AWS_LAMBDA_RUNTIME_API`, it fails at once).
/// A request the router rejects is a response (4xx/5xx), never an error.
pub async fn run(router: Router) -> Result<(), Error> {
    lambda_http::run(service_fn(move |request: Request| {
        let router = router.clone();
        async move { Ok::<_, Error>(handle(&router, request).await) }
    }))
    .await
}

/// Answers one Lambda HTTP request with `router`: strips an API Gateway
/// stage prefix from the path, fills in `x-request-id` from the event when
/// the client sent none, routes the request, and buffers the answer into a
/// Lambda response body (text when UTF-8, binary otherwise).
///
/// This is what [`run`] does per invocation; tests call it directly with
/// events parsed by [`lambda_http::request::from_str`].
pub async fn handle(router: &Router, request: Request) -> Response<Body> {
    let request = into_router_request(request);
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    into_lambda_response(response).await
}

/// The request as the router should see it: stage prefix gone, a request
/// id when the client sent none, the body as an axum body.
fn into_router_request(request: Request) -> axum::extract::Request {
    let (stage, request_id, source_ip) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.stage.clone(),
            context.request_id.clone(),
            context.http.source_ip.as_deref().and_then(address),
        ),
        Some(RequestContext::ApiGatewayV1(context)) => (
            context.stage.clone(),
            context.request_id.clone(),
            context.identity.source_ip.as_deref().and_then(address),
        ),
        _ => (None, None, None),
    };
    let (mut parts, body) = request.into_parts();
    // The client's address as the router reads it from a socket (port
    // unknown), for its per-address rate limit.
    if let Some(ip) = source_ip {
        parts.extensions.insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    if let Some(stage) = stage.as_deref()
        && let Some(uri) = without_stage(&parts.uri, stage)
    {
        parts.uri = uri;
    }
    if !parts.headers.contains_key(REQUEST_ID_HEADER) {
        // Function URL ids are UUIDs; HTTP API ids end in base64 padding
        // (`JKJaXmPLvHcESHA=`), which the router's id filter refuses.
        let id = request_id.map(|id| id.trim_end_matches('=').to_owned());
        if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            parts.headers.insert(REQUEST_ID_HEADER, value);
        }
    }
    let body = match body {
        Body::Text(text) => axum::body::Body::from(text),
        Body::Binary(bytes) => axum::body::Body::from(bytes),
        _ => axum::body::Body::empty(),
    };
    axum::extract::Request::from_parts(parts, body)
}

/// The event's client address, as the router's rate limit counts it.
fn address(raw: &str) -> Option<IpAddr> {
    raw.parse().ok()
}

/// `uri` without the leading `/{stage}` segment, or `None` when there is
/// nothing to strip (`$default`, or a path outside the stage).
///
/// `lambda_http` puts a named stage in front of the path (unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set), so that an app can
/// route on the public URL; the router's routes have no stage.
fn without_stage(uri: &Uri, stage: &str) -> Option<Uri> {
    if stage.is_empty() || stage == "$default" {
        return None;
    }
    let rest = uri.path().strip_prefix('/')?.strip_prefix(stage)?;
    let path = match rest {
        "" => "/",
        rest if rest.starts_with('/') => rest,
        _ => return None, // `/prod2/...` is not inside stage `prod`
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// The router's response with its body buffered for Lambda.
async fn into_lambda_response(response: axum::response::Response) -> Response<Body> {
    let (parts, body) = response.into_parts();
    // The router's bodies are small JSON documents already in memory.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            warn!(error = %err, "could not read the router's response body");
            return internal_error();
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else if parts.headers.contains_key(CONTENT_ENCODING) {
        Body::Binary(bytes.to_vec())
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(not_text) => Body::Binary(not_text.into_bytes()),
        }
    };
    Response::from_parts(parts, body)
}

/// `500 {"error": "internal error"}`, in the router's error shape.
fn internal_error() -> Response<Body> {
    let mut response = Response::new(Body::Text(r#"{"error":"internal error"}"#.to_owned()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_named_stage_is_stripped_with_the_query_kept() {
        let stripped = without_stage(&uri("https://api.example/prod/lead?x=1"), "prod");
        assert_eq!(stripped, Some(uri("https://api.example/lead?x=1")));
        assert_eq!(
            without_stage(&uri("/prod"), "prod").map(|u| u.path().to_owned()),
            Some("/".to_owned())
        );
    }

    #[test]
    fn default_stage_and_foreign_paths_are_left_alone() {
        assert_eq!(without_stage(&uri("/lead"), "$default"), None);
        assert_eq!(without_stage(&uri("/lead"), ""), None);
        assert_eq!(without_stage(&uri("/prod2/lead"), "prod"), None);
        assert_eq!(without_stage(&uri("/lead"), "prod"), None);
    }
}
