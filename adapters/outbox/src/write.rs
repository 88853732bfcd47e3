//! The blocking part: temporary files, fsync, and publishing without ever
//! replacing an existing file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chatkit_leads_core::MailError;
use chrono::{DateTime, Utc};

/// Longest `<short id>` in a file name.
const SHORT_ID_CHARS: usize = 12;

/// How many `-2`, `-3`, … suffixes to try before giving up.
const MAX_NAME_ATTEMPTS: u32 = 1000;

/// Makes temporary names unique within the process (the process id makes
/// them unique across processes).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Up to [`SHORT_ID_CHARS`] ASCII letters and digits from the local part of
/// the message id; `msg` when there are none. Never anything else, so the
/// result is safe in a file name on every platform.
pub(crate) fn short_id(message_id: &str) -> String {
    let local = message_id.split('@').next().unwrap_or(message_id);
    let short: String = local
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(SHORT_ID_CHARS)
        .collect();
    if short.is_empty() {
        "msg".to_owned()
    } else {
        short
    }
}

/// Whether emails can be written to `dir`: creates it, then writes, flushes
/// and removes a hidden probe file.
pub(crate) fn probe(dir: &Path) -> Result<(), MailError> {
    fs::create_dir_all(dir).map_err(|e| failed("create the folder", dir, &e))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".check-{}-{n}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut file| file.write_all(b"check").and_then(|()| file.sync_all()));
    remove_quietly(&path);
    written.map_err(|e| failed("write", &path, &e))
}

/// One email to write.
pub(crate) struct Job {
    pub(crate) dir: PathBuf,
    pub(crate) stamp: DateTime<Utc>,
    pub(crate) short_id: String,
    pub(crate) mime: Vec<u8>,
    pub(crate) html: String,
}

impl Job {
    /// Writes both files and returns the `.eml` path.
    pub(crate) fn run(self) -> Result<PathBuf, MailError> {
        fs::create_dir_all(&self.dir).map_err(|e| failed("create the folder", &self.dir, &e))?;
        let base = format!(
            "{}-{}",
            self.stamp.format("%Y%m%dT%H%M%S%.6fZ"),
            self.short_id
        );
        let html_tmp = self.temp_file(&base, "html", self.html.as_bytes())?;
        let eml_tmp = match self.temp_file(&base, "eml", &self.mime) {
            Ok(path) => path,
            Err(e) => {
                remove_quietly(&html_tmp);
                return Err(e);
            }
        };
        let published = self.publish_pair(&base, &html_tmp, &eml_tmp);
        remove_quietly(&html_tmp);
        remove_quietly(&eml_tmp);
        let eml = published?;
        sync_dir(&self.dir).map_err(|e| failed("sync the folder", &self.dir, &e))?;
        Ok(eml)
    }

    /// Writes `bytes` to a new hidden file `.<base>-<pid>-<n>.<ext>.tmp` and
    /// flushes it to disk.
    fn temp_file(&self, base: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf, MailError> {
        loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = self
                .dir
                .join(format!(".{base}-{}-{n}.{ext}.tmp", std::process::id()));
            let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => file,
                // Left over from a crashed process that had the same pid.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(failed("create", &path, &e)),
            };
            let written = file.write_all(bytes).and_then(|()| file.sync_all());
            return match written {
                Ok(()) => Ok(path),
                Err(e) => {
                    drop(file);
                    remove_quietly(&path);
                    Err(failed("write", &path, &e))
                }
            };
        }
    }

    /// Publishes the preview, then the message, under the first free name
    /// `<base>`, `<base>-2`, `<base>-3`, ….
    fn publish_pair(
        &self,
        base: &str,
        html_tmp: &Path,
        eml_tmp: &Path,
    ) -> Result<PathBuf, MailError> {
        for attempt in 1..=MAX_NAME_ATTEMPTS {
            let stem = if attempt == 1 {
                base.to_owned()
            } else {
                format!("{base}-{attempt}")
            };
            let html = self.dir.join(format!("{stem}.html"));
            let eml = self.dir.join(format!("{stem}.eml"));
            let preview = publish(html_tmp, &html).map_err(|e| failed("publish", &html, &e))?;
            if preview == Published::Taken {
                continue;
            }
            match publish(eml_tmp, &eml) {
                Ok(Published::Taken) => {
                    // Only the .eml name is taken: take our preview back and
                    // try the next name, so the pair stays together.
                    unpublish(preview, html_tmp, &html)?;
                }
                Ok(_) => return Ok(eml),
                Err(e) => {
                    remove_quietly(&html);
                    return Err(failed("publish", &eml, &e));
                }
            }
        }
        Err(MailError::Transport(format!(
            "outbox: no free file name for {base} in {}",
            self.dir.display()
        )))
    }
}

/// How [`publish`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Published {
    /// Hard-linked: the temporary file still exists.
    Linked,
    /// Renamed (file systems without hard links): the temporary file is gone.
    Moved,
    /// The name exists; nothing changed.
    Taken,
}

/// Makes the fully written `tmp` visible as `target` unless `target` exists.
///
/// A hard link never replaces its target, so publishing is atomic and
/// cannot overwrite even when another writer picks the same name at the same
/// instant. File systems without hard links fall back to an existence check
/// and an (atomic) rename.
fn publish(tmp: &Path, target: &Path) -> io::Result<Published> {
    match fs::hard_link(tmp, target) {
        Ok(()) => Ok(Published::Linked),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Published::Taken),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
            ) =>
        {
            if target.try_exists()? {
                return Ok(Published::Taken);
            }
            fs::rename(tmp, target)?;
            Ok(Published::Moved)
        }
        Err(e) => Err(e),
    }
}

/// Undoes a [`publish`] so `tmp` can be published under another name.
fn unpublish(how: Published, tmp: &Path, target: &Path) -> Result<(), MailError> {
    let undone = match how {
        Published::Linked => fs::remove_file(target),
        Published::Moved => fs::rename(target, tmp),
        Published::Taken => Ok(()),
    };
    undone.map_err(|e| failed("withdraw", target, &e))
}

/// Flushes the folder's entries so the new names survive a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Folders cannot be opened for syncing on this platform.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(file = %path.display(), error = %e, "outbox: could not remove a file");
    }
}

/// A transport error naming the operation, the path and the OS error —
/// never the email's content.
fn failed(op: &str, path: &Path, err: &io::Error) -> MailError {
    MailError::Transport(format!("outbox: could not {op} {}: {err}", path.display()))
}
