//! Delivering a lead beyond the inbox (webhooks, Slack): the rules every
//! sink shares — what an answer
//! means, when to try again, and the event id every retry and every
//! instance agree on.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::ids::ThreadId;
use crate::record::LeadRecord;
pub use crate::record::outbox::{Delivery, DeliveryState, Event, EventKind, Outbox};

/// The id of one event for one sink (Standard Webhooks' `webhook-id`):
/// derived from the thread, the event and the sink, never random, so every
/// retry and every instance send the same id and a receiver can dedupe.
///
/// ```
/// use chatkit_leads_core::delivery::{event_id, EventKind};
/// use chatkit_leads_core::ThreadId;
/// let thread = ThreadId::parse("cthr_abc").unwrap();
/// let id = event_id(&thread, EventKind::Created, "webhook:crm");
/// assert_eq!(id, event_id(&thread, EventKind::Created, "webhook:crm"));
/// assert_ne!(id, event_id(&thread, EventKind::Updated(1), "webhook:crm"));
/// assert!(id.starts_with("msg_") && id.len() == 36);
/// ```
pub fn event_id(thread: &ThreadId, kind: EventKind, sink: &str) -> String {
    let mut hash = Sha256::new();
    // Length-prefixed fields: no two inputs hash the same bytes.
    for field in [
        thread.as_str().as_bytes(),
        kind.name().as_bytes(),
        sink.as_bytes(),
    ] {
        hash.update((field.len() as u64).to_le_bytes());
        hash.update(field);
    }
    let number = match kind {
        EventKind::Created => 0,
        EventKind::Updated(n) => n,
    };
    hash.update(number.to_le_bytes());
    let digest = hash.finalize();
    let mut id = String::with_capacity(36);
    id.push_str("msg_");
    for byte in &digest[..16] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// What a receiver's answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: delivered; never sent again.
    Delivered,
    /// 408, 429, 5xx, a timeout or a transport error: try again later.
    Retry,
    /// 410 Gone: the receiver asks not to be called again.
    Disable,
    /// Any other 4xx (or 1xx/3xx, as redirects are not followed): a request
    /// the receiver will never accept; give up.
    Fail,
}

impl Verdict {
    /// The verdict on an HTTP status, or on no answer at all (`None`:
    /// timeout, refused connection, reset).
    pub fn of(status: Option<u16>) -> Self {
        match status {
            None | Some(408 | 429 | 500..=599) => Self::Retry,
            Some(200..=299) => Self::Delivered,
            Some(410) => Self::Disable,
            Some(_) => Self::Fail,
        }
    }
}

/// Waits before each retry: minutes at first, then hours; about 23 hours
/// from the first try to the last.
const SCHEDULE: [u64; 8] = [30, 120, 600, 1_800, 3_600, 10_800, 21_600, 43_200];

/// How long to wait before retrying after `failures` failed attempts
/// (1 after the first), spread by `jitter` in `[0, 1)` over ±20 % so that
/// receivers that come back are not hit by every sender at once; `None`
/// when the schedule is spent and the delivery has failed for good.
pub fn backoff(failures: u32, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(failures.checked_sub(1)?).ok()?;
    let base = *SCHEDULE.get(index)? as f64;
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Some(Duration::from_secs_f64(base * spread))
}

/// The record with `kind`'s event added (its `document` the payload's
/// `data`) and one delivery due at `now` for each of `sinks`. Written by
/// the same conditional write that marks the email sent, so an event is
/// never lost between the two. `None` when the event is already there (a
/// repeated write changes nothing).
pub fn enqueue(
    rec: &LeadRecord,
    kind: EventKind,
    document: &str,
    sinks: &[&str],
    now: i64,
) -> Option<LeadRecord> {
    if sinks.is_empty() || rec.outbox.events.iter().any(|e| e.kind == kind) {
        return None;
    }
    let mut next = rec.clone();
    let index = u32::try_from(next.outbox.events.len()).ok()?;
    next.outbox.events.push(Event {
        kind,
        document: document.to_owned(),
        created_at: now,
    });
    for sink in sinks {
        next.outbox.deliveries.push(Delivery {
            sink: (*sink).to_owned(),
            event: index,
            id: event_id(&rec.thread_id, kind, sink),
            state: DeliveryState::Due { at: now },
            attempts: 0,
            last_status: None,
        });
    }
    follow(rec, &mut next);
    Some(next)
}

/// Sets `next.due_at` (the one time the sweeper finds a record by) after
/// the outbox changed from `rec`'s to `next`'s: the earlier of the
/// outbox's earliest and the record's own due time (a look for news, a
/// lease's end), which waits in [`Outbox::record_due`] while a delivery
/// stands in front of it.
fn follow(rec: &LeadRecord, next: &mut LeadRecord) {
    let own = record_due(rec);
    let outbox = earliest(&next.outbox);
    next.due_at = outbox.into_iter().chain(own).min();
    next.outbox.record_due = own.filter(|_| next.due_at != own);
}

/// The record's own due time, whatever the outbox needs: its `due_at`,
/// unless that is the outbox's, then the one waiting behind it. The sweep
/// runs the workflow on a record only when this has come.
pub fn record_due(rec: &LeadRecord) -> Option<i64> {
    match rec.due_at {
        Some(at) if Some(at) == earliest(&rec.outbox) => rec.outbox.record_due,
        other => other,
    }
}

/// The first delivery that may be claimed at `now`: due, or claimed by a
/// holder whose lease ran out.
pub fn next_due(rec: &LeadRecord, now: i64) -> Option<&Delivery> {
    rec.outbox.deliveries.iter().find(|d| claimable(d, now))
}

fn claimable(delivery: &Delivery, now: i64) -> bool {
    match delivery.state {
        DeliveryState::Due { at } => at <= now,
        DeliveryState::Sending { until } => until <= now,
        _ => false,
    }
}

/// The record after the caller claims delivery `id` at `now` until
/// `until` (one conditional write: of simultaneous claimers, one wins).
/// `None` unless it is claimable.
pub fn claim(rec: &LeadRecord, id: &str, now: i64, until: i64) -> Option<LeadRecord> {
    let mut next = rec.clone();
    let delivery = next
        .outbox
        .deliveries
        .iter_mut()
        .find(|d| d.id == id && claimable(d, now))?;
    delivery.state = DeliveryState::Sending { until };
    delivery.attempts = delivery.attempts.saturating_add(1);
    next.updated_at = now;
    follow(rec, &mut next);
    Some(next)
}

/// What one attempt on a delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// What it means.
    pub verdict: Verdict,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
}

impl Attempt {
    /// An attempt that got `status` (`None`: no answer).
    pub fn answered(status: Option<u16>) -> Self {
        Self {
            verdict: Verdict::of(status),
            status,
        }
    }
}

/// The record after an attempt on delivery `id` came to `attempt` at
/// `now`: delivered, due again after [`backoff`] (spread by `jitter`),
/// failed or disabled. `None` unless the delivery is being sent.
pub fn settle(
    rec: &LeadRecord,
    id: &str,
    attempt: Attempt,
    now: i64,
    jitter: f64,
) -> Option<LeadRecord> {
    let mut next = rec.clone();
    let delivery = next
        .outbox
        .deliveries
        .iter_mut()
        .find(|d| d.id == id && matches!(d.state, DeliveryState::Sending { .. }))?;
    delivery.last_status = attempt.status;
    delivery.state = match attempt.verdict {
        Verdict::Delivered => DeliveryState::Delivered { at: now },
        Verdict::Retry => match backoff(delivery.attempts, jitter) {
            Some(wait) => DeliveryState::Due {
                at: now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX)),
            },
            None => DeliveryState::Failed,
        },
        Verdict::Disable => DeliveryState::Disabled,
        Verdict::Fail => DeliveryState::Failed,
    };
    next.updated_at = now;
    follow(rec, &mut next);
    Some(next)
}

/// The record with its failed or disabled deliveries to `sink` due again
/// at `now`, attempts counted from zero and the same ids (an operator's
/// `resend --sink`, after fixing the receiver). `None` when there is none.
pub fn rearm(rec: &LeadRecord, sink: &str, now: i64) -> Option<LeadRecord> {
    let mut next = rec.clone();
    let mut rearmed = false;
    for delivery in next.outbox.deliveries.iter_mut().filter(|d| d.sink == sink) {
        if matches!(
            delivery.state,
            DeliveryState::Failed | DeliveryState::Disabled
        ) {
            delivery.state = DeliveryState::Due { at: now };
            delivery.attempts = 0;
            rearmed = true;
        }
    }
    rearmed.then(|| {
        next.updated_at = now;
        follow(rec, &mut next);
        next
    })
}

/// A spread in `[0, 1)` for [`backoff`], derived from the delivery and
/// its attempt: different deliveries retry at different moments, and a
/// test knows which.
pub fn jitter(id: &str, attempts: u32) -> f64 {
    let digest = Sha256::new()
        .chain_update(id.as_bytes())
        .chain_update(attempts.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The record with nothing due but its deliveries: a look for news done,
/// a lead sent, a thread the sweeper gives up on.
pub fn only_deliveries(mut rec: LeadRecord) -> LeadRecord {
    rec.outbox.record_due = None;
    rec.due_at = earliest(&rec.outbox);
    rec
}

/// When the outbox next needs someone: its earliest due time or lease end.
pub fn earliest(outbox: &Outbox) -> Option<i64> {
    outbox
        .deliveries
        .iter()
        .filter_map(|d| match d.state {
            DeliveryState::Due { at } => Some(at),
            DeliveryState::Sending { until } => Some(until),
            _ => None,
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LeaseId;
    use crate::lease::{AcquireRequest, rules};

    const NOW: i64 = 1_800_000_000;

    fn record() -> LeadRecord {
        rules::acquire(
            None,
            &AcquireRequest {
                thread_id: ThreadId::parse("cthr_out").expect("id"),
                lease_id: LeaseId::random(),
                now: NOW - 10,
                lock_expires_at: NOW + 110,
                ttl: NOW + 86_400,
                reason: "idle".to_owned(),
            },
        )
        .expect("new thread")
    }

    fn with_event() -> LeadRecord {
        enqueue(
            &record(),
            EventKind::Created,
            "{}",
            &["webhook:crm", "slack"],
            NOW,
        )
        .expect("enqueued")
    }

    #[test]
    fn an_event_is_enqueued_once_with_one_due_delivery_per_sink() {
        let rec = with_event();
        assert_eq!(rec.outbox.events.len(), 1);
        assert_eq!(rec.outbox.deliveries.len(), 2);
        assert!(
            rec.outbox
                .deliveries
                .iter()
                .all(|d| d.state == DeliveryState::Due { at: NOW })
        );
        assert_eq!(rec.due_at, Some(NOW), "the sweeper finds it");
        assert!(
            enqueue(&rec, EventKind::Created, "{}", &["slack"], NOW + 1).is_none(),
            "a repeated write adds nothing"
        );
        let update = enqueue(&rec, EventKind::Updated(1), "{}", &["slack"], NOW + 5)
            .expect("the update is its own event");
        assert_eq!(update.outbox.deliveries[2].event, 1);
        assert_ne!(update.outbox.deliveries[2].id, rec.outbox.deliveries[1].id);
    }

    #[test]
    fn marking_the_email_sent_enqueues_its_event_in_the_same_write() {
        let leased = record();
        let lease_id = leased.lease_id.clone().expect("held");
        let mark = crate::lease::SentMark {
            now: NOW,
            message_id: "m1".to_owned(),
            ttl: NOW + 86_400,
            told: crate::record::Told::default(),
            event: Some(crate::lease::NewEvent {
                kind: EventKind::Created,
                document: "{}".to_owned(),
                sinks: vec!["slack".to_owned()],
            }),
        };
        let sent = rules::mark_sent(&leased, &lease_id, &mark).expect("held");
        assert_eq!(sent.status, crate::record::LeadStatus::Sent);
        assert_eq!(sent.outbox.deliveries.len(), 1);
        assert_eq!(sent.due_at, Some(NOW), "due for the sinks at once");
        let plain = rules::mark_sent(
            &leased,
            &lease_id,
            &crate::lease::SentMark {
                event: None,
                ..mark
            },
        )
        .expect("held");
        assert!(plain.outbox.is_empty());
        assert_eq!(plain.due_at, None);
    }

    #[test]
    fn a_claimed_delivery_is_not_claimed_again_until_its_lease_ends() {
        let rec = with_event();
        let id = next_due(&rec, NOW).expect("due").id.clone();
        let claimed = claim(&rec, &id, NOW, NOW + 30).expect("claimed");
        assert!(claim(&claimed, &id, NOW + 29, NOW + 59).is_none());
        let again = claim(&claimed, &id, NOW + 30, NOW + 60).expect("lease ran out");
        assert_eq!(again.outbox.deliveries[0].attempts, 2);
        assert_eq!(
            again.outbox.deliveries[0].id, id,
            "same id on every attempt"
        );
    }

    #[test]
    fn answers_settle_the_delivery() {
        let rec = with_event();
        let id = rec.outbox.deliveries[0].id.clone();
        let sending = claim(&rec, &id, NOW, NOW + 30).expect("claimed");
        let done =
            settle(&sending, &id, Attempt::answered(Some(204)), NOW + 1, 0.5).expect("settled");
        assert_eq!(
            done.outbox.deliveries[0].state,
            DeliveryState::Delivered { at: NOW + 1 }
        );
        assert!(
            settle(&done, &id, Attempt::answered(Some(204)), NOW + 2, 0.5).is_none(),
            "once"
        );
        assert_eq!(done.due_at, Some(NOW), "the other sink is still due");
        let other = done.outbox.deliveries[1].id.clone();
        let both = claim(&done, &other, NOW + 2, NOW + 32).expect("claimed");
        let both = settle(&both, &other, Attempt::answered(Some(200)), NOW + 3, 0.5).expect("ok");
        assert_eq!(
            both.due_at,
            Some(NOW + 110),
            "deliveries done: the record's own due time (its lease's end) is back"
        );
        assert_eq!(only_deliveries(both).due_at, None, "nothing left is due");

        let retry =
            settle(&sending, &id, Attempt::answered(Some(503)), NOW + 1, 0.5).expect("settled");
        assert_eq!(
            retry.outbox.deliveries[0].state,
            DeliveryState::Due { at: NOW + 31 }
        );
        let gone =
            settle(&sending, &id, Attempt::answered(Some(410)), NOW + 1, 0.5).expect("settled");
        assert_eq!(gone.outbox.deliveries[0].state, DeliveryState::Disabled);
        let bad =
            settle(&sending, &id, Attempt::answered(Some(400)), NOW + 1, 0.5).expect("settled");
        assert_eq!(bad.outbox.deliveries[0].state, DeliveryState::Failed);
    }

    #[test]
    fn a_due_time_that_is_not_the_outboxs_is_kept() {
        let look = LeadRecord {
            due_at: Some(NOW + 500),
            ..with_event()
        };
        let id = look.outbox.deliveries[0].id.clone();
        let sending = claim(&look, &id, NOW, NOW + 30).expect("claimed");
        assert_eq!(sending.due_at, Some(NOW), "the other sink is due now");
        let rec = LeadRecord {
            due_at: Some(NOW + 500),
            ..enqueue(&record(), EventKind::Created, "{}", &["slack"], NOW).expect("queued")
        };
        let id = rec.outbox.deliveries[0].id.clone();
        let sending = claim(&rec, &id, NOW, NOW + 30).expect("claimed");
        assert_eq!(
            sending.due_at,
            Some(NOW + 30),
            "the claim's end comes first"
        );
        let done = settle(&sending, &id, Attempt::answered(Some(204)), NOW + 1, 0.5).expect("ok");
        assert_eq!(done.due_at, Some(NOW + 500), "the look's due time stays");
    }

    #[test]
    fn rearming_makes_failed_and_disabled_deliveries_due_with_their_ids() {
        let rec = with_event();
        let id = rec.outbox.deliveries[0].id.clone();
        let sending = claim(&rec, &id, NOW, NOW + 30).expect("claimed");
        let gone = settle(&sending, &id, Attempt::answered(Some(410)), NOW + 1, 0.5).expect("ok");
        assert!(
            rearm(&gone, "slack", NOW + 5).is_none(),
            "slack is still due"
        );
        let again = rearm(&gone, "webhook:crm", NOW + 5).expect("rearmed");
        let delivery = &again.outbox.deliveries[0];
        assert_eq!(delivery.state, DeliveryState::Due { at: NOW + 5 });
        assert_eq!((delivery.attempts, delivery.id.as_str()), (0, id.as_str()));
        assert!(rearm(&again, "webhook:crm", NOW + 6).is_none(), "once");
    }

    #[test]
    fn a_receiver_down_for_a_day_ends_failed_after_the_schedule() {
        let mut rec = with_event();
        let id = rec.outbox.deliveries[0].id.clone();
        let mut now = NOW;
        for _ in 0..=SCHEDULE.len() {
            rec = claim(&rec, &id, now, now + 30).expect("claimable");
            rec = settle(&rec, &id, Attempt::answered(None), now + 1, 0.5).expect("settled");
            match rec.outbox.deliveries[0].state {
                DeliveryState::Due { at } => now = at,
                DeliveryState::Failed => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(rec.outbox.deliveries[0].state, DeliveryState::Failed);
        assert_eq!(rec.outbox.deliveries[0].attempts, 9);
        assert!(now - NOW > 22 * 3600, "retried for about a day");
    }

    #[test]
    fn answers_map_to_what_the_issue_asks() {
        for (status, verdict) in [
            (Some(200), Verdict::Delivered),
            (Some(204), Verdict::Delivered),
            (Some(408), Verdict::Retry),
            (Some(429), Verdict::Retry),
            (Some(500), Verdict::Retry),
            (Some(503), Verdict::Retry),
            (None, Verdict::Retry),
            (Some(410), Verdict::Disable),
            (Some(400), Verdict::Fail),
            (Some(401), Verdict::Fail),
            (Some(301), Verdict::Fail),
        ] {
            assert_eq!(Verdict::of(status), verdict, "{status:?}");
        }
    }

    #[test]
    fn jitter_is_spread_and_repeatable() {
        let a = jitter("msg_a", 1);
        assert_eq!(a, jitter("msg_a", 1));
        assert!((0.0..1.0).contains(&a));
        assert_ne!(a, jitter("msg_a", 2));
        assert_ne!(a, jitter("msg_b", 1));
    }

    #[test]
    fn a_sinks_failure_maps_to_the_same_verdicts() {
        use crate::ports::SinkError;
        assert_eq!(SinkError::Status(503).verdict(), Verdict::Retry);
        assert_eq!(SinkError::Status(410).verdict(), Verdict::Disable);
        assert_eq!(SinkError::Status(404).verdict(), Verdict::Fail);
        assert_eq!(
            SinkError::Transport("reset".into()).verdict(),
            Verdict::Retry
        );
        assert_eq!(
            SinkError::Refused("private address".into()).verdict(),
            Verdict::Fail
        );
    }

    #[test]
    fn the_schedule_runs_from_minutes_to_about_a_day_then_stops() {
        assert_eq!(backoff(0, 0.5), None, "no failure, no wait");
        assert_eq!(backoff(1, 0.5), Some(Duration::from_secs(30)));
        assert_eq!(backoff(8, 0.5), Some(Duration::from_secs(43_200)));
        assert_eq!(backoff(9, 0.5), None, "spent");
        let total: u64 = SCHEDULE.iter().sum();
        assert!((22 * 3600..=24 * 3600).contains(&total), "{total}");
        assert_eq!(backoff(1, 0.0), Some(Duration::from_secs(24)));
        assert_eq!(backoff(1, 1.0), Some(Duration::from_secs(36)));
    }

    #[test]
    fn ids_differ_by_thread_event_and_sink() {
        let a = ThreadId::parse("cthr_a").expect("id");
        let b = ThreadId::parse("cthr_b").expect("id");
        let ids = [
            event_id(&a, EventKind::Created, "slack"),
            event_id(&b, EventKind::Created, "slack"),
            event_id(&a, EventKind::Updated(1), "slack"),
            event_id(&a, EventKind::Updated(2), "slack"),
            event_id(&a, EventKind::Created, "webhook:crm"),
        ];
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }
}
