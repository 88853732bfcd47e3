//! # chatkit-leads-outbox
//!
//! A [`Mailer`] that sends nothing: it writes every lead email into a local
//! folder, for development, demos and shops that collect leads from disk.
//!
//! Each [`OutgoingEmail`] becomes two files sharing one name:
//!
//! - `<stamp>-<short id>.eml` — the raw RFC 5322 message
//!   ([`OutgoingEmail::mime`]), openable in any mail client;
//! - `<stamp>-<short id>.html` — the HTML part ([`OutgoingEmail::html`]) as a
//!   preview for a browser, self-contained: the photos the email carries
//!   inline (`cid:` links, which a browser cannot follow) are written into
//!   it as `data:` images.
//!
//! `<stamp>` is the UTC time (`20261103T142501.123456Z`) and `<short id>` up
//! to 12 ASCII letters and digits of the message id (`msg` if it has none),
//! so names sort by time and never contain anything a hostile message id
//! could smuggle in (`/`, `..`, control characters). If the name is taken,
//! `-2`, `-3`, … is appended: a file is never overwritten.
//!
//! Writes are atomic: both files are written to hidden temporary files
//! (`.<name>.tmp`) in the same folder and flushed to disk, then linked into
//! place, the `.html` first and the `.eml` last, so a reader that sees an
//! `.eml` also sees its preview and never sees a partial file. The folder is
//! created when missing.
//!
//! ```
//! use chatkit_leads_core::email::{build, Envelope, RenderedEmail};
//! use chatkit_leads_core::{EmailAddress, Mailer};
//! use chatkit_leads_outbox::OutboxMailer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let outbox_dir = dir.path().join("outbox");
//! let mailer = OutboxMailer::new(&outbox_dir);
//!
//! let rendered = RenderedEmail {
//!     subject: "New chat lead".to_owned(),
//!     text: "Hello".to_owned(),
//!     html: "<p>Hello</p>".to_owned(),
//! };
//! let envelope = Envelope {
//!     from: EmailAddress::parse("leads@shop.example").ok_or("address")?,
//!     from_name: Some("The Shop".to_owned()),
//!     to: vec![EmailAddress::parse("owner@shop.example").ok_or("address")?],
//! };
//! let email = build(&rendered, &envelope, None, &Default::default());
//!
//! let message_id = mailer.send(&email).await?;
//! assert_eq!(message_id, email.message_id);
//! assert_eq!(std::fs::read_dir(&outbox_dir)?.count(), 2); // .eml + .html
//! # Ok(())
//! # }
//! ```
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
