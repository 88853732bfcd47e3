//! The offline preview: sample threads bundled into the binary, served by
//! the core's in-memory ChatKit, so a newcomer sees a real lead email
//! without an OpenAI account.

use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::testkit::ScriptedChatKit;

/// `(thread.json, items.json)` of each bundled sample.
const SAMPLES: [(&str, &str); 6] = [
    (
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_en_truck_seats/thread.json"),
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_en_truck_seats/items.json"),
    ),
    (
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_es_boat_email/thread.json"),
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_es_boat_email/items.json"),
    ),
    (
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_quoted_multi/thread.json"),
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_quoted_multi/items.json"),
    ),
    (
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_hostile/thread.json"),
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_hostile/items.json"),
    ),
    (
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_no_contact/thread.json"),
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_no_contact/items.json"),
    ),
    (
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_empty/thread.json"),
        include_str!("../../../tests/fixtures/chatkit/cthr_fx_empty/items.json"),
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
