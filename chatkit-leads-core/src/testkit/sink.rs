use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::delivery::EventKind;
use crate::ports::{Sink, SinkError, SinkEvent};

/// A [`Sink`] that answers from a script (then `200`) and records every
/// event it was sent: (event id, kind, document).
pub struct RecordingSink {
    id: String,
    answers: Mutex<VecDeque<Result<u16, SinkError>>>,
    received: Mutex<Vec<(String, EventKind, String)>>,
}

impl RecordingSink {
    /// A sink with id `id` that answers `200`.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            answers: Mutex::new(VecDeque::new()),
            received: Mutex::new(Vec::new()),
        }
    }

    /// Answers these first, in order.
    pub fn answer(&self, answers: impl IntoIterator<Item = Result<u16, SinkError>>) {
        lock(&self.answers).extend(answers);
    }

    /// What it was sent, in order.
    pub fn received(&self) -> Vec<(String, EventKind, String)> {
        lock(&self.received).clone()
    }
}

#[async_trait]
impl Sink for RecordingSink {
    fn id(&self) -> &str {
        &self.id
    }

    async fn deliver(&self, event: &SinkEvent<'_>) -> Result<u16, SinkError> {
        lock(&self.received).push((event.id.to_owned(), event.kind, event.document.to_owned()));
        // Let simultaneous deliveries overlap as real requests would.
        tokio::task::yield_now().await;
        lock(&self.answers).pop_front().unwrap_or(Ok(200))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
