//! Which sinks a deployment has: the environment's one webhook and Slack
//! URL, plus any number of webhooks in the settings file's `[[webhooks]]`
//! tables. The server and the Lambda read the same names.

use std::sync::Arc;

use chatkit_leads_core::Sink;
use serde::Deserialize;

use crate::error::SinkSettingsError;
use crate::slack::SlackSink;
use crate::standard::WebhookSink;
use crate::target::TargetPolicy;

/// One signed webhook endpoint.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Names the sink in the lead record and in metrics (`webhook:<name>`):
    /// renaming it orphans the deliveries still due.
    pub name: String,
    /// The receiver's URL (https; http only with `allow_private`).
    pub url: String,
    /// The signing secret, `whsec_` + base64 (Standard Webhooks).
    #[serde(default)]
    pub secret: Option<String>,
    /// The name of an environment variable holding the secret instead, so
    /// the settings file holds none.
    #[serde(default)]
    pub secret_env: Option<String>,
}

// The URL and the secret are credentials.
impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Every sink setting.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SinkSettings {
    /// Webhooks: `LEADS_WEBHOOK_URL` + `LEADS_WEBHOOK_SECRET` (named
    /// `default`) and the settings file's `[[webhooks]]`.
    pub webhooks: Vec<WebhookEndpoint>,
    /// `LEADS_SLACK_WEBHOOK_URL`: a Slack incoming webhook.
    pub slack_url: Option<String>,
    /// How receivers may be reached (`LEADS_WEBHOOK_ALLOW_PRIVATE`,
    /// `LEADS_WEBHOOK_TIMEOUT_SECONDS`).
    pub policy: TargetPolicy,
    /// Put the chat's transcript into the events too
    /// (`LEADS_SINK_TRANSCRIPT`; default off).
    pub transcript: bool,
}

// URLs and secrets are credentials: only names and counts.
impl std::fmt::Debug for SinkSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkSettings")
            .field("webhooks", &self.webhooks)
            .field("slack", &self.slack_url.is_some())
            .field("policy", &self.policy)
            .field("transcript", &self.transcript)
            .finish()
    }
}

/// The part of the settings file this crate reads; other keys belong to
/// others.
#[derive(Deserialize)]
struct FileSinks {
    #[serde(default)]
    webhooks: Vec<WebhookEndpoint>,
}

impl SinkSettings {
    /// The sink settings of an environment (`get` looks a variable up;
    /// empty counts as unset), the same names for the server and the
    /// Lambda: `LEADS_WEBHOOK_URL` + `LEADS_WEBHOOK_SECRET`,
    /// `LEADS_SLACK_WEBHOOK_URL`, `LEADS_WEBHOOK_ALLOW_PRIVATE` (`1`/`true`),
    /// `LEADS_WEBHOOK_TIMEOUT_SECONDS` (10) and `LEADS_SINK_TRANSCRIPT`.
    ///
    /// # Errors
    /// A half-set webhook, or a flag or number that does not parse.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SinkSettingsError> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &str| match get(name).as_deref() {
            None | Some("0" | "false") => Ok(false),
            Some("1" | "true") => Ok(true),
            Some(_) => Err(SinkSettingsError::new(name, "must be 1, 0, true or false")),
        };
        let timeout = match get("LEADS_WEBHOOK_TIMEOUT_SECONDS") {
            None => TargetPolicy::default().timeout,
            Some(raw) => match raw.parse::<u64>() {
                Ok(secs @ 1..=60) => std::time::Duration::from_secs(secs),
                _ => {
                    return Err(SinkSettingsError::new(
                        "LEADS_WEBHOOK_TIMEOUT_SECONDS",
                        "must be a whole number of seconds from 1 to 60",
                    ));
                }
            },
        };
        Self {
            webhooks: Vec::new(),
            slack_url: get("LEADS_SLACK_WEBHOOK_URL"),
            policy: TargetPolicy {
                allow_private: flag("LEADS_WEBHOOK_ALLOW_PRIVATE")?,
                timeout,
            },
            transcript: flag("LEADS_SINK_TRANSCRIPT")?,
        }
        .with_env_webhook(
            get("LEADS_WEBHOOK_URL").as_deref(),
            get("LEADS_WEBHOOK_SECRET").as_deref(),
        )
    }

    /// The environment's webhook (`LEADS_WEBHOOK_URL` with
    /// `LEADS_WEBHOOK_SECRET`, named `default`), when its URL is set.
    ///
    /// # Errors
    /// A URL without a secret or a secret without a URL.
    pub fn with_env_webhook(
        mut self,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> Result<Self, SinkSettingsError> {
        let url = url.map(str::trim).filter(|u| !u.is_empty());
        let secret = secret.map(str::trim).filter(|s| !s.is_empty());
        match (url, secret) {
            (Some(url), Some(secret)) => self.webhooks.push(WebhookEndpoint {
                name: "default".to_owned(),
                url: url.to_owned(),
                secret: Some(secret.to_owned()),
                secret_env: None,
            }),
            (None, None) => {}
            (Some(_), None) => {
                return Err(SinkSettingsError::new(
                    "LEADS_WEBHOOK_SECRET",
                    "is required with LEADS_WEBHOOK_URL",
                ));
            }
            (None, Some(_)) => {
                return Err(SinkSettingsError::new(
                    "LEADS_WEBHOOK_URL",
                    "is required with LEADS_WEBHOOK_SECRET",
                ));
            }
        }
        Ok(self)
    }

    /// Adds the `[[webhooks]]` tables of the settings file `text` (TOML;
    /// other tables are left to their readers).
    ///
    /// # Errors
    /// Invalid TOML or an unknown key in a `[[webhooks]]` table (the error
    /// names the key).
    pub fn with_file(mut self, text: &str) -> Result<Self, SinkSettingsError> {
        let file: FileSinks = toml::from_str(text).map_err(|e| {
            SinkSettingsError::new(
                "[[webhooks]]",
                &format!("in the settings file: {}", e.message()),
            )
        })?;
        self.webhooks.extend(file.webhooks);
        Ok(self)
    }

    /// The sinks these settings name, in order: webhooks, then Slack.
    ///
    /// # Errors
    /// An invalid URL, a missing or malformed secret, a private target
    /// without `allow_private`, two webhooks with one name.
    pub fn sinks(&self) -> Result<Vec<Arc<dyn Sink>>, SinkSettingsError> {
        let mut sinks: Vec<Arc<dyn Sink>> = Vec::new();
        for endpoint in &self.webhooks {
            let setting = format!("webhook {:?}", endpoint.name);
            if sinks
                .iter()
                .any(|s| s.id() == format!("webhook:{}", endpoint.name))
            {
                return Err(SinkSettingsError::new(&setting, "is named twice"));
            }
            let secret = match (&endpoint.secret, &endpoint.secret_env) {
                (Some(secret), None) => secret.clone(),
                (None, Some(var)) => std::env::var(var)
                    .map_err(|_| SinkSettingsError::new(&setting, &format!("needs {var} set")))?,
                _ => {
                    return Err(SinkSettingsError::new(
                        &setting,
                        "needs exactly one of secret and secret_env",
                    ));
                }
            };
            sinks.push(Arc::new(WebhookSink::new(
                &endpoint.name,
                &endpoint.url,
                &secret,
                self.policy,
            )?));
        }
        if let Some(url) = self
            .slack_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            sinks.push(Arc::new(SlackSink::new(url, self.policy)?));
        }
        Ok(sinks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn the_environment_and_the_file_add_up() {
        let settings = SinkSettings {
            slack_url: Some("https://hooks.slack.com/services/T/B/x".to_owned()),
            ..SinkSettings::default()
        }
        .with_env_webhook(Some("https://crm.example.com/in"), Some(SECRET))
        .expect("env")
        .with_file(&format!(
            "shop_name = \"ignored here\"\n[[webhooks]]\nname = \"zapier\"\nurl = \"https://hooks.zapier.com/x\"\nsecret = \"{SECRET}\"\n"
        ))
        .expect("file");
        let ids: Vec<String> = settings
            .sinks()
            .expect("sinks")
            .iter()
            .map(|s| s.id().to_owned())
            .collect();
        assert_eq!(ids, ["webhook:default", "webhook:zapier", "slack"]);
    }

    #[test]
    fn the_environment_is_read_by_name_and_never_shown() {
        let env = [
            ("LEADS_WEBHOOK_URL", "http://127.0.0.1:9/in"),
            ("LEADS_WEBHOOK_SECRET", SECRET),
            ("LEADS_WEBHOOK_ALLOW_PRIVATE", "1"),
            (
                "LEADS_SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/slacksecret",
            ),
            ("LEADS_WEBHOOK_TIMEOUT_SECONDS", "3"),
        ];
        let get = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let settings = SinkSettings::from_lookup(get).expect("valid");
        assert!(settings.policy.allow_private);
        assert_eq!(settings.policy.timeout, std::time::Duration::from_secs(3));
        assert!(!settings.transcript);
        assert_eq!(settings.sinks().expect("sinks").len(), 2);
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("slacksecret") && !shown.contains("MfKQ9"),
            "{shown}"
        );
        let bad = SinkSettings::from_lookup(|name| {
            (name == "LEADS_WEBHOOK_ALLOW_PRIVATE").then(|| "yes".to_owned())
        });
        assert!(
            bad.expect_err("not a flag")
                .to_string()
                .contains("LEADS_WEBHOOK_ALLOW_PRIVATE")
        );
        assert_eq!(
            SinkSettings::from_lookup(|_| None)
                .expect("none")
                .sinks()
                .expect("ok")
                .len(),
            0
        );
    }

    #[test]
    fn mistakes_name_the_setting_but_not_the_secret() {
        let half = SinkSettings::default().with_env_webhook(Some("https://x.example"), None);
        assert!(
            half.expect_err("no secret")
                .to_string()
                .contains("LEADS_WEBHOOK_SECRET")
        );
        let unknown = SinkSettings::default().with_file(
            "[[webhooks]]\nname = \"a\"\nurl = \"https://a.example\"\nsecrett = \"x\"\n",
        );
        assert!(unknown.expect_err("typo").to_string().contains("secrett"));
        let twice = SinkSettings::default()
            .with_env_webhook(Some("https://a.example"), Some(SECRET))
            .and_then(|s| s.with_env_webhook(Some("https://b.example"), Some(SECRET)))
            .expect("parsed");
        let err = twice.sinks().err().expect("named twice").to_string();
        assert!(err.contains("twice"), "{err}");
        let bad = SinkSettings::default()
            .with_env_webhook(Some("https://a.example"), Some("whsec_not*base64"))
            .expect("parsed");
        let err = bad.sinks().err().expect("bad secret").to_string();
        assert!(!err.contains("not*base64"), "{err}");
    }
}
