//! The workflow's photo step: fetching the photos among a transcript's
//! attachments within the time budget, checking and capping them
//! ([`crate::photos`] holds the rules), and fitting the message under the
//! mail provider's size limit.

use std::time::Duration;

use futures::future::{self, Either};
use tracing::warn;

use crate::email::OutgoingEmail;
use crate::photos::{Declared, ImageKind, Photo, Photos, SkippedPhoto, declared, megabytes};
use crate::ports::{ChatKitClient, Clock, LeadStore, Mailer, PhotoError, Summarizer};
use crate::text::single_line;
use crate::transcript::{SharedFile, Transcript};
use crate::workflow::LeadWorkflow;

impl<C, S, M, Z, K> LeadWorkflow<C, S, M, Z, K>
where
    C: ChatKitClient,
    S: LeadStore,
    M: Mailer,
    Z: Summarizer,
    K: Clock,
{
    /// The photos among `transcript`'s attachments, fetched at the same
    /// time within the policy's time budget, checked and capped. Nothing
    /// without a [`PhotoFetcher`] (see [`LeadWorkflow::with_photos`]).
    pub(crate) async fn fetch_photos(&self, transcript: &Transcript) -> Photos {
        let Some(fetcher) = self.photo_fetcher() else {
            return Photos::default();
        };
        let policy = self.config().photos;
        let mut photos = Photos::default();
        let mut wanted = Vec::new();
        for file in &transcript.attachments {
            let why = match declared(file) {
                Declared::NotAnImage => continue,
                Declared::Unsupported => format!(
                    "{} images are not embedded (JPEG, PNG, WebP or GIF only)",
                    kind_label(file)
                ),
                Declared::Photo if wanted.len() == policy.max_photos => {
                    format!("over the limit of {} photos per email", policy.max_photos)
                }
                Declared::Photo => {
                    wanted.push(file);
                    continue;
                }
            };
            photos.skipped.push(skip(file, why));
        }
        let max_bytes = policy.max_photo_bytes.min(policy.max_total_bytes);
        // Never longer than the model may take (shorter than the lease):
        // photos run beside the summary and never hold a lease past it.
        let timeout = policy.fetch_timeout().min(self.config().summary_timeout);
        let fetches = wanted.iter().map(|file| async move {
            let fetch = fetcher.fetch(&file.url, max_bytes);
            let expired = self.ports().clock.sleep(timeout);
            match future::select(Box::pin(fetch), Box::pin(expired)).await {
                Either::Left((Ok(bytes), _)) => Ok(bytes),
                Either::Left((Err(err), _)) => Err(fetch_failure(&err, max_bytes)),
                Either::Right(((), _)) => Err(format!(
                    "no answer within {}; the link may still work",
                    duration(timeout)
                )),
            }
        });
        let fetched = future::join_all(fetches).await;

        let mut total = 0;
        for (file, result) in wanted.into_iter().zip(fetched) {
            let checked = result.and_then(|bytes| {
                let kind = ImageKind::sniff(&bytes).ok_or_else(|| {
                    format!(
                        "the file is not a JPEG, PNG, WebP or GIF image (it was labelled {})",
                        kind_label(file)
                    )
                })?;
                if total + bytes.len() > policy.max_total_bytes {
                    return Err(format!(
                        "over the {} of photos per email",
                        megabytes(policy.max_total_bytes)
                    ));
                }
                Ok((kind, bytes))
            });
            match checked {
                Ok((kind, bytes)) => {
                    total += bytes.len();
                    let number = photos.attached.len() + 1;
                    photos.attached.push(Photo {
                        name: file.name.clone(),
                        url: file.url.clone(),
                        kind,
                        size: imagesize::blob_size(&bytes).ok().and_then(|size| {
                            Some((
                                u32::try_from(size.width).ok()?,
                                u32::try_from(size.height).ok()?,
                            ))
                        }),
                        bytes,
                        cid: format!("photo{number}@chatkit-leads"),
                    });
                }
                Err(why) => photos.skipped.push(skip(file, why)),
            }
        }
        if !photos.skipped.is_empty() {
            warn!(
                attached = photos.attached.len(),
                skipped = photos.skipped.len(),
                "some photos are not attached; the email links them"
            );
        }
        photos
    }

    /// The message `build` makes, with photos left out (largest first, the
    /// reason said in the email) until it fits the mailer's size limit.
    pub(crate) fn fit(
        &self,
        photos: &mut Photos,
        build: impl Fn(&Photos) -> OutgoingEmail,
    ) -> OutgoingEmail {
        loop {
            let message = build(photos);
            let Some(limit) = self.ports().mailer.max_message_bytes() else {
                return message;
            };
            let why = format!(
                "left out: the email would be larger than the mail provider's limit of {}",
                megabytes(limit)
            );
            if message.mime.len() <= limit || !photos.leave_out_largest(&why) {
                return message;
            }
        }
    }
}

fn skip(file: &SharedFile, why: String) -> SkippedPhoto {
    SkippedPhoto {
        name: file.name.clone(),
        url: file.url.clone(),
        why,
    }
}

/// The declared type for a note: `image/heic`, else the extension, else
/// "no type".
fn kind_label(file: &SharedFile) -> String {
    let mime = single_line(&file.mime_type);
    if !mime.is_empty() {
        return mime;
    }
    file.name.rsplit_once('.').map_or_else(
        || "no type".to_owned(),
        |(_, ext)| single_line(ext).to_uppercase(),
    )
}

/// `10 s`, `500 ms`.
fn duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A fetch failure as the shop reads it.
fn fetch_failure(err: &PhotoError, max_bytes: usize) -> String {
    match err {
        PhotoError::TooLarge(_) => format!("larger than {}", megabytes(max_bytes)),
        PhotoError::Status(404 | 410) => {
            "the file is gone (the link expired or was removed)".to_owned()
        }
        other => other.to_string(),
    }
}
