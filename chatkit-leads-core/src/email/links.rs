//! Link targets of the email and the one gate every `href` passes through.
//!
//! The email interpolates links built from untrusted input (page URLs,
//! attachment URLs, URLs inside customer messages, the customer's address), so
//! a link only reaches the HTML through [`href`]: it accepts http(s), `tel:`,
//! `sms:` and `mailto:` targets in a strict form and returns them escaped for a
//! double-quoted attribute. Anything else (`javascript:`, `data:`, `vbscript:`,
//! relative or malformed URLs) is refused, and the caller shows plain text.

use linkify::{LinkFinder, LinkKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::contact::{EmailAddress, Phone};

use super::escape::escape;

/// Characters kept as they are in a `mailto:` address and query value:
/// RFC 3986 unreserved characters plus `@` and `+`, which addresses use.
const MAILTO_ADDR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@')
    .remove(b'+');

/// Characters kept in a `mailto:` header value: only the unreserved ones, so
/// `&`, `=`, `+`, `#` and line breaks are always encoded.
const MAILTO_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The escaped `href` value for `target`, or `None` when the target is not an
/// allowed link.
///
/// Accepted forms:
/// - `http://…` / `https://…` with a host (normalised by the URL parser, so
///   spaces, quotes and angle brackets come out percent-encoded);
/// - `tel:+<digits>` and `sms:+<digits>` with 1–15 digits;
/// - `mailto:<address>` with an optional `?query`, only RFC 3986 unreserved
///   characters, `@`, `+`, `%`, `=`, `&` and `?` after the scheme.
///
/// The result is escaped for use inside a double-quoted attribute.
pub(crate) fn href(target: &str) -> Option<String> {
    let (scheme, rest) = target.split_once(':')?;
    let safe = match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => {
            let url = url::Url::parse(target).ok()?;
            (matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
                .then(|| url.as_str().to_owned())?
        }
        scheme @ ("tel" | "sms") => {
            let digits = rest.strip_prefix('+')?;
            let ok = (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
            ok.then(|| format!("{scheme}:+{digits}"))?
        }
        "mailto" => {
            let address = rest.split_once('?').map_or(rest, |(address, _)| address);
            let ok = address.contains('@')
                && !address.starts_with('@')
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~@+%=&?".contains(&b));
            ok.then(|| format!("mailto:{rest}"))?
        }
        _ => return None,
    };
    Some(escape(&safe))
}

/// `tel:` target for a customer phone.
pub(crate) fn tel(phone: &Phone) -> String {
    format!("tel:{}", phone.e164())
}

/// `sms:` target for a customer phone.
pub(crate) fn sms(phone: &Phone) -> String {
    format!("sms:{}", phone.e164())
}

/// `mailto:` target for an address, optionally with a prefilled subject and body.
pub(crate) fn mailto(address: &EmailAddress, draft: Option<(&str, &str)>) -> String {
    let mut target = format!(
        "mailto:{}",
        utf8_percent_encode(address.as_str(), MAILTO_ADDR)
    );
    if let Some((subject, body)) = draft {
        // RFC 6068: line breaks in a body are written as %0D%0A.
        let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
        target.push_str("?subject=");
        target.extend(utf8_percent_encode(subject, MAILTO_VALUE));
        target.push_str("&body=");
        target.extend(utf8_percent_encode(&body, MAILTO_VALUE));
    }
    target
}

/// A piece of free text: plain text or an http(s) URL found in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// Text to show as it is.
    Text(&'a str),
    /// Something that looks like an http(s) URL (still to pass [`href`]).
    Url(&'a str),
}

/// Splits `text` into plain text and http(s) URLs.
///
/// Where a URL ends is `linkify`'s call: it leaves out the punctuation that
/// ends a sentence (`.`, `,`, a closing `)` that closes text around the
/// link) but keeps a `)` that closes one the URL opened, as in
/// `…/wiki/Link_(Zelda)`, and stops at `<`, `>` and quotes. Only http(s)
/// links become [`Segment::Url`]; anything else it finds (`ftp://…`,
/// `javascript:…`) stays text, and every URL still has to pass [`href`].
pub(crate) fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    let mut out: Vec<Segment<'_>> = Vec::new();
    let mut plain_start = 0;
    for link in finder.links(text) {
        let url = link.as_str();
        let web = url.split_once("://").is_some_and(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        });
        if !web {
            continue;
        }
        if link.start() > plain_start {
            out.push(Segment::Text(&text[plain_start..link.start()]));
        }
        out.push(Segment::Url(url));
        plain_start = link.end();
    }
    if plain_start < text.len() {
        out.push(Segment::Text(&text[plain_start..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_and_data_targets_are_refused() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:x",
            "//evil.example/x",
            "/relative",
            "http://",
            "https:///",
            "tel:+1408555abc",
            "tel:4085550142",
            "sms:+",
            "mailto:a@b.c\"onmouseover=x",
            "mailto:a@b.c?body=<x>",
            "mailto:nobody",
            "",
        ] {
            assert_eq!(href(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn allowed_targets_come_back_normalised_and_escaped() {
        assert_eq!(
            href("HTTPS://Example.com/a?b=1&c=2").as_deref(),
            Some("https://example.com/a?b=1&amp;c=2")
        );
        assert_eq!(
            href("https://example.com/a b\"c'<d>").as_deref(),
            Some("https://example.com/a%20b%22c&#39;%3Cd%3E")
        );
        assert_eq!(
            href("tel:+14085550142").as_deref(),
            Some("tel:+14085550142")
        );
        assert_eq!(
            href("SMS:+14085550142").as_deref(),
            Some("sms:+14085550142")
        );
        assert_eq!(
            href("mailto:a.b+c@example.com").as_deref(),
            Some("mailto:a.b+c@example.com")
        );
    }

    #[test]
    fn mailto_drafts_encode_every_reserved_character() {
        let addr = EmailAddress::parse("carlos.mendez@example.com").expect("address");
        let target = mailto(
            &addr,
            Some(("Hola & adiós", "Línea 1\nLínea 2 = 100% <ok>?")),
        );
        assert!(
            target.starts_with(
                "mailto:carlos.mendez@example.com?subject=Hola%20%26%20adi%C3%B3s&body="
            )
        );
        assert!(target.contains("%0D%0A"));
        assert!(href(&target).is_some(), "a draft link passes the gate");
    }

    proptest::proptest! {
        /// Whatever goes in, what comes out is an allowed scheme and cannot
        /// leave its double-quoted attribute.
        #[test]
        fn href_output_is_always_an_allowed_escaped_target(
            scheme in "(?i)(https?|tel|sms|mailto|javascript|data|vbscript|)",
            rest in proptest::prelude::any::<String>(),
        ) {
            if let Some(h) = href(&format!("{scheme}:{rest}")) {
                proptest::prop_assert!(
                    ["http://", "https://", "tel:+", "sms:+", "mailto:"].iter().any(|p| h.starts_with(p)),
                    "{h}"
                );
                proptest::prop_assert!(!h.contains(['"', '<', '>', '\'']), "{h}");
                proptest::prop_assert!(!h.chars().any(|c| c.is_whitespace() || c.is_control()), "{h}");
            }
        }
    }

    #[test]
    fn urls_are_found_in_text_without_trailing_punctuation() {
        let segs = segments("see https://example.com/a?b=<c> and (http://x.test/y).");
        assert_eq!(
            segs,
            vec![
                Segment::Text("see "),
                Segment::Url("https://example.com/a?b="),
                Segment::Text("<c> and ("),
                Segment::Url("http://x.test/y"),
                Segment::Text(")."),
            ]
        );
        assert_eq!(segments("no links"), vec![Segment::Text("no links")]);
        assert_eq!(segments("http://"), vec![Segment::Text("http://")]);
    }

    #[test]
    fn a_closing_parenthesis_the_url_opened_stays_in_it() {
        assert_eq!(
            segments("photo: https://en.wikipedia.org/wiki/Link_(Zelda), see"),
            vec![
                Segment::Text("photo: "),
                Segment::Url("https://en.wikipedia.org/wiki/Link_(Zelda)"),
                Segment::Text(", see"),
            ]
        );
    }

    #[test]
    fn only_web_links_are_urls() {
        for text in [
            "ftp://files.example/a",
            "javascript:alert(1)",
            "mailto:a@b.example",
        ] {
            assert_eq!(segments(text), vec![Segment::Text(text)], "{text}");
        }
        assert_eq!(
            segments("HTTPS://Example.com/x"),
            vec![Segment::Url("HTTPS://Example.com/x")]
        );
    }
}
