//! Where a sink posts: the operator's URL, reached without following
//! redirects, through the photo fetcher's address guard (no loopback,
//! private or link-local target unless the operator allows them), within
//! a timeout per attempt. The answer's status is all that is read: a
//! receiver's body never reaches a log or an error.

use std::time::Duration;

use chatkit_leads_core::SinkError;
use chatkit_leads_photos::{GuardedResolver, Refusal, address_refusal};
use reqwest::header::HeaderMap;
use url::{Host, Url};

use crate::error::SinkSettingsError;

/// How a sink may reach its receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow loopback, private and link-local targets, and plain `http`
    /// (`LEADS_WEBHOOK_ALLOW_PRIVATE=1`): a CRM on the shop's own network,
    /// or a test receiver.
    pub allow_private: bool,
    /// Longest one attempt may take, connecting included (default 10 s).
    pub timeout: Duration,
}

impl Default for TargetPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(10),
        }
    }
}

/// One receiver's URL and the client that posts to it.
#[derive(Clone)]
pub(crate) struct Target {
    url: Url,
    client: reqwest::Client,
}

// The URL may carry a credential (Slack's incoming-webhook URLs are one).
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A target for `url` (named `setting` in errors) under `policy`.
    pub(crate) fn new(
        setting: &str,
        url: &str,
        policy: TargetPolicy,
    ) -> Result<Self, SinkSettingsError> {
        let invalid = |why: &str| SinkSettingsError::new(setting, why);
        let url = Url::parse(url.trim()).map_err(|_| invalid("is not a URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_private => {}
            "http" => {
                return Err(invalid(
                    "must be https (http needs LEADS_WEBHOOK_ALLOW_PRIVATE=1)",
                ));
            }
            _ => return Err(invalid("must be an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry a user name or password"));
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(ip.into()),
            Some(Host::Ipv6(ip)) => Some(ip.into()),
            Some(Host::Domain(_)) => None,
            None => return Err(invalid("has no host")),
        };
        // The resolver never sees an address literal: check it here.
        if !policy.allow_private
            && let Some(why) = literal.and_then(|ip| address_refusal(ip, &[]))
        {
            return Err(invalid(&format!(
                "points to {why} (LEADS_WEBHOOK_ALLOW_PRIVATE=1 allows it)"
            )));
        }
        let mut builder = reqwest::Client::builder()
            // A redirect would take the lead somewhere the operator did not
            // name; a proxy would resolve the name past the guard.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("chatkit-leads/", env!("CARGO_PKG_VERSION")));
        if !policy.allow_private {
            builder = builder.dns_resolver(GuardedResolver::new(Vec::new()));
        }
        let client = builder
            .build()
            .map_err(|_| invalid("cannot have an HTTP client (no TLS roots?)"))?;
        Ok(Self { url, client })
    }

    /// Posts `body` as JSON with `headers`; `Ok` with a 2xx status.
    pub(crate) async fn post(&self, headers: HeaderMap, body: String) -> Result<u16, SinkError> {
        let response = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        // Only the status: the body is the receiver's and is never read.
        let status = response.status().as_u16();
        if response.status().is_success() {
            Ok(status)
        } else {
            Err(SinkError::Status(status))
        }
    }
}

/// A client error as a [`SinkError`]: the guard's refusal, or a short
/// reason — never the URL.
fn classify(err: reqwest::Error) -> SinkError {
    if let Some(why) = Refusal::in_chain(&err) {
        return SinkError::Refused(why.to_owned());
    }
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    SinkError::Transport(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, allow_private: bool) -> Result<Target, SinkSettingsError> {
        let policy = TargetPolicy {
            allow_private,
            ..TargetPolicy::default()
        };
        Target::new("LEADS_WEBHOOK_URL", url, policy)
    }

    #[test]
    fn private_and_plain_targets_need_the_operators_consent() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest",
            "https://[::1]/hook",
            "https://[fd00:ec2::254]/",
            "http://hooks.example.com/",
        ] {
            let err = target(url, false).expect_err(url);
            assert!(
                err.to_string().contains("LEADS_WEBHOOK_ALLOW_PRIVATE"),
                "{err}"
            );
            target(url, true).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for url in [
            "ftp://example.com/",
            "not a url",
            "https://user:pw@example.com/",
        ] {
            assert!(target(url, true).is_err(), "{url}");
        }
        target("https://hooks.example.com/x", false).expect("public https");
    }

    #[test]
    fn errors_and_debug_never_show_the_url() {
        let err = target("https://10.0.0.1/T000/B000/secretpart", false).expect_err("private");
        assert!(!err.to_string().contains("secretpart"), "{err}");
        let ok = target("https://hooks.slack.com/services/T/B/secretpart", false).expect("ok");
        assert!(!format!("{ok:?}").contains("secretpart"));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_when_posting() {
        let target = target("https://localhost:9/hook", false).expect("a name passes the parse");
        let err = target
            .post(HeaderMap::new(), "{}".to_owned())
            .await
            .expect_err("refused");
        assert!(matches!(err, SinkError::Refused(_)), "{err:?}");
    }
}
