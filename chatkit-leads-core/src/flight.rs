//! Single flight: simultaneous triggers for one thread inside one process
//! share one run of the workflow.
//!
//! A page can fire several triggers at once (idle, `pagehide`, the close
//! button, a retry); each used to fetch the thread and its pages before the
//! lease turned all but one away. Now the first becomes the *leader* and
//! runs; the others *follow*: they wait for the leader's result instead of
//! asking ChatKit again. The lease still decides across processes.
//!
//! A leader that is dropped before it finishes (its client went away)
//! releases its followers, and one of them leads a new run.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures::channel::oneshot;

/// The runs in flight, by key; each with the followers waiting for it.
pub(crate) struct Flights<K, T> {
    running: Mutex<HashMap<K, Vec<oneshot::Sender<T>>>>,
}

impl<K, T> Default for Flights<K, T> {
    fn default() -> Self {
        Self {
            running: Mutex::new(HashMap::new()),
        }
    }
}

/// What a caller of [`Flights::join`] does.
pub(crate) enum Joined<'a, K: Eq + Hash, T: Clone> {
    /// Nobody runs for this key: run, then [`Leading::finish`].
    Leader(Leading<'a, K, T>),
    /// A run is in flight: wait for its result. `Err(Canceled)` means the
    /// leader was dropped without one; join again.
    Follower(oneshot::Receiver<T>),
}

/// The leader's duty: hand its result to the followers.
pub(crate) struct Leading<'a, K: Eq + Hash, T: Clone> {
    flights: &'a Flights<K, T>,
    /// Taken by `finish`; still set when the leader is dropped unfinished.
    key: Option<K>,
}

impl<K: Eq + Hash + Clone, T: Clone> Flights<K, T> {
    /// Leads the run for `key`, or follows the one in flight.
    pub(crate) fn join(&self, key: &K) -> Joined<'_, K, T> {
        let mut running = self.lock();
        if let Some(followers) = running.get_mut(key) {
            let (sender, receiver) = oneshot::channel();
            followers.push(sender);
            return Joined::Follower(receiver);
        }
        running.insert(key.clone(), Vec::new());
        Joined::Leader(Leading {
            flights: self,
            key: Some(key.clone()),
        })
    }
}

impl<K, T> Flights<K, T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Vec<oneshot::Sender<T>>>> {
        // Nothing panics while the lock is held (one insert, push or
        // remove), so even a poisoned map is whole.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Eq + Hash, T: Clone> Leading<'_, K, T> {
    /// Ends the run: every follower gets a copy of `result`, and the next
    /// caller for this key leads a new run.
    pub(crate) fn finish(mut self, result: &T) {
        let Some(key) = self.key.take() else { return };
        let followers = self.flights.lock().remove(&key).unwrap_or_default();
        for follower in followers {
            // A follower that stopped waiting has nothing to receive.
            let _ = follower.send(result.clone());
        }
    }
}

impl<K: Eq + Hash, T: Clone> Drop for Leading<'_, K, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Dropping the senders wakes every follower with `Canceled`.
            self.flights.lock().remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leader<'a>(
        flights: &'a Flights<&'static str, u32>,
        key: &'static str,
    ) -> Leading<'a, &'static str, u32> {
        match flights.join(&key) {
            Joined::Leader(leading) => leading,
            Joined::Follower(_) => panic!("{key} should have no run in flight"),
        }
    }

    fn follower(flights: &Flights<&'static str, u32>, key: &'static str) -> oneshot::Receiver<u32> {
        match flights.join(&key) {
            Joined::Follower(waiting) => waiting,
            Joined::Leader(_) => panic!("{key} should have a run in flight"),
        }
    }

    #[tokio::test]
    async fn followers_get_the_leaders_result_and_the_next_caller_leads_again() {
        let flights = Flights::default();
        let leading = leader(&flights, "cthr_a");
        let first = follower(&flights, "cthr_a");
        let second = follower(&flights, "cthr_a");
        let other = leader(&flights, "cthr_b");
        leading.finish(&7);
        assert_eq!(first.await, Ok(7));
        assert_eq!(second.await, Ok(7));
        let again = leader(&flights, "cthr_a");
        drop((again, other));
        assert!(flights.lock().is_empty());
    }

    #[tokio::test]
    async fn a_dropped_leader_releases_its_followers_to_lead_again() {
        let flights = Flights::default();
        let leading = leader(&flights, "cthr_a");
        let waiting = follower(&flights, "cthr_a");
        drop(leading);
        assert_eq!(waiting.await, Err(oneshot::Canceled));
        let _new_leader = leader(&flights, "cthr_a");
    }
}
