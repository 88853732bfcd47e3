#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use chatkit_leads_core::{Clock, EmailAddress, MailError, Mailer, OutgoingEmail, SystemClock};

/// A [`Mailer`] that writes each email as `.eml` + `.html` files into a
/// folder (see the [crate documentation](crate)).
///
/// Cloning is cheap; clones write into the same folder, and any number of
/// mailers (or processes) may share a folder.
#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMailer")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl OutboxMailer {
    /// A mailer writing into `dir`, which is created (with its parents) on
    /// the first send if it does not exist.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Takes the file names' time stamps from `clock` instead of the system
    /// clock (for tests and reproducible demos).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The folder emails are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `email` and returns the path of its `.eml` file (the `.html`
    /// preview has the same path with the other extension).
    ///
    /// # Errors
    /// [`MailError::Transport`] naming the path that failed (never the
    /// content) when the folder cannot be created or a file cannot be
    /// written.
    pub async fn write(&self, email: &OutgoingEmail) -> Result<PathBuf, MailError> {
        let job = write::Job {
            dir: self.dir.clone(),
            stamp: self.clock.now(),
            short_id: write::short_id(&email.message_id),
            mime: email.mime.clone(),
            html: preview_html(email),
        };
        tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|_| MailError::Transport("outbox: the writer task failed".to_owned()))?
    }
}

/// The HTML part with every inline image's `cid:` link replaced by the
/// image itself, so the preview shows what a mail client shows.
fn preview_html(email: &OutgoingEmail) -> String {
    let mut html = email.html.clone();
    for image in &email.inline {
        let data = format!(
            "data:{};base64,{}",
            image.content_type,
            BASE64_STANDARD.encode(&image.bytes)
        );
        html = html.replace(&format!("\"cid:{}\"", image.cid), &format!("\"{data}\""));
    }
    html
}

#[async_trait]
impl Mailer for OutboxMailer {
    /// Writes the email to the outbox and returns its `message_id`.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let path = self.write(email).await?;
        tracing::info!(file = %path.display(), "lead email written to the outbox");
        Ok(email.message_id.clone())
    }

    /// Creates the folder if needed and writes and removes a probe file.
    async fn check(&self, _from: &EmailAddress) -> Result<(), MailError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write::probe(&dir))
            .await
            .map_err(|_| MailError::Transport("outbox: the writer task failed".to_owned()))?
    }
}
