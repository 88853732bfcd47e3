//! A ChatKit items page as JSON: decoded, normalised into a transcript and
//! searched for contact details. Properties: no panic; the fingerprint is
//! a pure function of the transcript; attachments are http(s) only; what
//! contact extraction returns parses again as itself.
#![no_main]

use chatkit_leads_core::chatkit::ThreadItem;
use chatkit_leads_core::{Contact, EmailAddress, ShopProfile, Transcript};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|json: &[u8]| {
    let Ok(items) = serde_json::from_slice::<Vec<ThreadItem>>(json) else {
        return;
    };
    let transcript = Transcript::from_items(&items);
    assert_eq!(
        transcript.fingerprint(),
        Transcript::from_items(&items).fingerprint()
    );
    for file in &transcript.attachments {
        assert!(
            chatkit_leads_core::transcript::is_http_url(&file.url),
            "{:?}",
            file.url
        );
    }
    let shop = ShopProfile::seed();
    let contact = Contact::extract(&transcript, &shop.phone);
    if let Some(email) = &contact.email {
        assert_eq!(EmailAddress::parse(email.as_str()).as_ref(), Some(email));
    }
    if let Some(phone) = &contact.phone {
        let e164 = phone.e164();
        assert!(
            e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()),
            "{e164}"
        );
        assert!(
            !shop.phone.matches_digits(&phone.digits),
            "the shop's own number"
        );
    }
});
