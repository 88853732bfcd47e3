//! The fixture files the fake serves, loaded once at start.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use hyper::body::Bytes;
use serde_json::{Value, json};

/// One ChatKit thread and its items, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct FixtureThread {
    pub(crate) thread: Value,
    pub(crate) items: Vec<Value>,
}

impl FixtureThread {
    pub(crate) fn created_at(&self) -> i64 {
        self.thread["created_at"].as_i64().unwrap_or(0)
    }

    pub(crate) fn user(&self) -> Option<&str> {
        self.thread["user"].as_str()
    }

    /// A copy served as thread `id` of `user`, every time shifted by the
    /// same amount so that the newest item was written at `newest_at`.
    pub(crate) fn copy_as(&self, id: &str, user: &str, newest_at: i64) -> Self {
        let newest = self
            .items
            .iter()
            .filter_map(|item| item["created_at"].as_i64())
            .chain([self.created_at()])
            .max()
            .unwrap_or(0);
        let shift = newest_at - newest;
        let moved = |value: &Value| json!(value.as_i64().unwrap_or(0) + shift);
        let mut thread = self.thread.clone();
        thread["id"] = json!(id);
        thread["user"] = json!(user);
        thread["created_at"] = moved(&thread["created_at"]);
        let items = self
            .items
            .iter()
            .map(|item| {
                let mut item = item.clone();
                item["thread_id"] = json!(id);
                item["created_at"] = moved(&item["created_at"]);
                item
            })
            .collect();
        Self { thread, items }
    }
}

/// Threads by id.
pub(crate) type Threads = BTreeMap<String, FixtureThread>;

/// Everything under the fixtures directory.
#[derive(Debug, Clone)]
pub(crate) struct Fixtures {
    /// By thread id.
    pub(crate) threads: Threads,
    /// `openai/*.json` by file name.
    pub(crate) openai: BTreeMap<String, OpenAiFixture>,
}

/// An `openai/*.json` file: parsed, and as stored (served verbatim).
#[derive(Debug, Clone)]
pub(crate) struct OpenAiFixture {
    pub(crate) json: Value,
    pub(crate) raw: Bytes,
}

impl Fixtures {
    /// Loads `<dir>/chatkit/*/thread.json` (+ `items.json`) and
    /// `<dir>/openai/*.json`. A fixture that is not valid JSON is an error:
    /// a test should not silently run against less data than it thinks.
    pub(crate) fn load(dir: &Path) -> io::Result<Self> {
        let mut threads = BTreeMap::new();
        for entry in sorted_entries(&dir.join("chatkit"))? {
            let thread_file = entry.join("thread.json");
            if !thread_file.is_file() {
                continue;
            }
            let thread = read_json(&thread_file)?;
            let items_file = entry.join("items.json");
            let items = if items_file.is_file() {
                match read_json(&items_file)? {
                    Value::Array(items) => items,
                    // Also accept a stored list page.
                    Value::Object(mut page) => match page.remove("data") {
                        Some(Value::Array(items)) => items,
                        _ => return Err(invalid(&items_file, "expected an array of items")),
                    },
                    _ => return Err(invalid(&items_file, "expected an array of items")),
                }
            } else {
                Vec::new()
            };
            let id = match thread["id"].as_str() {
                Some(id) => id.to_owned(),
                None => entry
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| invalid(&thread_file, "thread without id"))?,
            };
            threads.insert(id, FixtureThread { thread, items });
        }

        let mut openai = BTreeMap::new();
        for path in sorted_entries(&dir.join("openai"))? {
            let is_json = path.extension().is_some_and(|e| e == "json");
            if !is_json || !path.is_file() {
                continue;
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let raw = read(&path)?;
            let json = parse(&path, &raw)?;
            openai.insert(
                name,
                OpenAiFixture {
                    json,
                    raw: Bytes::from(raw),
                },
            );
        }
        Ok(Self { threads, openai })
    }
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = std::fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn parse(path: &Path, bytes: &[u8]) -> io::Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| invalid(path, &e.to_string()))
}

fn read_json(path: &Path) -> io::Result<Value> {
    parse(path, &read(path)?)
}

fn invalid(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {why}", path.display()),
    )
}
