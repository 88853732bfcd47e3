//! The sweep (leads no trigger asked for) and the operator's questions
//! about one thread, on the testkit's in-memory ports.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::inspect::{Resend, Verdict};
use chatkit_leads_core::record::LeadRecord;
use chatkit_leads_core::sweep::SweepSettings;
use chatkit_leads_core::testkit::ChatKitCall;
use chatkit_leads_core::{
    LeadOutcome, LeadRequest, LeadStatus, LeaseId, ThreadId, TriggerReason, UserId,
};
use common::{Harness, NOW, fixture_thread, summary_ok, thread};

const TRUCK: &str = "cthr_fx_en_truck_seats";
const NO_CONTACT: &str = "cthr_fx_no_contact";
const QUIET: u64 = 600;

fn settings() -> SweepSettings {
    SweepSettings::default()
}

fn user(n: u8) -> UserId {
    UserId::parse(&format!("anon_sweep_{n}")).expect("user id")
}

/// A copy of a fixture chat under `id`, owned by `owner`, its items moved so
/// the newest is at `last_item_at`.
fn chat_like(h: &Harness, fixture: &str, id: &str, owner: &UserId, last_item_at: i64) {
    let (thread, mut items) = fixture_thread(fixture);
    let newest = items.iter().map(|i| i.created_at).max().unwrap_or(0);
    for item in &mut items {
        item.created_at += last_item_at - newest;
    }
    let thread = Thread {
        id: ThreadId::parse(id).expect("id"),
        user: Some(owner.as_str().to_owned()),
        created_at: last_item_at - 600,
        ..thread
    };
    h.chatkit.add_thread(thread, items);
}

fn ok_harness() -> Harness {
    Harness::new(Harness::ok_script())
}

async fn sweep(h: &Harness) -> chatkit_leads_core::sweep::SweepReport {
    h.workflow.sweep(&settings()).await.expect("sweep")
}

#[tokio::test]
async fn a_chat_no_trigger_reached_is_sent_by_the_sweep_once_its_user_went_quiet() {
    let h = ok_harness();
    let visitor = user(1);
    chat_like(&h, TRUCK, "cthr_never_triggered", &visitor, NOW - 30);
    h.workflow.note_session(&visitor).await.expect("session");

    let early = sweep(&h).await;
    assert_eq!(
        early.users_listed, 0,
        "the user's chat may still be going on"
    );
    assert_eq!(h.mailer.sent_count(), 0);

    h.clock.advance(Duration::from_secs(QUIET));
    let report = sweep(&h).await;
    assert_eq!(
        (report.users_listed, report.threads_found, report.list_calls),
        (1, 1, 1)
    );
    assert_eq!(report.sent(), 1);
    assert_eq!(h.mailer.sent_count(), 1);
    let record = h
        .store
        .record(&thread("cthr_never_triggered"))
        .expect("record");
    assert_eq!((record.status, record.due_at), (LeadStatus::Sent, None));
    assert_eq!(record.last_reason.as_deref(), Some("sweep"));

    h.clock.advance(Duration::from_secs(QUIET));
    let again = sweep(&h).await;
    assert_eq!(
        (again.users_listed, again.leads.len()),
        (0, 0),
        "nothing left to do"
    );
    assert_eq!(h.mailer.sent_count(), 1);
}

#[tokio::test]
async fn a_chat_answered_missing_contact_is_sent_after_the_customer_adds_a_phone_number() {
    let h = ok_harness();
    let visitor = user(2);
    chat_like(&h, NO_CONTACT, "cthr_contact_later", &visitor, NOW - 30);
    let trigger = LeadRequest::new(thread("cthr_contact_later"), TriggerReason::Idle);
    assert_eq!(
        h.workflow.process(&trigger).await.expect("outcome"),
        LeadOutcome::MissingContact
    );

    // The customer comes back and leaves a number; no trigger this time.
    h.clock.advance(Duration::from_secs(100));
    let (thread_now, mut items) = fixture_thread(NO_CONTACT);
    items.push(
        serde_json::from_value::<ThreadItem>(serde_json::json!({
            "id": "cthi_later", "type": "chatkit.user_message", "created_at": NOW + 100,
            "content": [{"type": "input_text", "text": "Call me at 408-555-0142"}],
            "attachments": [], "quoted_text": null, "inference_options": {}
        }))
        .expect("item"),
    );
    h.chatkit.add_thread(
        Thread {
            id: thread("cthr_contact_later"),
            user: Some(visitor.as_str().to_owned()),
            ..thread_now
        },
        items,
    );

    h.clock.advance(Duration::from_secs(QUIET - 100));
    let report = sweep(&h).await;
    assert!(
        matches!(
            report.leads[0].verdict,
            Verdict::Answer(LeadOutcome::NotIdle { .. })
        ),
        "the newest message is too recent: {:?}",
        report.leads
    );
    assert_eq!(h.mailer.sent_count(), 0);
    let waiting = h.store.record(&thread("cthr_contact_later"));
    assert_eq!(
        waiting.and_then(|r| r.last_reason).as_deref(),
        Some("not_idle"),
        "the record says why the thread waits"
    );

    h.clock.advance(Duration::from_secs(QUIET));
    assert_eq!(sweep(&h).await.sent(), 1);
    assert_eq!(h.mailer.sent_count(), 1);
    assert!(
        h.mailer.sent()[0].html.contains("408"),
        "the new number is in the lead"
    );
}

#[tokio::test]
async fn a_chat_without_contact_is_never_sent_looked_at_less_and_less_and_dropped_after_the_horizon()
 {
    let h = ok_harness();
    chat_like(&h, NO_CONTACT, "cthr_never_contact", &user(5), NOW - 30);
    let trigger = LeadRequest::new(thread("cthr_never_contact"), TriggerReason::Idle);
    h.workflow.process(&trigger).await.expect("outcome");
    let (mut sweeps, mut looks) = (0, 0);
    while h
        .store
        .record(&thread("cthr_never_contact"))
        .and_then(|r| r.due_at)
        .is_some()
    {
        h.clock.advance(Duration::from_secs(3600));
        looks += sweep(&h).await.leads.len();
        sweeps += 1;
        assert!(sweeps <= 8 * 24, "still due after eight days");
    }
    assert_eq!(h.mailer.sent_count(), 0);
    assert!(
        sweeps >= 7 * 24 - 1,
        "due until the seven-day horizon: {sweeps} hourly sweeps"
    );
    assert!(
        looks <= sweeps / 8,
        "{looks} looks in {sweeps} hourly sweeps"
    );
    let reads = h
        .chatkit
        .calls()
        .iter()
        .filter(|c| matches!(c, ChatKitCall::RetrieveThread(_)))
        .count();
    assert_eq!(
        reads,
        looks + 1,
        "one ChatKit read per look, plus the trigger's"
    );
}

#[tokio::test]
async fn two_sweeps_at_once_send_one_email_and_ask_the_model_once() {
    let h = ok_harness();
    let visitor = user(3);
    chat_like(&h, TRUCK, "cthr_two_sweeps", &visitor, NOW - 30);
    h.workflow.note_session(&visitor).await.expect("session");
    h.clock.advance(Duration::from_secs(QUIET));
    let settings = settings();
    let (a, b) = tokio::join!(h.workflow.sweep(&settings), h.workflow.sweep(&settings));
    assert_eq!(a.expect("sweep").sent() + b.expect("sweep").sent(), 1);
    assert_eq!(h.mailer.sent_count(), 1);
    assert_eq!(h.summarizer.calls(), 1);
}

#[tokio::test]
async fn a_lease_a_crashed_instance_left_is_finished_by_the_sweep_flagged_as_a_possible_duplicate()
{
    let h = ok_harness();
    h.store.insert(LeadRecord {
        status: LeadStatus::Sending,
        lease_id: Some(LeaseId::random()),
        lock_expires_at: NOW - 1,
        delivery_started_at: Some(NOW - 100),
        due_at: Some(NOW - 1),
        attempts: 1,
        ..common_record(TRUCK)
    });
    let report = sweep(&h).await;
    assert_eq!(report.sent(), 1);
    assert!(
        h.mailer.sent()[0]
            .subject
            .starts_with("[Possible duplicate]")
    );
}

#[tokio::test]
async fn a_dry_run_says_what_it_would_do_and_writes_and_sends_nothing() {
    let h = ok_harness();
    let visitor = user(4);
    chat_like(&h, TRUCK, "cthr_dry", &visitor, NOW - 30);
    chat_like(&h, NO_CONTACT, "cthr_dry_no_contact", &user(6), NOW - 30);
    h.workflow.note_session(&visitor).await.expect("session");
    let trigger = LeadRequest::new(thread("cthr_dry_no_contact"), TriggerReason::Idle);
    h.workflow.process(&trigger).await.expect("outcome");
    h.clock.advance(Duration::from_secs(QUIET));
    let records_before = h.store.records();

    let report = h
        .workflow
        .sweep_dry_run(&settings())
        .await
        .expect("dry run");
    assert_eq!((report.users_listed, report.threads_found), (1, 1));
    assert!(matches!(
        report.leads.as_slice(),
        [lead] if lead.thread_id == thread("cthr_dry_no_contact")
            && matches!(lead.verdict, Verdict::Answer(LeadOutcome::MissingContact))
    ));
    assert_eq!(h.mailer.sent_count(), 0);
    assert_eq!(h.summarizer.calls(), 0);
    let mut after = h.store.records();
    let mut before = records_before;
    after.sort_by(|a, b| a.thread_id.as_str().cmp(b.thread_id.as_str()));
    before.sort_by(|a, b| a.thread_id.as_str().cmp(b.thread_id.as_str()));
    assert_eq!(after, before, "no record written");
    let real = sweep(&h).await;
    assert_eq!(
        real.users_listed, 1,
        "the dry run did not mark the user listed"
    );
}

#[tokio::test]
async fn explain_says_what_a_trigger_would_do_and_why_without_side_effects() {
    let h = ok_harness();
    let missing = h
        .workflow
        .explain(&thread(NO_CONTACT), None)
        .await
        .expect("explain");
    assert!(missing.record.is_none());
    let facts = missing.thread.expect("ChatKit facts");
    assert!(!facts.phone_found && !facts.email_found);
    assert!(facts.customer_messages > 0 && facts.items >= facts.customer_messages);
    assert!(matches!(
        missing.verdict,
        Verdict::Answer(LeadOutcome::MissingContact)
    ));
    assert!(missing.verdict.to_string().starts_with("missing_contact: "));

    let ready = h
        .workflow
        .explain(&thread(TRUCK), None)
        .await
        .expect("explain");
    assert!(ready.thread.as_ref().is_some_and(|f| f.phone_found));
    assert!(matches!(
        ready.verdict,
        Verdict::WouldSend {
            attempt: 1,
            possible_duplicate: false
        }
    ));

    let unknown = h
        .workflow
        .explain(&thread("cthr_nope"), None)
        .await
        .expect("explain");
    assert!(matches!(unknown.verdict, Verdict::Fails(_)));
    assert!(h.store.is_empty() && h.mailer.sent_count() == 0 && h.summarizer.calls() == 0);
}

#[tokio::test]
async fn preview_renders_the_email_without_a_lease_a_send_or_a_write() {
    let h = ok_harness();
    let plain = h
        .workflow
        .preview(&thread(TRUCK), false)
        .await
        .expect("preview");
    assert!(
        plain.html.contains("not requested"),
        "no model call without --with-summary"
    );
    assert_eq!(h.summarizer.calls(), 0);
    let full = h
        .workflow
        .preview(&thread(TRUCK), true)
        .await
        .expect("preview");
    assert_eq!(h.summarizer.calls(), 1);
    assert!(full.html.contains(&summary_ok().summary));
    assert!(h.store.is_empty());
    assert_eq!(h.mailer.sent_count(), 0);
}

#[tokio::test]
async fn resend_refuses_a_sent_thread_without_force_and_sends_once_marked_with_it() {
    let h = ok_harness();
    let trigger = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    assert!(h.workflow.process(&trigger).await.expect("sent").sent());
    let first_sent_at = h.store.record(&thread(TRUCK)).and_then(|r| r.sent_at);

    let refused = h
        .workflow
        .resend(&thread(TRUCK), false)
        .await
        .expect("resend");
    assert!(matches!(
        refused,
        Resend::NotSent(LeadOutcome::AlreadySent { .. })
    ));
    assert_eq!(h.mailer.sent_count(), 1);

    h.clock.advance(Duration::from_secs(3600));
    let again = h
        .workflow
        .resend(&thread(TRUCK), true)
        .await
        .expect("resend");
    assert!(
        matches!(again, Resend::Sent(LeadOutcome::Sent { .. })),
        "{again:?}"
    );
    assert_eq!(h.mailer.sent_count(), 2);
    let email = &h.mailer.sent()[1];
    assert!(email.subject.starts_with("[Resend] "), "{}", email.subject);
    assert!(email.html.contains("sent again by an operator"));
    assert!(!email.subject.contains("Possible duplicate"));
    let record = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(record.status, LeadStatus::Sent);
    assert_eq!(
        record.sent_at, first_sent_at,
        "sent_at stays when the lead first went out"
    );
    assert_eq!(
        record.message_id.as_deref(),
        Some(email.message_id.as_str())
    );
    assert_eq!(record.attempts, 2);
}

#[tokio::test]
async fn two_forced_resends_at_once_send_one_email() {
    let h = Arc::new(ok_harness());
    let trigger = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    h.workflow.process(&trigger).await.expect("sent");
    let truck = thread(TRUCK);
    let (a, b) = tokio::join!(
        h.workflow.resend(&truck, true),
        h.workflow.resend(&truck, true)
    );
    let sent = [a.expect("a"), b.expect("b")]
        .iter()
        .filter(|r| matches!(r, Resend::Sent(_)))
        .count();
    assert_eq!(sent, 1);
    assert_eq!(h.mailer.sent_count(), 2, "the first send and one resend");
}

/// A record of `id` as a first acquire at `NOW` writes it.
fn common_record(id: &str) -> LeadRecord {
    chatkit_leads_core::testkit::conformance::sample_record(&thread(id), NOW)
}

#[tokio::test]
async fn a_spent_budget_leaves_the_due_threads_for_the_next_sweep() {
    let h = ok_harness();
    let visitor = user(7);
    chat_like(&h, TRUCK, "cthr_budget_a", &visitor, NOW - 30);
    chat_like(&h, TRUCK, "cthr_budget_b", &visitor, NOW - 30);
    h.workflow.note_session(&visitor).await.expect("session");
    h.clock.advance(Duration::from_secs(QUIET));

    let spent = SweepSettings {
        budget: Some(Duration::ZERO),
        ..settings()
    };
    let report = h.workflow.sweep(&spent).await.expect("sweep");
    let summary = report.summary();
    assert_eq!(
        (summary.threads_found, summary.deferred, summary.due),
        (2, 2, 0)
    );
    assert_eq!(h.mailer.sent_count(), 0);

    let report = sweep(&h).await;
    assert_eq!(
        (report.summary().sent, report.summary().deferred),
        (2, 0),
        "still due"
    );
    assert_eq!(h.mailer.sent_count(), 2);
}

#[tokio::test]
async fn a_customer_who_writes_again_without_a_trigger_gets_the_shop_an_update_by_the_sweep() {
    let h = ok_harness();
    let visitor = user(9);
    chat_like(&h, TRUCK, "cthr_came_back", &visitor, NOW - 30);
    let trigger = LeadRequest::new(thread("cthr_came_back"), TriggerReason::Idle);
    assert!(matches!(
        h.workflow.process(&trigger).await.expect("outcome"),
        LeadOutcome::Sent { .. }
    ));

    // The visitor comes back the next day, writes again and leaves; the page
    // never reaches /lead.
    h.clock.advance(Duration::from_secs(24 * 3600));
    h.workflow.note_session(&visitor).await.expect("session");
    let later = NOW + 24 * 3600 + 5;
    let new_message: ThreadItem = serde_json::from_value(serde_json::json!({
        "id": "cthi_came_back_1",
        "object": "chatkit.thread_item",
        "thread_id": "cthr_came_back",
        "type": "chatkit.user_message",
        "created_at": later,
        "content": [{"type": "input_text", "text": "Can you also fix the back seat?"}],
        "attachments": [],
    }))
    .expect("item");
    assert!(
        h.chatkit
            .push_items(&thread("cthr_came_back"), vec![new_message])
    );
    h.clock.advance(Duration::from_secs(QUIET));

    let early = sweep(&h).await;
    assert_eq!(early.users_listed, 1);
    assert!(
        matches!(
            early.leads.as_slice(),
            [lead] if matches!(lead.verdict, Verdict::Answer(LeadOutcome::NotIdle { retry_after: 5 }))
        ),
        "the new message is younger than the quiet period: {early:?}"
    );
    assert_eq!(h.mailer.sent_count(), 1);

    // Still due: the next sweep after the check interval sends it.
    h.clock.advance(Duration::from_secs(61));
    let report = sweep(&h).await;
    assert!(
        report.leads.iter().any(|lead| matches!(
            &lead.verdict,
            Verdict::Answer(LeadOutcome::UpdateSent { update: 1, .. })
        )),
        "{report:?}"
    );
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2, "the lead and one update");
    assert!(sent[1].subject.starts_with("Re: "));
    assert!(sent[1].html.contains("also fix the back seat"));

    h.clock.advance(Duration::from_secs(QUIET));
    let again = sweep(&h).await;
    assert_eq!(again.leads.len(), 0, "nothing due any more: {again:?}");
    assert_eq!(h.mailer.sent_count(), 2);
}
