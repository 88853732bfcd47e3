//! Opening state of the seed shop (America/Los_Angeles; Mon–Fri 08:00–17:00,
//! Sat 08:00–14:00, Sun closed) around the 2026 DST changes, and the session
//! body built from it.

use chatkit_leads_core::chatkit::StateValue;
use chatkit_leads_core::hours::{OpeningState, WeeklyHours};
use chatkit_leads_core::session::{SessionSettings, WorkflowId, keys};
use chatkit_leads_core::{SessionRequest, ShopProfile, UserId};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid UTC instant")
}

fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).expect("valid date")
}

fn seed_at(now: DateTime<Utc>) -> OpeningState {
    ShopProfile::seed().opening_state(now)
}

/// `(weekday, HH:mm, open?, next day, next time, next date)` of a state.
fn summary(
    state: &OpeningState,
) -> (
    &'static str,
    String,
    bool,
    Option<(&'static str, String, NaiveDate)>,
) {
    (
        state.weekday_name(),
        state.local_time_24h(),
        state.is_open_now(),
        state
            .next_open()
            .map(|n| (n.weekday_name(), n.time_12h(), n.date())),
    )
}

fn next_open(state: &OpeningState) -> Option<(&'static str, String, NaiveDate)> {
    summary(state).3
}

#[test]
fn spring_forward_sunday_is_closed_before_and_after_the_jump_and_opens_monday() {
    // 2026-03-08: 02:00 PST becomes 03:00 PDT at 10:00Z.
    for (now, local) in [
        (utc(2026, 3, 8, 8, 0), "00:00"),   // PST
        (utc(2026, 3, 8, 9, 59), "01:59"),  // PST, just before the jump
        (utc(2026, 3, 8, 10, 0), "03:00"),  // PDT, the jump
        (utc(2026, 3, 8, 10, 30), "03:30"), // PDT
        (utc(2026, 3, 8, 19, 0), "12:00"),  // PDT
        (utc(2026, 3, 9, 6, 59), "23:59"),  // PDT, last minute of Sunday
    ] {
        let state = seed_at(now);
        assert_eq!(state.weekday_name(), "Sunday", "{now}");
        assert_eq!(state.local_time_24h(), local, "{now}");
        assert!(!state.is_open_now(), "{now}");
        assert_eq!(
            next_open(&state),
            Some(("Monday", "8:00 AM".to_owned(), date(2026, 3, 9))),
            "{now}"
        );
    }
}

#[test]
fn the_monday_after_spring_forward_opens_at_eight_pdt() {
    let state = seed_at(utc(2026, 3, 9, 15, 30));
    assert_eq!(
        summary(&state),
        (
            "Monday",
            "08:30".to_owned(),
            true,
            Some(("Tuesday", "8:00 AM".to_owned(), date(2026, 3, 10)))
        )
    );
    let next = state.next_open().expect("next opening");
    assert_eq!(next.at().with_timezone(&Utc), utc(2026, 3, 10, 15, 0));
}

#[test]
fn the_friday_before_spring_forward_is_still_on_pst_at_the_same_utc_time() {
    // 15:30Z is 07:30 PST: the same UTC time as the open Monday above.
    let state = seed_at(utc(2026, 3, 6, 15, 30));
    assert_eq!(
        summary(&state),
        (
            "Friday",
            "07:30".to_owned(),
            false,
            Some(("Friday", "8:00 AM".to_owned(), date(2026, 3, 6)))
        )
    );
    let next = state.next_open().expect("next opening");
    assert_eq!(next.at().with_timezone(&Utc), utc(2026, 3, 6, 16, 0));
}

#[test]
fn fall_back_sunday_reads_one_thirty_twice_and_stays_closed() {
    // 2026-11-01: 01:30 happens at 08:30Z (PDT) and again at 09:30Z (PST).
    for now in [utc(2026, 11, 1, 8, 30), utc(2026, 11, 1, 9, 30)] {
        let state = seed_at(now);
        assert_eq!(
            summary(&state),
            (
                "Sunday",
                "01:30".to_owned(),
                false,
                Some(("Monday", "8:00 AM".to_owned(), date(2026, 11, 2)))
            ),
            "{now}"
        );
    }
    let first = seed_at(utc(2026, 11, 1, 8, 30))
        .local()
        .offset()
        .to_string();
    let second = seed_at(utc(2026, 11, 1, 9, 30))
        .local()
        .offset()
        .to_string();
    assert_eq!((first.as_str(), second.as_str()), ("PDT", "PST"));
}

#[test]
fn the_monday_after_fall_back_opens_at_eight_pst() {
    let open = seed_at(utc(2026, 11, 2, 16, 30));
    assert_eq!(
        (open.local_time_24h().as_str(), open.is_open_now()),
        ("08:30", true)
    );

    let before = seed_at(utc(2026, 11, 2, 15, 30));
    assert_eq!(
        summary(&before),
        (
            "Monday",
            "07:30".to_owned(),
            false,
            Some(("Monday", "8:00 AM".to_owned(), date(2026, 11, 2)))
        )
    );
    let next = before.next_open().expect("next opening");
    assert_eq!(next.at().with_timezone(&Utc), utc(2026, 11, 2, 16, 0));
}

#[test]
fn saturday_closes_at_two_and_next_opens_monday() {
    // Saturday 2026-03-14 (PDT): 13:59 local is 20:59Z.
    let last_minute = seed_at(utc(2026, 3, 14, 20, 59));
    assert_eq!(
        summary(&last_minute),
        (
            "Saturday",
            "13:59".to_owned(),
            true,
            Some(("Monday", "8:00 AM".to_owned(), date(2026, 3, 16)))
        )
    );
    let closing = seed_at(utc(2026, 3, 14, 21, 0));
    assert_eq!(
        summary(&closing),
        (
            "Saturday",
            "14:00".to_owned(),
            false,
            Some(("Monday", "8:00 AM".to_owned(), date(2026, 3, 16)))
        )
    );
}

#[test]
fn a_weekday_is_open_just_before_five_and_closed_at_five() {
    // Wednesday 2026-03-11 (PDT): 16:59 local is 23:59Z, 17:00 is 00:00Z Thursday.
    let before = seed_at(utc(2026, 3, 11, 23, 59));
    assert_eq!(
        summary(&before),
        (
            "Wednesday",
            "16:59".to_owned(),
            true,
            Some(("Thursday", "8:00 AM".to_owned(), date(2026, 3, 12)))
        )
    );
    let at_close = seed_at(utc(2026, 3, 12, 0, 0));
    assert_eq!(
        summary(&at_close),
        (
            "Wednesday",
            "17:00".to_owned(),
            false,
            Some(("Thursday", "8:00 AM".to_owned(), date(2026, 3, 12)))
        )
    );
}

#[test]
fn a_closed_date_is_closed_all_day_and_the_next_opening_skips_it() {
    let mut shop = ShopProfile::seed();
    shop.closed_dates.insert(date(2026, 11, 26)); // Thanksgiving, a Thursday.

    // Thursday 10:00 PST: inside normal hours, but closed.
    let during = shop.opening_state(utc(2026, 11, 26, 18, 0));
    assert_eq!(
        summary(&during),
        (
            "Thursday",
            "10:00".to_owned(),
            false,
            Some(("Friday", "8:00 AM".to_owned(), date(2026, 11, 27)))
        )
    );

    // Wednesday evening: the next opening is Friday, not Thursday.
    let eve = shop.opening_state(utc(2026, 11, 26, 2, 0));
    assert_eq!(eve.weekday_name(), "Wednesday");
    assert!(!eve.is_open_now());
    assert_eq!(
        next_open(&eve),
        Some(("Friday", "8:00 AM".to_owned(), date(2026, 11, 27)))
    );
}

#[test]
fn no_opening_within_the_lookahead_means_no_next_opening() {
    let mut shop = ShopProfile::seed();
    shop.hours = WeeklyHours::closed();
    let state = shop.opening_state(utc(2026, 3, 9, 15, 30));
    assert!(!state.is_open_now());
    assert_eq!(state.next_open(), None);

    // Closed dates covering the whole lookahead window have the same effect.
    let mut shop = ShopProfile::seed();
    shop.closed_dates = (0..=OpeningState::LOOKAHEAD_DAYS)
        .filter_map(|d| date(2026, 3, 9).checked_add_days(chrono::Days::new(d)))
        .collect();
    let state = shop.opening_state(utc(2026, 3, 9, 15, 30));
    assert!(!state.is_open_now());
    assert_eq!(state.next_open(), None);
}

fn session_json(
    request: &SessionRequest,
    settings: &SessionSettings,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let body = settings
        .create_session(
            UserId::parse("anon_42").expect("valid user"),
            request,
            &ShopProfile::seed(),
            now,
        )
        .expect("session body");
    serde_json::to_value(&body).expect("serialize")
}

#[test]
fn session_body_carries_exactly_the_eight_state_variables_with_json_types() {
    let settings =
        SessionSettings::new(WorkflowId::parse("wf_68e6a1b2c3d4").expect("valid workflow"));
    let request = SessionRequest::from_json(
        br#"{"locale":"es","pageUrl":"https://chat.craigs.autos/es/","user":"anon_ignored","current":null}"#,
    )
    .expect("valid request");
    // Sunday 2026-03-08 03:30 PDT, right after the jump.
    let json = session_json(&request, &settings, utc(2026, 3, 8, 10, 30));

    let object = json.as_object().expect("object");
    let mut top: Vec<&str> = object.keys().map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(
        top,
        ["user", "workflow"],
        "no expires_after or rate_limits when not given"
    );
    assert_eq!(json["user"], "anon_42");
    assert_eq!(json["workflow"]["id"], "wf_68e6a1b2c3d4");

    let vars = json["workflow"]["state_variables"]
        .as_object()
        .expect("state variables");
    let mut names: Vec<&str> = vars.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = keys::ALL.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(
        serde_json::Value::Object(vars.clone()),
        serde_json::json!({
            "locale": "es",
            "page_url": "https://chat.craigs.autos/es/",
            "shop_timezone": "America/Los_Angeles",
            "shop_local_weekday": "Sunday",
            "shop_local_time_24h": "03:30",
            "shop_is_open_now": false,
            "shop_next_open_day": "Monday",
            "shop_next_open_time": "8:00 AM"
        })
    );
    assert!(vars["shop_is_open_now"].is_boolean());
    assert!(
        vars.iter()
            .filter(|(k, _)| *k != "shop_is_open_now")
            .all(|(_, v)| v.is_string())
    );
}

#[test]
fn session_body_uses_defaults_and_empty_strings_when_hints_are_missing() {
    let settings = SessionSettings::new(WorkflowId::parse("wf_a").expect("valid workflow"));
    let json = session_json(
        &SessionRequest::default(),
        &settings,
        utc(2026, 3, 9, 15, 30),
    );
    let vars = &json["workflow"]["state_variables"];
    assert_eq!(vars["locale"], "en");
    assert_eq!(vars["page_url"], "");
    assert_eq!(vars["shop_is_open_now"], true);
    assert_eq!(vars["shop_next_open_day"], "Tuesday");

    let mut shop = ShopProfile::seed();
    shop.hours = WeeklyHours::closed();
    let body = settings
        .create_session(
            UserId::parse("anon_1").expect("valid"),
            &SessionRequest::default(),
            &shop,
            utc(2026, 3, 9, 15, 30),
        )
        .expect("session body");
    let vars = &body.workflow.state_variables;
    assert_eq!(
        vars[keys::SHOP_NEXT_OPEN_DAY],
        StateValue::String(String::new())
    );
    assert_eq!(
        vars[keys::SHOP_NEXT_OPEN_TIME],
        StateValue::String(String::new())
    );
    assert_eq!(vars[keys::SHOP_IS_OPEN_NOW], StateValue::Bool(false));
}

#[tokio::test]
async fn minting_sends_the_state_at_the_clock_time_and_returns_the_secret() {
    use chatkit_leads_core::testkit::{ChatKitCall, ManualClock, ScriptedChatKit};
    // Monday 2026-11-02 16:30Z is 08:30 PST: open.
    let clock = ManualClock::at_unix(1_793_637_000);
    let chatkit = ScriptedChatKit::new();
    let settings = SessionSettings::new(WorkflowId::parse("wf_demo").expect("id"));
    let request =
        SessionRequest::from_json(br#"{"locale":"es","pageUrl":"https://craigs.autos/es/"}"#)
            .expect("body");
    let user = UserId::parse("anon_1").expect("user");
    let session = settings
        .mint(&chatkit, &clock, &ShopProfile::seed(), user, &request)
        .await
        .expect("session");
    assert!(session.client_secret.starts_with("ek_test_secret"));
    let calls = chatkit.calls();
    let [ChatKitCall::CreateSession(body)] = calls.as_slice() else {
        panic!("one create_session call expected, got {calls:?}");
    };
    let vars = &body.workflow.state_variables;
    assert_eq!(vars["shop_is_open_now"], StateValue::Bool(true));
    assert_eq!(
        vars["shop_local_time_24h"],
        StateValue::String("08:30".into())
    );
    assert_eq!(vars["locale"], StateValue::String("es".into()));
}
