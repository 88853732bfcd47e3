//! What surrounds the routes: methods, unknown paths, CORS, request ids,
//! health probes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chatkit_leads_axum::{BuildError, CookieKey, SameSite, UserIdentity};
use chatkit_leads_core::testkit::StoreOp;

use crate::{Builder, Harness, fakes_and_builder, lead_body};

const SHOP: &str = "https://www.craigs.autos";

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/lead")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn wrong_method_is_405_with_json() {
    let h = Harness::new();
    for (method, path, allow) in [
        ("GET", "/lead", "POST"),
        ("PUT", "/session", "POST"),
        ("DELETE", "/healthz", "GET, HEAD"),
        ("POST", "/readyz", "GET, HEAD"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let answer = h.send(request).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(answer.json["error"].is_string(), "{method} {path}");
        assert_eq!(answer.header("allow"), Some(allow));
    }
}

#[tokio::test]
async fn unknown_path_is_404_with_json() {
    let h = Harness::new();
    let answer = h.get("/nope").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json["error"], "not found");
}

#[tokio::test]
async fn healthz_is_always_ok() {
    let h = Harness::new();
    h.store.fail_on(Some(StoreOp::Load));
    let answer = h.get("/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn readyz_is_ok_when_the_store_answers_and_503_when_it_fails() {
    let h = Harness::new();
    let ready = h.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json, serde_json::json!({"ok": true}));
    h.store.fail_on(Some(StoreOp::Load));
    let down = h.get("/readyz").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.json["error"], "lead store unavailable");
    assert!(h.store.is_empty(), "the probe writes nothing");
}

#[tokio::test]
async fn cors_preflight_from_an_allowed_origin_is_granted() {
    let h = Harness::with(|b| b.cors_origins([SHOP, "http://localhost:4321"]));
    let answer = h.send(preflight(SHOP)).await;
    assert!(answer.status.is_success());
    assert_eq!(answer.header("access-control-allow-origin"), Some(SHOP));
    let methods = answer.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST") && methods.contains("OPTIONS"));
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert!(answer.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn cors_preflight_from_another_origin_is_not_granted() {
    let h = Harness::with(|b| b.cors_origins([SHOP]));
    for origin in [
        "https://evil.example",
        "https://www.craigs.autos.evil.example",
    ] {
        let answer = h.send(preflight(origin)).await;
        assert!(
            answer.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
}

#[tokio::test]
async fn cors_headers_on_a_simple_post_follow_the_allow_list() {
    let h = Harness::with(|b| b.cors_origins([SHOP]));
    let request = |origin: &str| {
        Request::post("/lead")
            .header("origin", origin)
            .body(Body::from(lead_body("cthr_fx_empty", "idle")))
            .unwrap()
    };
    let allowed = h.send(request(SHOP)).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some(SHOP));
    let other = h.send(request("https://evil.example")).await;
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn no_origins_means_no_cors_headers() {
    let h = Harness::new();
    let answer = h.send(preflight(SHOP)).await;
    assert!(
        answer
            .headers
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        answer.headers
    );
}

#[tokio::test]
async fn cookie_mode_allows_credentials() {
    let key = CookieKey::new([9u8; 32]).unwrap();
    let h = Harness::with(|b| {
        b.cors_origins([SHOP])
            .identity(UserIdentity::signed_cookie(key))
    });
    let answer = h.send(preflight(SHOP)).await;
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let h = Harness::new();
    let given = Request::get("/healthz")
        .header("x-request-id", "req-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(given).await.header("x-request-id"), Some("req-123"));

    let generated = h.get("/healthz").await;
    let id = generated.header("x-request-id").unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let hostile = Request::get("/healthz")
        .header("x-request-id", "a b\tc")
        .body(Body::empty())
        .unwrap();
    let replaced = h.send(hostile).await;
    assert_ne!(replaced.header("x-request-id"), Some("a b\tc"));
    assert!(replaced.header("x-request-id").is_some());

    let on_errors = h.post("/lead", "{").await;
    assert!(on_errors.header("x-request-id").is_some());
}

#[test]
fn wildcard_and_malformed_origins_are_refused_at_build() {
    for origin in ["*", "null", "https://shop.example/path", "shop.example"] {
        let result = build_with(|b| b.cors_origins([origin]));
        assert!(
            matches!(result, Err(BuildError::InvalidOrigin(ref o)) if o == origin),
            "{origin}"
        );
    }
}

#[test]
fn a_zero_body_limit_and_bad_cookie_settings_are_refused_at_build() {
    assert!(matches!(
        build_with(|b| b.body_limit(0)),
        Err(BuildError::ZeroBodyLimit)
    ));
    let identity = UserIdentity::SignedCookie {
        key: CookieKey::new([1u8; 32]).unwrap(),
        cookie_name: "bad name".into(),
        secure: true,
        max_age: std::time::Duration::from_secs(60),
        same_site: SameSite::Lax,
    };
    assert!(matches!(
        build_with(|b| b.identity(identity)),
        Err(BuildError::Identity(_))
    ));
}

fn build_with(configure: impl FnOnce(Builder) -> Builder) -> Result<axum::Router, BuildError> {
    configure(fakes_and_builder().1).build()
}

#[tokio::test]
async fn nested_in_a_shop_app_it_keeps_its_routes_errors_and_layers() {
    let (_fakes, builder) = fakes_and_builder();
    let leads = builder.build().unwrap();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "shop home" }))
        .nest("/chat", leads);
    let send = |request: Request<Body>| {
        let app = app.clone();
        async move {
            use tower::ServiceExt as _;
            app.oneshot(request).await.unwrap()
        }
    };
    let lead = send(crate::post(
        "/chat/lead",
        lead_body("cthr_fx_empty", "idle"),
    ))
    .await;
    assert_eq!(lead.status(), StatusCode::OK);
    assert!(lead.headers().contains_key("x-request-id"));
    let missing = send(Request::get("/chat/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(missing.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&body[..], br#"{"error":"not found"}"#);
    let home = send(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(home.status(), StatusCode::OK);
}
