use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::Clock;

/// A clock that moves only when told to. `sleep` advances it by the
/// requested duration and returns at once, so timeouts fire deterministically
/// and instantly when the work they guard never finishes.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// A clock showing Unix second `secs`.
    pub fn at_unix(secs: i64) -> Self {
        Self::at(DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn sleep(&self, duration: Duration) {
        // Let whatever races the sleep run first, then "wait".
        tokio::task::yield_now().await;
        self.advance(duration);
    }
}
