//! The lead email's HTML part from fuzzed chat, page and model text.
//! Properties: no fuzzed text reaches the HTML unescaped (a marker tag and
//! attribute appended to every string never appear as markup); every link
//! is http(s), `tel:`, `sms:` or `mailto:` and every image http(s); no
//! invisible or bidi character survives; the subject is one line.
#![no_main]

use chatkit_leads_core::email::{Diagnostics, EmailCopy, LeadEmailInput, render};
use chatkit_leads_core::text::is_invisible;
use chatkit_leads_core::{Contact, ShopProfile};
use chatkit_leads_core_fuzz::FuzzedLead;
use libfuzzer_sys::fuzz_target;

/// Appended to every fuzzed string: markup if it were ever left unescaped.
const MARKER: &str = "<x-fuzz q=\"1\">";

/// The values of every `name="…"` attribute in `html`.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| &html[at + needle.len()..])
        .map(|rest| rest.split('"').next().unwrap_or_default())
        .collect()
}

fuzz_target!(|lead: FuzzedLead| {
    let built = lead.build(MARKER);
    let shop = ShopProfile::seed();
    let copy = EmailCopy::default();
    let contact = Contact::extract(&built.transcript, &shop.phone);
    let summary = built.summary.map(|s| s.sanitize(&shop));
    let email = render(&LeadEmailInput {
        shop: &shop,
        copy: &copy,
        request: &built.request,
        thread: &built.thread,
        transcript: &built.transcript,
        contact: &contact,
        summary: summary.as_ref(),
        diagnostics: &Diagnostics {
            attempt: 1,
            ..Diagnostics::default()
        },
        photos: &Default::default(),
    });
    let html = &email.html;
    assert!(!html.contains("<x-"), "a fuzzed tag reached the HTML");
    assert!(
        !html.contains(" q=\""),
        "a fuzzed attribute reached the HTML"
    );
    assert!(!html.to_ascii_lowercase().contains("<script"));
    for href in attribute_values(html, "href") {
        assert!(
            ["https://", "http://", "tel:", "sms:", "mailto:"]
                .iter()
                .any(|scheme| href.starts_with(scheme)),
            "link {href:?}"
        );
    }
    for src in attribute_values(html, "src") {
        assert!(
            src.starts_with("https://") || src.starts_with("http://"),
            "image {src:?}"
        );
    }
    assert!(!html.chars().any(is_invisible), "an invisible character");
    assert!(!email.subject.contains(['\r', '\n']), "{:?}", email.subject);
});
