//! Normalise + extract + render on the largest fixture thread (255 items).

use chatkit_leads_benches::{LONG_THREAD, Pipeline};
use chatkit_leads_core::email;
use chatkit_leads_core::{Contact, Transcript};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn pipeline(c: &mut Criterion) {
    let fixture = Pipeline::new(LONG_THREAD);
    c.bench_function("normalise 255 items", |b| {
        b.iter(|| Transcript::from_items(black_box(&fixture.items)))
    });
    let transcript = Transcript::from_items(&fixture.items);
    c.bench_function("extract contact (229 messages)", |b| {
        b.iter(|| Contact::extract(black_box(&transcript), &fixture.shop.phone))
    });
    let contact = Contact::extract(&transcript, &fixture.shop.phone);
    let input = fixture.input(&transcript, &contact);
    c.bench_function("render (255 items)", |b| {
        b.iter(|| email::render(black_box(&input)))
    });
    let rendered = email::render(&input);
    c.bench_function("MIME (255 items)", |b| {
        b.iter(|| {
            email::build(
                black_box(&rendered),
                &fixture.envelope,
                contact.email.as_ref(),
                &fixture.photos,
            )
        })
    });
    c.bench_function("normalise + extract + render + MIME (255 items)", |b| {
        b.iter(|| black_box(&fixture).run())
    });
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
