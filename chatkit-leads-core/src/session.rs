//! Session minting: the body of ChatKit's `POST /v1/chatkit/sessions`.
//!
//! The browser asks for a session with its locale and page; the server adds
//! the workflow id (a secret that never reaches the browser), the user, and
//! state variables that tell the agent the shop's local time and whether it
//! is open, so it can answer "are you open?" without guessing.
//!
//! ```
//! use chatkit_leads_core::chatkit::StateValue;
//! use chatkit_leads_core::session::{SessionSettings, WorkflowId};
//! use chatkit_leads_core::{SessionRequest, ShopProfile, UserId};
//! use chrono::{TimeZone, Utc};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = SessionSettings::new(WorkflowId::parse("wf_68e6a1b2c3d4")?)
//!     .with_expires_after(600)?;
//! let request = SessionRequest::from_json(br#"{"locale":"es","pageUrl":"https://example.com/es/"}"#)?;
//! // Monday 2026-03-09, 08:30 in San Jose.
//! let now = Utc.with_ymd_and_hms(2026, 3, 9, 15, 30, 0).single().ok_or("time")?;
//! let body = settings.create_session(UserId::parse("anon_1")?, &request, &ShopProfile::seed(), now)?;
//!
//! let vars = &body.workflow.state_variables;
//! assert_eq!(vars["locale"], StateValue::String("es".into()));
//! assert_eq!(vars["shop_local_time_24h"], StateValue::String("08:30".into()));
//! assert_eq!(vars["shop_is_open_now"], StateValue::Bool(true));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use thiserror::Error;

use crate::chatkit::{
    ChatKitConfiguration, CreateSession, ExpiresAfter, RateLimits, Session, StateValue,
    WorkflowParam,
};
use crate::ids::UserId;
use crate::ports::{ChatKitClient, ChatKitError, Clock};
use crate::request::{Locale, SessionRequest};
use crate::shop::ShopProfile;
use crate::telemetry;

/// Why a session body could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    /// A workflow id must be `wf_` followed by 1–128 of `[A-Za-z0-9_-]`.
    #[error("workflow id must be `wf_` followed by 1-128 letters, digits, `_` or `-`")]
    InvalidWorkflowId,
    /// A session must live at least one second.
    #[error("expires_after must be at least 1 second")]
    InvalidExpiresAfter,
    /// A rate limit must allow at least one request per minute.
    #[error("rate limit must allow at least 1 request per minute")]
    InvalidRateLimit,
    /// A ChatKit feature setting ChatKit would refuse (names the field).
    #[error("chatkit_configuration: {0}")]
    InvalidChatKitConfiguration(&'static str),
    /// A state variable breaks ChatKit's rules.
    #[error(transparent)]
    StateVariable(#[from] StateVariableError),
}

/// Why a state variable map would be refused by ChatKit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StateVariableError {
    /// A key is empty.
    #[error("state variable keys must not be empty")]
    EmptyKey,
    /// A key is longer than [`MAX_STATE_KEY_CHARS`]; the key is shown cut to that length.
    #[error("state variable key `{0}…` is longer than 64 characters")]
    KeyTooLong(String),
    /// A number is NaN or infinite (JSON has no such numbers).
    #[error("state variable `{0}` is not a finite number")]
    NonFiniteNumber(String),
    /// A string is longer than [`MAX_STATE_STRING_BYTES`].
    #[error("state variable `{0}` is longer than 10485760 bytes")]
    StringTooLong(String),
}

/// Longest state variable key ChatKit accepts, in characters.
pub const MAX_STATE_KEY_CHARS: usize = 64;

/// Longest state variable string ChatKit accepts, in bytes.
pub const MAX_STATE_STRING_BYTES: usize = 10_485_760;

/// The state variable names the server sets, as the agent reads them.
pub mod keys {
    /// The page locale, or the configured default (`en`).
    pub const LOCALE: &str = "locale";
    /// The page URL; empty when the browser sent none.
    pub const PAGE_URL: &str = "page_url";
    /// The shop's IANA time zone, e.g. `America/Los_Angeles`.
    pub const SHOP_TIMEZONE: &str = "shop_timezone";
    /// The shop's local weekday, `Sunday`..`Saturday`.
    pub const SHOP_LOCAL_WEEKDAY: &str = "shop_local_weekday";
    /// The shop's local time, `HH:mm` on a 24-hour clock.
    pub const SHOP_LOCAL_TIME_24H: &str = "shop_local_time_24h";
    /// Whether the shop is open now (a boolean).
    pub const SHOP_IS_OPEN_NOW: &str = "shop_is_open_now";
    /// Weekday of the next opening, e.g. `Monday`; empty when none is known.
    pub const SHOP_NEXT_OPEN_DAY: &str = "shop_next_open_day";
    /// Time of the next opening, e.g. `8:00 AM`; empty when none is known.
    pub const SHOP_NEXT_OPEN_TIME: &str = "shop_next_open_time";

    /// All of them, in the order above.
    pub const ALL: [&str; 8] = [
        LOCALE,
        PAGE_URL,
        SHOP_TIMEZONE,
        SHOP_LOCAL_WEEKDAY,
        SHOP_LOCAL_TIME_24H,
        SHOP_IS_OPEN_NOW,
        SHOP_NEXT_OPEN_DAY,
        SHOP_NEXT_OPEN_TIME,
    ];
}

/// An Agent Builder workflow id (`wf_…`), from `CHATKIT_WORKFLOW_ID`.
///
/// The seed treats it as a secret, so `Debug` shows only its last four
/// characters and there is no `Display`; use [`WorkflowId::as_str`] where the
/// id is really needed.
///
/// ```
/// use chatkit_leads_core::session::WorkflowId;
/// let id = WorkflowId::parse("wf_68e6a1b2c3d4e5f6").unwrap();
/// assert_eq!(format!("{id:?}"), "WorkflowId(wf_…e5f6)");
/// assert!(WorkflowId::parse("68e6a1b2").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WorkflowId(String);

impl WorkflowId {
    /// The fixed prefix of workflow ids.
    pub const PREFIX: &'static str = "wf_";
    /// Longest accepted suffix after the prefix.
    pub const MAX_SUFFIX_LEN: usize = 128;

    /// Validates `raw` (surrounding whitespace, e.g. from an env file, is trimmed).
    pub fn parse(raw: &str) -> Result<Self, SessionError> {
        let raw = raw.trim();
        if crate::ids::is_prefixed_token(raw, Self::PREFIX, Self::MAX_SUFFIX_LEN) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(SessionError::InvalidWorkflowId)
        }
    }

    /// The id as ChatKit expects it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WorkflowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The id is ASCII (checked in `parse`), so byte slicing is safe.
        let suffix = &self.0[Self::PREFIX.len()..];
        if suffix.len() >= 8 {
            write!(
                f,
                "WorkflowId({}…{})",
                Self::PREFIX,
                &suffix[suffix.len() - 4..]
            )
        } else {
            write!(f, "WorkflowId({}…)", Self::PREFIX)
        }
    }
}

impl<'de> Deserialize<'de> for WorkflowId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Checks a state variable map against ChatKit's rules: keys of 1–64
/// characters, finite numbers, strings of at most 10 MiB. (Values are
/// strings, booleans or numbers by construction of [`StateValue`].)
///
/// ```
/// use std::collections::BTreeMap;
/// use chatkit_leads_core::chatkit::StateValue;
/// use chatkit_leads_core::session::{check_state_variables, StateVariableError};
/// let mut vars = BTreeMap::from([("visits".to_owned(), StateValue::Number(3.0))]);
/// assert_eq!(check_state_variables(&vars), Ok(()));
/// vars.insert("k".repeat(65), StateValue::Bool(true));
/// assert!(matches!(check_state_variables(&vars), Err(StateVariableError::KeyTooLong(_))));
/// ```
pub fn check_state_variables(
    vars: &BTreeMap<String, StateValue>,
) -> Result<(), StateVariableError> {
    for (key, value) in vars {
        if key.is_empty() {
            return Err(StateVariableError::EmptyKey);
        }
        if key.chars().count() > MAX_STATE_KEY_CHARS {
            let cut = crate::text::truncate_chars(key, MAX_STATE_KEY_CHARS);
            return Err(StateVariableError::KeyTooLong(cut.to_owned()));
        }
        match value {
            StateValue::Number(n) if !n.is_finite() => {
                return Err(StateVariableError::NonFiniteNumber(key.clone()));
            }
            StateValue::String(s) if s.len() > MAX_STATE_STRING_BYTES => {
                return Err(StateVariableError::StringTooLong(key.clone()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The eight state variables (see [`keys`]) for a session opened by
/// `request` on `shop`'s site at `now`; `default_locale` is used when the
/// request has no usable locale.
pub fn state_variables(
    request: &SessionRequest,
    shop: &ShopProfile,
    now: DateTime<Utc>,
    default_locale: &str,
) -> BTreeMap<String, StateValue> {
    let state = shop.opening_state(now);
    let locale = request
        .locale
        .as_ref()
        .map_or(default_locale, Locale::as_str);
    let page_url = request.page_url.as_ref().map_or("", |p| p.as_str());
    let (next_day, next_time) = state
        .next_open()
        .map(|next| (next.weekday_name().to_owned(), next.time_12h()))
        .unwrap_or_default();
    let text = |s: &str| StateValue::String(s.to_owned());
    BTreeMap::from([
        (keys::LOCALE.to_owned(), text(locale)),
        (keys::PAGE_URL.to_owned(), text(page_url)),
        (keys::SHOP_TIMEZONE.to_owned(), text(shop.time_zone.name())),
        (
            keys::SHOP_LOCAL_WEEKDAY.to_owned(),
            text(state.weekday_name()),
        ),
        (
            keys::SHOP_LOCAL_TIME_24H.to_owned(),
            StateValue::String(state.local_time_24h()),
        ),
        (
            keys::SHOP_IS_OPEN_NOW.to_owned(),
            StateValue::Bool(state.is_open_now()),
        ),
        (
            keys::SHOP_NEXT_OPEN_DAY.to_owned(),
            StateValue::String(next_day),
        ),
        (
            keys::SHOP_NEXT_OPEN_TIME.to_owned(),
            StateValue::String(next_time),
        ),
    ])
}

/// What every session of a deployment shares: the workflow, the fallback
/// locale and optional lifetime and rate-limit overrides. Build once at
/// start-up, then call [`SessionSettings::create_session`] per request.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    workflow_id: WorkflowId,
    default_locale: Option<Locale>,
    expires_after: Option<ExpiresAfter>,
    rate_limits: Option<RateLimits>,
    chatkit_configuration: Option<ChatKitConfiguration>,
}

/// What a deployment sets about its sessions, for
/// [`SessionSettings::configured`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// ChatKit's features for the chat (uploads, history, titling).
    pub features: ChatKitConfiguration,
    /// Session lifetime in seconds (`None`: ChatKit's 10 minutes).
    pub expires_after: Option<u32>,
    /// Requests a minute per client secret (`None`: ChatKit's default).
    pub rate_limit: Option<u32>,
}

impl SessionSettings {
    /// The locale used when neither the request nor the settings give one.
    pub const DEFAULT_LOCALE: &'static str = "en";

    /// Settings for `workflow_id` with ChatKit's own lifetime and rate limit
    /// and the default locale `en`.
    pub fn new(workflow_id: WorkflowId) -> Self {
        Self {
            workflow_id,
            default_locale: None,
            expires_after: None,
            rate_limits: None,
            chatkit_configuration: None,
        }
    }

    /// Uses `locale` when a request has no usable locale.
    pub fn with_default_locale(mut self, locale: Locale) -> Self {
        self.default_locale = Some(locale);
        self
    }

    /// Sessions expire `seconds` after creation (ChatKit's default is 10 minutes).
    pub fn with_expires_after(mut self, seconds: u32) -> Result<Self, SessionError> {
        if seconds == 0 {
            return Err(SessionError::InvalidExpiresAfter);
        }
        self.expires_after = Some(ExpiresAfter {
            anchor: "created_at",
            seconds,
        });
        Ok(self)
    }

    /// A session's client secret may make `max_requests_per_1_minute`
    /// requests per minute (ChatKit's default is 10).
    pub fn with_rate_limit(mut self, max_requests_per_1_minute: u32) -> Result<Self, SessionError> {
        if max_requests_per_1_minute == 0 {
            return Err(SessionError::InvalidRateLimit);
        }
        self.rate_limits = Some(RateLimits {
            max_requests_per_1_minute,
        });
        Ok(self)
    }

    /// Settings for `workflow_id` with every option of `options` applied.
    ///
    /// # Errors
    /// As [`SessionSettings::with_chatkit_configuration`],
    /// [`SessionSettings::with_expires_after`] and
    /// [`SessionSettings::with_rate_limit`].
    pub fn configured(
        workflow_id: WorkflowId,
        options: SessionOptions,
    ) -> Result<Self, SessionError> {
        let mut settings = Self::new(workflow_id).with_chatkit_configuration(options.features)?;
        if let Some(seconds) = options.expires_after {
            settings = settings.with_expires_after(seconds)?;
        }
        if let Some(rate) = options.rate_limit {
            settings = settings.with_rate_limit(rate)?;
        }
        Ok(settings)
    }

    /// Sessions have `features` (uploads, history, titling); ChatKit's own
    /// defaults otherwise, which have uploads off: customers then cannot
    /// attach the photos the lead email carries.
    ///
    /// # Errors
    /// [`SessionError::InvalidChatKitConfiguration`] for a file limit below
    /// 1, a file size outside 1–512 MB, or a history limit of 0.
    pub fn with_chatkit_configuration(
        mut self,
        features: ChatKitConfiguration,
    ) -> Result<Self, SessionError> {
        let invalid = SessionError::InvalidChatKitConfiguration;
        if let Some(upload) = &features.file_upload {
            if upload.max_files == 0 {
                return Err(invalid("file_upload.max_files must be at least 1"));
            }
            if !(1..=512).contains(&upload.max_file_size) {
                return Err(invalid("file_upload.max_file_size must be 1 to 512 MB"));
            }
        }
        if features.history.and_then(|h| h.recent_threads) == Some(0) {
            return Err(invalid("history.recent_threads must be at least 1"));
        }
        self.chatkit_configuration = Some(features);
        Ok(self)
    }

    /// The workflow sessions run.
    pub fn workflow_id(&self) -> &WorkflowId {
        &self.workflow_id
    }

    /// The locale used when a request has none.
    pub fn default_locale(&self) -> &str {
        self.default_locale
            .as_ref()
            .map_or(Self::DEFAULT_LOCALE, Locale::as_str)
    }

    /// The body of `POST /v1/chatkit/sessions` for `user`, opened by
    /// `request` on `shop`'s site at `now`.
    ///
    /// `user` is passed separately from `request.user` because the deployment
    /// decides whether to trust the browser's claim or a server-bound id.
    pub fn create_session(
        &self,
        user: UserId,
        request: &SessionRequest,
        shop: &ShopProfile,
        now: DateTime<Utc>,
    ) -> Result<CreateSession, SessionError> {
        let state_variables = state_variables(request, shop, now, self.default_locale());
        check_state_variables(&state_variables)?;
        Ok(CreateSession {
            user,
            workflow: WorkflowParam {
                id: self.workflow_id.as_str().to_owned(),
                state_variables,
            },
            expires_after: self.expires_after.clone(),
            rate_limits: self.rate_limits.clone(),
            chatkit_configuration: self.chatkit_configuration.clone(),
        })
    }

    /// Mints a session: builds the request with the shop's state at the
    /// clock's time and calls ChatKit. This is the whole `POST /session`
    /// behind any HTTP adapter.
    pub async fn mint<C: ChatKitClient + ?Sized, K: Clock + ?Sized>(
        &self,
        chatkit: &C,
        clock: &K,
        shop: &ShopProfile,
        user: UserId,
        request: &SessionRequest,
    ) -> Result<Session, MintError> {
        let body = self.create_session(user, request, shop, clock.now())?;
        let session = chatkit.create_session(&body).await;
        telemetry::chatkit_request("create_session", &session);
        Ok(session?)
    }
}

/// `POST /session` failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MintError {
    /// The session request could not be built (a configuration problem).
    #[error(transparent)]
    Request(#[from] SessionError),
    /// ChatKit refused or failed.
    #[error("ChatKit session call failed: {0}")]
    ChatKit(#[from] ChatKitError),
}

impl MintError {
    /// The HTTP status an adapter answers with: 500 for our configuration,
    /// 502 for an upstream failure.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Request(_) => 500,
            Self::ChatKit(_) => 502,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 15, 30, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn workflow_id_accepts_the_documented_alphabet_and_length() {
        assert!(WorkflowId::parse("wf_a").is_ok());
        assert!(WorkflowId::parse(" wf_abc\n").is_ok());
        assert!(WorkflowId::parse(&format!("wf_{}", "a".repeat(128))).is_ok());
        assert!(WorkflowId::parse(&format!("wf_{}", "a".repeat(129))).is_err());
        assert!(WorkflowId::parse("wf_").is_err());
        assert!(WorkflowId::parse("wf_a b").is_err());
        assert!(WorkflowId::parse("WF_abc").is_err());
        assert!(WorkflowId::parse("cthr_abc").is_err());
    }

    #[test]
    fn workflow_id_debug_never_prints_the_whole_id() {
        let long = WorkflowId::parse("wf_68e6a1b2c3d4e5f60718293a").expect("valid");
        assert_eq!(format!("{long:?}"), "WorkflowId(wf_…293a)");
        let short = WorkflowId::parse("wf_secret").expect("valid");
        assert_eq!(format!("{short:?}"), "WorkflowId(wf_…)");
        let settings = SessionSettings::new(long);
        assert!(!format!("{settings:?}").contains("68e6a1b2"));
    }

    #[test]
    fn workflow_id_deserializes_with_validation() {
        let id: WorkflowId = serde_json::from_str(r#""wf_abc""#).expect("valid");
        assert_eq!(id.as_str(), "wf_abc");
        assert!(serde_json::from_str::<WorkflowId>(r#""abc""#).is_err());
    }

    #[test]
    fn check_state_variables_refuses_empty_long_keys_and_non_finite_numbers() {
        let one = |k: &str, v: StateValue| BTreeMap::from([(k.to_owned(), v)]);
        assert_eq!(
            check_state_variables(&one(&"k".repeat(64), StateValue::Bool(true))),
            Ok(())
        );
        assert_eq!(
            check_state_variables(&one(&"k".repeat(65), StateValue::Bool(true))),
            Err(StateVariableError::KeyTooLong("k".repeat(64)))
        );
        // 64 two-byte characters are still 64 characters.
        assert_eq!(
            check_state_variables(&one(&"é".repeat(64), StateValue::Bool(true))),
            Ok(())
        );
        assert_eq!(
            check_state_variables(&one("", StateValue::Bool(true))),
            Err(StateVariableError::EmptyKey)
        );
        assert_eq!(
            check_state_variables(&one("n", StateValue::Number(f64::NAN))),
            Err(StateVariableError::NonFiniteNumber("n".into()))
        );
        assert_eq!(
            check_state_variables(&one("n", StateValue::Number(f64::INFINITY))),
            Err(StateVariableError::NonFiniteNumber("n".into()))
        );
        assert_eq!(
            check_state_variables(&one("n", StateValue::Number(1.5))),
            Ok(())
        );
    }

    #[test]
    fn server_state_variable_keys_pass_the_check() {
        let vars = state_variables(
            &SessionRequest::default(),
            &ShopProfile::seed(),
            now(),
            "en",
        );
        assert_eq!(check_state_variables(&vars), Ok(()));
        assert_eq!(
            vars.keys().map(String::as_str).collect::<Vec<_>>().len(),
            keys::ALL.len()
        );
        assert!(keys::ALL.iter().all(|k| vars.contains_key(*k)));
    }

    #[test]
    fn missing_locale_and_page_url_fall_back_to_default_and_empty() {
        let vars = state_variables(
            &SessionRequest::default(),
            &ShopProfile::seed(),
            now(),
            "en",
        );
        assert_eq!(vars[keys::LOCALE], StateValue::String("en".into()));
        assert_eq!(vars[keys::PAGE_URL], StateValue::String(String::new()));
        let settings = SessionSettings::new(WorkflowId::parse("wf_a").expect("valid"))
            .with_default_locale(Locale::parse("es-MX").expect("valid"));
        assert_eq!(settings.default_locale(), "es-MX");
        let body = settings
            .create_session(
                UserId::parse("anon_1").expect("valid"),
                &SessionRequest::default(),
                &ShopProfile::seed(),
                now(),
            )
            .expect("body");
        assert_eq!(
            body.workflow.state_variables[keys::LOCALE],
            StateValue::String("es-MX".into())
        );
    }

    #[test]
    fn zero_lifetime_and_zero_rate_limit_are_refused() {
        let settings = SessionSettings::new(WorkflowId::parse("wf_a").expect("valid"));
        assert_eq!(
            settings.clone().with_expires_after(0),
            Err(SessionError::InvalidExpiresAfter)
        );
        assert_eq!(
            settings.with_rate_limit(0),
            Err(SessionError::InvalidRateLimit)
        );
    }

    /// The JSON body `settings` send for a default request.
    fn session_json(settings: Result<SessionSettings, SessionError>) -> serde_json::Value {
        let body = settings
            .and_then(|s| {
                s.create_session(
                    UserId::parse("anon_1").expect("valid"),
                    &SessionRequest::default(),
                    &ShopProfile::seed(),
                    now(),
                )
            })
            .expect("body");
        serde_json::to_value(&body).expect("serialize")
    }

    #[test]
    fn overrides_are_serialized_when_given() {
        let json = session_json(
            SessionSettings::new(WorkflowId::parse("wf_a").expect("valid"))
                .with_expires_after(900)
                .and_then(|s| s.with_rate_limit(30)),
        );
        assert_eq!(
            json["expires_after"],
            serde_json::json!({"anchor": "created_at", "seconds": 900})
        );
        assert_eq!(
            json["rate_limits"],
            serde_json::json!({"max_requests_per_1_minute": 30})
        );
    }

    #[test]
    fn chatkit_features_are_sent_as_chatkit_names_them_and_checked() {
        use crate::chatkit::{Enabled, FileUpload, History};
        let settings = SessionSettings::new(WorkflowId::parse("wf_a").expect("valid"));
        let features = ChatKitConfiguration {
            file_upload: Some(FileUpload {
                enabled: true,
                max_files: 4,
                max_file_size: 20,
            }),
            history: Some(History {
                enabled: true,
                recent_threads: None,
            }),
            automatic_thread_titling: Some(Enabled { enabled: false }),
        };
        let json = session_json(
            settings
                .clone()
                .with_chatkit_configuration(features.clone()),
        );
        assert_eq!(
            json["chatkit_configuration"],
            serde_json::json!({
                "file_upload": {"enabled": true, "max_files": 4, "max_file_size": 20},
                "history": {"enabled": true},
                "automatic_thread_titling": {"enabled": false},
            })
        );
        let too_big = ChatKitConfiguration {
            file_upload: Some(FileUpload {
                max_file_size: 513,
                ..features.file_upload.expect("set")
            }),
            ..features.clone()
        };
        let err = settings.clone().with_chatkit_configuration(too_big);
        assert!(
            err.expect_err("513 MB")
                .to_string()
                .contains("max_file_size")
        );
        let no_threads = ChatKitConfiguration {
            history: Some(History {
                enabled: true,
                recent_threads: Some(0),
            }),
            ..features
        };
        assert!(settings.with_chatkit_configuration(no_threads).is_err());
    }
}
