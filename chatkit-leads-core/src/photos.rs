//! Customer photos inside the lead email.
//!
//! ChatKit's file links expire, so a shop that opens a lead a day later sees
//! nothing. At send time the workflow fetches the customer's images through
//! a [`crate::PhotoFetcher`] (the adapter keeps the fetch SSRF-safe) and the
//! email carries them inline (`cid:`), each with its original link as a
//! fallback. What is left out, and why, is said in the email: an image type
//! the email does not embed, too many photos, too large, over the total,
//! content that is not an image whatever its header said, a failed or slow
//! fetch. A photo never blocks a lead: after the time budget the email goes
//! out with links instead.
//!
//! The type of a fetched file is decided from its first bytes
//! ([`ImageKind::sniff`], the `imagesize` crate), never from the name or
//! the `Content-Type` the server sent.

use std::fmt;
use std::time::Duration;

use crate::transcript::SharedFile;

/// How many photos, how large, and how long to wait for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoPolicy {
    /// Most photos attached to one email (default 4).
    pub max_photos: usize,
    /// Largest photo attached, in bytes (default 5 MB).
    pub max_photo_bytes: usize,
    /// Most bytes of photos in one email (default 12 MB).
    pub max_total_bytes: usize,
    /// How long one photo may take (default 10 s). Photos are fetched at
    /// the same time, and alongside the summary.
    pub photo_timeout: Duration,
    /// How long all photos together may take (default 15 s): the most a
    /// lead is delayed by its photos. The workflow never waits longer than
    /// its summary timeout, which is shorter than the lease.
    pub total_timeout: Duration,
}

impl Default for PhotoPolicy {
    fn default() -> Self {
        Self {
            max_photos: 4,
            max_photo_bytes: 5_000_000,
            max_total_bytes: 12_000_000,
            photo_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(15),
        }
    }
}

impl PhotoPolicy {
    /// `max_photos` photos of at most `max_photo_bytes`, `max_total_bytes`
    /// together, all of them within `budget` (each photo within the default
    /// 10 s, or the budget when shorter): how operators set it.
    pub fn limits(
        max_photos: usize,
        max_photo_bytes: usize,
        max_total_bytes: usize,
        budget: Duration,
    ) -> Self {
        Self {
            max_photos,
            max_photo_bytes,
            max_total_bytes,
            photo_timeout: Self::default().photo_timeout.min(budget),
            total_timeout: budget,
        }
    }

    /// The time one fetch may take: fetches run at the same time, so the
    /// total budget bounds each of them too.
    pub fn fetch_timeout(&self) -> Duration {
        self.photo_timeout.min(self.total_timeout)
    }
}

/// The image types an email carries inline: what every mail client shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP.
    Webp,
    /// GIF.
    Gif,
}

impl ImageKind {
    /// The type of `bytes` from their signature, or `None` when they are not
    /// one of the four (an HTML page served as `image/jpeg`, an SVG, HEIC).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match imagesize::image_type(bytes).ok()? {
            imagesize::ImageType::Jpeg => Some(Self::Jpeg),
            imagesize::ImageType::Png => Some(Self::Png),
            imagesize::ImageType::Webp => Some(Self::Webp),
            imagesize::ImageType::Gif => Some(Self::Gif),
            #[allow(unreachable_patterns)] // other types exist with other crate features
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }
}

/// A photo fetched and checked, ready to go inline.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    /// The file name the customer uploaded (untrusted, single line).
    pub name: String,
    /// The original link (kept in the email as a fallback).
    pub url: String,
    /// The sniffed type.
    pub kind: ImageKind,
    /// Width and height in pixels, when the header says.
    pub size: Option<(u32, u32)>,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The `Content-ID` the HTML refers to (`cid:` + this), unique in the
    /// message.
    pub cid: String,
}

// Photos are customer data: only their shape is printable.
impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Photo")
            .field("kind", &self.kind)
            .field("bytes", &self.bytes.len())
            .field("cid", &self.cid)
            .finish_non_exhaustive()
    }
}

/// A photo the email does not carry, and why.
#[derive(Clone, PartialEq, Eq)]
pub struct SkippedPhoto {
    /// The file name (untrusted, single line).
    pub name: String,
    /// The original link, still in the email.
    pub url: String,
    /// Why, for the shop: "larger than 5 MB", "the server answered 404", …
    pub why: String,
}

impl fmt::Debug for SkippedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkippedPhoto")
            .field("why", &self.why)
            .finish_non_exhaustive()
    }
}

/// The photos of one email: attached, and left out with a reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Photos {
    /// Attached inline, in the order the customer sent them.
    pub attached: Vec<Photo>,
    /// Left out, with the reason.
    pub skipped: Vec<SkippedPhoto>,
}

impl Photos {
    /// The attached photo fetched from `url`, if any.
    pub fn attached_from(&self, url: &str) -> Option<&Photo> {
        self.attached.iter().find(|photo| photo.url == url)
    }

    /// Why the photo at `url` is not attached, if it was left out.
    pub fn skipped_reason(&self, url: &str) -> Option<&str> {
        self.skipped
            .iter()
            .find(|skipped| skipped.url == url)
            .map(|skipped| skipped.why.as_str())
    }

    /// Bytes of all attached photos.
    pub fn total_bytes(&self) -> usize {
        self.attached.iter().map(|photo| photo.bytes.len()).sum()
    }

    /// Leaves out the largest attached photo, saying `why`; false when
    /// none is attached.
    pub(crate) fn leave_out_largest(&mut self, why: &str) -> bool {
        let Some((at, _)) = self
            .attached
            .iter()
            .enumerate()
            .max_by_key(|(_, photo)| photo.bytes.len())
        else {
            return false;
        };
        let photo = self.attached.remove(at);
        self.skipped.push(SkippedPhoto {
            name: photo.name,
            url: photo.url,
            why: why.to_owned(),
        });
        true
    }
}

/// What an attachment is, from what the customer's upload declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// Not an image (a PDF, a document): a link, never fetched.
    NotAnImage,
    /// An image type the email does not embed (HEIC, TIFF, SVG, …).
    Unsupported,
    /// A JPEG, PNG, WebP or GIF by its type or name: fetched, then sniffed.
    Photo,
}

/// Classifies `file` by its declared MIME type, else its name's extension.
pub(crate) fn declared(file: &SharedFile) -> Declared {
    let mime = file.mime_type.trim().to_ascii_lowercase();
    if let Some(subtype) = mime.strip_prefix("image/") {
        return match subtype {
            "jpeg" | "jpg" | "pjpeg" | "png" | "webp" | "gif" => Declared::Photo,
            _ => Declared::Unsupported,
        };
    }
    if !mime.is_empty() && mime != "application/octet-stream" {
        return Declared::NotAnImage;
    }
    let extension = file
        .name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg" | "png" | "webp" | "gif") => Declared::Photo,
        Some("heic" | "heif" | "tif" | "tiff" | "bmp" | "svg" | "avif") => Declared::Unsupported,
        _ => Declared::NotAnImage,
    }
}

/// `5 MB`, `12 MB`, `512 KB`: sizes as the shop reads them.
pub(crate) fn megabytes(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        let tenths = bytes / 100_000;
        match tenths % 10 {
            0 => format!("{} MB", tenths / 10),
            rest => format!("{}.{rest} MB", tenths / 10),
        }
    } else {
        format!("{} KB", bytes.div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, mime: &str) -> SharedFile {
        SharedFile {
            name: name.to_owned(),
            mime_type: mime.to_owned(),
            url: "https://files.example/x".to_owned(),
        }
    }

    #[test]
    fn sniffing_reads_the_bytes_not_the_label() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x03\x08\x02\0\0\0";
        assert_eq!(ImageKind::sniff(png), Some(ImageKind::Png));
        assert_eq!(
            ImageKind::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"GIF89a\x01\0\x01\0\x80\0\0"),
            Some(ImageKind::Gif)
        );
        assert_eq!(ImageKind::sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(
            ImageKind::sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            None
        );
        assert_eq!(ImageKind::sniff(b""), None);
    }

    #[test]
    fn declared_types_decide_what_is_fetched() {
        assert_eq!(declared(&file("seat.jpg", "image/jpeg")), Declared::Photo);
        assert_eq!(declared(&file("seat", "IMAGE/PNG")), Declared::Photo);
        assert_eq!(
            declared(&file("seat.heic", "image/heic")),
            Declared::Unsupported
        );
        assert_eq!(
            declared(&file("x.svg", "image/svg+xml")),
            Declared::Unsupported
        );
        assert_eq!(
            declared(&file("quote.pdf", "application/pdf")),
            Declared::NotAnImage
        );
        assert_eq!(declared(&file("seat.WEBP", "")), Declared::Photo);
        assert_eq!(
            declared(&file("seat.jpg", "application/octet-stream")),
            Declared::Photo
        );
        assert_eq!(declared(&file("notes.txt", "")), Declared::NotAnImage);
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(megabytes(5_000_000), "5 MB");
        assert_eq!(megabytes(12_500_000), "12.5 MB");
        assert_eq!(megabytes(512_000), "512 KB");
        assert_eq!(megabytes(1), "1 KB");
    }

    #[test]
    fn leaving_out_takes_the_largest_and_says_why() {
        let photo = |name: &str, len: usize| Photo {
            name: name.to_owned(),
            url: format!("https://files.example/{name}"),
            kind: ImageKind::Jpeg,
            size: None,
            bytes: vec![0; len],
            cid: name.to_owned(),
        };
        let mut photos = Photos {
            attached: vec![photo("a", 10), photo("b", 30), photo("c", 20)],
            skipped: Vec::new(),
        };
        assert!(photos.leave_out_largest("too big for the provider"));
        assert_eq!(photos.total_bytes(), 30);
        assert_eq!(
            photos.skipped_reason("https://files.example/b"),
            Some("too big for the provider")
        );
        assert!(photos.leave_out_largest("x") && photos.leave_out_largest("x"));
        assert!(!photos.leave_out_largest("x"));
    }
}
