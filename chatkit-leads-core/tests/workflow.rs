//! The lead workflow, outcome by outcome and failure by failure, on the
//! testkit's in-memory ports.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::chatkit::{ItemKind, UserContent};
use chatkit_leads_core::record::{LeadRecord, LeadStatus};
use chatkit_leads_core::testkit::{ChatKitCall, StoreOp, SummaryScript};
use chatkit_leads_core::{
    ChatKitError, DuplicatePolicy, LeadError, LeadOutcome, LeadRequest, LeaseId, MailError,
    ReadinessPolicy, SummaryError, SummaryStatus, TriggerReason,
};
use common::{Harness, NOW, ready_summary, summary_ok, thread};

const TRUCK: &str = "cthr_fx_en_truck_seats";

fn lead(id: &str) -> LeadRequest {
    LeadRequest::new(thread(id), TriggerReason::Idle)
}

fn ok_harness() -> Harness {
    Harness::new(Harness::ok_script())
}

fn record(status: LeadStatus, lock_expires_at: i64) -> LeadRecord {
    LeadRecord {
        thread_id: thread(TRUCK),
        status,
        lease_id: Some(LeaseId::random()),
        lock_expires_at,
        created_at: NOW - 500,
        updated_at: NOW - 100,
        attempts: 1,
        sent_at: (status == LeadStatus::Sent).then_some(NOW - 100),
        message_id: (status == LeadStatus::Sent).then(|| "earlier@x".to_owned()),
        last_reason: Some("idle".into()),
        last_error: None,
        ttl: NOW + 1000,
        delivery_started_at: None,
        due_at: None,
        summary_cache: None,
        told: Default::default(),
        outbox: Default::default(),
        extra: Default::default(),
    }
}

/// A record whose holder crashed after the delivery checkpoint and whose
/// lease has expired.
fn crashed_after_checkpoint() -> LeadRecord {
    let mut crashed = record(LeadStatus::Sending, NOW - 1);
    crashed.delivery_started_at = Some(NOW - 130);
    crashed
}

fn assert_flagged_duplicate(outcome: &LeadOutcome) {
    assert!(
        matches!(
            outcome,
            LeadOutcome::Sent {
                possible_duplicate: true,
                ..
            }
        ),
        "expected a flagged resend, got {outcome:?}"
    );
}

async fn process(h: &Harness, id: &str) -> LeadOutcome {
    h.workflow.process(&lead(id)).await.expect("outcome")
}

#[tokio::test]
async fn first_trigger_sends_one_email_and_marks_the_thread_sent() {
    let h = ok_harness();
    let outcome = process(&h, TRUCK).await;
    let LeadOutcome::Sent {
        message_id,
        summary,
        possible_duplicate,
        trigger,
    } = &outcome
    else {
        panic!("expected sent, got {outcome:?}");
    };
    assert_eq!(trigger.as_str(), "idle");
    assert_eq!(*summary, SummaryStatus::Included);
    assert!(!possible_duplicate);
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(&sent[0].message_id, message_id);
    assert!(sent[0].subject.contains("2016 Ford F-150"));
    let rec = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(rec.status, LeadStatus::Sent);
    assert_eq!(rec.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(rec.sent_at, Some(NOW));
    assert!(rec.delivery_started_at.is_some());
    assert_eq!(h.summarizer.calls(), 1);
}

#[tokio::test]
async fn second_trigger_after_send_is_already_sent_without_fetching() {
    let h = ok_harness();
    process(&h, TRUCK).await;
    let calls_before = h.chatkit.calls().len();
    let outcome = process(&h, TRUCK).await;
    assert_eq!(outcome, LeadOutcome::AlreadySent { sent_at: Some(NOW) });
    assert_eq!(
        h.chatkit.calls().len(),
        calls_before,
        "fast path must not call ChatKit"
    );
    assert_eq!(h.mailer.sent_count(), 1);
}

#[tokio::test]
async fn trigger_while_another_holds_the_lease_is_in_progress() {
    let h = ok_harness();
    h.store.insert(record(LeadStatus::Sending, NOW + 60));
    assert_eq!(process(&h, TRUCK).await, LeadOutcome::InProgress);
    assert!(h.chatkit.calls().is_empty());
    assert_eq!(h.mailer.sent_count(), 0);
}

#[tokio::test]
async fn trigger_during_error_cooldown_reports_seconds_left() {
    let h = ok_harness();
    h.store.insert(record(LeadStatus::Error, NOW + 42));
    assert_eq!(
        process(&h, TRUCK).await,
        LeadOutcome::Cooldown { retry_after: 42 }
    );
    assert!(h.chatkit.calls().is_empty());
}

/// The record a trigger leaves when it sent nothing: no lease, due for the
/// sweeper at `due_at`.
fn assert_left_due(h: &Harness, id: &str, due_at: i64, reason: &str) {
    let record = h.store.record(&thread(id)).expect("a pending record");
    assert_eq!(record.status, LeadStatus::Pending);
    assert_eq!(record.lease_id, None, "no lease was taken");
    assert_eq!(record.attempts, 0);
    assert_eq!(record.due_at, Some(due_at));
    assert_eq!(record.last_reason.as_deref(), Some(reason));
}

/// When a trigger at `NOW` that found nothing to send makes a fixture
/// thread due: after 600 s, or a quarter of the chat's age when that is
/// longer.
fn recheck(id: &str) -> i64 {
    let created_at = common::fixture_thread(id).0.created_at;
    NOW + 600.max((NOW - created_at) / 4)
}

#[tokio::test]
async fn empty_thread_takes_no_lease_and_no_model_call_and_is_looked_at_again_later() {
    let h = ok_harness();
    assert_eq!(process(&h, "cthr_fx_empty").await, LeadOutcome::EmptyThread);
    assert_left_due(
        &h,
        "cthr_fx_empty",
        recheck("cthr_fx_empty"),
        "empty_thread",
    );
    assert_eq!(h.summarizer.calls(), 0);
}

#[tokio::test]
async fn chat_without_contact_takes_no_lease_and_no_model_call_and_is_looked_at_again_later() {
    let h = ok_harness();
    assert_eq!(
        process(&h, "cthr_fx_no_contact").await,
        LeadOutcome::MissingContact
    );
    assert_left_due(
        &h,
        "cthr_fx_no_contact",
        recheck("cthr_fx_no_contact"),
        "missing_contact",
    );
    assert_eq!(h.summarizer.calls(), 0);
    // Asked again at once: the thread is already due; nothing is written.
    let before = h.store.record(&thread("cthr_fx_no_contact"));
    h.clock.advance(Duration::from_secs(5));
    assert_eq!(
        process(&h, "cthr_fx_no_contact").await,
        LeadOutcome::MissingContact
    );
    assert_eq!(h.store.record(&thread("cthr_fx_no_contact")), before);
}

#[tokio::test]
async fn unknown_thread_is_not_found_and_leaves_no_record() {
    let h = ok_harness();
    let err = h
        .workflow
        .process(&lead("cthr_missing"))
        .await
        .expect_err("404");
    assert!(matches!(err, LeadError::ThreadNotFound(_)));
    assert_eq!(err.status_code(), 404);
    assert!(h.store.is_empty());
}

#[tokio::test]
async fn chatkit_outage_is_a_5xx_and_the_thread_is_looked_at_after_the_cooldown() {
    let h = ok_harness();
    h.chatkit
        .fail_with(Some(ChatKitError::Status { status: 500 }));
    let err = h.workflow.process(&lead(TRUCK)).await.expect_err("outage");
    assert_eq!(err.status_code(), 502);
    assert_left_due(&h, TRUCK, NOW + 60, "chatkit_error");
    h.chatkit.fail_with(None);
    assert!(
        process(&h, TRUCK).await.sent(),
        "nothing blocks the next trigger"
    );
}

#[tokio::test]
async fn thread_and_first_items_page_are_fetched_concurrently() {
    let h = ok_harness();
    process(&h, TRUCK).await;
    assert!(
        h.chatkit.max_in_flight() >= 2,
        "thread and first page must overlap"
    );
}

#[tokio::test]
async fn long_thread_is_read_page_by_page() {
    let h = ok_harness();
    process(&h, "cthr_fx_long_pages").await;
    let pages = h
        .chatkit
        .calls()
        .iter()
        .filter(|c| matches!(c, ChatKitCall::ListItems(..)))
        .count();
    assert_eq!(pages, 3, "255 items at 100 per page");
    let input = h.summarizer.last_input().expect("model input");
    assert!(
        input.input.contains("That's everything"),
        "newest message reaches the model"
    );
    assert!(
        input.input.contains("Detail 1:"),
        "first message reaches the model"
    );
}

#[tokio::test]
async fn page_cap_stops_reading_and_says_so_in_diagnostics() {
    let h = Harness::with_config(Harness::ok_script(), |c| c.max_item_pages = 2);
    // The long thread, with the customer's email in the first message.
    let (mut thread_json, mut items) = common::fixture_thread("cthr_fx_long_pages");
    thread_json.id = thread("cthr_capped");
    for item in &mut items {
        if let ItemKind::UserMessage { content, .. } = &mut item.kind {
            content.push(UserContent::InputText {
                text: "reach me at jordan.kim@example.org".into(),
            });
            break;
        }
    }
    h.chatkit.add_thread(thread_json, items);
    let outcome = process(&h, "cthr_capped").await;
    assert!(outcome.sent(), "{outcome:?}");
    let pages = h
        .chatkit
        .calls()
        .iter()
        .filter(|c| matches!(c, ChatKitCall::ListItems(..)))
        .count();
    assert_eq!(pages, 2);
    let email = &h.mailer.sent()[0];
    assert!(
        email.html.contains("truncated after 2 pages"),
        "diagnostics must report the cap"
    );
}

#[tokio::test]
async fn store_failure_is_a_5xx_and_sends_nothing() {
    let h = ok_harness();
    h.store.fail_on(Some(StoreOp::Load));
    let err = h
        .workflow
        .process(&lead(TRUCK))
        .await
        .expect_err("store down");
    assert!(matches!(err, LeadError::Store(_)));
    assert_eq!(err.status_code(), 503);
    assert_eq!(h.mailer.sent_count(), 0);
}

#[tokio::test]
async fn store_failure_while_acquiring_sends_nothing_and_calls_no_model() {
    let h = ok_harness();
    h.store.fail_on(Some(StoreOp::Put));
    assert!(h.workflow.process(&lead(TRUCK)).await.is_err());
    assert_eq!(h.summarizer.calls(), 0);
    assert_eq!(h.mailer.sent_count(), 0);
}

#[tokio::test]
async fn rejected_mail_marks_error_then_cooldown_then_retry_sends() {
    let h = ok_harness();
    h.mailer
        .fail_next(MailError::Rejected("mailbox unavailable".into()));
    let err = h
        .workflow
        .process(&lead(TRUCK))
        .await
        .expect_err("mail failure");
    assert!(matches!(err, LeadError::Mail(_)));
    assert_eq!(err.status_code(), 502);
    let rec = h.store.record(&thread(TRUCK)).expect("record kept");
    assert_eq!(rec.status, LeadStatus::Error);
    assert_eq!(rec.lock_expires_at, NOW + 60);
    assert_eq!(
        rec.delivery_started_at, None,
        "a rejection proves nothing was sent"
    );
    assert!(
        rec.last_error
            .as_deref()
            .is_some_and(|e| e.contains("rejected"))
    );

    assert_eq!(
        process(&h, TRUCK).await,
        LeadOutcome::Cooldown { retry_after: 60 }
    );

    h.clock.advance(Duration::from_secs(60));
    let outcome = process(&h, TRUCK).await;
    assert!(
        matches!(
            outcome,
            LeadOutcome::Sent {
                possible_duplicate: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(h.mailer.sent_count(), 1);
    assert_eq!(h.store.record(&thread(TRUCK)).map(|r| r.attempts), Some(2));
}

#[tokio::test]
async fn mail_timeout_retry_is_flagged_as_possible_duplicate() {
    let h = ok_harness();
    h.mailer
        .fail_next(MailError::Transport("timed out after DATA".into()));
    h.workflow
        .process(&lead(TRUCK))
        .await
        .expect_err("transport failure");
    assert!(
        h.store
            .record(&thread(TRUCK))
            .and_then(|r| r.delivery_started_at)
            .is_some()
    );
    h.clock.advance(Duration::from_secs(61));
    let outcome = process(&h, TRUCK).await;
    assert_flagged_duplicate(&outcome);
    let email = &h.mailer.sent()[0];
    assert!(
        email.subject.starts_with("[Possible duplicate]"),
        "{}",
        email.subject
    );
}

#[tokio::test]
async fn summary_failure_still_sends_and_is_reported() {
    let h = Harness::new(SummaryScript::Fail(SummaryError::Refused));
    let outcome = process(&h, TRUCK).await;
    let LeadOutcome::Sent { summary, .. } = outcome else {
        panic!("expected sent");
    };
    assert_eq!(
        summary,
        SummaryStatus::Failed("the model refused to summarise".into())
    );
    let email = &h.mailer.sent()[0];
    assert!(email.html.contains("the model refused to summarise"));
}

#[tokio::test]
async fn summary_timeout_still_sends_and_is_reported() {
    let h = Harness::new(SummaryScript::Hang);
    let outcome = process(&h, TRUCK).await;
    assert!(
        matches!(&outcome, LeadOutcome::Sent { summary: SummaryStatus::Failed(r), .. } if r.contains("timed out")),
        "{outcome:?}"
    );
    assert_eq!(h.mailer.sent_count(), 1);
}

#[tokio::test]
async fn lease_lost_before_mark_sent_still_reports_the_send() {
    let h = ok_harness();
    h.store
        .steal_lease_before_write(|next| next.status == LeadStatus::Sent);
    let outcome = process(&h, TRUCK).await;
    assert!(outcome.sent(), "{outcome:?}");
    assert_eq!(h.mailer.sent_count(), 1);
    let rec = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(
        rec.status,
        LeadStatus::Sending,
        "the new holder's record is not overwritten"
    );
}

#[tokio::test]
async fn lease_lost_before_delivery_leaves_the_send_to_the_new_holder() {
    let h = ok_harness();
    h.store
        .steal_lease_before_write(|next| next.delivery_started_at.is_some());
    assert_eq!(process(&h, TRUCK).await, LeadOutcome::InProgress);
    assert_eq!(h.mailer.sent_count(), 0);
}

#[tokio::test]
async fn expired_lease_with_checkpoint_resends_flagged_as_possible_duplicate() {
    let h = ok_harness();
    h.store.insert(crashed_after_checkpoint());
    let outcome = process(&h, TRUCK).await;
    assert_flagged_duplicate(&outcome);
    assert_eq!(outcome.to_response().possible_duplicate, Some(true));
    let email = &h.mailer.sent()[0];
    assert!(email.subject.starts_with("[Possible duplicate] "));
    assert!(
        email.html.contains("Attempt:</span> 2"),
        "attempt number shown"
    );
}

#[tokio::test]
async fn alert_only_policy_sends_an_alert_instead_of_the_lead() {
    let h = Harness::with_config(SummaryScript::Answer(Box::new(summary_ok())), |c| {
        c.duplicates = DuplicatePolicy::AlertOnly
    });
    h.store.insert(crashed_after_checkpoint());
    let outcome = process(&h, TRUCK).await;
    assert_flagged_duplicate(&outcome);
    let email = &h.mailer.sent()[0];
    assert!(
        email.subject.contains(TRUCK),
        "alert names the thread: {}",
        email.subject
    );
    assert!(
        !email.html.contains("Call script"),
        "alert is not the full lead"
    );
}

#[tokio::test]
async fn quiet_period_answers_not_idle_without_a_lease() {
    // The newest item of the truck thread is at 1767304986; look 100 s later.
    let h = Harness::build(
        1_767_304_986 + 100,
        SummaryScript::Answer(Box::new(summary_ok())),
        |c| {
            c.quiet_period = Some(Duration::from_secs(300));
        },
    );
    assert_eq!(
        process(&h, TRUCK).await,
        LeadOutcome::NotIdle { retry_after: 200 }
    );
    assert_left_due(&h, TRUCK, 1_767_304_986 + 300, "not_idle");
    assert_eq!(h.summarizer.calls(), 0);
    h.clock.advance(Duration::from_secs(200));
    assert!(process(&h, TRUCK).await.sent(), "quiet long enough");
}

#[tokio::test]
async fn require_handoff_ready_waits_releases_the_lease_then_sends_when_ready() {
    let mut not_ready = summary_ok();
    not_ready.handoff_ready = false;
    not_ready.handoff_reason = "missing_project".into();
    let h = Harness::with_config(SummaryScript::Answer(Box::new(not_ready)), |c| {
        c.readiness = ReadinessPolicy::RequireHandoffReady
    });
    let outcome = process(&h, TRUCK).await;
    assert_eq!(
        outcome,
        LeadOutcome::NotReady {
            reason: "missing_project".into(),
            missing_info: vec!["material preference".into()],
        }
    );
    assert_eq!(h.mailer.sent_count(), 0);
    h.summarizer
        .set(SummaryScript::Answer(Box::new(summary_ok())));
    assert!(
        process(&h, TRUCK).await.sent(),
        "released lease lets the next trigger send"
    );
    assert_eq!(h.mailer.sent_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_triggers_send_exactly_one_email_and_one_summary() {
    let h = ok_harness();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let workflow = Arc::clone(&h.workflow);
            tokio::spawn(async move { workflow.process(&lead(TRUCK)).await })
        })
        .collect();
    let mut sent_now = 0;
    for task in tasks {
        let outcome = task.await.expect("task").expect("outcome");
        match outcome {
            LeadOutcome::Sent { .. } => sent_now += 1,
            LeadOutcome::AlreadySent { .. } | LeadOutcome::InProgress => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(sent_now, 1);
    assert_eq!(h.mailer.sent_count(), 1);
    assert_eq!(h.summarizer.calls(), 1);
}

/// The ChatKit calls made for one thread so far.
fn chatkit_calls(h: &Harness) -> (usize, usize) {
    let calls = h.chatkit.calls();
    let threads = calls
        .iter()
        .filter(|c| matches!(c, ChatKitCall::RetrieveThread(_)))
        .count();
    let pages = calls
        .iter()
        .filter(|c| matches!(c, ChatKitCall::ListItems(..)))
        .count();
    (threads, pages)
}

#[tokio::test]
async fn simultaneous_triggers_in_one_process_share_one_fetch_and_each_gets_a_true_answer() {
    let h = ok_harness();
    let request = lead(TRUCK);
    let outcomes = futures::future::join_all((0..9).map(|_| h.workflow.process(&request))).await;
    let sent = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(LeadOutcome::Sent { .. })))
        .count();
    assert_eq!(sent, 1, "{outcomes:?}");
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome,
                Ok(LeadOutcome::Sent { .. } | LeadOutcome::AlreadySent { sent_at: Some(_) })
            ),
            "a follower learns the lead went out: {outcome:?}"
        );
    }
    assert_eq!(chatkit_calls(&h), (1, 1), "one thread read, one page");
    assert_eq!(h.mailer.sent_count(), 1);
    assert_eq!(h.summarizer.calls(), 1);

    // Followers share an answer that is not a send as it is.
    let request = lead("cthr_fx_no_contact");
    let outcomes = futures::future::join_all((0..5).map(|_| h.workflow.process(&request))).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(LeadOutcome::MissingContact))),
        "{outcomes:?}"
    );
    assert_eq!(chatkit_calls(&h), (2, 2));
}

#[tokio::test]
async fn a_thread_read_as_sent_is_answered_from_memory_until_the_next_look_is_due() {
    let h = ok_harness();
    assert!(matches!(process(&h, TRUCK).await, LeadOutcome::Sent { .. }));
    let read = process(&h, TRUCK).await;
    assert!(
        matches!(read, LeadOutcome::AlreadySent { sent_at: Some(_) }),
        "{read:?}"
    );

    // The store is down, and it does not matter: the answer is known.
    h.store.fail_on(Some(StoreOp::Load));
    assert_eq!(process(&h, TRUCK).await, read);

    // Once a look for news is due, the store decides again.
    h.clock.advance(Duration::from_secs(60));
    let err = h
        .workflow
        .process(&lead(TRUCK))
        .await
        .expect_err("store down");
    assert!(matches!(err, LeadError::Store(_)), "{err:?}");
    h.store.fail_on(None);
    let before = h.chatkit.calls().len();
    assert_eq!(process(&h, TRUCK).await, read);
    assert_eq!(
        h.chatkit.calls().len(),
        before + 1,
        "the look asked ChatKit for news"
    );
}

#[tokio::test]
async fn a_trigger_waiting_on_a_dropped_one_runs_itself() {
    let h = ok_harness();
    let request = lead(TRUCK);
    let mut leader = Box::pin(h.workflow.process(&request));
    assert!(futures::poll!(&mut leader).is_pending(), "waits on ChatKit");
    let mut follower = Box::pin(h.workflow.process(&request));
    assert!(
        futures::poll!(&mut follower).is_pending(),
        "waits on the leader"
    );
    drop(leader); // its client went away
    let outcome = follower.await.expect("outcome");
    assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
    assert_eq!(h.mailer.sent_count(), 1);
}

#[tokio::test]
async fn a_retry_of_an_unchanged_transcript_reuses_the_summary_and_a_changed_one_asks_again() {
    let h = ok_harness();
    h.mailer
        .fail_next(MailError::Rejected("mailbox unavailable".into()));
    assert!(h.workflow.process(&lead(TRUCK)).await.is_err());
    assert_eq!(h.summarizer.calls(), 1);
    let kept = h.store.record(&thread(TRUCK)).expect("record");
    assert!(kept.summary_cache.is_some(), "kept for the retry");
    assert!(
        !format!("{kept:?}").contains("555"),
        "the kept summary stays out of Debug"
    );

    // Same transcript, another failure, then a send: no second model call,
    // and the email carries the kept summary.
    h.clock.advance(Duration::from_secs(60));
    h.mailer
        .fail_next(MailError::Transport("connection reset".into()));
    assert!(h.workflow.process(&lead(TRUCK)).await.is_err());
    h.clock.advance(Duration::from_secs(60));
    let outcome = process(&h, TRUCK).await;
    assert!(
        matches!(
            outcome,
            LeadOutcome::Sent {
                summary: SummaryStatus::Included,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        h.summarizer.calls(),
        1,
        "the model ran once for one transcript"
    );
    let sent = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(sent.summary_cache, None, "nothing to retry once sent");

    // Another thread: it fails, then the customer writes more before the
    // retry; the changed transcript gets a fresh summary.
    let (original, mut items) = common::fixture_thread(TRUCK);
    let other = thread("cthr_cache_changed");
    h.chatkit.add_thread(
        chatkit_leads_core::chatkit::Thread {
            id: other.clone(),
            ..original.clone()
        },
        items.clone(),
    );
    h.mailer
        .fail_next(MailError::Rejected("mailbox unavailable".into()));
    assert!(
        h.workflow
            .process(&lead("cthr_cache_changed"))
            .await
            .is_err()
    );
    assert_eq!(h.summarizer.calls(), 2);
    let mut more = items.last().expect("items").clone();
    more.id = "cthi_cache_more".to_owned();
    more.created_at = NOW + 100;
    items.push(more);
    h.chatkit.add_thread(
        chatkit_leads_core::chatkit::Thread {
            id: other.clone(),
            ..original
        },
        items,
    );
    h.clock.advance(Duration::from_secs(60));
    let outcome = process(&h, "cthr_cache_changed").await;
    assert!(outcome.sent(), "{outcome:?}");
    assert_eq!(
        h.summarizer.calls(),
        3,
        "a changed transcript is summarised again"
    );
}

#[tokio::test]
async fn the_models_contact_values_win_over_the_scanned_ones() {
    // The truck chat says (408) 555-0142 and no email; the model read the
    // customer's correction as another number and an address.
    let model = ready_summary(Some("(415) 555-0199"), Some("maria@example.com"));
    let h = Harness::new(SummaryScript::Answer(Box::new(model)));
    let outcome = process(&h, TRUCK).await;
    assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
    let email = &h.mailer.sent()[0];
    assert!(
        email.html.contains("tel:+14155550199"),
        "the model's phone is the call link"
    );
    assert!(
        !email.html.contains("tel:+14085550142"),
        "not the scanned one"
    );
    assert!(
        email.html.contains("mailto:maria@example.com"),
        "the model's address"
    );
    assert_eq!(
        email.reply_to.as_ref().map(|a| a.as_str()),
        Some("maria@example.com"),
        "replies go to the model's address"
    );
}
