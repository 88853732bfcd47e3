//! The function's settings, read from its environment at cold start. The
//! names are the server's (`chatkit-leads-server --help`), which follow the
//! seed's, so a migration is a redeploy.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chatkit_leads_axum::{RateLimits, SameSite};
use chatkit_leads_core::EmailAddress;
use chatkit_leads_core::chatkit::ChatKitConfiguration;
use chatkit_leads_core::photos::PhotoPolicy;
use chatkit_leads_core::session::SessionOptions;
use chatkit_leads_core::settings_file::{PolicySettings, SettingsFile};
use chatkit_leads_core::sweep::SweepSettings;
use chatkit_leads_photos::FetchPolicy;
use chatkit_leads_webhook::SinkSettings;

/// The seed's summary model.
pub const DEFAULT_SUMMARY_MODEL: &str = "gpt-5.2-2025-12-11";

/// The OpenAI API root unless `OPENAI_BASE_URL` says otherwise.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// A secret setting: its value in the environment (`NAME`, handy with
/// `cargo lambda watch`), or the name of an SSM Parameter Store parameter
/// holding it (`NAME_PARAM`, what the template sets), read at cold start.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The value itself.
    Value(String),
    /// An SSM parameter name, e.g. `/chatkit-leads/openai-api-key`.
    Parameter(String),
}

// Never print a secret's value, only where it comes from.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value([redacted])"),
            Self::Parameter(name) => f.debug_tuple("Parameter").field(name).finish(),
        }
    }
}

/// How the ChatKit `user` is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A signed, `HttpOnly` cookie (`LEADS_COOKIE_KEY[_PARAM]`), the default.
    SignedCookie {
        /// Base64 of at least 32 bytes.
        key: Secret,
        /// `LEADS_COOKIE_SAMESITE`.
        same_site: SameSite,
    },
    /// The browser's `user` (`LEADS_TRUST_BROWSER_USER=true`, the seed's
    /// behaviour; not recommended).
    TrustBrowser,
}

/// Every setting of the function.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `OPENAI_API_KEY` / `OPENAI_API_KEY_PARAM`.
    pub openai_api_key: Secret,
    /// `CHATKIT_WORKFLOW_ID` / `CHATKIT_WORKFLOW_ID_PARAM` (`wf_…`).
    pub chatkit_workflow_id: Secret,
    /// `OPENAI_BASE_URL`.
    pub openai_base_url: String,
    /// `LEAD_SUMMARY_MODEL`.
    pub lead_summary_model: String,
    /// `LEAD_TO_EMAIL`, comma-separated.
    pub lead_to_email: Vec<EmailAddress>,
    /// `LEAD_FROM_EMAIL`: an SES-verified identity or an address of one.
    pub lead_from_email: EmailAddress,
    /// `LEAD_DEDUPE_TABLE_NAME`: the DynamoDB table (the seed's name works).
    pub lead_dedupe_table_name: String,
    /// `ALLOWED_ORIGINS`, comma-separated exact origins.
    pub allowed_origins: Vec<String>,
    /// `LEADS_SHOP_CONFIG`: a TOML shop profile; a relative path is taken
    /// inside the deployment package (`LAMBDA_TASK_ROOT`). The bundled
    /// example shop when unset.
    pub leads_shop_config: Option<PathBuf>,
    /// `LEADS_COOKIE_KEY[_PARAM]`, `LEADS_COOKIE_SAMESITE`, `LEADS_TRUST_BROWSER_USER`.
    pub identity: Identity,
    /// `LEADS_LEASE_SECONDS` (120).
    pub leads_lease_seconds: u64,
    /// `LEADS_SUMMARY_TIMEOUT_SECONDS` (45; shorter than the lease).
    pub leads_summary_timeout_seconds: u64,
    /// `LEADS_ERROR_COOLDOWN_SECONDS` (60).
    pub leads_error_cooldown_seconds: u64,
    /// `LEADS_QUIET_PERIOD_SECONDS` (0: a trigger sends at once).
    pub leads_quiet_period_seconds: u64,
    /// `LEADS_SWEEP_RECHECK_SECONDS` (600).
    pub leads_sweep_recheck_seconds: u64,
    /// `LEADS_UPDATE_CHECK_SECONDS` (60; 0 turns update emails off).
    pub leads_update_check_seconds: u64,
    /// `LEADS_RATE_PER_ADDRESS` (60) and `LEADS_RATE_PER_USER` (20):
    /// requests a minute per client (the request context's source IP) and
    /// per user on each endpoint, 0 for no limit. Each warm execution
    /// environment counts on its own; docs/deploy-lambda.md says what to
    /// put in front for a limit across them.
    pub rate_limits: RateLimits,
    /// The environment's policies, as on the server (`LEADS_READINESS`,
    /// `LEADS_DUPLICATES`, `LEADS_RECORD_TTL_DAYS`,
    /// `LEADS_SUMMARY_INSTRUCTIONS`); they win over the settings file's.
    pub policy: PolicySettings,
    /// How sessions are minted, as on the server: `LEADS_FILE_UPLOAD`
    /// (true), `LEADS_FILE_UPLOAD_MAX_FILES` (10), `LEADS_FILE_UPLOAD_MAX_MB`
    /// (20), `LEADS_CHAT_HISTORY` (true), `LEADS_CHAT_HISTORY_THREADS`
    /// (all), `LEADS_THREAD_TITLING` (true), `LEADS_SESSION_EXPIRES_SECONDS`
    /// and `LEADS_SESSION_RATE_PER_MINUTE` (ChatKit's defaults).
    pub sessions: SessionOptions,
    /// The webhooks and Slack (`LEADS_WEBHOOK_URL`, `LEADS_WEBHOOK_SECRET`,
    /// `LEADS_SLACK_WEBHOOK_URL`, `LEADS_WEBHOOK_ALLOW_PRIVATE`,
    /// `LEADS_WEBHOOK_TIMEOUT_SECONDS`, `LEADS_SINK_TRANSCRIPT`; more
    /// webhooks in the shop file's `[[webhooks]]`), as on the server.
    pub sinks: SinkSettings,
    /// What a scheduled invocation sweeps: `LEADS_SWEEP_QUIET_SECONDS`
    /// (600), `LEADS_SWEEP_HORIZON_HOURS` (168) and
    /// `LEADS_SWEEP_BUDGET_SECONDS` (10: with a 60 s function timeout and a
    /// 45 s summary timeout, the last thread started still finishes).
    pub sweep: SweepSettings,
    /// `LEADS_PHOTOS_MAX` (4; 0 turns photos off), `LEADS_PHOTO_MAX_BYTES`
    /// (5 MB), `LEADS_PHOTO_TOTAL_BYTES` (12 MB),
    /// `LEADS_PHOTO_TIMEOUT_SECONDS` (15), `LEADS_PHOTO_HOSTS`,
    /// `LEADS_PHOTO_ALLOW_NETWORKS`, `LEADS_PHOTO_PIN` and
    /// `LEADS_PHOTO_REQUIRE_HTTPS` (true): how many photos, how large, and
    /// where from; `None` when photos are off.
    pub photos: Option<(PhotoPolicy, FetchPolicy)>,
}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// As [`Settings::from_lookup`].
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_environment(|name| std::env::var(name).ok())
    }

    /// [`Settings::from_lookup`] over an environment (`env`), with the
    /// settings file's `[settings]` filling in what it does not set.
    fn from_environment(env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let Some(path) = shop_config(&env) else {
            return Self::from_lookup(env);
        };
        // The settings file's `[settings]` fill in what the environment
        // does not set; a name nobody reads there is a typo.
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("LEADS_SHOP_CONFIG: cannot read it: {}", e.kind()))?;
        let file = SettingsFile::parse(&text).context("LEADS_SHOP_CONFIG")?;
        let read = std::cell::RefCell::new(Vec::new());
        let settings = Self::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            file.lookup(name, &env)
        })?;
        if let Some(name) = file.unknown_setting(&read.into_inner()) {
            bail!("LEADS_SHOP_CONFIG: [settings] has an unknown setting `{name}`");
        }
        Ok(settings)
    }

    /// Reads every setting through `lookup` (a name → value function, so
    /// tests need not touch the process environment). Blank values count
    /// as unset.
    ///
    /// # Errors
    /// One error naming **every** missing or invalid setting, so a
    /// misconfigured function fails its cold start with the whole list
    /// instead of a 500 at the first request.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Problems::default();

        let openai_api_key = problems.secret(&get, "OPENAI_API_KEY");
        let chatkit_workflow_id = problems.secret(&get, "CHATKIT_WORKFLOW_ID");
        let lead_from_email = problems
            .required(&get, "LEAD_FROM_EMAIL")
            .and_then(|raw| problems.address("LEAD_FROM_EMAIL", &raw));
        let lead_to_email = problems.required(&get, "LEAD_TO_EMAIL").and_then(|raw| {
            let parsed: Option<Vec<_>> = raw
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| problems.address("LEAD_TO_EMAIL", a))
                .collect();
            match parsed {
                Some(list) if list.is_empty() => {
                    problems.invalid("LEAD_TO_EMAIL has no address");
                    None
                }
                other => other,
            }
        });
        let lead_dedupe_table_name = problems.required(&get, "LEAD_DEDUPE_TABLE_NAME");

        let trust_browser = problems.flag(&get, "LEADS_TRUST_BROWSER_USER");
        let identity = if trust_browser {
            Some(Identity::TrustBrowser)
        } else {
            let same_site = match get("LEADS_COOKIE_SAMESITE").as_deref() {
                // A Function URL (`*.lambda-url.<region>.on.aws`) is another
                // site than the shop's page: only `SameSite=None` cookies
                // travel with its cross-site `fetch`.
                None => Some(SameSite::None),
                Some(raw) => raw.parse().ok().or_else(|| {
                    problems.invalid("LEADS_COOKIE_SAMESITE must be none, lax or strict");
                    None
                }),
            };
            let key = problems.secret_or(
                &get,
                "LEADS_COOKIE_KEY",
                " (or LEADS_TRUST_BROWSER_USER=true): every instance must sign user cookies with the same key",
            );
            match (key, same_site) {
                (Some(key), Some(same_site)) => Some(Identity::SignedCookie { key, same_site }),
                _ => None,
            }
        };

        let leads_lease_seconds = problems.seconds(&get, "LEADS_LEASE_SECONDS", 120);
        let leads_summary_timeout_seconds =
            problems.seconds(&get, "LEADS_SUMMARY_TIMEOUT_SECONDS", 45);
        let leads_error_cooldown_seconds =
            problems.seconds(&get, "LEADS_ERROR_COOLDOWN_SECONDS", 60);
        let leads_quiet_period_seconds = problems.whole(&get, "LEADS_QUIET_PERIOD_SECONDS", 0);
        let leads_sweep_recheck_seconds = problems.whole(&get, "LEADS_SWEEP_RECHECK_SECONDS", 600);
        let leads_update_check_seconds = problems.whole(&get, "LEADS_UPDATE_CHECK_SECONDS", 60);
        let sweep_quiet = problems.whole(&get, "LEADS_SWEEP_QUIET_SECONDS", 600);
        let sweep_horizon = problems.whole(&get, "LEADS_SWEEP_HORIZON_HOURS", 168);
        let sweep_budget = problems.whole(&get, "LEADS_SWEEP_BUDGET_SECONDS", 10);
        let photos = problems.photos(&get);
        let sessions = problems.sessions(&get);
        let policy = PolicySettings::default()
            .overridden_by(get)
            .map_err(|err| problems.invalid(&err.to_string()))
            .ok();
        let per_address = problems.per_minute(&get, "LEADS_RATE_PER_ADDRESS", 60);
        let per_user = problems.per_minute(&get, "LEADS_RATE_PER_USER", 20);
        let sinks = SinkSettings::from_lookup(get)
            .map_err(|err| problems.invalid(&err.to_string()))
            .ok();

        problems.finish()?;
        Ok(Self {
            openai_api_key: present(openai_api_key, "OPENAI_API_KEY")?,
            chatkit_workflow_id: present(chatkit_workflow_id, "CHATKIT_WORKFLOW_ID")?,
            openai_base_url: get("OPENAI_BASE_URL")
                .unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_owned()),
            lead_summary_model: get("LEAD_SUMMARY_MODEL")
                .unwrap_or_else(|| DEFAULT_SUMMARY_MODEL.to_owned()),
            lead_to_email: present(lead_to_email, "LEAD_TO_EMAIL")?,
            lead_from_email: present(lead_from_email, "LEAD_FROM_EMAIL")?,
            lead_dedupe_table_name: present(lead_dedupe_table_name, "LEAD_DEDUPE_TABLE_NAME")?,
            allowed_origins: get("ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            leads_shop_config: shop_config(&get),
            identity: present(identity, "LEADS_COOKIE_KEY")?,
            leads_lease_seconds: present(leads_lease_seconds, "LEADS_LEASE_SECONDS")?,
            leads_summary_timeout_seconds: present(
                leads_summary_timeout_seconds,
                "LEADS_SUMMARY_TIMEOUT_SECONDS",
            )?,
            leads_error_cooldown_seconds: present(
                leads_error_cooldown_seconds,
                "LEADS_ERROR_COOLDOWN_SECONDS",
            )?,
            leads_quiet_period_seconds: present(
                leads_quiet_period_seconds,
                "LEADS_QUIET_PERIOD_SECONDS",
            )?,
            leads_sweep_recheck_seconds: present(
                leads_sweep_recheck_seconds,
                "LEADS_SWEEP_RECHECK_SECONDS",
            )?,
            leads_update_check_seconds: present(
                leads_update_check_seconds,
                "LEADS_UPDATE_CHECK_SECONDS",
            )?,
            rate_limits: RateLimits {
                per_address: NonZeroU32::new(present(per_address, "LEADS_RATE_PER_ADDRESS")?),
                per_user: NonZeroU32::new(present(per_user, "LEADS_RATE_PER_USER")?),
            },
            photos: photos.flatten(),
            sinks: sinks.unwrap_or_default(),
            policy: policy.unwrap_or_default(),
            sessions: present(sessions, "LEADS_FILE_UPLOAD_MAX_FILES")?,
            sweep: SweepSettings {
                quiet: Duration::from_secs(present(sweep_quiet, "LEADS_SWEEP_QUIET_SECONDS")?),
                horizon: Duration::from_secs(
                    present(sweep_horizon, "LEADS_SWEEP_HORIZON_HOURS")?.saturating_mul(3600),
                ),
                budget: Some(Duration::from_secs(present(
                    sweep_budget,
                    "LEADS_SWEEP_BUDGET_SECONDS",
                )?)),
                ..SweepSettings::default()
            },
        })
    }
}

/// A value [`Problems::finish`] has already vouched for.
/// `LEADS_SHOP_CONFIG`, relative to the package root (`LAMBDA_TASK_ROOT`,
/// /var/task), where `cargo lambda build --include <path>` puts the file.
fn shop_config(get: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    get("LEADS_SHOP_CONFIG").map(|path| {
        let path = PathBuf::from(path);
        match get("LAMBDA_TASK_ROOT") {
            Some(root) if path.is_relative() => PathBuf::from(root).join(path),
            _ => path,
        }
    })
}

fn present<T>(value: Option<T>, name: &str) -> anyhow::Result<T> {
    value.ok_or_else(|| anyhow::anyhow!("{name} is missing or invalid"))
}

/// Missing and invalid settings, collected so that one error names them all.
#[derive(Default)]
struct Problems {
    missing: Vec<String>,
    invalid: Vec<String>,
}

impl Problems {
    fn required(&mut self, get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
        let value = get(name);
        if value.is_none() {
            self.missing.push(name.to_owned());
        }
        value
    }

    fn secret(&mut self, get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<Secret> {
        self.secret_or(get, name, "")
    }

    /// `NAME` or `NAME_PARAM`, exactly one of them.
    fn secret_or(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
        hint: &str,
    ) -> Option<Secret> {
        let param = format!("{name}_PARAM");
        match (get(name), get(&param)) {
            (Some(value), None) => Some(Secret::Value(value)),
            (None, Some(parameter)) if parameter.starts_with('/') => {
                Some(Secret::Parameter(parameter))
            }
            (None, Some(_)) => {
                self.invalid(&format!(
                    "{param} must be an SSM parameter name starting with `/`"
                ));
                None
            }
            (Some(_), Some(_)) => {
                self.invalid(&format!("set {name} or {param}, not both"));
                None
            }
            (None, None) => {
                self.missing.push(format!("{name} (or {param}){hint}"));
                None
            }
        }
    }

    fn address(&mut self, name: &str, raw: &str) -> Option<EmailAddress> {
        let address = EmailAddress::parse(raw);
        if address.is_none() {
            // The value itself stays out of the message: it may be personal.
            self.invalid(&format!("{name} has an entry that is not an email address"));
        }
        address
    }

    /// The photo settings; `Some(None)` when photos are off, `None` when a
    /// setting is invalid (recorded).
    fn photos(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Option<Option<(PhotoPolicy, FetchPolicy)>> {
        let max = self.whole(get, "LEADS_PHOTOS_MAX", 4)?;
        let each = self.whole(get, "LEADS_PHOTO_MAX_BYTES", 5_000_000)?;
        let total = self.whole(get, "LEADS_PHOTO_TOTAL_BYTES", 12_000_000)?;
        let budget = self.seconds(get, "LEADS_PHOTO_TIMEOUT_SECONDS", 15)?;
        let require_https = get("LEADS_PHOTO_REQUIRE_HTTPS").is_none()
            || self.flag(get, "LEADS_PHOTO_REQUIRE_HTTPS");
        let text = |name| get(name).unwrap_or_default();
        let fetch = FetchPolicy::from_settings(
            &text("LEADS_PHOTO_HOSTS"),
            &text("LEADS_PHOTO_ALLOW_NETWORKS"),
            &text("LEADS_PHOTO_PIN"),
            require_https,
        );
        let fetch = match fetch {
            Ok(fetch) => fetch,
            Err(why) => {
                self.invalid(&format!(
                    "LEADS_PHOTO_ALLOW_NETWORKS / LEADS_PHOTO_PIN: {why}"
                ));
                return None;
            }
        };
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let policy = PhotoPolicy::limits(
            count(max),
            count(each),
            count(total),
            Duration::from_secs(budget),
        );
        Some((max > 0).then_some((policy, fetch)))
    }

    /// The session settings (see [`Settings::sessions`]).
    fn sessions(&mut self, get: &impl Fn(&str) -> Option<String>) -> Option<SessionOptions> {
        let on_unless_off = |this: &mut Self, name| get(name).is_none() || this.flag(get, name);
        let upload = on_unless_off(self, "LEADS_FILE_UPLOAD");
        let max_files = self.counted(get, "LEADS_FILE_UPLOAD_MAX_FILES", 1, u32::MAX)?;
        let max_mb = self.counted(get, "LEADS_FILE_UPLOAD_MAX_MB", 1, 512)?;
        let history = on_unless_off(self, "LEADS_CHAT_HISTORY");
        let titling = on_unless_off(self, "LEADS_THREAD_TITLING");
        let recent = self.counted(get, "LEADS_CHAT_HISTORY_THREADS", 1, u32::MAX)?;
        let expires_after = self.counted(get, "LEADS_SESSION_EXPIRES_SECONDS", 1, u32::MAX)?;
        let rate_limit = self.counted(get, "LEADS_SESSION_RATE_PER_MINUTE", 1, u32::MAX)?;
        Some(SessionOptions {
            features: ChatKitConfiguration::with(
                upload.then_some((
                    max_files.unwrap_or(ChatKitConfiguration::DEFAULT_MAX_FILES),
                    max_mb.unwrap_or(ChatKitConfiguration::DEFAULT_MAX_FILE_MB),
                )),
                history,
                recent,
                titling,
            ),
            expires_after,
            rate_limit,
        })
    }

    /// `name` as a whole number in `min..=max`, `None` inside the `Some`
    /// when unset; out of range or not a number is reported.
    fn counted(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
        min: u32,
        max: u32,
    ) -> Option<Option<u32>> {
        let Some(raw) = get(name) else {
            return Some(None);
        };
        match raw.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Some(Some(n)),
            _ => {
                self.invalid(&format!(
                    "{name} must be a whole number from {min} to {max}"
                ));
                None
            }
        }
    }

    fn flag(&mut self, get: &impl Fn(&str) -> Option<String>, name: &str) -> bool {
        match get(name).as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            Some(_) => {
                self.invalid(&format!("{name} must be true or false"));
                false
            }
        }
    }

    /// A whole number ≥ 0 (0 often meaning "off").
    fn whole(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
        default: u64,
    ) -> Option<u64> {
        self.number(get, name, default, 0, "a whole number ≥ 0")
    }

    fn seconds(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
        default: u64,
    ) -> Option<u64> {
        self.number(get, name, default, 1, "a whole number of seconds > 0")
    }

    /// A rate a minute (0 turns it off), which must fit a `u32`.
    fn per_minute(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
        default: u32,
    ) -> Option<u32> {
        let what = "a whole number of requests a minute (0: no limit)";
        let n = self.number(get, name, u64::from(default), 0, what)?;
        u32::try_from(n).ok().or_else(|| {
            self.invalid(&format!("{name} must be {what}"));
            None
        })
    }

    /// `name` as a whole number of at least `min`, `default` when unset;
    /// anything else is reported as not being `what`.
    fn number(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
        default: u64,
        min: u64,
        what: &str,
    ) -> Option<u64> {
        match get(name) {
            None => Some(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n >= min => Some(n),
                _ => {
                    self.invalid(&format!("{name} must be {what}"));
                    None
                }
            },
        }
    }

    fn invalid(&mut self, message: &str) {
        self.invalid.push(message.to_owned());
    }

    fn finish(self) -> anyhow::Result<()> {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("missing settings: {}", self.missing.join(", ")));
        }
        parts.extend(self.invalid);
        if parts.is_empty() {
            Ok(())
        } else {
            bail!("{}", parts.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    const COMPLETE: &[(&str, &str)] = &[
        ("OPENAI_API_KEY_PARAM", "/chatkit-leads/openai-api-key"),
        ("CHATKIT_WORKFLOW_ID", "wf_68e6a1b2c3d4"),
        ("LEAD_TO_EMAIL", "owner@shop.example, desk@shop.example"),
        ("LEAD_FROM_EMAIL", "leads@shop.example"),
        ("LEAD_DEDUPE_TABLE_NAME", "chatkit-lead-dedupe"),
        ("LEADS_COOKIE_KEY_PARAM", "/chatkit-leads/cookie-key"),
        (
            "ALLOWED_ORIGINS",
            "https://www.shop.example, http://localhost:4321",
        ),
    ];

    #[test]
    fn a_complete_environment_is_read_with_the_servers_defaults() {
        let s = settings(COMPLETE).expect("valid");
        assert_eq!(
            s.openai_api_key,
            Secret::Parameter("/chatkit-leads/openai-api-key".into())
        );
        assert_eq!(
            s.chatkit_workflow_id,
            Secret::Value("wf_68e6a1b2c3d4".into())
        );
        assert_eq!(s.lead_to_email.len(), 2);
        assert_eq!(s.lead_summary_model, DEFAULT_SUMMARY_MODEL);
        assert_eq!(s.openai_base_url, DEFAULT_OPENAI_BASE_URL);
        assert_eq!(
            s.allowed_origins,
            ["https://www.shop.example", "http://localhost:4321"]
        );
        assert_eq!(
            s.identity,
            Identity::SignedCookie {
                key: Secret::Parameter("/chatkit-leads/cookie-key".into()),
                same_site: SameSite::None,
            }
        );
        assert_eq!(
            (
                s.leads_lease_seconds,
                s.leads_summary_timeout_seconds,
                s.leads_error_cooldown_seconds
            ),
            (120, 45, 60)
        );
    }

    #[test]
    fn the_settings_files_settings_fill_in_and_the_environment_wins() {
        let shop = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../axum-server/shop.example.toml"
        );
        let text = std::fs::read_to_string(shop).expect("example");
        let path = std::env::temp_dir().join(format!("lambda-{}.toml", uuid::Uuid::new_v4()));
        let write = |extra: &str| {
            std::fs::write(&path, format!("{text}\n[settings]\n{extra}")).expect("write");
        };
        let mut env: HashMap<String, String> = COMPLETE
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert("LEADS_SHOP_CONFIG".into(), path.display().to_string());
        env.insert("LEADS_LEASE_SECONDS".into(), "300".into());
        write("LEADS_LEASE_SECONDS = 200\nLEADS_ERROR_COOLDOWN_SECONDS = 5\n");
        let s = Settings::from_environment(|n| env.get(n).cloned()).expect("valid");
        assert_eq!(s.leads_error_cooldown_seconds, 5, "from the file");
        assert_eq!(s.leads_lease_seconds, 300, "the environment wins");
        write("LEADS_ERORR_COOLDOWN_SECONDS = 5\n");
        let err = Settings::from_environment(|n| env.get(n).cloned()).expect_err("typo");
        assert!(
            err.to_string().contains("LEADS_ERORR_COOLDOWN_SECONDS"),
            "{err}"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn docs_configuration_lists_every_setting_the_lambda_reads() {
        let read = std::cell::RefCell::new(Vec::new());
        let env: HashMap<&str, &str> = COMPLETE.iter().copied().collect();
        Settings::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            env.get(name).map(|v| (*v).to_owned())
        })
        .expect("complete");
        let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
        let doc = std::fs::read_to_string(format!("{root}/../../docs/configuration.md"))
            .expect("docs/configuration.md");
        let read = read.into_inner();
        assert!(read.len() > 40, "{read:?}");
        let missing: Vec<&String> = read
            .iter()
            .filter(|name| !doc.contains(&format!("| `{name}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md has no row for {missing:?}"
        );
    }

    #[test]
    fn sessions_allow_photo_uploads_by_default_and_every_feature_is_a_setting() {
        let on = settings(COMPLETE).expect("complete").sessions;
        let upload = on.features.file_upload.expect("sent");
        assert!(upload.enabled, "customers can attach photos");
        assert_eq!((upload.max_files, upload.max_file_size), (10, 20));
        assert_eq!((on.expires_after, on.rate_limit), (None, None));
        let mut pairs = COMPLETE.to_vec();
        pairs.extend([
            ("LEADS_FILE_UPLOAD", "false"),
            ("LEADS_CHAT_HISTORY_THREADS", "5"),
            ("LEADS_THREAD_TITLING", "0"),
            ("LEADS_SESSION_EXPIRES_SECONDS", "1800"),
        ]);
        let off = settings(&pairs).expect("valid").sessions;
        assert!(!off.features.file_upload.expect("sent").enabled);
        assert_eq!(off.features.history.and_then(|h| h.recent_threads), Some(5));
        assert_eq!(
            off.features.automatic_thread_titling.map(|t| t.enabled),
            Some(false)
        );
        assert_eq!(off.expires_after, Some(1800));
        pairs.push(("LEADS_FILE_UPLOAD_MAX_MB", "600"));
        let err = settings(&pairs).expect_err("too big").to_string();
        assert!(err.contains("LEADS_FILE_UPLOAD_MAX_MB"), "{err}");
    }

    #[test]
    fn sinks_are_read_like_the_servers_and_a_half_set_webhook_is_named() {
        let none = settings(COMPLETE).expect("complete");
        assert_eq!(none.sinks.sinks().expect("none").len(), 0);
        let mut pairs = COMPLETE.to_vec();
        pairs.push((
            "LEADS_SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/x",
        ));
        let slack = settings(&pairs).expect("slack");
        let ids: Vec<String> = slack
            .sinks
            .sinks()
            .expect("slack")
            .iter()
            .map(|s| s.id().to_owned())
            .collect();
        assert_eq!(ids, ["slack"]);
        pairs.push(("LEADS_WEBHOOK_URL", "https://crm.example.com/in"));
        let err = settings(&pairs).expect_err("no secret").to_string();
        assert!(err.contains("LEADS_WEBHOOK_SECRET"), "{err}");
    }

    #[test]
    fn photos_are_on_by_default_off_with_zero_and_a_bad_network_is_named() {
        let on = settings(COMPLETE).expect("complete");
        let (policy, fetch) = on.photos.expect("photos on by default");
        assert_eq!(policy, PhotoPolicy::default());
        assert!(fetch.require_https);
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("LEADS_PHOTOS_MAX", "0"));
        assert!(settings(&pairs).expect("valid").photos.is_none());
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("LEADS_PHOTO_ALLOW_NETWORKS", "10.0.0.0/99"));
        let err = settings(&pairs).expect_err("invalid").to_string();
        assert!(err.contains("LEADS_PHOTO_ALLOW_NETWORKS"), "{err}");
    }

    #[test]
    fn every_missing_setting_is_named_in_one_error() {
        let err = settings(&[("LEAD_FROM_EMAIL", "leads@shop.example")])
            .expect_err("incomplete")
            .to_string();
        for name in [
            "OPENAI_API_KEY (or OPENAI_API_KEY_PARAM)",
            "CHATKIT_WORKFLOW_ID (or CHATKIT_WORKFLOW_ID_PARAM)",
            "LEAD_TO_EMAIL",
            "LEAD_DEDUPE_TABLE_NAME",
            "LEADS_COOKIE_KEY (or LEADS_COOKIE_KEY_PARAM)",
        ] {
            assert!(err.contains(name), "{name} not in: {err}");
        }
        assert!(!err.contains("LEAD_FROM_EMAIL"), "{err}");
    }

    #[test]
    fn invalid_values_are_named_without_echoing_them() {
        let mut pairs = COMPLETE.to_vec();
        pairs.retain(|(k, _)| *k != "LEAD_TO_EMAIL" && *k != "OPENAI_API_KEY_PARAM");
        pairs.extend([
            ("LEAD_TO_EMAIL", "not-an-address"),
            ("OPENAI_API_KEY", "sk-live-secret"),
            ("OPENAI_API_KEY_PARAM", "/also/set"),
            ("LEADS_LEASE_SECONDS", "soon"),
        ]);
        let err = settings(&pairs).expect_err("invalid").to_string();
        assert!(err.contains("LEAD_TO_EMAIL has an entry"), "{err}");
        assert!(
            err.contains("OPENAI_API_KEY or OPENAI_API_KEY_PARAM, not both"),
            "{err}"
        );
        assert!(err.contains("LEADS_LEASE_SECONDS"), "{err}");
        assert!(
            !err.contains("not-an-address") && !err.contains("sk-live"),
            "{err}"
        );
    }

    #[test]
    fn a_relative_shop_config_is_found_in_the_package() {
        let mut pairs = COMPLETE.to_vec();
        pairs.extend([
            ("LEADS_SHOP_CONFIG", "config/shop.toml"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
        ]);
        assert_eq!(
            settings(&pairs).expect("valid").leads_shop_config,
            Some(PathBuf::from("/var/task/config/shop.toml"))
        );
    }

    #[test]
    fn trusting_the_browser_needs_no_cookie_key() {
        let mut pairs = COMPLETE.to_vec();
        pairs.retain(|(k, _)| !k.starts_with("LEADS_COOKIE_KEY"));
        pairs.push(("LEADS_TRUST_BROWSER_USER", "true"));
        assert_eq!(
            settings(&pairs).expect("valid").identity,
            Identity::TrustBrowser
        );
    }

    #[test]
    fn secret_values_never_reach_debug_output() {
        let secret = Secret::Value("sk-live-secret".into());
        assert_eq!(format!("{secret:?}"), "Value([redacted])");
    }
}
