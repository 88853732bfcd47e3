//! The shop's identity: everything the email, the drafts and the session
//! state variables say about the business. Nothing about a particular shop is
//! a constant in code; [`ShopProfile::seed`] is the seed shop as an example.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hours::{OpeningState, WeeklyHours};

/// Why a shop profile is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShopError {
    /// The profile file could not be read.
    #[error("cannot read the shop profile {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The profile is not valid TOML of the expected shape (the message
    /// names the line and the field).
    #[error("the shop profile is not valid: {0}")]
    Toml(String),
    /// The phone number has fewer than 10 or more than 15 digits.
    #[error("shop phone must have 10-15 digits")]
    InvalidPhone,
    /// The brand colour is not `#RRGGBB`.
    #[error("brand colour must be #RRGGBB")]
    InvalidBrandColor,
    /// A required text field is empty.
    #[error("shop {0} must not be empty")]
    Empty(&'static str),
    /// The settings file has a key no reader knows (a typo, most often).
    #[error("the settings file has an unknown key `{0}`")]
    UnknownKey(String),
}

/// A shop's phone number as shown and as dialled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShopPhone {
    display: String,
    digits: String,
}

impl ShopPhone {
    /// Parses a display form such as `(408) 379-3820`.
    pub fn parse(display: &str) -> Result<Self, ShopError> {
        let digits: String = display
            .chars()
            .map(crate::text::fold_to_ascii)
            .filter(char::is_ascii_digit)
            .collect();
        if !(10..=15).contains(&digits.len()) {
            return Err(ShopError::InvalidPhone);
        }
        Ok(Self {
            display: crate::text::single_line(display),
            digits,
        })
    }

    /// As written for people, e.g. `(408) 379-3820`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Digits only, e.g. `4083793820`.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Whether `digits` is this number, with or without a leading country code 1.
    pub fn matches_digits(&self, digits: &str) -> bool {
        digits == self.digits
            || digits.strip_prefix('1') == Some(self.digits.as_str())
            || self.digits.strip_prefix('1') == Some(digits)
    }
}

impl TryFrom<String> for ShopPhone {
    type Error = ShopError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ShopPhone> for String {
    fn from(value: ShopPhone) -> Self {
        value.display
    }
}

/// A CSS colour of the form `#RRGGBB`; validated because it is interpolated
/// into inline styles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrandColor(String);

impl BrandColor {
    /// Parses `#RRGGBB`.
    pub fn parse(raw: &str) -> Result<Self, ShopError> {
        let raw = raw.trim();
        let ok = raw.len() == 7
            && raw.starts_with('#')
            && raw[1..].bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Self(raw.to_owned()))
            .ok_or(ShopError::InvalidBrandColor)
    }

    /// The colour, e.g. `#8B1E1E`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BrandColor {
    type Error = ShopError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BrandColor> for String {
    fn from(value: BrandColor) -> Self {
        value.0
    }
}

impl fmt::Display for BrandColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who the shop is and when it is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopProfile {
    /// Business name, e.g. `Craig's Auto Upholstery`.
    pub name: String,
    /// Main phone number; also skipped when extracting the customer's number.
    pub phone: ShopPhone,
    /// Street address, one line.
    pub address: String,
    /// Display name of the chat agent (the seed's is `Roxana`).
    #[serde(default = "default_assistant_name")]
    pub assistant_name: String,
    /// Accent colour of the email.
    #[serde(default = "default_brand_color")]
    pub brand_color: BrandColor,
    /// IANA time zone of the opening hours.
    pub time_zone: chrono_tz::Tz,
    /// Weekly opening hours in `time_zone`.
    pub hours: WeeklyHours,
    /// Dates (local) the shop is closed regardless of `hours`.
    #[serde(default)]
    pub closed_dates: BTreeSet<NaiveDate>,
}

fn default_assistant_name() -> String {
    "Assistant".to_owned()
}

fn default_brand_color() -> BrandColor {
    BrandColor("#1F4E79".to_owned())
}

impl ShopProfile {
    /// Whether the shop is open at `now` and when it next opens, in its
    /// time zone and with its closed dates (what the session's state
    /// variables tell the agent).
    pub fn opening_state(&self, now: DateTime<Utc>) -> OpeningState {
        OpeningState::compute(self.time_zone, &self.hours, &self.closed_dates, now)
    }

    /// The seed shop: Craig's Auto Upholstery, (408) 379-3820, open Mon–Fri
    /// 08:00–17:00 and Sat 08:00–14:00, America/Los_Angeles. The seed's
    /// material does not give its street address, so the address here is a
    /// marked placeholder: set yours in the shop profile.
    pub fn seed() -> Self {
        Self {
            name: "Craig's Auto Upholstery".to_owned(),
            phone: ShopPhone {
                display: "(408) 379-3820".to_owned(),
                digits: "4083793820".to_owned(),
            },
            address: "100 Example Street, San Jose, CA (example address)".to_owned(),
            assistant_name: "Roxana".to_owned(),
            brand_color: BrandColor("#8B1E1E".to_owned()),
            time_zone: chrono_tz::America::Los_Angeles,
            hours: WeeklyHours::seed(),
            closed_dates: BTreeSet::new(),
        }
    }

    /// Reads a profile from TOML (the format of
    /// `examples/axum-server/shop.example.toml`) and validates it.
    ///
    /// ```
    /// use chatkit_leads_core::ShopProfile;
    /// let shop = ShopProfile::from_toml(r#"
    ///     name = "Seat Savers"
    ///     phone = "(555) 010-2030"
    ///     address = "1 Main St"
    ///     time_zone = "Europe/Berlin"
    ///     [hours]
    ///     mon = "09:00-18:00"
    /// "#).unwrap();
    /// assert_eq!(shop.phone.digits(), "5550102030");
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, ShopError> {
        let shop: Self = toml::from_str(text).map_err(|e| ShopError::Toml(e.to_string()))?;
        shop.validate()?;
        Ok(shop)
    }

    /// Reads and validates the TOML profile at `path`.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, ShopError> {
        let text = std::fs::read_to_string(path).map_err(|e| ShopError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text)
    }

    /// Checks the fields serde cannot: non-empty name, address and assistant name.
    pub fn validate(&self) -> Result<(), ShopError> {
        for (field, value) in [
            ("name", &self.name),
            ("address", &self.address),
            ("assistant_name", &self.assistant_name),
        ] {
            if value.trim().is_empty() {
                return Err(ShopError::Empty(field));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_phone_matches_with_and_without_country_code() {
        let phone = ShopPhone::parse("(408) 379-3820").expect("phone");
        assert!(phone.matches_digits("4083793820"));
        assert!(phone.matches_digits("14083793820"));
        assert!(!phone.matches_digits("4085550142"));
        assert_eq!(ShopPhone::parse("12"), Err(ShopError::InvalidPhone));
    }

    #[test]
    fn the_servers_example_file_is_the_seed_shop() {
        let text = include_str!("../tests/shop.example.toml");
        assert_eq!(ShopProfile::from_toml(text), Ok(ShopProfile::seed()));
    }

    #[test]
    fn bad_hours_and_missing_files_are_typed_errors() {
        let text = include_str!("../tests/shop.example.toml").replace("08:00-17:00", "17:00-08:00");
        let err = ShopProfile::from_toml(&text).expect_err("close before open");
        assert!(
            matches!(&err, ShopError::Toml(m) if m.contains("must be after")),
            "{err}"
        );
        let err = ShopProfile::from_toml_file(std::path::Path::new("/nonexistent/shop.toml"))
            .expect_err("missing");
        assert!(matches!(err, ShopError::Read { .. }));
    }

    #[test]
    fn brand_color_refuses_css_injection() {
        assert!(BrandColor::parse("#aabbcc").is_ok());
        assert!(BrandColor::parse("red;background:url(x)").is_err());
    }
}
