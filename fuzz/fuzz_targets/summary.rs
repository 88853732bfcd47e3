//! The model's JSON answer: decoded as `LeadSummary` and sanitised.
//! Properties: no panic; every kept string is trimmed, non-empty, free of
//! control characters other than newline and tab and of invisible or bidi
//! characters; a kept phone or email parses again.
#![no_main]

use chatkit_leads_core::text::is_invisible;
use chatkit_leads_core::{EmailAddress, LeadSummary, Phone, ShopProfile};
use libfuzzer_sys::fuzz_target;

fn clean(s: &str) {
    assert!(!s.is_empty() && s.trim() == s, "{s:?}");
    assert!(
        s.chars()
            .all(|c| !is_invisible(c) && (!c.is_control() || c == '\n' || c == '\t')),
        "{s:?}"
    );
}

fuzz_target!(|json: &[u8]| {
    let Ok(summary) = serde_json::from_slice::<LeadSummary>(json) else {
        return;
    };
    let shop = ShopProfile::seed();
    let s = summary.sanitize(&shop);
    for field in [
        &s.customer_name,
        &s.customer_location,
        &s.customer_language,
        &s.vehicle,
        &s.project,
        &s.timeline,
        &s.outreach_message,
    ]
    .into_iter()
    .flatten()
    {
        clean(field);
    }
    for list in [
        &s.next_steps,
        &s.follow_up_questions,
        &s.call_script_prompts,
        &s.missing_info,
    ] {
        list.iter().for_each(|item| clean(item));
    }
    assert!(s.call_script_prompts.len() <= 3);
    if let Some(phone) = &s.customer_phone {
        assert!(Phone::parse(phone).is_some(), "{phone:?}");
    }
    if let Some(email) = &s.customer_email {
        assert!(EmailAddress::parse(email).is_some(), "{email:?}");
    }
});
