//! The sent memo: threads this process has seen sent, answered
//! `already_sent` without a store read for as long as nothing can change
//! that answer.
//!
//! Repeated triggers for a finished chat (every `pagehide`, every retry)
//! are the most common request; each used to cost a store read. A `sent`
//! record is final for the lead email, so the answer is known until one of
//! these, whichever comes first:
//!
//! - update emails are on and the next look for news is due
//!   (`told.checked_at` + [`UpdatePolicy::check_interval`]): the store
//!   decides that look, across instances;
//! - the record may expire (`ttl`);
//! - [`MemoPolicy::max_age`] has passed, so a record changed by hand in the
//!   store is honoured within that time.
//!
//! The memo holds at most [`MemoPolicy::capacity`] threads; when it is full
//! the entries past their time go, and if none are, all go (the next
//! trigger for each reads the store once).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::{MemoPolicy, UpdatePolicy, secs};
use crate::ids::ThreadId;
use crate::record::{LeadRecord, LeadStatus};

/// Threads known to be sent: `sent_at` and until when that is the answer.
pub(crate) struct SentMemo {
    policy: MemoPolicy,
    entries: Mutex<HashMap<ThreadId, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    sent_at: Option<i64>,
    until: i64,
}

impl SentMemo {
    pub(crate) fn new(policy: MemoPolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(sent_at)` when `thread` is known to be sent at `now`.
    pub(crate) fn sent_at(&self, thread: &ThreadId, now: i64) -> Option<Option<i64>> {
        if self.policy.capacity == 0 {
            return None;
        }
        let entry = *self.lock().get(thread)?;
        (now < entry.until).then_some(entry.sent_at)
    }

    /// Remembers `record`, just read from or written to the store at `now`,
    /// if it is sent and nothing can change that answer for a while.
    pub(crate) fn remember(&self, record: &LeadRecord, now: i64, updates: &UpdatePolicy) {
        if self.policy.capacity == 0 || record.status != LeadStatus::Sent {
            return;
        }
        let mut until = record
            .ttl
            .min(now.saturating_add(secs(self.policy.max_age)));
        if updates.enabled {
            let Some(checked_at) = record.told.checked_at else {
                return; // a look is due now
            };
            until = until.min(checked_at.saturating_add(secs(updates.check_interval)));
        }
        if until <= now {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.policy.capacity && !entries.contains_key(&record.thread_id) {
            entries.retain(|_, entry| now < entry.until);
            if entries.len() >= self.policy.capacity {
                entries.clear();
            }
        }
        entries.insert(
            record.thread_id.clone(),
            Entry {
                sent_at: record.sent_at,
                until,
            },
        );
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ThreadId, Entry>> {
        // One get, insert, retain or clear under the lock: never half-done.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LeaseId;
    use crate::lease::{AcquireRequest, rules};
    use crate::record::Told;
    use std::time::Duration;

    const NOW: i64 = 1_800_000_000;

    fn sent(id: &str, checked_at: Option<i64>) -> LeadRecord {
        let fresh = rules::acquire(
            None,
            &AcquireRequest {
                thread_id: ThreadId::parse(id).expect("id"),
                lease_id: LeaseId::random(),
                now: NOW - 100,
                lock_expires_at: NOW - 20,
                ttl: NOW + 30 * 24 * 3600,
                reason: "idle".to_owned(),
            },
        )
        .expect("a new thread is leased");
        LeadRecord {
            status: LeadStatus::Sent,
            sent_at: Some(NOW - 10),
            told: Told {
                checked_at,
                ..Told::default()
            },
            ..fresh
        }
    }

    fn updates(enabled: bool) -> UpdatePolicy {
        UpdatePolicy {
            enabled,
            check_interval: Duration::from_secs(60),
        }
    }

    fn memo(capacity: usize) -> SentMemo {
        SentMemo::new(MemoPolicy {
            capacity,
            max_age: Duration::from_secs(300),
        })
    }

    #[test]
    fn a_sent_record_is_remembered_until_the_next_look_is_due() {
        let memo = memo(10);
        let record = sent("cthr_a", Some(NOW - 20));
        memo.remember(&record, NOW, &updates(true));
        assert_eq!(memo.sent_at(&record.thread_id, NOW), Some(Some(NOW - 10)));
        assert_eq!(
            memo.sent_at(&record.thread_id, NOW + 39),
            Some(Some(NOW - 10))
        );
        assert_eq!(memo.sent_at(&record.thread_id, NOW + 40), None, "look due");
    }

    #[test]
    fn without_updates_the_memo_lasts_its_max_age_and_never_past_the_ttl() {
        let memo = memo(10);
        let record = sent("cthr_a", None);
        memo.remember(&record, NOW, &updates(false));
        assert!(memo.sent_at(&record.thread_id, NOW + 299).is_some());
        assert_eq!(memo.sent_at(&record.thread_id, NOW + 300), None);
        let expiring = LeadRecord {
            ttl: NOW + 5,
            ..sent("cthr_b", None)
        };
        memo.remember(&expiring, NOW, &updates(false));
        assert_eq!(memo.sent_at(&expiring.thread_id, NOW + 5), None);
    }

    #[test]
    fn what_is_not_known_for_sure_is_not_remembered() {
        let memo = memo(10);
        let never_looked = sent("cthr_a", None);
        memo.remember(&never_looked, NOW, &updates(true));
        assert_eq!(memo.sent_at(&never_looked.thread_id, NOW), None);
        let sending = LeadRecord {
            status: LeadStatus::Sending,
            ..sent("cthr_b", Some(NOW))
        };
        memo.remember(&sending, NOW, &updates(true));
        assert_eq!(memo.sent_at(&sending.thread_id, NOW), None);
        let off = self::memo(0);
        let record = sent("cthr_c", Some(NOW));
        off.remember(&record, NOW, &updates(true));
        assert_eq!(off.sent_at(&record.thread_id, NOW), None);
    }

    #[test]
    fn a_full_memo_makes_room() {
        let memo = memo(2);
        let (a, b, c) = (
            sent("cthr_a", Some(NOW - 59)),
            sent("cthr_b", Some(NOW)),
            sent("cthr_c", Some(NOW)),
        );
        memo.remember(&a, NOW, &updates(true));
        memo.remember(&b, NOW, &updates(true));
        memo.remember(&c, NOW + 1, &updates(true));
        assert_eq!(memo.lock().len(), 2, "the expired entry went");
        assert!(memo.sent_at(&b.thread_id, NOW + 1).is_some());
        let d = sent("cthr_d", Some(NOW));
        memo.remember(&d, NOW + 1, &updates(true));
        assert_eq!(memo.lock().len(), 1, "nothing expired: cleared");
        assert!(memo.sent_at(&d.thread_id, NOW + 1).is_some());
    }
}
