//! Delivering a lead beyond the inbox (issue 16, work in progress; see
//! `docs/sinks-design.md`): the rules every sink shares — what an answer
//! means, when to try again, and the event id every retry and every
//! instance agree on.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::ids::ThreadId;

/// Which event of a lead a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `lead.created`: the lead email went out.
    Created,
    /// `lead.updated`: the n-th update email went out (1 for the first).
    Updated(u32),
}

impl EventKind {
    /// The `type` of the event's payload.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "lead.created",
            Self::Updated(_) => "lead.updated",
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
