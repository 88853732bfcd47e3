//! The MIME message from a fuzzed subject, sender name, bodies and
//! reply-to, parsed back with `mail-parser`. Properties: the header block
//! gains no header (every line is a known header or a folded continuation),
//! the recipients are exactly the envelope's, there is no `Bcc`, the
//! subject and sender name come back on one line.
#![no_main]

use arbitrary::Arbitrary;
use chatkit_leads_core::email::{RenderedEmail, build};
use chatkit_leads_core::{EmailAddress, Envelope};
use libfuzzer_sys::fuzz_target;
use mail_parser::MessageParser;

#[derive(Debug, Arbitrary)]
struct Input {
    subject: String,
    from_name: Option<String>,
    text: String,
    html: String,
    reply_to: String,
}

/// The headers `build` writes; anything else is an injection.
const HEADERS: [&str; 8] = [
    "from",
    "to",
    "reply-to",
    "subject",
    "message-id",
    "date",
    "mime-version",
    "content-type",
];

fuzz_target!(|input: Input| {
    let to = vec![
        EmailAddress::parse("shop@example.com").expect("to"),
        EmailAddress::parse("owner@example.org").expect("to"),
    ];
    let envelope = Envelope {
        from: EmailAddress::parse("leads@example.com").expect("from"),
        from_name: input.from_name.clone(),
        to: to.clone(),
    };
    let rendered = RenderedEmail {
        subject: input.subject.clone(),
        text: input.text.clone(),
        html: input.html.clone(),
    };
    let reply_to = EmailAddress::parse(&input.reply_to);
    let email = build(&rendered, &envelope, reply_to.as_ref(), &Default::default());
    assert_eq!(email.to, to);

    let raw = &email.mime;
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = std::str::from_utf8(&raw[..head_end]).expect("ASCII headers");
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(HEADERS.contains(&name.as_str()), "header line {line:?}");
    }

    let parsed = MessageParser::default().parse(raw).expect("parses");
    let recipients: Vec<String> = parsed
        .to()
        .map(|list| {
            list.iter()
                .filter_map(|a| a.address())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let expected: Vec<String> = to.iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(recipients, expected);
    assert!(parsed.bcc().is_none() && parsed.cc().is_none());
    if let Some(subject) = parsed.subject() {
        assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    }
    let replies: Vec<&str> = parsed
        .reply_to()
        .map(|list| list.iter().filter_map(|a| a.address()).collect())
        .unwrap_or_default();
    assert_eq!(
        replies,
        reply_to
            .iter()
            .map(EmailAddress::as_str)
            .collect::<Vec<_>>()
    );
});
