//! Benchmarks for chatkit-leads live in `benches/`; run them with
//! `cargo bench -p chatkit-leads-benches`. Results are in `docs/performance.md`.
//!
//! This library only holds the fixture loading the benches share.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use chatkit_leads_core::chatkit::{Thread, ThreadItem};

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A fixture thread and its items.
pub fn load_thread(id: &str) -> (Thread, Vec<ThreadItem>) {
    let dir = fixtures().join("chatkit").join(id);
    let read =
        |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{id}/{name}: {e}"));
    let thread =
        serde_json::from_slice(&read("thread.json")).unwrap_or_else(|e| panic!("{id}: {e}"));
    let items = serde_json::from_slice(&read("items.json")).unwrap_or_else(|e| panic!("{id}: {e}"));
    (thread, items)
}
