//! Who the ChatKit `user` is: the browser's claim, or a server-issued,
//! HMAC-signed cookie.
//!
//! ChatKit scopes which threads a session may read by `user`, so a page that
//! can pick any `user` can read any visitor's threads by guessing ids. The
//! seed trusted the browser ([`UserIdentity::TrustBrowser`]); a deployment
//! that cares binds the user server-side with [`UserIdentity::SignedCookie`]:
//! `POST /session` issues `anon_<uuid>` in a signed, `HttpOnly` cookie and
//! every request uses the verified cookie instead of the body's `user`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chatkit_leads_core::UserId;
use cookie::Cookie;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// The cookie name used when none is configured.
pub const DEFAULT_COOKIE_NAME: &str = "chatkit_uid";

/// How long an issued cookie lives when not configured: one year, so a
/// returning visitor keeps their threads.
pub const DEFAULT_COOKIE_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A cookie signing key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key is shorter than [`CookieKey::MIN_LEN`] bytes.
    #[error("cookie key must be at least 32 bytes, got {0}")]
    TooShort(usize),
    /// The text is not standard or URL-safe base64.
    #[error("cookie key is not valid base64")]
    NotBase64,
}

/// The secret HMAC-SHA256 key that signs identity cookies: at least 32
/// bytes. `Debug` never prints it.
///
/// ```
/// use chatkit_leads_axum::CookieKey;
/// let key = CookieKey::new([7u8; 32]).unwrap();
/// assert_eq!(format!("{key:?}"), "CookieKey([redacted])");
/// assert!(CookieKey::new(b"too short").is_err());
/// // e.g. from `openssl rand -base64 32` in an environment variable:
/// assert!(CookieKey::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").is_ok());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CookieKey(Vec<u8>);

impl CookieKey {
    /// Shortest accepted key, in bytes (the HMAC-SHA256 output size).
    pub const MIN_LEN: usize = 32;

    /// Uses `bytes` as the key.
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let bytes = bytes.as_ref();
        if bytes.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// Decodes a standard or URL-safe base64 key (padding optional;
    /// surrounding whitespace, e.g. from an env file, is trimmed).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| KeyError::NotBase64)?;
        Self::new(bytes)
    }

    fn mac(&self, cookie_name: &str, user: &str) -> HmacSha256 {
        // Any key length is valid for HMAC, so this never fails; the
        // fallback keeps the code free of `expect`.
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        // The cookie name is signed too, so a value cannot be moved between
        // cookies signed with the same key.
        mac.update(cookie_name.as_bytes());
        mac.update(b"\0");
        mac.update(user.as_bytes());
        mac
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent on same-site requests and top-level navigations (the default).
    /// Works when the page and the API share a registrable domain, e.g.
    /// `www.shop.example` and `api.shop.example`.
    #[default]
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent on cross-site requests too; needs `secure: true`. Use it when
    /// the API lives on another site than the page.
    None,
}

impl SameSite {
    fn attribute(self) -> cookie::SameSite {
        match self {
            Self::Lax => cookie::SameSite::Lax,
            Self::Strict => cookie::SameSite::Strict,
            Self::None => cookie::SameSite::None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

/// A `SameSite` setting that is not `lax`, `strict` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("SameSite must be lax, strict or none")]
pub struct UnknownSameSite;

impl FromStr for SameSite {
    type Err = UnknownSameSite;

    /// `lax`, `strict` or `none`, in any case (as a setting spells it).
    ///
    /// ```
    /// use chatkit_leads_axum::SameSite;
    /// assert_eq!("None".parse(), Ok(SameSite::None));
    /// assert!("sometimes".parse::<SameSite>().is_err());
    /// ```
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [Self::Lax, Self::Strict, Self::None]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or(UnknownSameSite)
    }
}

/// How the router decides the ChatKit `user` of a request.
///
/// The examples use [`UserIdentity::signed_cookie`]: it is the safer mode,
/// and the router defaults to it whenever a key is configured
/// ([`UserIdentity::from_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UserIdentity {
    /// Use the body's `user` as the seed did; a session request without one
    /// gets a fresh `anon_<uuid>`. Any page can claim any user, so any page
    /// that guesses a user id can read that user's threads.
    #[default]
    TrustBrowser,
    /// Issue `anon_<uuid>` in an HMAC-SHA256-signed, `HttpOnly`, `Path=/`
    /// cookie on `POST /session` when the request has no valid one, verify
    /// it (in constant time) on every request and use it instead of the
    /// body's `user`. An unsigned or tampered cookie is ignored (and
    /// replaced on the next `/session`).
    ///
    /// Cross-origin pages must send the cookie: `fetch(url, { credentials:
    /// "include" })`. The router then allows credentials in CORS.
    SignedCookie {
        /// The signing key.
        key: CookieKey,
        /// The cookie's name ([`DEFAULT_COOKIE_NAME`]).
        cookie_name: String,
        /// Whether to add `Secure` (HTTPS only). Browsers accept `Secure`
        /// cookies from `http://localhost`, so keep it on in development too.
        secure: bool,
        /// `Max-Age` of an issued cookie ([`DEFAULT_COOKIE_MAX_AGE`]).
        max_age: Duration,
        /// `SameSite` ([`SameSite::Lax`]).
        same_site: SameSite,
    },
}

impl UserIdentity {
    /// Signed-cookie mode with the defaults: cookie `chatkit_uid`, `Secure`,
    /// one year, `SameSite=Lax`.
    ///
    /// ```
    /// use chatkit_leads_axum::{CookieKey, UserIdentity};
    /// let identity = UserIdentity::signed_cookie(CookieKey::new([1u8; 32]).unwrap());
    /// assert!(matches!(identity, UserIdentity::SignedCookie { secure: true, .. }));
    /// ```
    pub fn signed_cookie(key: CookieKey) -> Self {
        Self::SignedCookie {
            key,
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            secure: true,
            max_age: DEFAULT_COOKIE_MAX_AGE,
            same_site: SameSite::Lax,
        }
    }

    /// The cookie's `SameSite` attribute (signed-cookie mode; a no-op for
    /// [`UserIdentity::TrustBrowser`]). `SameSite::None` needs `secure`,
    /// which [`UserIdentity::signed_cookie`] sets.
    ///
    /// ```
    /// use chatkit_leads_axum::{CookieKey, SameSite, UserIdentity};
    /// let key = CookieKey::new([1u8; 32]).unwrap();
    /// let identity = UserIdentity::signed_cookie(key).with_same_site(SameSite::None);
    /// assert!(matches!(identity, UserIdentity::SignedCookie { same_site: SameSite::None, .. }));
    /// ```
    #[must_use]
    pub fn with_same_site(mut self, value: SameSite) -> Self {
        if let Self::SignedCookie { same_site, .. } = &mut self {
            *same_site = value;
        }
        self
    }

    /// [`UserIdentity::signed_cookie`] when a key is given, else
    /// [`UserIdentity::TrustBrowser`]: what a server reading an optional key
    /// from its environment should use.
    pub fn from_key(key: Option<CookieKey>) -> Self {
        key.map_or(Self::TrustBrowser, Self::signed_cookie)
    }

    /// Whether this mode uses a cookie (CORS then allows credentials).
    pub fn uses_cookie(&self) -> bool {
        matches!(self, Self::SignedCookie { .. })
    }

    /// Checks the cookie settings: a valid cookie name, and `Secure` when
    /// `SameSite=None`.
    pub(crate) fn validate(&self) -> Result<(), IdentityError> {
        if let Self::SignedCookie {
            cookie_name,
            secure,
            same_site,
            ..
        } = self
        {
            if !is_cookie_name(cookie_name) {
                return Err(IdentityError::InvalidCookieName);
            }
            if *same_site == SameSite::None && !secure {
                return Err(IdentityError::SameSiteNoneNeedsSecure);
            }
        }
        Ok(())
    }
}

/// The identity settings cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    /// Cookie names are 1–64 of `[A-Za-z0-9_-]` here.
    #[error("cookie name must be 1-64 letters, digits, `_` or `-`")]
    InvalidCookieName,
    /// Browsers drop `SameSite=None` cookies without `Secure`.
    #[error("SameSite=None cookies must be Secure")]
    SameSiteNoneNeedsSecure,
}

fn is_cookie_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A user the server vouches for, and whether the response must (re)issue
/// its cookie.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The user to use, when known.
    pub user: Option<UserId>,
    /// A `Set-Cookie` value to send.
    pub set_cookie: Option<String>,
    /// Whether the user was made up for this request (no claim, no cookie).
    pub fresh: bool,
}

/// A fresh anonymous user id, as the seed's page made them.
pub(crate) fn fresh_anon() -> Option<UserId> {
    UserId::parse(&format!("anon_{}", uuid::Uuid::new_v4())).ok()
}

impl UserIdentity {
    /// The user of a `POST /session`: always known, with a cookie to set
    /// when cookie mode found none valid.
    pub(crate) fn for_session(&self, headers: &HeaderMap, claimed: Option<UserId>) -> Resolved {
        match self {
            Self::TrustBrowser => Resolved {
                fresh: claimed.is_none(),
                user: claimed.or_else(fresh_anon),
                set_cookie: None,
            },
            Self::SignedCookie { .. } => match self.verified_user(headers) {
                Some(user) => Resolved {
                    user: Some(user),
                    set_cookie: None,
                    fresh: false,
                },
                None => {
                    let user = fresh_anon();
                    let set_cookie = user.as_ref().and_then(|u| self.set_cookie(u));
                    Resolved {
                        user,
                        set_cookie,
                        fresh: true,
                    }
                }
            },
        }
    }

    /// The user of a `POST /lead`: the body's claim, or in cookie mode the
    /// verified cookie's user (the body's claim is ignored either way).
    pub(crate) fn for_lead(&self, headers: &HeaderMap, claimed: Option<UserId>) -> Option<UserId> {
        match self {
            Self::TrustBrowser => claimed,
            Self::SignedCookie { .. } => self.verified_user(headers),
        }
    }

    /// The user in a valid signed cookie, if the request carries one.
    pub(crate) fn verified_user(&self, headers: &HeaderMap) -> Option<UserId> {
        let Self::SignedCookie {
            key, cookie_name, ..
        } = self
        else {
            return None;
        };
        // Several cookies of the same name can arrive (e.g. set for two
        // paths); any one that verifies is ours.
        cookie_values(headers, cookie_name)
            .find_map(|c| verify(key, cookie_name, c.value_trimmed()))
    }

    /// The `Set-Cookie` header value carrying `user`.
    pub(crate) fn set_cookie(&self, user: &UserId) -> Option<String> {
        let Self::SignedCookie {
            key,
            cookie_name,
            secure,
            max_age,
            same_site,
        } = self
        else {
            return None;
        };
        let value = sign(key, cookie_name, user.as_str())?;
        let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        let cookie = Cookie::build((cookie_name.as_str(), value))
            .max_age(cookie::time::Duration::seconds(max_age))
            .path("/")
            .http_only(true)
            .same_site(same_site.attribute())
            .secure(*secure)
            .build();
        Some(cookie.to_string())
    }
}

/// `<user>.<base64url(HMAC-SHA256(name \0 user))>`. Only ids made of cookie-
/// safe characters are signed (the server issues `anon_<uuid>`).
fn sign(key: &CookieKey, cookie_name: &str, user: &str) -> Option<String> {
    let safe = user
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !safe {
        return None;
    }
    let tag = key.mac(cookie_name, user).finalize().into_bytes();
    Some(format!("{user}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

fn verify(key: &CookieKey, cookie_name: &str, value: &str) -> Option<UserId> {
    let (user, tag) = value.rsplit_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    // `verify_slice` compares in constant time.
    key.mac(cookie_name, user).verify_slice(&tag).ok()?;
    UserId::parse(user).ok()
}

/// The values of every cookie named `name` in the `Cookie` headers (a
/// malformed pair is skipped, not fatal: other cookies of the site share
/// the header).
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = Cookie<'a>> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn identity() -> UserIdentity {
        UserIdentity::signed_cookie(CookieKey::new([3u8; 32]).expect("key"))
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie).expect("header"));
        h
    }

    fn value_of(set_cookie: &str) -> &str {
        set_cookie
            .split(';')
            .next()
            .and_then(|p| p.split_once('='))
            .map(|(_, v)| v)
            .expect("value")
    }

    #[test]
    fn a_signed_cookie_verifies_among_other_cookies() {
        let id = identity();
        let user = UserId::parse("anon_1").expect("user");
        let cookie = id.set_cookie(&user).expect("cookie");
        let h = headers(&format!("a=b; chatkit_uid={}; c=d", value_of(&cookie)));
        assert_eq!(id.verified_user(&h), Some(user));
    }

    #[test]
    fn a_value_signed_with_another_key_or_name_is_refused() {
        let user = UserId::parse("anon_1").expect("user");
        let other = UserIdentity::signed_cookie(CookieKey::new([4u8; 32]).expect("key"));
        let cookie = other.set_cookie(&user).expect("cookie");
        assert_eq!(
            identity().verified_user(&headers(&format!("chatkit_uid={}", value_of(&cookie)))),
            None
        );
        let key = CookieKey::new([3u8; 32]).expect("key");
        let renamed = sign(&key, "other", "anon_1").expect("signed");
        assert_eq!(
            identity().verified_user(&headers(&format!("chatkit_uid={renamed}"))),
            None
        );
    }

    #[test]
    fn cookies_issued_by_earlier_releases_stay_valid() {
        // HMAC-SHA256(key, "chatkit_uid\0anon_1"), base64url without
        // padding, computed outside this code (Python's hmac module): the
        // format every issued cookie carries, whatever builds the header.
        let issued = "anon_1.jjC5hWgDFVz-sxlOfCvJZyAdpzh_RjJTumje4vS1VhE";
        for header in [
            format!("chatkit_uid={issued}"),
            format!("chatkit_uid=\"{issued}\"; other=1"),
        ] {
            assert_eq!(
                identity().verified_user(&headers(&header)),
                Some(UserId::parse("anon_1").expect("user")),
                "{header}"
            );
        }
    }

    #[test]
    fn unsigned_and_garbled_values_are_refused() {
        for value in ["anon_1", "anon_1.", "anon_1.!!!", ".", "", "anon_2.AAAA"] {
            assert_eq!(
                identity().verified_user(&headers(&format!("chatkit_uid={value}"))),
                None,
                "{value}"
            );
        }
    }

    #[test]
    fn cookie_attributes_follow_the_settings() {
        let UserIdentity::SignedCookie { key, .. } = identity() else {
            panic!("cookie mode");
        };
        let id = UserIdentity::SignedCookie {
            key,
            cookie_name: "uid".into(),
            secure: false,
            max_age: Duration::from_secs(60),
            same_site: SameSite::Strict,
        };
        let cookie = id
            .set_cookie(&UserId::parse("anon_1").expect("user"))
            .expect("cookie");
        assert!(cookie.starts_with("uid=anon_1."));
        let mut attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
        attributes.sort_unstable();
        assert_eq!(
            attributes,
            ["HttpOnly", "Max-Age=60", "Path=/", "SameSite=Strict"],
            "{cookie}"
        );
    }

    #[test]
    fn invalid_settings_are_refused() {
        let UserIdentity::SignedCookie { key, .. } = identity() else {
            panic!("cookie mode");
        };
        let with = |name: &str, secure, same_site| UserIdentity::SignedCookie {
            key: key.clone(),
            cookie_name: name.into(),
            secure,
            max_age: DEFAULT_COOKIE_MAX_AGE,
            same_site,
        };
        assert_eq!(
            with("a b", true, SameSite::Lax).validate(),
            Err(IdentityError::InvalidCookieName)
        );
        assert_eq!(
            with("uid", false, SameSite::None).validate(),
            Err(IdentityError::SameSiteNoneNeedsSecure)
        );
        assert_eq!(with("uid", true, SameSite::None).validate(), Ok(()));
    }

    #[test]
    fn keys_decode_from_both_base64_alphabets() {
        let bytes = [0xfbu8; 32];
        let std = STANDARD.encode(bytes);
        let url = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(CookieKey::from_base64(&std), CookieKey::new(bytes));
        assert_eq!(CookieKey::from_base64(&url), CookieKey::new(bytes));
        assert_eq!(
            CookieKey::from_base64("c2hvcnQ="),
            Err(KeyError::TooShort(5))
        );
        assert_eq!(CookieKey::from_base64("***"), Err(KeyError::NotBase64));
    }
}
