//! The offline preview: sample threads bundled into the binary, served by
//! the core's in-memory ChatKit, so a newcomer sees a real lead email
//! without an OpenAI account.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::testkit::ScriptedChatKit;

/// The demo page: a stand-in ChatKit element wired to the served
/// `chatkit-leads.js`, the wiring a shop copies.
const DEMO_PAGE: &str = include_str!("../assets/demo.html");
/// The stand-in `<openai-chatkit>` element (also used by the browser tests).
const STAND_IN: &str = include_str!("../assets/stand-in.js");

/// `(thread.json, items.json)` of each bundled sample.
const SAMPLES: [(&str, &str); 6] = [
    (
        include_str!("../samples/cthr_fx_en_truck_seats/thread.json"),
        include_str!("../samples/cthr_fx_en_truck_seats/items.json"),
    ),
    (
        include_str!("../samples/cthr_fx_es_boat_email/thread.json"),
        include_str!("../samples/cthr_fx_es_boat_email/items.json"),
    ),
    (
        include_str!("../samples/cthr_fx_quoted_multi/thread.json"),
        include_str!("../samples/cthr_fx_quoted_multi/items.json"),
    ),
    (
        include_str!("../samples/cthr_fx_hostile/thread.json"),
        include_str!("../samples/cthr_fx_hostile/items.json"),
    ),
    (
        include_str!("../samples/cthr_fx_no_contact/thread.json"),
        include_str!("../samples/cthr_fx_no_contact/items.json"),
    ),
    (
        include_str!("../samples/cthr_fx_empty/thread.json"),
        include_str!("../samples/cthr_fx_empty/items.json"),
    ),
];

/// A ChatKit that knows only the bundled sample threads.
pub fn sample_chatkit() -> anyhow::Result<ScriptedChatKit> {
    let chatkit = ScriptedChatKit::new();
    for (thread, items) in SAMPLES {
        let thread: Thread = serde_json::from_str(thread)?;
        let items: Vec<ThreadItem> = serde_json::from_str(items)?;
        chatkit.add_thread(thread, items);
    }
    Ok(chatkit)
}

/// The ids of the bundled samples, for the start-up banner.
pub fn sample_ids() -> Vec<String> {
    SAMPLES
        .iter()
        .filter_map(|(thread, _)| serde_json::from_str::<Thread>(thread).ok())
        .map(|t| t.id.to_string())
        .collect()
}

/// `GET /demo` and the stand-in element it uses. The page lists the sample
/// threads; their ids are `[A-Za-z0-9_-]`, safe in HTML as they are.
pub fn demo_routes() -> Router {
    let options: String = sample_ids()
        .iter()
        .map(|id| format!("<option value=\"{id}\">{id}</option>"))
        .collect();
    let page = DEMO_PAGE.replace("{{SAMPLES}}", &options);
    Router::new()
        .route(
            "/demo",
            get(move || async move { ([(CONTENT_TYPE, "text/html; charset=utf-8")], page) }),
        )
        .route(
            "/demo/stand-in.js",
            get(|| async { ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], STAND_IN) }),
        )
}
