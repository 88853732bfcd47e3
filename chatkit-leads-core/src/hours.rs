//! Weekly opening hours in the shop's time zone.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// Opening and closing time of one day, local wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time.
    pub close: NaiveTime,
}

/// Opening hours for each weekday, Monday first; `None` is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    /// Monday..Sunday.
    pub days: [Option<DayHours>; 7],
}

impl WeeklyHours {
    /// The seed's hours: Mon–Fri 08:00–17:00, Sat 08:00–14:00, Sun closed.
    pub fn seed() -> Self {
        let day = |open: u32, close: u32| {
            Some(DayHours {
                open: NaiveTime::from_hms_opt(open, 0, 0).unwrap_or_default(),
                close: NaiveTime::from_hms_opt(close, 0, 0).unwrap_or_default(),
            })
        };
        let weekday = day(8, 17);
        Self {
            days: [
                weekday,
                weekday,
                weekday,
                weekday,
                weekday,
                day(8, 14),
                None,
            ],
        }
    }
}
