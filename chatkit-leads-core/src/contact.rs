//! Finding the customer's phone number and email address in what they wrote
//!.
//!
//! Text is first cleaned of invisible characters and folded to ASCII digits,
//! so `٤٠٨‑٥٥٥‑٠١٤٢`, `（４０８）５５５－０１４２` and an address with a
//! zero-width space inside all read as customers meant them.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::shop::ShopPhone;
use crate::text::{fold_to_ascii, is_invisible};
use crate::transcript::Transcript;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)\b[a-z0-9._%+\-]+@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}\b")
        .expect("static regex")
});

// A run that starts like a phone number (optional + or opening parenthesis,
// then a digit), continues with digits and the punctuation people put in
// numbers (single spaces, dots, dashes, parentheses, slashes), and ends in a
// digit. The digit count decides afterwards.
static PHONE_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)[+(]?\d(?:[\d().\-/]| [\d(+])*\d").expect("static regex"));

/// A customer phone number as written and as digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    /// As the customer wrote it (trimmed, ASCII-folded).
    pub display: String,
    /// 10–15 digits.
    pub digits: String,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phone([redacted])")
    }
}

impl Phone {
    /// Parses a phone number with 10–15 digits, or `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let folded = fold(raw);
        if !(10..=15).contains(&digit_count(&folded)) {
            return None;
        }
        Some(Self {
            display: crate::text::single_line(&folded),
            digits: folded.chars().filter(char::is_ascii_digit).collect(),
        })
    }

    /// A `tel:`/`sms:` target: 10 digits → `+1…`, 11 starting with 1 → `+…`,
    /// otherwise `+digits`.
    ///
    /// ```
    /// use chatkit_leads_core::contact::Phone;
    /// assert_eq!(Phone::parse("(408) 555-0142").unwrap().e164(), "+14085550142");
    /// assert_eq!(Phone::parse("+44 20 7946 0958").unwrap().e164(), "+442079460958");
    /// ```
    pub fn e164(&self) -> String {
        if self.digits.len() == 10 {
            format!("+1{}", self.digits)
        } else {
            format!("+{}", self.digits)
        }
    }
}

/// An email address that looks deliverable (`local@domain.tld`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts exactly one plausible address (surrounding whitespace and
    /// invisible characters removed), or `None`.
    ///
    /// ```
    /// use chatkit_leads_core::contact::EmailAddress;
    /// assert!(EmailAddress::parse("carlos.mendez@example.com").is_some());
    /// assert!(EmailAddress::parse("not-an-email").is_none());
    /// assert!(EmailAddress::parse("a@b.com\r\nBcc: x@y.z").is_none());
    /// ```
    pub fn parse(raw: &str) -> Option<Self> {
        let cleaned = crate::text::strip_invisible(raw.trim());
        let found = EMAIL.find(&cleaned)?;
        (found.start() == 0 && found.end() == cleaned.len() && cleaned.len() <= 254)
            .then_some(Self(cleaned))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailAddress([redacted])")
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to reach the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// First plausible phone number that is not the shop's.
    pub phone: Option<Phone>,
    /// First plausible email address.
    pub email: Option<EmailAddress>,
}

impl Contact {
    /// Whether there is any way to reach the customer.
    pub fn is_reachable(&self) -> bool {
        self.phone.is_some() || self.email.is_some()
    }

    /// Scans the customer's messages (never the assistant's), skipping the
    /// shop's own number.
    ///
    /// Each message is read once by each pattern, and only when it could
    /// hold what is still missing: an address needs an `@`, a phone number
    /// ten digits. Plain ASCII text is scanned as it is, without a folded
    /// copy.
    pub fn extract(transcript: &Transcript, shop_phone: &ShopPhone) -> Self {
        let mut contact = Self::default();
        for message in transcript.customer_messages() {
            let text = fold(message.text());
            if contact.email.is_none() && text.contains('@') {
                contact.email = EMAIL
                    .find(&text)
                    .map(|m| EmailAddress(m.as_str().to_owned()));
            }
            if contact.phone.is_none() {
                contact.phone = find_phone(&text, shop_phone);
            }
            if contact.phone.is_some() && contact.email.is_some() {
                break;
            }
        }
        contact
    }

    /// Fills the gaps in `self` (the model's plausible values) from
    /// `fallback` (the regex scan): the model wins, the scan fills the rest.
    pub fn or(self, fallback: Contact) -> Contact {
        Contact {
            phone: self.phone.or(fallback.phone),
            email: self.email.or(fallback.email),
        }
    }
}

/// Folds digits and full-width forms to ASCII and drops invisible characters.
/// ASCII text has neither, so it comes back borrowed.
fn fold(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter(|&c| !is_invisible(c))
            .map(fold_to_ascii)
            .collect(),
    )
}

/// ASCII digits in `text`.
fn digit_count(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}

/// The first phone number in folded `text` that is not the shop's. Runs
/// of fewer than ten digits (part numbers, years, prices) are passed over
/// without building a [`Phone`].
fn find_phone(text: &str, shop_phone: &ShopPhone) -> Option<Phone> {
    if digit_count(text) < 10 {
        return None;
    }
    PHONE_RUN
        .find_iter(text)
        .filter(|m| digit_count(m.as_str()) >= 10)
        .filter_map(|m| Phone::parse(m.as_str()))
        .find(|p| !shop_phone.matches_digits(&p.digits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Message, Speaker};

    fn transcript(lines: &[(Speaker, &str)]) -> Transcript {
        Transcript {
            messages: lines
                .iter()
                .map(|(speaker, text)| Message::new(*speaker, 0, text))
                .collect(),
            ..Transcript::default()
        }
    }

    fn shop() -> ShopPhone {
        ShopPhone::parse("(408) 379-3820").expect("shop phone")
    }

    #[test]
    fn skips_the_shops_own_number() {
        let t = transcript(&[(
            Speaker::Customer,
            "I called 408-379-3820, reach me at (408) 555-0142.",
        )]);
        let c = Contact::extract(&t, &shop());
        assert_eq!(
            c.phone.map(|p| p.display),
            Some("(408) 555-0142".to_owned())
        );
    }

    #[test]
    fn ignores_assistant_messages() {
        let t = transcript(&[(
            Speaker::Assistant,
            "Email us at shop@example.com or 650 555 0100",
        )]);
        assert_eq!(Contact::extract(&t, &shop()), Contact::default());
    }

    #[test]
    fn reads_arabic_indic_and_full_width_digits() {
        let t = transcript(&[(Speaker::Customer, "رقمي ٦٥٠٥٥٥٠١٩٩")]);
        assert_eq!(
            Contact::extract(&t, &shop()).phone.map(|p| p.digits),
            Some("6505550199".into())
        );
        let t = transcript(&[(Speaker::Customer, "電話（６５０）５５５－０１９９です")]);
        assert_eq!(
            Contact::extract(&t, &shop()).phone.map(|p| p.digits),
            Some("6505550199".into())
        );
    }

    #[test]
    fn zero_width_characters_do_not_join_or_split_contacts() {
        let t = transcript(&[(
            Speaker::Customer,
            "email: victim@example.com\u{200b} thanks, 650\u{200b}555\u{200d}0199",
        )]);
        let c = Contact::extract(&t, &shop());
        assert_eq!(c.email.map(|e| e.0), Some("victim@example.com".into()));
        assert_eq!(c.phone.map(|p| p.digits), Some("6505550199".into()));
    }

    #[test]
    fn short_and_overlong_digit_runs_are_not_phones() {
        let t = transcript(&[(
            Speaker::Customer,
            "part 1001. year 2016, order 1234567890123456789",
        )]);
        assert_eq!(Contact::extract(&t, &shop()).phone, None);
    }

    #[test]
    fn international_numbers_keep_their_country_code() {
        let t = transcript(&[(Speaker::Customer, "UK +44 20 7946 0958 or US 415.555.0177")]);
        let phone = Contact::extract(&t, &shop()).phone.expect("phone");
        assert_eq!(phone.display, "+44 20 7946 0958");
        assert_eq!(phone.e164(), "+442079460958");
    }
}
