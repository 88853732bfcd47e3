//! Weekly opening hours in the shop's time zone, and whether the shop is open
//! at a given instant.
//!
//! Hours are local wall-clock times in the shop's IANA time zone. An instant
//! is always converted with chrono-tz (UTC → local), never with a fixed
//! offset, so the answer stays right on both DST change days.
//!
//! In a config file the week is a map of weekday names to `"HH:MM-HH:MM"` or
//! `"closed"`; days left out are closed:
//!
//! ```toml
//! [shop.hours]
//! mon = "08:00-17:00"
//! tue = "08:00-17:00"
//! wed = "08:00-17:00"
//! thu = "08:00-17:00"
//! fri = "08:00-17:00"
//! sat = "08:00-14:00"
//! sun = "closed"
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Longest piece of configuration text quoted back in an error, in characters.
const MAX_QUOTED: usize = 40;

/// Why opening hours are unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HoursError {
    /// The closing time is not after the opening time (hours across midnight
    /// are not supported).
    #[error("closing time {close} must be after opening time {open}")]
    CloseNotAfterOpen {
        /// The opening time given.
        open: NaiveTime,
        /// The closing time given.
        close: NaiveTime,
    },
    /// A day's hours are neither `HH:MM-HH:MM` nor `closed`.
    #[error("hours must be `HH:MM-HH:MM` or `closed`, got `{0}`")]
    InvalidRange(String),
    /// A key of the weekly map is not a weekday name.
    #[error("unknown weekday `{0}`; use mon..sun or monday..sunday")]
    UnknownWeekday(String),
    /// The same weekday appears twice (e.g. `mon` and `monday`).
    #[error("{0} is given more than once")]
    DuplicateWeekday(Weekday),
}

/// Opening and closing time of one day, local wall-clock time.
///
/// Always valid: `close` is after `open`. In config files it is written
/// `"08:00-17:00"`.
///
/// ```
/// use chatkit_leads_core::hours::DayHours;
/// let day: DayHours = "8:00-17:30".parse().unwrap();
/// assert_eq!(day.to_string(), "08:00-17:30");
/// assert!("17:00-08:00".parse::<DayHours>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DayHours {
    open: NaiveTime,
    close: NaiveTime,
}

impl DayHours {
    /// Hours from `open` (inclusive) to `close` (exclusive).
    pub fn new(open: NaiveTime, close: NaiveTime) -> Result<Self, HoursError> {
        if close > open {
            Ok(Self { open, close })
        } else {
            Err(HoursError::CloseNotAfterOpen { open, close })
        }
    }

    /// Opening time.
    pub fn open(&self) -> NaiveTime {
        self.open
    }

    /// Closing time.
    pub fn close(&self) -> NaiveTime {
        self.close
    }

    /// Whether the shop is open at local `time`: `open <= time < close`.
    pub fn contains(&self, time: NaiveTime) -> bool {
        self.open <= time && time < self.close
    }
}

fn parse_time(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .ok()
}

fn format_time(time: NaiveTime, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if time.second() == 0 {
        write!(f, "{}", time.format("%H:%M"))
    } else {
        write!(f, "{}", time.format("%H:%M:%S"))
    }
}

impl FromStr for DayHours {
    type Err = HoursError;

    /// Parses `HH:MM-HH:MM` (an en dash works too; seconds are optional).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            HoursError::InvalidRange(crate::text::truncate_chars(raw.trim(), MAX_QUOTED).to_owned())
        };
        let (open, close) = raw.split_once(['-', '–']).ok_or_else(invalid)?;
        let open = parse_time(open).ok_or_else(invalid)?;
        let close = parse_time(close).ok_or_else(invalid)?;
        Self::new(open, close)
    }
}

impl fmt::Display for DayHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_time(self.open, f)?;
        f.write_str("-")?;
        format_time(self.close, f)
    }
}

impl TryFrom<String> for DayHours {
    type Error = HoursError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DayHours> for String {
    fn from(value: DayHours) -> Self {
        value.to_string()
    }
}

/// The days of the week, Monday first, as indexed in [`WeeklyHours::days`].
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The English name of a weekday, e.g. `Sunday`.
///
/// ```
/// use chatkit_leads_core::hours::weekday_name;
/// assert_eq!(weekday_name(chrono::Weekday::Sun), "Sunday");
/// ```
pub fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// The short config key of a weekday, e.g. `sun`.
fn weekday_key(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Reads `mon`..`sun` or `monday`..`sunday`, in any letter case.
fn parse_weekday_key(raw: &str) -> Option<Weekday> {
    let key = raw.trim().to_ascii_lowercase();
    WEEKDAYS
        .into_iter()
        .find(|&d| key == weekday_key(d) || key == weekday_name(d).to_ascii_lowercase())
}

/// Opening hours for each weekday, Monday first; `None` is closed.
///
/// Serialized as a map from weekday (`mon`..`sun`, or full names when
/// reading) to `"HH:MM-HH:MM"` or `"closed"`. When reading, a day that is left
/// out is closed; an unknown or repeated day is an error.
///
/// ```
/// use chatkit_leads_core::hours::WeeklyHours;
/// let hours: WeeklyHours = serde_json::from_str(
///     r#"{"monday": "08:00-17:00", "sat": "08:00-14:00", "sun": "closed"}"#,
/// ).unwrap();
/// assert_eq!(hours.day(chrono::Weekday::Mon).map(|d| d.to_string()).as_deref(), Some("08:00-17:00"));
/// assert_eq!(hours.day(chrono::Weekday::Tue), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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

    /// Closed every day; add days with [`WeeklyHours::with_day`].
    pub fn closed() -> Self {
        Self::default()
    }

    /// The same week with `weekday` set to `hours` (`None` closes it).
    pub fn with_day(mut self, weekday: Weekday, hours: Option<DayHours>) -> Self {
        self.days[weekday.num_days_from_monday() as usize] = hours;
        self
    }

    /// The hours of `weekday`; `None` when closed all day.
    pub fn day(&self, weekday: Weekday) -> Option<DayHours> {
        self.days[weekday.num_days_from_monday() as usize]
    }

    /// Whether the weekly schedule is open at a local date and time
    /// (closed dates are not considered here).
    pub fn is_open_at(&self, local: NaiveDateTime) -> bool {
        self.day(local.weekday())
            .is_some_and(|d| d.contains(local.time()))
    }
}

const CLOSED: &str = "closed";

impl Serialize for WeeklyHours {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(7))?;
        for weekday in WEEKDAYS {
            match self.day(weekday) {
                Some(hours) => map.serialize_entry(weekday_key(weekday), &hours.to_string())?,
                None => map.serialize_entry(weekday_key(weekday), CLOSED)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WeeklyHours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WeekVisitor;

        impl<'de> Visitor<'de> for WeekVisitor {
            type Value = WeeklyHours;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a map of weekday to "HH:MM-HH:MM" or "closed""#)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut week = WeeklyHours::closed();
                let mut seen = [false; 7];
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    let weekday = parse_weekday_key(&key).ok_or_else(|| {
                        A::Error::custom(HoursError::UnknownWeekday(
                            crate::text::truncate_chars(key.trim(), MAX_QUOTED).to_owned(),
                        ))
                    })?;
                    let index = weekday.num_days_from_monday() as usize;
                    if std::mem::replace(&mut seen[index], true) {
                        return Err(A::Error::custom(HoursError::DuplicateWeekday(weekday)));
                    }
                    let hours = if value.trim().eq_ignore_ascii_case(CLOSED) {
                        None
                    } else {
                        Some(value.parse::<DayHours>().map_err(A::Error::custom)?)
                    };
                    week.days[index] = hours;
                }
                Ok(week)
            }
        }

        deserializer.deserialize_map(WeekVisitor)
    }
}

/// The next time the shop opens, in its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct NextOpening {
    at: DateTime<Tz>,
}

impl NextOpening {
    /// The opening instant in the shop's time zone.
    pub fn at(&self) -> DateTime<Tz> {
        self.at
    }

    /// The local date of the opening.
    pub fn date(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// The local weekday of the opening.
    pub fn weekday(&self) -> Weekday {
        self.at.weekday()
    }

    /// The local weekday's English name, e.g. `Monday`.
    pub fn weekday_name(&self) -> &'static str {
        weekday_name(self.weekday())
    }

    /// The local time on a 12-hour clock, e.g. `8:00 AM`.
    pub fn time_12h(&self) -> String {
        let (pm, hour) = self.at.hour12();
        let half = if pm { "PM" } else { "AM" };
        format!("{hour}:{:02} {half}", self.at.minute())
    }
}

/// Whether a shop is open at an instant, and when it next opens: what the
/// session state variables tell the agent.
///
/// ```
/// use std::collections::BTreeSet;
/// use chatkit_leads_core::hours::{OpeningState, WeeklyHours};
/// use chrono::{TimeZone, Utc};
/// // Monday 2026-03-09 15:30 UTC is 08:30 PDT in San Jose.
/// let now = Utc.with_ymd_and_hms(2026, 3, 9, 15, 30, 0).unwrap();
/// let state = OpeningState::compute(
///     chrono_tz::America::Los_Angeles,
///     &WeeklyHours::seed(),
///     &BTreeSet::new(),
///     now,
/// );
/// assert_eq!(state.weekday_name(), "Monday");
/// assert_eq!(state.local_time_24h(), "08:30");
/// assert!(state.is_open_now());
/// let next = state.next_open().unwrap();
/// assert_eq!((next.weekday_name(), next.time_12h().as_str()), ("Tuesday", "8:00 AM"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OpeningState {
    local: DateTime<Tz>,
    is_open_now: bool,
    next_open: Option<NextOpening>,
}

impl OpeningState {
    /// How many days after today the next opening is searched for.
    pub const LOOKAHEAD_DAYS: u64 = 14;

    /// The state at `now` of a shop with `hours` in `time_zone`, closed all
    /// day on the local `closed_dates`.
    ///
    /// The shop is open when the local date is not a closed date and
    /// `open <= local time < close`. The next opening is the first opening
    /// strictly after `now` within [`Self::LOOKAHEAD_DAYS`] days: today's when
    /// `now` is before it, otherwise a later day's.
    pub fn compute(
        time_zone: Tz,
        hours: &WeeklyHours,
        closed_dates: &BTreeSet<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Self {
        let local = now.with_timezone(&time_zone);
        let today = local.date_naive();
        let is_open_now = !closed_dates.contains(&today) && hours.is_open_at(local.naive_local());
        let next_open = (0..=Self::LOOKAHEAD_DAYS)
            .map_while(|offset| today.checked_add_days(Days::new(offset)))
            .filter(|date| !closed_dates.contains(date))
            .find_map(|date| {
                let day = hours.day(date.weekday())?;
                opening_instant(time_zone, date, day, now)
            })
            .map(|at| NextOpening { at });
        Self {
            local,
            is_open_now,
            next_open,
        }
    }

    /// The instant in the shop's time zone.
    pub fn local(&self) -> DateTime<Tz> {
        self.local
    }

    /// The local weekday.
    pub fn weekday(&self) -> Weekday {
        self.local.weekday()
    }

    /// The local weekday's English name (`Sunday`..`Saturday`).
    pub fn weekday_name(&self) -> &'static str {
        weekday_name(self.weekday())
    }

    /// The local time as `HH:mm`, 24-hour clock.
    pub fn local_time_24h(&self) -> String {
        self.local.format("%H:%M").to_string()
    }

    /// Whether the shop is open now.
    pub fn is_open_now(&self) -> bool {
        self.is_open_now
    }

    /// The next opening strictly after now, if there is one within
    /// [`Self::LOOKAHEAD_DAYS`] days.
    pub fn next_open(&self) -> Option<&NextOpening> {
        self.next_open.as_ref()
    }
}

/// The instant `day` opens on local `date`, if that is after `now` and the
/// shop actually opens that day.
///
/// On a fall-back day an opening time that happens twice is the first
/// occurrence after `now`. On a spring-forward day an opening time that does
/// not exist is the end of the gap: the first instant whose local time is
/// past the opening time.
fn opening_instant(
    time_zone: Tz,
    date: NaiveDate,
    day: DayHours,
    now: DateTime<Utc>,
) -> Option<DateTime<Tz>> {
    let open = date.and_time(day.open());
    let at = match time_zone.from_local_datetime(&open) {
        LocalResult::Single(at) => at,
        LocalResult::Ambiguous(first, second) => {
            if first > now {
                first
            } else {
                second
            }
        }
        LocalResult::None => end_of_gap(time_zone, open)?,
    };
    (at > now && at.naive_local() < date.and_time(day.close())).then_some(at)
}

/// The first whole local minute after `missing`, a local time skipped by a
/// DST jump. Gaps are at most a day long (Samoa skipped 2011-12-30).
fn end_of_gap(time_zone: Tz, missing: NaiveDateTime) -> Option<DateTime<Tz>> {
    let start = missing.with_second(0)?.with_nanosecond(0)?;
    (1..=24 * 60).find_map(|minutes| {
        let local = start.checked_add_signed(TimeDelta::minutes(minutes))?;
        time_zone.from_local_datetime(&local).earliest()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
    }

    #[test]
    fn day_hours_refuses_close_at_or_before_open() {
        assert_eq!(
            DayHours::new(t(17, 0), t(8, 0)),
            Err(HoursError::CloseNotAfterOpen {
                open: t(17, 0),
                close: t(8, 0)
            })
        );
        assert!(DayHours::new(t(8, 0), t(8, 0)).is_err());
        assert!(DayHours::new(t(8, 0), t(8, 1)).is_ok());
    }

    #[test]
    fn day_hours_parses_friendly_forms_and_prints_canonical_one() {
        let day: DayHours = " 8:00 – 17:30 ".parse().expect("valid");
        assert_eq!(day.to_string(), "08:00-17:30");
        assert_eq!((day.open(), day.close()), (t(8, 0), t(17, 30)));
        assert!(matches!(
            "8am-5pm".parse::<DayHours>(),
            Err(HoursError::InvalidRange(_))
        ));
        assert!(matches!(
            "08:00".parse::<DayHours>(),
            Err(HoursError::InvalidRange(_))
        ));
        assert!(matches!(
            "25:00-26:00".parse::<DayHours>(),
            Err(HoursError::InvalidRange(_))
        ));
    }

    #[test]
    fn day_hours_contains_open_but_not_close() {
        let day = DayHours::new(t(8, 0), t(17, 0)).expect("valid");
        assert!(!day.contains(t(7, 59)));
        assert!(day.contains(t(8, 0)));
        assert!(day.contains(NaiveTime::from_hms_opt(16, 59, 59).expect("valid")));
        assert!(!day.contains(t(17, 0)));
    }

    #[test]
    fn seed_hours_serialize_as_a_monday_first_map() {
        let json = serde_json::to_string(&WeeklyHours::seed()).expect("serialize");
        assert_eq!(
            json,
            r#"{"mon":"08:00-17:00","tue":"08:00-17:00","wed":"08:00-17:00","thu":"08:00-17:00","fri":"08:00-17:00","sat":"08:00-14:00","sun":"closed"}"#
        );
    }

    #[test]
    fn weekly_hours_round_trip_through_a_toml_like_map() {
        let raw = serde_json::json!({
            "Monday": "08:00-17:00", "tue": "08:00-17:00", "wednesday": "08:00-17:00",
            "thu": "08:00-17:00", "fri": "8:00-17:00", "sat": "08:00-14:00", "sun": "Closed"
        });
        let hours: WeeklyHours = serde_json::from_value(raw).expect("valid");
        assert_eq!(hours, WeeklyHours::seed());
        let back: WeeklyHours =
            serde_json::from_value(serde_json::to_value(&hours).expect("serialize"))
                .expect("parse");
        assert_eq!(back, hours);
    }

    #[test]
    fn weekly_hours_left_out_days_are_closed() {
        let hours: WeeklyHours =
            serde_json::from_value(serde_json::json!({"sat": "10:00-12:00"})).expect("valid");
        assert_eq!(
            hours,
            WeeklyHours::closed().with_day(Weekday::Sat, DayHours::new(t(10, 0), t(12, 0)).ok())
        );
    }

    #[test]
    fn weekly_hours_refuse_close_before_open() {
        let err = serde_json::from_value::<WeeklyHours>(serde_json::json!({"mon": "17:00-08:00"}))
            .expect_err("invalid");
        assert!(
            err.to_string().contains("must be after opening time"),
            "{err}"
        );
    }

    #[test]
    fn weekly_hours_refuse_unknown_and_repeated_days() {
        let err =
            serde_json::from_value::<WeeklyHours>(serde_json::json!({"mondy": "08:00-17:00"}))
                .expect_err("invalid");
        assert!(err.to_string().contains("unknown weekday `mondy`"), "{err}");
        let err =
            serde_json::from_str::<WeeklyHours>(r#"{"mon": "closed", "Monday": "08:00-09:00"}"#)
                .expect_err("invalid");
        assert!(err.to_string().contains("more than once"), "{err}");
        assert!(serde_json::from_value::<WeeklyHours>(serde_json::json!({"mon": 8})).is_err());
    }

    #[test]
    fn an_opening_time_inside_the_spring_forward_gap_opens_at_the_end_of_the_gap() {
        let tz = chrono_tz::America::Los_Angeles;
        let hours =
            WeeklyHours::closed().with_day(Weekday::Sun, DayHours::new(t(2, 30), t(12, 0)).ok());
        // Saturday 2026-03-07 20:00 PST.
        let now = Utc
            .with_ymd_and_hms(2026, 3, 8, 4, 0, 0)
            .single()
            .expect("valid");
        let state = OpeningState::compute(tz, &hours, &BTreeSet::new(), now);
        let next = state.next_open().expect("opens Sunday");
        assert_eq!(
            next.date(),
            NaiveDate::from_ymd_opt(2026, 3, 8).expect("valid")
        );
        // 02:00 PST jumps to 03:00 PDT, i.e. 10:00 UTC.
        assert_eq!(
            next.at().with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 3, 8, 10, 0, 0)
                .single()
                .expect("valid")
        );
        assert_eq!(next.time_12h(), "3:00 AM");
    }

    #[test]
    fn hours_entirely_inside_the_gap_never_open_that_day() {
        let tz = chrono_tz::America::Los_Angeles;
        let hours =
            WeeklyHours::closed().with_day(Weekday::Sun, DayHours::new(t(2, 10), t(2, 50)).ok());
        let now = Utc
            .with_ymd_and_hms(2026, 3, 8, 4, 0, 0)
            .single()
            .expect("valid");
        let state = OpeningState::compute(tz, &hours, &BTreeSet::new(), now);
        let next = state.next_open().expect("opens a later Sunday");
        assert_eq!(
            next.date(),
            NaiveDate::from_ymd_opt(2026, 3, 15).expect("valid")
        );
    }

    #[test]
    fn a_repeated_opening_time_on_the_fall_back_day_is_its_next_occurrence() {
        let tz = chrono_tz::America::Los_Angeles;
        let hours =
            WeeklyHours::closed().with_day(Weekday::Sun, DayHours::new(t(1, 30), t(12, 0)).ok());
        // 01:15 PST on 2026-11-01, after the first 01:30 (PDT) has passed.
        let now = Utc
            .with_ymd_and_hms(2026, 11, 1, 9, 15, 0)
            .single()
            .expect("valid");
        let state = OpeningState::compute(tz, &hours, &BTreeSet::new(), now);
        assert!(!state.is_open_now());
        let next = state.next_open().expect("opens again");
        assert_eq!(
            next.at().with_timezone(&Utc),
            Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0)
                .single()
                .expect("valid")
        );
    }

    #[test]
    fn a_shop_that_never_opens_has_no_next_opening() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 9, 15, 30, 0)
            .single()
            .expect("valid");
        let state = OpeningState::compute(
            chrono_tz::UTC,
            &WeeklyHours::closed(),
            &BTreeSet::new(),
            now,
        );
        assert!(!state.is_open_now());
        assert_eq!(state.next_open(), None);
    }

    #[test]
    fn twelve_hour_times_have_no_leading_zero() {
        let at = |h, m| NextOpening {
            at: chrono_tz::UTC
                .with_ymd_and_hms(2026, 1, 5, h, m, 0)
                .single()
                .expect("valid"),
        };
        assert_eq!(at(8, 0).time_12h(), "8:00 AM");
        assert_eq!(at(0, 5).time_12h(), "12:05 AM");
        assert_eq!(at(12, 0).time_12h(), "12:00 PM");
        assert_eq!(at(13, 30).time_12h(), "1:30 PM");
    }
}
