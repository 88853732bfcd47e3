//! The settings file (`LEADS_SHOP_CONFIG`): one TOML file for what a shop's
//! operator decides — who the shop is and when it is open (the top-level
//! keys and `[hours]`), the workflow's policies (`[policy]`), the email's
//! wording (`[email]`), the fallback
//! drafts in more languages (`[drafts.<language>]`) and more webhooks
//! (`[[webhooks]]`, read by the webhook adapter). Secrets and endpoints
//! stay in the environment.
//!
//! Every key must be one some reader knows: a typo is an error naming the
//! key, not a setting silently ignored.
//!
//! ```
//! use chatkit_leads_core::settings_file::SettingsFile;
//! use chatkit_leads_core::config::ReadinessPolicy;
//! let file = SettingsFile::parse(r#"
//!     name = "Seat Savers"
//!     phone = "(555) 010-2030"
//!     address = "1 Main St"
//!     time_zone = "Europe/Berlin"
//!     [hours]
//!     mon = "09:00-18:00"
//!     [policy]
//!     readiness = "require_handoff_ready"
//!     record_ttl_days = 90
//! "#).unwrap();
//! assert_eq!(file.policy.readiness, Some(ReadinessPolicy::RequireHandoffReady));
//! assert!(SettingsFile::parse("nmae = \"typo\"").unwrap_err().to_string().contains("nmae"));
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{DuplicatePolicy, LeadConfig, ReadinessPolicy};
use crate::email::{DraftCopy, DraftLanguages};
use crate::shop::{ShopError, ShopProfile};

/// The top-level keys some reader knows: the shop profile's, and the
/// sections.
const KNOWN_KEYS: [&str; 13] = [
    "name",
    "phone",
    "address",
    "assistant_name",
    "brand_color",
    "time_zone",
    "hours",
    "closed_dates",
    "policy",
    "email",
    "drafts",
    "webhooks",
    "settings",
];

/// `[policy]`: the workflow's policies. An absent key keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// `always` (default) or `require_handoff_ready`.
    pub readiness: Option<ReadinessPolicy>,
    /// `resend_flagged` (default) or `alert_only`.
    pub duplicates: Option<DuplicatePolicy>,
    /// Days a lead record is kept (default 30).
    pub record_ttl_days: Option<u32>,
    /// Instructions for the summary model, instead of the built-in ones.
    pub summary_instructions: Option<String>,
}

impl PolicySettings {
    /// These policies with the environment's overrides, the same names on
    /// the server and the Lambda (`get` looks a variable up; empty counts
    /// as unset): `LEADS_READINESS`, `LEADS_DUPLICATES`,
    /// `LEADS_RECORD_TTL_DAYS`, `LEADS_SUMMARY_INSTRUCTIONS`.
    ///
    /// # Errors
    /// A value that does not parse; the message names the variable.
    pub fn overridden_by(
        mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ShopError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let invalid = |name: &str, what: &str| ShopError::Toml(format!("{name} must be {what}"));
        if let Some(raw) = get("LEADS_READINESS") {
            self.readiness = Some(match raw.as_str() {
                "always" => ReadinessPolicy::Always,
                "require_handoff_ready" => ReadinessPolicy::RequireHandoffReady,
                _ => {
                    return Err(invalid(
                        "LEADS_READINESS",
                        "always or require_handoff_ready",
                    ));
                }
            });
        }
        if let Some(raw) = get("LEADS_DUPLICATES") {
            self.duplicates = Some(match raw.as_str() {
                "resend_flagged" => DuplicatePolicy::ResendFlagged,
                "alert_only" => DuplicatePolicy::AlertOnly,
                _ => return Err(invalid("LEADS_DUPLICATES", "resend_flagged or alert_only")),
            });
        }
        if let Some(raw) = get("LEADS_RECORD_TTL_DAYS") {
            match raw.parse::<u32>() {
                Ok(days @ 1..) => self.record_ttl_days = Some(days),
                _ => {
                    return Err(invalid(
                        "LEADS_RECORD_TTL_DAYS",
                        "a whole number of days ≥ 1",
                    ));
                }
            }
        }
        if let Some(text) = get("LEADS_SUMMARY_INSTRUCTIONS") {
            self.summary_instructions = Some(text);
        }
        Ok(self)
    }
}

/// `[email]`: the lead email's wording. An absent key keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The subject's start (default `New chat lead`).
    pub subject: Option<String>,
    /// A note at the end of every lead email.
    pub footer: Option<String>,
    /// Subject prefix of a possible duplicate (default `[Possible duplicate]`).
    pub possible_duplicate_prefix: Option<String>,
    /// Subject prefix of an operator's resend (default `[Resend]`).
    pub resend_prefix: Option<String>,
    /// The three call-script prompts used when the model gave fewer.
    pub call_script: Option<[String; 3]>,
}

impl EmailSettings {
    /// `copy` with the wording that is set.
    fn apply(&self, copy: &mut crate::email::EmailCopy) {
        let set = |value: &Option<String>, field: &mut String| {
            if let Some(value) = value {
                field.clone_from(value);
            }
        };
        set(&self.subject, &mut copy.subject);
        set(
            &self.possible_duplicate_prefix,
            &mut copy.possible_duplicate_prefix,
        );
        set(&self.resend_prefix, &mut copy.resend_prefix);
        if self.footer.is_some() {
            copy.footer.clone_from(&self.footer);
        }
        if let Some(script) = &self.call_script {
            copy.default_call_script.clone_from(script);
        }
    }
}

/// The settings file, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsFile {
    /// The shop profile (the top-level keys and `[hours]`).
    pub shop: ShopProfile,
    /// `[policy]`.
    pub policy: PolicySettings,
    /// `[email]`.
    pub email: EmailSettings,
    /// `[drafts.<language>]`, added to the built-in English and Spanish.
    pub drafts: DraftLanguages,
    /// `[settings]`: any setting of the server or the Lambda by its
    /// environment name (`LEADS_PHOTOS_MAX = 2`); the process environment
    /// wins. Which names exist is the binary's to check
    /// ([`SettingsFile::unknown_setting`]).
    pub settings: BTreeMap<String, String>,
}

/// The sections this crate reads.
#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    policy: PolicySettings,
    #[serde(default)]
    email: EmailSettings,
    #[serde(default)]
    drafts: BTreeMap<String, DraftCopy>,
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
}

impl SettingsFile {
    /// Parses and checks the file's `text`.
    ///
    /// # Errors
    /// [`ShopError::UnknownKey`] for a top-level key no reader knows;
    /// [`ShopError::Toml`] for invalid TOML, a missing or unknown key in a
    /// section (the message names it) or a bad value; the shop profile's
    /// own checks.
    pub fn parse(text: &str) -> Result<Self, ShopError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| ShopError::Toml(e.to_string()))?;
        if let Some(unknown) = table.keys().find(|key| !KNOWN_KEYS.contains(&key.as_str())) {
            return Err(ShopError::UnknownKey(unknown.clone()));
        }
        let shop = ShopProfile::from_toml(text)?;
        let sections: Sections =
            toml::from_str(text).map_err(|e| ShopError::Toml(e.to_string()))?;
        if sections.policy.record_ttl_days == Some(0) {
            return Err(ShopError::Toml(
                "policy.record_ttl_days must be at least 1".to_owned(),
            ));
        }
        let drafts = sections
            .drafts
            .into_iter()
            .fold(DraftLanguages::default(), |languages, (language, copy)| {
                languages.with(&language, copy)
            });
        let settings = sections
            .settings
            .into_iter()
            .map(|(name, value)| match value {
                toml::Value::String(text) => Ok((name, text)),
                toml::Value::Integer(n) => Ok((name, n.to_string())),
                toml::Value::Float(x) => Ok((name, x.to_string())),
                toml::Value::Boolean(b) => Ok((name, b.to_string())),
                _ => Err(ShopError::Toml(format!(
                    "settings.{name} must be a string, a number or true/false"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            shop,
            policy: sections.policy,
            email: sections.email,
            drafts,
            settings,
        })
    }

    /// The value of setting `name`: the process environment's (`env`)
    /// when set there, else this file's `[settings]`.
    pub fn lookup(&self, name: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        env(name).or_else(|| self.settings.get(name).cloned())
    }

    /// The first `[settings]` name that is not one of `known` (the names
    /// the binary reads): a typo the binary would otherwise ignore.
    pub fn unknown_setting<'a>(&'a self, known: &[String]) -> Option<&'a str> {
        self.settings
            .keys()
            .find(|name| !known.iter().any(|k| k == *name))
            .map(String::as_str)
    }

    /// `config` with this file's policies and drafts (the shop profile is
    /// [`SettingsFile::shop`], given to [`LeadConfig::new`]).
    pub fn apply(&self, config: &mut LeadConfig) {
        self.policy.apply(config);
        self.email.apply(&mut config.copy);
        config.copy.drafts = self.drafts.clone();
    }
}

impl PolicySettings {
    /// `config` with the policies that are set; unset ones leave it as it is.
    pub fn apply(&self, config: &mut LeadConfig) {
        if let Some(readiness) = self.readiness {
            config.readiness = readiness;
        }
        if let Some(duplicates) = self.duplicates {
            config.duplicates = duplicates;
        }
        if let Some(days) = self.record_ttl_days {
            config.lease.record_ttl = Duration::from_secs(u64::from(days) * 24 * 3600);
        }
        if let Some(instructions) = &self.summary_instructions {
            config.instructions = Some(instructions.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = include_str!("../tests/shop.example.toml");

    #[test]
    fn the_bundled_file_is_the_seed_shop_with_default_policies() {
        let file = SettingsFile::parse(SHOP).expect("bundled file");
        assert_eq!(file.shop, ShopProfile::seed());
        assert_eq!(file.policy, PolicySettings::default());
        assert_eq!(file.drafts, DraftLanguages::default());
    }

    #[test]
    fn policies_and_languages_reach_the_config() {
        let text = format!(
            "{SHOP}\n[policy]\nduplicates = \"alert_only\"\nrecord_ttl_days = 7\n\
             summary_instructions = \"Be brief.\"\n\
             [email]\nsubject = \"Neuer Lead\"\nfooter = \"Leads: Anna, 555\"\n\
             [drafts.fr]\noutreach = \"Bonjour {{name}}\"\nemail_subject = \"Votre chat\"\n\
             fallback_name = \"cher client\"\nfallback_project = \"votre projet\"\n"
        );
        let file = SettingsFile::parse(&text).expect("valid");
        let address = crate::EmailAddress::parse("shop@example.com").expect("address");
        let envelope = crate::email::Envelope {
            from: address.clone(),
            from_name: None,
            to: vec![address],
        };
        let mut config = LeadConfig::new(file.shop.clone(), envelope);
        file.apply(&mut config);
        assert_eq!(config.duplicates, DuplicatePolicy::AlertOnly);
        assert_eq!(
            config.readiness,
            ReadinessPolicy::Always,
            "unset keeps the default"
        );
        assert_eq!(config.lease.record_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.instructions.as_deref(), Some("Be brief."));
        assert_eq!(config.copy.subject, "Neuer Lead");
        assert_eq!(config.copy.footer.as_deref(), Some("Leads: Anna, 555"));
        assert_eq!(
            config.copy.resend_prefix, "[Resend]",
            "unset keeps the default"
        );
        assert_eq!(
            config.copy.drafts.choose(&["fr"]).copy.fallback_name,
            "cher client"
        );
    }

    #[test]
    fn the_environment_overrides_the_files_policies_by_name() {
        let file = PolicySettings {
            duplicates: Some(DuplicatePolicy::AlertOnly),
            record_ttl_days: Some(7),
            ..PolicySettings::default()
        };
        let env = [
            ("LEADS_READINESS", "require_handoff_ready"),
            ("LEADS_RECORD_TTL_DAYS", "90"),
        ];
        let get = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let merged = file.clone().overridden_by(get).expect("valid");
        assert_eq!(merged.readiness, Some(ReadinessPolicy::RequireHandoffReady));
        assert_eq!(
            merged.duplicates,
            Some(DuplicatePolicy::AlertOnly),
            "the file's stays"
        );
        assert_eq!(merged.record_ttl_days, Some(90), "the environment wins");
        let bad =
            file.overridden_by(|name| (name == "LEADS_DUPLICATES").then(|| "maybe".to_owned()));
        assert!(
            bad.expect_err("bad")
                .to_string()
                .contains("LEADS_DUPLICATES")
        );
    }

    #[test]
    fn settings_by_name_fall_back_to_the_file_and_the_environment_wins() {
        let text = format!(
            "{SHOP}\n[settings]\nLEADS_PHOTOS_MAX = 2\nLEADS_FILE_UPLOAD = false\nBIND = \"0.0.0.0:80\"\n"
        );
        let file = SettingsFile::parse(&text).expect("valid");
        let env = |name: &str| (name == "BIND").then(|| "127.0.0.1:9".to_owned());
        assert_eq!(file.lookup("LEADS_PHOTOS_MAX", env).as_deref(), Some("2"));
        assert_eq!(
            file.lookup("LEADS_FILE_UPLOAD", env).as_deref(),
            Some("false")
        );
        assert_eq!(file.lookup("BIND", env).as_deref(), Some("127.0.0.1:9"));
        assert_eq!(file.lookup("LEADS_STORE", env), None);
        let known = ["BIND".to_owned(), "LEADS_PHOTOS_MAX".to_owned()];
        assert_eq!(file.unknown_setting(&known), Some("LEADS_FILE_UPLOAD"));
        let nested = SettingsFile::parse(&format!("{SHOP}\n[settings]\nBIND = [1]\n"));
        assert!(
            nested
                .expect_err("array")
                .to_string()
                .contains("settings.BIND")
        );
    }

    #[test]
    fn every_unknown_key_is_named() {
        let top = SettingsFile::parse(&format!("brand_colour = \"#000000\"\n{SHOP}"));
        assert_eq!(top, Err(ShopError::UnknownKey("brand_colour".to_owned())));
        for (section, typo) in [
            ("[policy]\nreadyness = \"always\"\n", "readyness"),
            ("[email]\nfooters = \"x\"\n", "footers"),
            (
                "[drafts.fr]\noutreach = \"x\"\nemail_subjet = \"y\"\n",
                "email_subjet",
            ),
        ] {
            let err = SettingsFile::parse(&format!("{SHOP}\n{section}")).expect_err(typo);
            assert!(err.to_string().contains(typo), "{err}");
        }
        let bad = SettingsFile::parse(&format!("{SHOP}\n[policy]\nreadiness = \"sometimes\"\n"));
        assert!(
            bad.expect_err("bad value")
                .to_string()
                .contains("sometimes")
        );
    }
}
