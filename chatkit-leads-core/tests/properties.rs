//! Property tests over arbitrary customer text.

use chatkit_leads_core::transcript::{Message, Speaker};
use chatkit_leads_core::{Contact, LeadRequest, ShopProfile, Transcript};
use proptest::prelude::*;

fn customer_says(text: String) -> Transcript {
    Transcript {
        messages: vec![Message::new(Speaker::Customer, 0, &text)],
        ..Transcript::default()
    }
}

proptest! {
    #[test]
    fn extraction_never_panics_and_finds_only_plausible_contacts(text in any::<String>()) {
        let contact = Contact::extract(&customer_says(text), &ShopProfile::seed().phone);
        if let Some(phone) = contact.phone {
            prop_assert!((10..=15).contains(&phone.digits.len()));
            prop_assert!(phone.digits.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(!ShopProfile::seed().phone.matches_digits(&phone.digits));
        }
        if let Some(email) = contact.email {
            prop_assert!(email.as_str().contains('@'));
            prop_assert!(!email.as_str().contains(char::is_whitespace));
        }
    }

    #[test]
    fn a_phone_number_survives_any_surrounding_words(
        before in "[a-zA-Z ,.!?]{0,40}",
        after in "[a-zA-Z ,.!?]{0,40}",
        digits in "[2-9][0-9]{9}",
    ) {
        let text = format!("{before} {}-{}-{} {after}", &digits[..3], &digits[3..6], &digits[6..]);
        let contact = Contact::extract(&customer_says(text), &ShopProfile::seed().phone);
        if !ShopProfile::seed().phone.matches_digits(&digits) {
            prop_assert_eq!(contact.phone.map(|p| p.digits), Some(digits));
        }
    }

    #[test]
    fn lead_request_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = LeadRequest::from_json(&body);
    }

    #[test]
    fn arbitrary_json_fields_never_panic(thread in ".{0,40}", locale in ".{0,20}", reason in ".{0,80}") {
        let body = serde_json::json!({"threadId": thread, "locale": locale, "reason": reason}).to_string();
        if let Ok(req) = LeadRequest::from_json(body.as_bytes()) {
            prop_assert!(!req.reason.as_str().contains(['\r', '\n']));
            prop_assert!(req.reason.as_str().chars().count() <= 64);
        }
    }
}
