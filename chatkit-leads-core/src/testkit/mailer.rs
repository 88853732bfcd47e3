use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::email::OutgoingEmail;
use crate::ports::{MailError, Mailer};

#[derive(Default)]
struct State {
    sent: Vec<OutgoingEmail>,
    failures: VecDeque<MailError>,
    max_message_bytes: Option<usize>,
}

/// A [`Mailer`] that keeps every message it is given. Queued failures are
/// returned first, one per call.
#[derive(Default)]
pub struct RecordingMailer {
    state: Mutex<State>,
}

impl RecordingMailer {
    /// A mailer that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next send fail with `error`.
    pub fn fail_next(&self, error: MailError) {
        self.lock().failures.push_back(error);
    }

    /// Reports `bytes` as the provider's size limit (and refuses larger
    /// messages, as SES does).
    pub fn limit_message_bytes(&self, bytes: Option<usize>) {
        self.lock().max_message_bytes = bytes;
    }

    /// The messages accepted so far.
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.lock().sent.clone()
    }

    /// How many messages were accepted.
    pub fn sent_count(&self) -> usize {
        self.lock().sent.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let mut state = self.lock();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        if state
            .max_message_bytes
            .is_some_and(|max| email.mime.len() > max)
        {
            return Err(MailError::Rejected("message too large".to_owned()));
        }
        state.sent.push(email.clone());
        Ok(email.message_id.clone())
    }

    fn max_message_bytes(&self) -> Option<usize> {
        self.lock().max_message_bytes
    }
}
