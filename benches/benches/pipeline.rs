//! Normalise + extract + render on the largest fixture thread (255 items).

use chatkit_leads_benches::load_thread;
use chatkit_leads_core::email::{self, Diagnostics, EmailCopy, LeadEmailInput};
use chatkit_leads_core::photos::Photos;
use chatkit_leads_core::{
    Contact, EmailAddress, Envelope, LeadRequest, ShopProfile, ThreadId, Transcript, TriggerReason,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn pipeline(c: &mut Criterion) {
    let (thread, items) = load_thread("cthr_fx_long_pages");
    let shop = ShopProfile::seed();
    let copy = EmailCopy::default();
    let request = LeadRequest::new(
        ThreadId::parse("cthr_fx_long_pages").expect("id"),
        TriggerReason::Idle,
    );
    let envelope = Envelope {
        from: EmailAddress::parse("leads@example.com").expect("from"),
        from_name: Some(shop.name.clone()),
        to: vec![EmailAddress::parse("shop@example.com").expect("to")],
    };
    let diagnostics = Diagnostics {
        attempt: 1,
        ..Diagnostics::default()
    };

    c.bench_function("normalise 255 items", |b| {
        b.iter(|| Transcript::from_items(black_box(&items)))
    });
    let transcript = Transcript::from_items(&items);
    c.bench_function("extract contact (229 messages)", |b| {
        b.iter(|| Contact::extract(black_box(&transcript), &shop.phone))
    });
    let no_photos = Photos::default();
    c.bench_function("normalise + extract + render + MIME (255 items)", |b| {
        b.iter(|| {
            let transcript = Transcript::from_items(black_box(&items));
            let contact = Contact::extract(&transcript, &shop.phone);
            let input = LeadEmailInput {
                shop: &shop,
                copy: &copy,
                request: &request,
                thread: &thread,
                transcript: &transcript,
                contact: &contact,
                summary: None,
                diagnostics: &diagnostics,
                photos: &no_photos,
            };
            let rendered = email::render(&input);
            email::build(&rendered, &envelope, contact.email.as_ref(), &no_photos)
        })
    });
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
