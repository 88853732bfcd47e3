//! The browser script (`adapters/browser`), embedded at compile time and
//! served by the router: `GET /chatkit-leads.js` (the classic script that
//! defines `window.ChatKitLeads`) and `GET /chatkit-leads.mjs` (the same code
//! as an ES module).
//!
//! `assets/` holds copies written by `adapters/browser/build.mjs`, inside
//! this crate so it packages on its own; `.ci/run` fails when they drift.

use axum::Router;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::handlers;

/// The classic script.
pub const CLASSIC: &str = include_str!("../assets/chatkit-leads.js");
/// The ES module.
pub const MODULE: &str = include_str!("../assets/chatkit-leads.mjs");

/// Fresh for a day, then served from cache while revalidating for a week:
/// an upgraded server reaches returning visitors within a day, and the
/// `ETag` makes most revalidations a bodyless 304.
const CACHE: &str = "public, max-age=86400, stale-while-revalidate=604800";

/// One embedded file and its validator.
#[derive(Clone)]
struct Asset {
    body: &'static str,
    etag: HeaderValue,
}

impl Asset {
    fn new(body: &'static str) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            body,
            etag: HeaderValue::from_str(&format!("\"{hex}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("\"chatkit-leads\"")),
        }
    }

    fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || self.etag.as_bytes() == tag.as_bytes());
        let headers = [
            (ETAG, self.etag.clone()),
            (CACHE_CONTROL, HeaderValue::from_static(CACHE)),
            // A module script from another origin needs CORS; the file is
            // public and the same for everyone.
            (ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        ];
        if fresh {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let content = [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ];
        (headers, content, self.body).into_response()
    }
}

/// The script's routes, without the API's CORS layer: a `<script>` or an
/// `import` from any origin may load them.
pub(crate) fn routes() -> Router {
    let classic = Asset::new(CLASSIC);
    let module = Asset::new(MODULE);
    let head_or_get = || async { handlers::method_not_allowed("GET, HEAD") };
    Router::new()
        .route(
            "/chatkit-leads.js",
            get(move |headers: HeaderMap| async move { classic.respond(&headers) })
                .fallback(head_or_get),
        )
        .route(
            "/chatkit-leads.mjs",
            get(move |headers: HeaderMap| async move { module.respond(&headers) })
                .fallback(head_or_get),
        )
}
