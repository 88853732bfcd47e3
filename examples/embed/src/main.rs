//! Embedding chatkit-leads in an existing axum app.
//!
//! The shop already serves its own pages; the lead endpoints join them under
//! `/chat` (`/chat/session`, `/chat/lead`, `/chat/healthz`, `/chat/readyz`).
//! Everything here is ordinary wiring of the adapters — copy it and swap the
//! store or mailer for your own.
//!
//! ```sh
//! OPENAI_API_KEY=sk-… CHATKIT_WORKFLOW_ID=wf_… cargo run -p chatkit-leads-embed-example
//! ```
#![forbid(unsafe_code)]

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use chatkit_leads_axum::{CookieKey, LeadsRouter, UserIdentity};
use chatkit_leads_core::session::{SessionSettings, WorkflowId};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadWorkflow, Ports, ShopProfile, SystemClock,
};
use chatkit_leads_openai::{ApiKey, OpenAiClient, OpenAiConfig};
use chatkit_leads_outbox::OutboxMailer;
use chatkit_leads_sqlite::SqliteStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let key = std::env::var("OPENAI_API_KEY").context("OPENAI_API_KEY is required")?;
    let workflow_id =
        std::env::var("CHATKIT_WORKFLOW_ID").context("CHATKIT_WORKFLOW_ID is required")?;
    let app = app(&key, &workflow_id).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("shop app on http://127.0.0.1:3000 (leads under /chat)");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The shop's own app with the lead routes nested under `/chat`.
async fn app(api_key: &str, workflow_id: &str) -> anyhow::Result<Router> {
    // One OpenAI client serves both ports: ChatKit and the summary model.
    let openai = OpenAiClient::new(OpenAiConfig::new(ApiKey::new(api_key)))?;
    let ports = Ports {
        chatkit: openai.clone(),
        store: SqliteStore::connect("sqlite://shop-leads.db").await?,
        mailer: OutboxMailer::new("outbox"),
        summarizer: openai,
        clock: SystemClock,
    };
    let envelope = Envelope {
        from: EmailAddress::parse("leads@shop.example").context("from address")?,
        from_name: Some("My Shop".to_owned()),
        to: vec![EmailAddress::parse("owner@shop.example").context("to address")?],
    };
    let workflow = LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope))?;

    // Keep this key in your secrets store: it signs the visitor's user cookie.
    let cookie_key = CookieKey::new([7u8; 32])?;
    let leads = LeadsRouter::new(Arc::new(workflow))
        .sessions(SessionSettings::new(WorkflowId::parse(workflow_id)?))
        .cors_origins(["https://shop.example"])
        .identity(UserIdentity::signed_cookie(cookie_key))
        .build()?;

    Ok(Router::new()
        .route("/", get(|| async { "Welcome to My Shop" }))
        .nest("/chat", leads))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_shops_routes_and_the_nested_lead_routes_both_answer() {
        let dir = std::env::temp_dir().join(format!("embed-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::env::set_current_dir(&dir).expect("cd");
        let app = super::app("sk-test", "wf_test").await.expect("app");

        let home = app
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).expect("request"));
        assert_eq!(home.await.expect("response").status(), StatusCode::OK);

        let health = app.clone().oneshot(
            Request::get("/chat/healthz")
                .body(Body::empty())
                .expect("request"),
        );
        assert_eq!(health.await.expect("response").status(), StatusCode::OK);

        // Refused before any I/O, so no OpenAI call is attempted.
        let bad = Request::post("/chat/lead")
            .body(Body::from("{\"threadId\":\"nope\"}"))
            .expect("request");
        assert_eq!(
            app.oneshot(bad).await.expect("response").status(),
            StatusCode::BAD_REQUEST
        );
    }
}
