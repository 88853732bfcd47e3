use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::ports::{Summarizer, SummaryError};
use crate::summary::{LeadSummary, SummaryInput};

/// What a [`ScriptedSummarizer`] answers.
#[derive(Debug, Clone)]
pub enum SummaryScript {
    /// This summary, every time.
    Answer(Box<LeadSummary>),
    /// This error, every time.
    Fail(SummaryError),
    /// Never answers (to exercise the workflow's timeout).
    Hang,
}

/// A [`Summarizer`] that answers from a script and counts its calls.
pub struct ScriptedSummarizer {
    script: Mutex<SummaryScript>,
    calls: AtomicUsize,
    last_input: Mutex<Option<SummaryInput>>,
}

impl ScriptedSummarizer {
    /// A summarizer following `script`.
    pub fn new(script: SummaryScript) -> Self {
        Self {
            script: Mutex::new(script),
            calls: AtomicUsize::new(0),
            last_input: Mutex::new(None),
        }
    }

    /// Changes the script.
    pub fn set(&self, script: SummaryScript) {
        *self
            .script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = script;
    }

    /// How many times `summarize` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The input of the latest call.
    pub fn last_input(&self) -> Option<SummaryInput> {
        self.last_input
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Summarizer for ScriptedSummarizer {
    async fn summarize(&self, input: &SummaryInput) -> Result<LeadSummary, SummaryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self
            .last_input
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(input.clone());
        let script = self
            .script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match script {
            SummaryScript::Answer(summary) => {
                let summary = *summary;
                // Yield so concurrent triggers interleave as they would on a
                // real model call.
                tokio::task::yield_now().await;
                Ok(summary)
            }
            SummaryScript::Fail(error) => Err(error),
            SummaryScript::Hang => std::future::pending().await,
        }
    }
}
