use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::chatkit::{CreateSession, Order, Page, PageRequest, Session, Thread, ThreadItem};
use crate::ids::{ThreadId, UserId};
use crate::ports::{ChatKitClient, ChatKitError};

/// One call a [`ScriptedChatKit`] received.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatKitCall {
    /// `create_session` with its body.
    CreateSession(Box<CreateSession>),
    /// `retrieve_thread`.
    RetrieveThread(ThreadId),
    /// `list_items` with its cursor.
    ListItems(ThreadId, Option<String>),
    /// `list_threads`.
    ListThreads(UserId),
}

/// An in-memory ChatKit: threads and items served with real cursor paging
/// (`order`, `limit`, `after`, `has_more`, `last_id`), calls recorded.
#[derive(Default)]
pub struct ScriptedChatKit {
    threads: Mutex<HashMap<ThreadId, (Thread, Vec<ThreadItem>)>>,
    calls: Mutex<Vec<ChatKitCall>>,
    failure: Mutex<Option<ChatKitError>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl ScriptedChatKit {
    /// An empty ChatKit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `<dir>/<thread>/{thread.json,items.json}` fixture.
    pub fn from_fixture_dir(dir: &Path) -> std::io::Result<Self> {
        let kit = Self::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if !path.join("thread.json").is_file() {
                continue;
            }
            let thread: Thread = read_json(&path.join("thread.json"))?;
            let items: Vec<ThreadItem> = read_json(&path.join("items.json"))?;
            kit.add_thread(thread, items);
        }
        Ok(kit)
    }

    /// Adds or replaces a thread.
    pub fn add_thread(&self, thread: Thread, items: Vec<ThreadItem>) {
        lock(&self.threads).insert(thread.id.clone(), (thread, items));
    }

    /// Appends items to a thread (the chat goes on); `false` when there
    /// is no such thread.
    pub fn push_items(&self, thread_id: &ThreadId, items: Vec<ThreadItem>) -> bool {
        let mut threads = lock(&self.threads);
        let Some((_, existing)) = threads.get_mut(thread_id) else {
            return false;
        };
        existing.extend(items);
        true
    }

    /// Makes every call fail with `error` (`None` to stop).
    pub fn fail_with(&self, error: Option<ChatKitError>) {
        *lock(&self.failure) = error;
    }

    /// The calls received so far.
    pub fn calls(&self) -> Vec<ChatKitCall> {
        lock(&self.calls).clone()
    }

    /// The most calls that were running at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Records a call, fails it if scripted to, and yields twice so calls
    /// issued together overlap as real HTTP calls would.
    async fn enter(&self, call: ChatKitCall) -> Result<InFlight<'_>, ChatKitError> {
        lock(&self.calls).push(call);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        match lock(&self.failure).clone() {
            Some(error) => Err(error),
            None => Ok(guard),
        }
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Applies ChatKit's cursor semantics to an ordered list.
fn paginate<T: Clone>(entries: &[T], id_of: impl Fn(&T) -> &str, page: &PageRequest) -> Page<T> {
    let mut ordered: Vec<&T> = entries.iter().collect();
    if page.order == Order::Desc {
        ordered.reverse();
    }
    let start = match &page.after {
        Some(after) => ordered
            .iter()
            .position(|e| id_of(e) == after)
            .map_or(ordered.len(), |i| i + 1),
        None => 0,
    };
    let limit = usize::try_from(page.limit.max(1)).unwrap_or(usize::MAX);
    let data: Vec<T> = ordered
        .iter()
        .skip(start)
        .take(limit)
        .map(|e| (*e).clone())
        .collect();
    Page {
        has_more: start + data.len() < ordered.len(),
        last_id: data.last().map(|e| id_of(e).to_owned()),
        data,
    }
}

#[async_trait]
impl ChatKitClient for ScriptedChatKit {
    async fn create_session(&self, request: &CreateSession) -> Result<Session, ChatKitError> {
        let _call = self
            .enter(ChatKitCall::CreateSession(Box::new(request.clone())))
            .await?;
        let n = lock(&self.calls).len();
        Ok(Session {
            id: Some(format!("cksess_test_{n}")),
            client_secret: format!("ek_test_secret_{n}"),
            expires_at: 1_767_305_400,
        })
    }

    async fn retrieve_thread(&self, thread_id: &ThreadId) -> Result<Thread, ChatKitError> {
        let _call = self
            .enter(ChatKitCall::RetrieveThread(thread_id.clone()))
            .await?;
        lock(&self.threads)
            .get(thread_id)
            .map(|(thread, _)| thread.clone())
            .ok_or(ChatKitError::NotFound)
    }

    async fn list_items(
        &self,
        thread_id: &ThreadId,
        page: &PageRequest,
    ) -> Result<Page<ThreadItem>, ChatKitError> {
        let _call = self
            .enter(ChatKitCall::ListItems(
                thread_id.clone(),
                page.after.clone(),
            ))
            .await?;
        let threads = lock(&self.threads);
        let (_, items) = threads.get(thread_id).ok_or(ChatKitError::NotFound)?;
        Ok(paginate(items, |i| i.id.as_str(), page))
    }

    async fn list_threads(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Thread>, ChatKitError> {
        let _call = self.enter(ChatKitCall::ListThreads(user.clone())).await?;
        let mut owned: Vec<Thread> = lock(&self.threads)
            .values()
            .filter(|(t, _)| t.user.as_deref() == Some(user.as_str()))
            .map(|(t, _)| t.clone())
            .collect();
        owned.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(paginate(&owned, |t| t.id.as_str(), page))
    }
}
