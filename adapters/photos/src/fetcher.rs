//! [`HttpPhotoFetcher`]: the [`PhotoFetcher`] over HTTPS with the checks
//! that keep a customer-supplied link from reaching anything but a file
//! host.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatkit_leads_core::{PhotoError, PhotoFetcher};
use ipnet::IpNet;
use reqwest::redirect;
use url::{Host, Url};

use crate::address;
use crate::resolver::{GuardedResolver, Refusal};

/// Most redirects followed (each to the same host).
const MAX_REDIRECTS: usize = 3;

/// What an [`HttpPhotoFetcher`] may fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Hosts photos may come from: a link's host must be one of these or a
    /// subdomain of one. Default: the hosts OpenAI serves files from
    /// (`oaiusercontent.com`, `openai.com`).
    pub hosts: Vec<String>,
    /// Networks a file host may be in although they are not public (a file
    /// server inside your own network). Default: none.
    pub allowed_networks: Vec<IpNet>,
    /// Only `https` links (default). Turn off only for a local test server.
    pub require_https: bool,
    /// Fixed addresses for host names instead of DNS, like curl's
    /// `--resolve`; still checked against the address rules.
    pub pinned: Vec<(String, IpAddr)>,
    /// Longest one request may take (default 30 s): a backstop, since the
    /// workflow's own photo budget is shorter.
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            hosts: vec!["oaiusercontent.com".to_owned(), "openai.com".to_owned()],
            allowed_networks: Vec::new(),
            require_https: true,
            pinned: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl FetchPolicy {
    /// Whether `host` is one of [`FetchPolicy::hosts`] or below one.
    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.iter().any(|allowed| {
            let allowed = allowed.trim_start_matches('.').to_ascii_lowercase();
            host == allowed
                || host
                    .strip_suffix(&allowed)
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// The link, if its scheme, host and (for an address literal) address
    /// may be fetched.
    fn check(&self, link: &str) -> Result<Url, PhotoError> {
        let url = Url::parse(link).map_err(|_| refused("the link is not a URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if !self.require_https => {}
            _ => return Err(refused("only https links are fetched")),
        }
        let host = url.host().ok_or_else(|| refused("the link has no host"))?;
        let name = match &host {
            Host::Domain(name) => (*name).to_owned(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        if !self.allows_host(&name) {
            return Err(refused("the file host is not on the allowed list"));
        }
        // The resolver never sees an address literal: check it here.
        let literal = match host {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        };
        if let Some(why) = literal.and_then(|ip| address::refusal(ip, &self.allowed_networks)) {
            return Err(refused(&format!("the link points to {why}")));
        }
        Ok(url)
    }
}

/// Fetches photos over HTTPS: allowed hosts only, every resolved address
/// checked and the connection pinned to it, no proxy, redirects only to
/// the same host, a size cap while reading.
#[derive(Clone)]
pub struct HttpPhotoFetcher {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl std::fmt::Debug for HttpPhotoFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPhotoFetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl HttpPhotoFetcher {
    /// A fetcher that follows `policy`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(policy: FetchPolicy) -> Result<Self, reqwest::Error> {
        let resolver = GuardedResolver {
            allowed: policy.allowed_networks.clone().into(),
            pinned: policy.pinned.clone().into(),
        };
        let require_https = policy.require_https;
        let same_host = redirect::Policy::custom(move |attempt| {
            let first = attempt.previous().first().and_then(Url::host_str);
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(Refusal("redirected too often".to_owned()))
            } else if attempt.url().host_str() != first {
                attempt.error(Refusal("redirected to another host".to_owned()))
            } else if require_https && attempt.url().scheme() != "https" {
                attempt.error(Refusal("redirected away from https".to_owned()))
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(resolver)
            // A proxy would resolve the name itself, past every check.
            .no_proxy()
            .redirect(same_host)
            .https_only(policy.require_https)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .build()?;
        Ok(Self {
            client,
            policy: Arc::new(policy),
        })
    }
}

#[async_trait]
impl PhotoFetcher for HttpPhotoFetcher {
    async fn fetch(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, PhotoError> {
        let url = self.policy.check(url)?;
        let mut response = self.client.get(url).send().await.map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(PhotoError::Status(status.as_u16()));
        }
        let declared = response
            .content_length()
            .and_then(|n| usize::try_from(n).ok());
        if declared.is_some_and(|n| n > max_bytes) {
            return Err(PhotoError::TooLarge(max_bytes));
        }
        let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(max_bytes));
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(PhotoError::TooLarge(max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

fn refused(why: &str) -> PhotoError {
    PhotoError::Refused(why.to_owned())
}

/// A client error as a [`PhotoError`]: the policy's refusal when one is in
/// the chain, else a short reason — never the URL (a signed link's query is
/// a credential).
fn classify(err: reqwest::Error) -> PhotoError {
    if let Some(refusal) = Refusal::in_chain(&err) {
        return PhotoError::Refused(refusal.to_owned());
    }
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect to the file host"
    } else if err.is_redirect() {
        "a redirect could not be followed"
    } else {
        "the connection failed"
    };
    PhotoError::Transport(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FetchPolicy {
        FetchPolicy {
            hosts: vec!["files.example-cdn.test".to_owned()],
            ..FetchPolicy::default()
        }
    }

    fn refusal(link: &str) -> String {
        match policy().check(link) {
            Err(PhotoError::Refused(why)) => why,
            other => panic!("{link}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_https_links_on_allowed_hosts_pass() {
        assert!(
            policy()
                .check("https://files.example-cdn.test/a.jpg")
                .is_ok()
        );
        assert!(
            policy()
                .check("https://eu.files.example-cdn.test/a.jpg")
                .is_ok()
        );
        assert!(refusal("http://files.example-cdn.test/a.jpg").contains("https"));
        assert!(refusal("https://evilfiles.example-cdn.test.attacker.test/a").contains("allowed"));
        assert!(refusal("https://xfiles.example-cdn.test/a").contains("allowed"));
        assert!(refusal("javascript:alert(1)").contains("https"));
        assert!(refusal("data:image/png;base64,AAAA").contains("https"));
        assert!(refusal("not a url").contains("URL"));
    }

    #[test]
    fn address_literals_are_checked_even_when_listed() {
        let listed = FetchPolicy {
            hosts: vec![
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
                "169.254.169.254".to_owned(),
            ],
            ..FetchPolicy::default()
        };
        for link in [
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/",
        ] {
            assert!(
                matches!(listed.check(link), Err(PhotoError::Refused(why)) if why.contains("points to")),
                "{link}"
            );
        }
    }
}
