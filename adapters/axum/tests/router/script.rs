//! The browser script the router serves: `GET /chatkit-leads.js` and
//! `/chatkit-leads.mjs`, with validators, caching and CORS for any origin.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use chatkit_leads_axum::script;
use tower::ServiceExt as _;

use crate::Harness;

const SHOP: &str = "https://www.craigs.autos";

async fn get(h: &Harness, path: &str, headers: &[(&str, &str)]) -> (Response<Body>, String) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = h
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn the_classic_script_and_the_module_are_served_as_javascript() {
    let h = Harness::new();
    for (path, body, marker) in [
        ("/chatkit-leads.js", script::CLASSIC, "window.ChatKitLeads"),
        (
            "/chatkit-leads.mjs",
            script::MODULE,
            "export function attach",
        ),
    ] {
        let (response, text) = get(&h, path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(text, body, "{path}");
        assert!(text.contains(marker), "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert!(
            header(&response, "cache-control").contains("max-age=86400"),
            "{path}"
        );
        assert!(header(&response, "etag").starts_with('"'), "{path}");
    }
}

#[tokio::test]
async fn a_matching_etag_is_answered_304_without_a_body() {
    let h = Harness::new();
    let (first, _) = get(&h, "/chatkit-leads.js", &[]).await;
    let etag = header(&first, "etag").to_owned();
    let (again, body) = get(&h, "/chatkit-leads.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&again, "etag"), etag);
    let weak_list = format!("\"other\", W/{etag}");
    let (weak, _) = get(&h, "/chatkit-leads.js", &[("if-none-match", &weak_list)]).await;
    assert_eq!(
        weak.status(),
        StatusCode::NOT_MODIFIED,
        "weak and listed tags match"
    );
    let (stale, body) = get(&h, "/chatkit-leads.js", &[("if-none-match", "\"old\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(body, script::CLASSIC);
    let (_, module) = get(&h, "/chatkit-leads.mjs", &[]).await;
    assert_ne!(module, body, "two files");
}

#[tokio::test]
async fn any_origin_may_load_it_even_with_an_api_allow_list() {
    let h = Harness::with(|b| b.cors_origins([SHOP]));
    for origin in [SHOP, "https://other.example"] {
        let (response, _) = get(&h, "/chatkit-leads.mjs", &[("origin", origin)]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let allowed: Vec<_> = response
            .headers()
            .get_all("access-control-allow-origin")
            .iter()
            .collect();
        assert_eq!(allowed, ["*"], "exactly one header, for {origin}");
    }
}

#[tokio::test]
async fn it_can_be_turned_off() {
    let h = Harness::with(|b| b.browser_script(false));
    let (response, _) = get(&h, "/chatkit-leads.js", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn other_methods_are_405() {
    let h = Harness::new();
    let answer = h.post("/chatkit-leads.js", "x").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
}
