//! The outbox mailer on a real folder.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chatkit_leads_core::email::{Envelope, RenderedEmail, build};
use chatkit_leads_core::testkit::ManualClock;
use chatkit_leads_core::{EmailAddress, MailError, Mailer, OutgoingEmail};
use chatkit_leads_outbox::OutboxMailer;

fn email(subject: &str) -> OutgoingEmail {
    let rendered = RenderedEmail {
        subject: subject.to_owned(),
        text: "Customer: Ana, +1 408 555 0123\nWants new seat covers.".to_owned(),
        html: "<p>Customer: <b>Ana</b> — ünïcødé ✓</p>".to_owned(),
    };
    let envelope = Envelope {
        from: EmailAddress::parse("leads@shop.example").expect("from"),
        from_name: Some("The Shop".to_owned()),
        to: vec![EmailAddress::parse("owner@shop.example").expect("to")],
    };
    build(&rendered, &envelope, None, &Default::default())
}

/// Every entry of `dir`, by name.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .collect();
    names.sort();
    names
}

fn with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    entries(dir)
        .into_iter()
        .filter(|name| name.ends_with(ext))
        .map(|name| dir.join(name))
        .collect()
}

#[tokio::test]
async fn writes_the_eml_and_the_html_preview_with_the_exact_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    let mailer = OutboxMailer::new(&outbox);
    let email = email("New chat lead");

    let message_id = mailer.send(&email).await.expect("send");

    assert_eq!(
        message_id, email.message_id,
        "returns the email's message id"
    );
    let names = entries(&outbox);
    assert_eq!(names.len(), 2, "{names:?}");
    let eml = with_ext(&outbox, ".eml");
    let html = with_ext(&outbox, ".html");
    assert_eq!((eml.len(), html.len()), (1, 1), "{names:?}");
    assert_eq!(fs::read(&eml[0]).expect("eml"), email.mime);
    assert_eq!(fs::read_to_string(&html[0]).expect("html"), email.html);
    assert_eq!(
        eml[0].with_extension("html"),
        html[0],
        "the preview shares the message's name"
    );
}

#[tokio::test]
async fn write_returns_the_path_of_the_eml() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mailer = OutboxMailer::new(dir.path());
    let email = email("Path");
    let path = mailer.write(&email).await.expect("write");
    assert_eq!(path.parent(), Some(dir.path()));
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"));
    assert_eq!(fs::read(&path).expect("eml"), email.mime);
    assert!(path.with_extension("html").exists());
}

#[tokio::test]
async fn sending_the_same_email_twice_never_overwrites() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mailer = OutboxMailer::new(dir.path());
    let email = email("Twice");

    mailer.send(&email).await.expect("first send");
    mailer.send(&email).await.expect("second send");

    let eml = with_ext(dir.path(), ".eml");
    assert_eq!(eml.len(), 2, "{:?}", entries(dir.path()));
    assert_eq!(with_ext(dir.path(), ".html").len(), 2);
    for path in &eml {
        assert_eq!(fs::read(path).expect("eml"), email.mime);
    }
}

/// A mailer whose file names all carry the same time stamp, so every send
/// competes for the same name.
fn frozen(dir: &Path) -> OutboxMailer {
    OutboxMailer::new(dir).with_clock(Arc::new(ManualClock::at_unix(1_800_000_000)))
}

#[tokio::test]
async fn a_taken_name_moves_the_pair_to_the_next_free_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mailer = frozen(dir.path());
    let email = email("Collision");
    let first = mailer.write(&email).await.expect("first write");
    let stem = first
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem")
        .to_owned();
    // Foreign files take `<stem>-2.eml` and `<stem>-3.html`: the writer must
    // skip `<stem>` (ours), `<stem>-2` and `<stem>-3` and keep each pair
    // under one name.
    fs::write(dir.path().join(format!("{stem}-2.eml")), b"foreign eml").expect("write");
    fs::write(dir.path().join(format!("{stem}-3.html")), b"foreign html").expect("write");

    let second = mailer.write(&email).await.expect("second write");

    assert_eq!(
        second.file_name().and_then(|n| n.to_str()),
        Some(format!("{stem}-4.eml").as_str())
    );
    assert_eq!(
        fs::read_to_string(second.with_extension("html")).expect("preview"),
        email.html
    );
    assert!(
        !dir.path().join(format!("{stem}-2.html")).exists(),
        "no orphan preview"
    );
    assert_eq!(
        fs::read(dir.path().join(format!("{stem}-2.eml"))).expect("foreign"),
        b"foreign eml"
    );
    assert_eq!(
        fs::read(dir.path().join(format!("{stem}-3.html"))).expect("foreign"),
        b"foreign html"
    );
    assert_eq!(fs::read(&first).expect("first"), email.mime);
    assert_eq!(entries(dir.path()).len(), 6, "{:?}", entries(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_with_the_same_time_stamp_get_distinct_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mailer = frozen(dir.path());
    let email = email("Same instant");
    let sends = (0..20).map(|_| mailer.write(&email));
    let paths: HashSet<PathBuf> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("write"))
        .collect();
    assert_eq!(paths.len(), 20);
    assert_eq!(entries(dir.path()).len(), 40, "{:?}", entries(dir.path()));
    for path in &paths {
        assert_eq!(fs::read(path).expect("eml"), email.mime);
        assert_eq!(
            fs::read_to_string(path.with_extension("html")).expect("html"),
            email.html
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_sends_write_a_hundred_files_and_no_temp_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mailer = OutboxMailer::new(dir.path().join("outbox"));
    let email = email("Concurrent");
    let sends = (0..50).map(|_| mailer.send(&email));
    let results = futures::future::join_all(sends).await;
    for result in results {
        assert_eq!(result.expect("send"), email.message_id);
    }

    let outbox = dir.path().join("outbox");
    let names = entries(&outbox);
    assert_eq!(names.len(), 100, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with('.') && !n.ends_with(".tmp")),
        "no temporary files left: {names:?}"
    );
    let stems: HashSet<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".eml"))
        .collect();
    assert_eq!(stems.len(), 50, "fifty distinct messages");
    for stem in stems {
        assert_eq!(
            fs::read(outbox.join(format!("{stem}.eml"))).expect("eml"),
            email.mime
        );
        assert_eq!(
            fs::read_to_string(outbox.join(format!("{stem}.html"))).expect("html"),
            email.html
        );
    }
}

#[tokio::test]
async fn file_names_are_safe_whatever_the_message_id_contains() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    let mailer = OutboxMailer::new(&outbox);
    let mut hostile = email("Hostile");
    for id in [
        "../../escape\r\n<x>@evil.test",
        "/etc/passwd",
        "",
        "…—☃@only-unicode",
        "CON.aux:nul*?|\"<>",
        &"a".repeat(10_000),
    ] {
        hostile.message_id = id.to_owned();
        assert_eq!(mailer.send(&hostile).await.expect("send"), id);
    }

    assert!(
        entries(dir.path()) == ["outbox"],
        "nothing written outside the outbox"
    );
    let names = entries(&outbox);
    assert_eq!(names.len(), 12, "{names:?}");
    for name in &names {
        assert!(name.len() <= 60, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')),
            "{name}"
        );
        assert!(!name.starts_with('.'), "{name}");
    }
}

#[tokio::test]
async fn a_folder_that_cannot_be_created_is_a_transport_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A path under a regular file cannot become a folder, even for root.
    let file = dir.path().join("plain-file");
    fs::write(&file, b"x").expect("write");
    let outbox = file.join("outbox");
    let email = email("Unwritable");

    let err = OutboxMailer::new(&outbox)
        .send(&email)
        .await
        .expect_err("must fail");

    let MailError::Transport(message) = &err else {
        panic!("expected a transport error, got {err:?}");
    };
    assert!(message.contains(&outbox.display().to_string()), "{message}");
    assert!(!message.contains("Ana"), "no content in errors: {message}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_folder_is_a_transport_error() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    fs::create_dir(&outbox).expect("mkdir");
    fs::set_permissions(&outbox, fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root ignores permission bits; then there is nothing to observe here
    // (the test above covers a failure that bites root too).
    let permissions_bite = fs::write(outbox.join("probe"), b"x").is_err();

    let result = OutboxMailer::new(&outbox).send(&email("Read-only")).await;

    fs::set_permissions(&outbox, fs::Permissions::from_mode(0o755)).expect("chmod back");
    if permissions_bite {
        let err = result.expect_err("must fail");
        assert!(matches!(err, MailError::Transport(_)), "{err:?}");
        assert!(entries(&outbox).is_empty(), "nothing left behind");
    }
}

#[tokio::test]
async fn check_creates_the_folder_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("new/outbox");
    let from = EmailAddress::parse("leads@shop.example").expect("address");
    OutboxMailer::new(&outbox)
        .check(&from)
        .await
        .expect("writable");
    assert!(outbox.is_dir());
    assert_eq!(entries(&outbox), Vec::<String>::new(), "no probe file left");

    let file = dir.path().join("a-file");
    fs::write(&file, "x").expect("write");
    let err = OutboxMailer::new(file.join("outbox"))
        .check(&from)
        .await
        .expect_err("a folder under a file cannot exist");
    assert!(
        matches!(&err, MailError::Transport(m) if m.contains("a-file")),
        "{err}"
    );
}

#[tokio::test]
async fn photos_stay_in_the_eml_and_show_in_the_preview() {
    use chatkit_leads_core::photos::{ImageKind, Photo, Photos};
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let photos = Photos {
        attached: vec![Photo {
            name: "seat.png".to_owned(),
            url: "https://files.example/seat.png".to_owned(),
            kind: ImageKind::Png,
            size: Some((1, 1)),
            bytes: png,
            cid: "photo1@chatkit-leads".to_owned(),
        }],
        skipped: Vec::new(),
    };
    let rendered = RenderedEmail {
        subject: "New chat lead".to_owned(),
        text: "A photo.".to_owned(),
        html: "<p>A photo:</p><img src=\"cid:photo1@chatkit-leads\" alt=\"seat.png\">".to_owned(),
    };
    let envelope = Envelope {
        from: EmailAddress::parse("leads@shop.example").expect("from"),
        from_name: None,
        to: vec![EmailAddress::parse("owner@shop.example").expect("to")],
    };
    let email = build(&rendered, &envelope, None, &photos);
    let dir = tempfile::tempdir().expect("temp dir");
    let mailer = OutboxMailer::new(dir.path());
    mailer.send(&email).await.expect("send");

    let html = fs::read_to_string(&with_ext(dir.path(), ".html")[0]).expect("html");
    assert!(
        html.contains("<img src=\"data:image/png;base64,iVBORw0KGgo"),
        "{html}"
    );
    assert!(!html.contains("cid:"), "{html}");
    let eml = fs::read(&with_ext(dir.path(), ".eml")[0]).expect("eml");
    assert_eq!(eml, email.mime, "the .eml is the message as sent");
    let eml = String::from_utf8_lossy(&eml);
    assert!(eml.contains("Content-ID: <photo1@chatkit-leads>"), "{eml}");
    assert!(eml.contains("multipart/related"), "{eml}");
}
