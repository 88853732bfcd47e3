//! The browser-facing request bodies (`POST /lead`, `POST /session`), parsed
//! once at the edge into validated values.
//!
//! Thread and user ids are strict (a bad one is a 400 before any I/O). Locale,
//! page URL, trigger and attribution are hints for the email: they are cleaned
//! and bounded, and an unusable hint is dropped rather than failing the lead.

use std::fmt;

use serde::Deserialize;
use thiserror::Error;

use crate::ids::{IdError, ThreadId, UserId};
use crate::text::{bounded, single_line, truncate_chars};

/// Why a request body was refused (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// The body is not JSON of the expected shape. The detail names the
    /// position, never the body itself.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// `threadId` is missing.
    #[error("missing threadId")]
    MissingThreadId,
    /// `threadId` or `user` failed validation.
    #[error(transparent)]
    InvalidId(#[from] IdError),
}

impl RequestError {
    fn from_json(err: serde_json::Error) -> Self {
        // serde_json's message quotes offending values for some errors; keep
        // only its category and position so no request content is echoed.
        let kind = match err.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected field type",
            serde_json::error::Category::Eof => "unexpected end of input",
        };
        Self::InvalidJson(format!(
            "{kind} at line {} column {}",
            err.line(),
            err.column()
        ))
    }
}

/// What fired the lead trigger.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum TriggerReason {
    /// No activity for a while with the chat open.
    Idle,
    /// The tab was hidden or unloaded.
    Pagehide,
    /// The visitor closed the chat panel.
    ChatClosed,
    /// An operator or a server-side call without a reason.
    Manual,
    /// The abandoned-chat sweeper.
    Sweep,
    /// Any other string, kept as given (single line, at most 64 characters).
    Other(String),
}

impl TriggerReason {
    /// Longest kept custom reason, in characters.
    pub const MAX_LEN: usize = 64;

    /// Reads a trigger string; an absent or blank one means [`TriggerReason::Manual`].
    pub fn parse(raw: Option<&str>) -> Self {
        let cleaned = raw.map(single_line).unwrap_or_default();
        match cleaned.as_str() {
            "" | "manual" => Self::Manual,
            "idle" => Self::Idle,
            "pagehide" => Self::Pagehide,
            "chat_closed" => Self::ChatClosed,
            "sweep" => Self::Sweep,
            other => Self::Other(truncate_chars(other, Self::MAX_LEN).to_owned()),
        }
    }

    /// The reason code as reported in responses and records.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Idle => "idle",
            Self::Pagehide => "pagehide",
            Self::ChatClosed => "chat_closed",
            Self::Manual => "manual",
            Self::Sweep => "sweep",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for TriggerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TriggerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TriggerReason({})", self.as_str())
    }
}

/// A BCP 47-style locale tag such as `en`, `es-MX` or `zh-Hans`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    /// Accepts `[A-Za-z]{2,3}` followed by up to five `-`/`_` subtags of 1–8
    /// letters or digits; anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let mut parts = raw.split(['-', '_']);
        let primary = parts.next()?;
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
        let rest: Vec<&str> = parts.collect();
        let rest_ok = rest.len() <= 5
            && rest.iter().all(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        (primary_ok && rest_ok).then(|| Self(raw.to_owned()))
    }

    /// The tag as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The page the chat ran on: an absolute http(s) URL of at most 2048 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageUrl(url::Url);

impl PageUrl {
    /// Longest accepted URL, in bytes.
    pub const MAX_LEN: usize = 2048;

    /// Parses an absolute http or https URL; anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() > Self::MAX_LEN {
            return None;
        }
        let url = url::Url::parse(raw).ok()?;
        (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then_some(Self(url))
    }

    /// The full URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host name, e.g. `chat.craigs.autos`.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

/// Whether the visitor was on a phone or a computer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    /// A phone or tablet.
    Mobile,
    /// A computer.
    Desktop,
}

impl DeviceType {
    /// `mobile` or `desktop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Desktop => "desktop",
        }
    }
}

/// Marketing attribution captured by the page, shown in the email when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Google Ads click id.
    pub gclid: Option<String>,
    /// Google Ads app click id (iOS).
    pub gbraid: Option<String>,
    /// Google Ads web-to-app click id.
    pub wbraid: Option<String>,
    /// `utm_source`.
    pub utm_source: Option<String>,
    /// `utm_medium`.
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// `utm_term`.
    pub utm_term: Option<String>,
    /// `utm_content`.
    pub utm_content: Option<String>,
    /// First visit time as the page reported it.
    pub first_touch_ts: Option<String>,
    /// Latest visit time as the page reported it.
    pub last_touch_ts: Option<String>,
    /// First page of the visit.
    pub landing_page: Option<String>,
    /// Referring page.
    pub referrer: Option<String>,
    /// Phone or computer.
    pub device_type: Option<DeviceType>,
}

impl Attribution {
    /// Longest kept id or UTM value, in characters.
    pub const MAX_FIELD_LEN: usize = 256;
    /// Longest kept landing page or referrer, in characters.
    pub const MAX_URL_LEN: usize = 2048;

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// The fields that are set, as `(name, value)` pairs in a fixed order.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let pairs: [(&'static str, Option<&str>); 13] = [
            ("utm_source", self.utm_source.as_deref()),
            ("utm_medium", self.utm_medium.as_deref()),
            ("utm_campaign", self.utm_campaign.as_deref()),
            ("utm_term", self.utm_term.as_deref()),
            ("utm_content", self.utm_content.as_deref()),
            ("gclid", self.gclid.as_deref()),
            ("gbraid", self.gbraid.as_deref()),
            ("wbraid", self.wbraid.as_deref()),
            ("landing_page", self.landing_page.as_deref()),
            ("referrer", self.referrer.as_deref()),
            ("first_touch_ts", self.first_touch_ts.as_deref()),
            ("last_touch_ts", self.last_touch_ts.as_deref()),
            ("device_type", self.device_type.map(DeviceType::as_str)),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    fn from_body(body: AttributionBody) -> Self {
        let field = |v: Option<serde_json::Value>| {
            scalar(v).and_then(|s| bounded(&single_line(&s), Self::MAX_FIELD_LEN))
        };
        let url = |v: Option<serde_json::Value>| {
            scalar(v).and_then(|s| bounded(&single_line(&s), Self::MAX_URL_LEN))
        };
        Self {
            gclid: field(body.gclid),
            gbraid: field(body.gbraid),
            wbraid: field(body.wbraid),
            utm_source: field(body.utm_source),
            utm_medium: field(body.utm_medium),
            utm_campaign: field(body.utm_campaign),
            utm_term: field(body.utm_term),
            utm_content: field(body.utm_content),
            first_touch_ts: field(body.first_touch_ts),
            last_touch_ts: field(body.last_touch_ts),
            landing_page: url(body.landing_page),
            referrer: url(body.referrer),
            device_type: scalar(body.device_type).and_then(|d| {
                match d.trim().to_ascii_lowercase().as_str() {
                    "mobile" => Some(DeviceType::Mobile),
                    "desktop" => Some(DeviceType::Desktop),
                    _ => None,
                }
            }),
        }
    }
}

/// Strings and numbers become strings; anything else is dropped.
fn scalar(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
struct AttributionBody {
    gclid: Option<serde_json::Value>,
    gbraid: Option<serde_json::Value>,
    wbraid: Option<serde_json::Value>,
    utm_source: Option<serde_json::Value>,
    utm_medium: Option<serde_json::Value>,
    utm_campaign: Option<serde_json::Value>,
    utm_term: Option<serde_json::Value>,
    utm_content: Option<serde_json::Value>,
    first_touch_ts: Option<serde_json::Value>,
    last_touch_ts: Option<serde_json::Value>,
    landing_page: Option<serde_json::Value>,
    referrer: Option<serde_json::Value>,
    device_type: Option<serde_json::Value>,
}

/// Hint fields are read leniently: a wrong JSON type is treated as absent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeadBody {
    thread_id: Option<serde_json::Value>,
    locale: Option<serde_json::Value>,
    page_url: Option<serde_json::Value>,
    user: Option<serde_json::Value>,
    reason: Option<serde_json::Value>,
    attribution: Option<serde_json::Value>,
}

/// A validated `POST /lead` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRequest {
    /// The chat to turn into a lead.
    pub thread_id: ThreadId,
    /// Page locale.
    pub locale: Option<Locale>,
    /// Page the chat ran on.
    pub page_url: Option<PageUrl>,
    /// ChatKit user, as the browser (or a verified cookie) says.
    pub user: Option<UserId>,
    /// What fired the trigger.
    pub reason: TriggerReason,
    /// Marketing attribution.
    pub attribution: Attribution,
}

impl LeadRequest {
    /// A request for `thread_id` with no hints and the given trigger.
    pub fn new(thread_id: ThreadId, reason: TriggerReason) -> Self {
        Self {
            thread_id,
            locale: None,
            page_url: None,
            user: None,
            reason,
            attribution: Attribution::default(),
        }
    }

    /// Parses and validates a JSON body.
    ///
    /// ```
    /// use chatkit_leads_core::{LeadRequest, RequestError};
    /// let req = LeadRequest::from_json(br#"{"threadId":"cthr_abc","reason":"idle"}"#).unwrap();
    /// assert_eq!(req.reason.as_str(), "idle");
    /// assert!(matches!(LeadRequest::from_json(b"{"), Err(RequestError::InvalidJson(_))));
    /// assert!(matches!(
    ///     LeadRequest::from_json(br#"{"threadId":"thr_x"}"#),
    ///     Err(RequestError::InvalidId(_))
    /// ));
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        Self::parse(body, ClaimedUser::Checked)
    }

    /// Like [`LeadRequest::from_json`], for a deployment that never uses
    /// the body's `user` (it takes the user from a signed cookie): a
    /// malformed `user` is ignored rather than refused: the HTTP contract
    /// names only invalid JSON and thread ids as reasons for a 400.
    ///
    /// ```
    /// use chatkit_leads_core::LeadRequest;
    /// let body = br#"{"threadId":"cthr_abc","user":"anon\u0007bell"}"#;
    /// assert!(LeadRequest::from_json(body).is_err());
    /// let req = LeadRequest::from_json_ignoring_user(body).unwrap();
    /// assert_eq!(req.user, None);
    /// ```
    pub fn from_json_ignoring_user(body: &[u8]) -> Result<Self, RequestError> {
        Self::parse(body, ClaimedUser::Ignored)
    }

    fn parse(body: &[u8], claimed: ClaimedUser) -> Result<Self, RequestError> {
        let body: LeadBody = serde_json::from_slice(body).map_err(RequestError::from_json)?;
        let thread_id = match body.thread_id {
            Some(serde_json::Value::String(s)) => ThreadId::parse(&s)?,
            Some(_) => return Err(IdError::InvalidThreadId.into()),
            None => return Err(RequestError::MissingThreadId),
        };
        let user = match (scalar(body.user), claimed) {
            (Some(u), ClaimedUser::Checked) => Some(UserId::parse(&u)?),
            (_, ClaimedUser::Ignored) | (None, _) => None,
        };
        let attribution = body
            .attribution
            .and_then(|v| serde_json::from_value::<AttributionBody>(v).ok())
            .map(Attribution::from_body)
            .unwrap_or_default();
        Ok(Self {
            thread_id,
            locale: scalar(body.locale).and_then(|l| Locale::parse(&l)),
            page_url: scalar(body.page_url).and_then(|p| PageUrl::parse(&p)),
            user,
            reason: TriggerReason::parse(scalar(body.reason).as_deref()),
            attribution,
        })
    }
}

/// What [`LeadRequest`] parsing does with the body's `user`.
#[derive(Clone, Copy)]
enum ClaimedUser {
    /// Validated: a malformed one is a 400 (the deployment trusts it).
    Checked,
    /// Not read at all (the deployment takes the user from its cookie).
    Ignored,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    locale: Option<serde_json::Value>,
    page_url: Option<serde_json::Value>,
    user: Option<serde_json::Value>,
}

/// A validated `POST /session` request. ChatKit's own `current` field is
/// accepted and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionRequest {
    /// Page locale.
    pub locale: Option<Locale>,
    /// Page the chat runs on.
    pub page_url: Option<PageUrl>,
    /// The user the browser claims (used only when the deployment trusts it).
    pub user: Option<UserId>,
}

impl SessionRequest {
    /// Parses and validates a JSON body; an empty body is an empty request.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let body: SessionBody = serde_json::from_slice(body).map_err(RequestError::from_json)?;
        let user = match scalar(body.user) {
            Some(u) => Some(UserId::parse(&u)?),
            None => None,
        };
        Ok(Self {
            locale: scalar(body.locale).and_then(|l| Locale::parse(&l)),
            page_url: scalar(body.page_url).and_then(|p| PageUrl::parse(&p)),
            user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_string_thread_ids_are_refused() {
        assert_eq!(
            LeadRequest::from_json(b"{}"),
            Err(RequestError::MissingThreadId)
        );
        assert!(matches!(
            LeadRequest::from_json(br#"{"threadId": 5}"#),
            Err(RequestError::InvalidId(IdError::InvalidThreadId))
        ));
    }

    #[test]
    fn invalid_json_error_does_not_echo_the_body() {
        let err = LeadRequest::from_json(br#"{"threadId": "cthr_a", "x": secret-value}"#)
            .expect_err("invalid");
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn hints_are_cleaned_and_bad_ones_dropped() {
        let req = LeadRequest::from_json(
            br#"{"threadId":"cthr_a","locale":"<script>","pageUrl":"javascript:alert(1)",
                "reason":"  custom\r\nreason ","attribution":{"utm_source":" google\n","device_type":"Mobile",
                "first_touch_ts": 1767304800, "gclid": {"x":1}}}"#,
        )
        .expect("valid");
        assert_eq!(req.locale, None);
        assert_eq!(req.page_url, None);
        assert_eq!(req.reason.as_str(), "custom reason");
        assert_eq!(req.attribution.utm_source.as_deref(), Some("google"));
        assert_eq!(req.attribution.device_type, Some(DeviceType::Mobile));
        assert_eq!(
            req.attribution.first_touch_ts.as_deref(),
            Some("1767304800")
        );
        assert_eq!(req.attribution.gclid, None);
    }

    #[test]
    fn known_triggers_map_to_variants_and_long_custom_ones_are_cut() {
        assert_eq!(
            TriggerReason::parse(Some("pagehide")),
            TriggerReason::Pagehide
        );
        assert_eq!(TriggerReason::parse(None), TriggerReason::Manual);
        let long = "x".repeat(100);
        assert_eq!(TriggerReason::parse(Some(&long)).as_str().len(), 64);
    }

    #[test]
    fn attribution_is_trimmed_and_capped_at_each_limit() {
        let field = Attribution::MAX_FIELD_LEN;
        let url = Attribution::MAX_URL_LEN;
        // At each cap, kept whole; past it, cut to the cap; padding trimmed
        // first, so it never counts against the cap.
        let at_field = "é".repeat(field);
        let past_field = format!("{at_field}z");
        let at_url = format!("https://example.com/{}", "p".repeat(url - 20));
        let past_url = format!("{at_url}q");
        let body = serde_json::json!({
            "threadId": "cthr_abc",
            "attribution": {
                "gclid": format!("  {at_field}\t "),
                "utm_source": past_field,
                "utm_campaign": "   ",
                "landing_page": format!(" {at_url} "),
                "referrer": past_url,
            },
        });
        let req = LeadRequest::from_json(body.to_string().as_bytes()).expect("valid");
        let a = &req.attribution;
        assert_eq!(
            a.gclid.as_deref(),
            Some(at_field.as_str()),
            "at the cap: whole, trimmed"
        );
        assert_eq!(
            a.utm_source.as_deref().map(|s| s.chars().count()),
            Some(field)
        );
        assert!(
            a.utm_source.as_deref().is_some_and(|s| !s.ends_with('z')),
            "past: cut"
        );
        assert_eq!(a.utm_campaign, None, "blank is absent");
        assert_eq!(a.landing_page.as_deref(), Some(at_url.as_str()));
        assert_eq!(a.referrer.as_deref().map(|s| s.chars().count()), Some(url));
        assert_eq!(
            a.referrer.as_deref(),
            Some(at_url.as_str()),
            "past: cut to the cap"
        );
    }

    #[test]
    fn locales_and_page_urls() {
        assert!(Locale::parse("zh-Hans").is_some());
        assert!(Locale::parse("en_US").is_some());
        assert!(Locale::parse("e").is_none());
        let page = PageUrl::parse("https://chat.craigs.autos/es/?x=1").expect("url");
        assert_eq!(page.host(), "chat.craigs.autos");
        assert!(PageUrl::parse("data:text/html,hi").is_none());
    }

    #[test]
    fn session_body_ignores_current_and_accepts_empty() {
        assert_eq!(
            SessionRequest::from_json(b""),
            Ok(SessionRequest::default())
        );
        let req =
            SessionRequest::from_json(br#"{"current":{"a":[1]},"user":"anon_1","locale":"es"}"#)
                .expect("valid");
        assert_eq!(
            req.user.map(|u| u.as_str().to_owned()).as_deref(),
            Some("anon_1")
        );
    }
}
