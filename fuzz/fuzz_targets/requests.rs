//! `/lead` and `/session` bodies: any bytes parse to a valid request or a
//! typed error, never a panic; what parses is valid by construction.
#![no_main]

use chatkit_leads_core::{LeadRequest, SessionRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = LeadRequest::from_json(body) {
        let id = request.thread_id.as_str();
        assert!(id.starts_with("cthr_") && id.len() <= 133, "{id:?}");
        if let Some(url) = &request.page_url {
            assert!(matches!(
                url.as_str().split(':').next(),
                Some("http" | "https")
            ));
        }
    }
    if let Ok(request) = SessionRequest::from_json(body) {
        if let Some(user) = &request.user {
            assert!(!user.as_str().is_empty() && user.as_str().chars().count() <= 256);
        }
    }
});
