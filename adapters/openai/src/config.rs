use std::fmt;
use std::time::Duration;

use thiserror::Error;
use url::Url;

/// An OpenAI API key. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (surrounding whitespace is trimmed).
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().trim().to_owned())
    }

    /// The key, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// How failed calls are retried: only on 429, 5xx and connection failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most attempts per call, the first included (default 4).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time (default 250 ms).
    pub base_delay: Duration,
    /// Longest single backoff (default 8 s).
    pub max_delay: Duration,
    /// No retry starts after this much time since the first attempt (default 30 s).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

/// Settings of the OpenAI client.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// API root including `/v1` (default `https://api.openai.com/v1`); tests
    /// and proxies point it elsewhere.
    pub base_url: Url,
    /// The API key.
    pub api_key: ApiKey,
    /// `OpenAI-Organization` header.
    pub organization: Option<String>,
    /// `OpenAI-Project` header.
    pub project: Option<String>,
    /// TCP connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Timeout of one ChatKit call (default 20 s).
    pub chatkit_timeout: Duration,
    /// Timeout of one Responses call (default 40 s; the workflow's summary
    /// timeout bounds the whole summary step anyway).
    pub responses_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Model for summaries (default `gpt-5.2-2025-12-11`, the seed's).
    pub summary_model: String,
}

/// The default API root.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The seed's summary model.
pub const DEFAULT_SUMMARY_MODEL: &str = "gpt-5.2-2025-12-11";

impl OpenAiConfig {
    /// Defaults with `api_key`.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            base_url: Url::parse(DEFAULT_BASE_URL).unwrap_or_else(|_| unreachable!("constant URL")),
            api_key,
            organization: None,
            project: None,
            connect_timeout: Duration::from_secs(5),
            chatkit_timeout: Duration::from_secs(20),
            responses_timeout: Duration::from_secs(40),
            retry: RetryPolicy::default(),
            summary_model: DEFAULT_SUMMARY_MODEL.to_owned(),
        }
    }

    /// Sets the API root (e.g. `http://127.0.0.1:9000/v1`).
    pub fn with_base_url(mut self, base_url: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(base_url.trim_end_matches('/')).map_err(|_| ConfigError::BaseUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(ConfigError::BaseUrl);
        }
        self.base_url = url;
        Ok(self)
    }
}

/// The client could not be configured.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The base URL is not an absolute http(s) URL.
    #[error("OPENAI_BASE_URL must be an absolute http(s) URL")]
    BaseUrl,
    /// The API key contains characters a header cannot carry.
    #[error("the API key contains characters not allowed in a header")]
    ApiKey,
    /// The HTTP client could not be built (TLS set-up).
    #[error("HTTP client set-up failed: {0}")]
    Http(String),
}
