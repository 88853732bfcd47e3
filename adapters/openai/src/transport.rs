//! The HTTP client: headers, timeouts, retries and failure classification.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use tracing::{debug, warn};

use crate::config::{ConfigError, OpenAiConfig};
use crate::retry::{backoff, retry_after};

/// An OpenAI API client implementing the core's ChatKit and summarizer ports.
/// Cheap to clone (shares one connection pool).
#[derive(Clone)]
pub struct OpenAiClient {
    pub(crate) http: reqwest::Client,
    pub(crate) config: Arc<OpenAiConfig>,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base_url", &self.config.base_url.as_str())
            .field("api_key", &self.config.api_key)
            .finish_non_exhaustive()
    }
}

/// Why a call failed after retries, before mapping to a port's error type.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with an error status.
    Status(StatusCode),
    /// Connecting, sending or reading failed, or a timeout passed.
    Transport(String),
}

/// Which API family a call belongs to (headers and timeout differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    ChatKit,
    Responses,
}

impl OpenAiClient {
    /// Builds a client; fails only on an API key that cannot be a header or
    /// a TLS set-up problem.
    pub fn new(config: OpenAiConfig) -> Result<Self, ConfigError> {
        let mut headers = HeaderMap::new();
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose()))
            .map_err(|_| ConfigError::ApiKey)?;
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
        for (name, value) in [
            ("openai-organization", &config.organization),
            ("openai-project", &config.project),
        ] {
            if let Some(value) = value {
                let value = HeaderValue::from_str(value).map_err(|_| ConfigError::ApiKey)?;
                headers.insert(name, value);
            }
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("chatkit-leads/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Self {
            http,
            config: Arc::new(config),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// `base_url` + `path` (path without leading slash, e.g. `chatkit/threads`).
    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.config.base_url.as_str().trim_end_matches('/'),
            path
        )
    }

    /// Sends a request with retries on 429, 5xx and transport failures, and
    /// returns the body of the first success.
    pub(crate) async fn call(
        &self,
        api: Api,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, Failure> {
        let policy = self.config.retry;
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let (failure, hint) = match self.attempt(api, method.clone(), path, query, body).await {
                Ok(bytes) => return Ok(bytes),
                Err(outcome) => outcome,
            };
            let retryable = match &failure {
                Failure::Status(status) => {
                    *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
                }
                Failure::Transport(_) => true,
            };
            let wait = backoff(&policy, attempt, hint);
            let out_of_time = started.elapsed() + wait > policy.max_elapsed;
            if !retryable || attempt >= policy.max_attempts || out_of_time {
                warn!(api = ?api, path_kind = path_kind(path), attempt, failure = ?failure, "OpenAI call failed");
                return Err(failure);
            }
            debug!(api = ?api, attempt, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "retrying OpenAI call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: the body on 2xx, else the failure and any retry-after hint.
    async fn attempt(
        &self,
        api: Api,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, (Failure, Option<Duration>)> {
        let timeout = match api {
            Api::ChatKit => self.config.chatkit_timeout,
            Api::Responses => self.config.responses_timeout,
        };
        let mut request = self.http.request(method, self.url(path)).timeout(timeout);
        if !query.is_empty() {
            request = request.query(query);
        }
        if api == Api::ChatKit {
            request = request.header("openai-beta", "chatkit_beta=v1");
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| (transport(&e), None))?;
        let status = response.status();
        let hint = retry_after(response.headers());
        if !status.is_success() {
            // The error body is not read: it may echo request content.
            return Err((Failure::Status(status), hint));
        }
        response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| (transport(&e), None))
    }
}

/// Describes a reqwest failure without the URL's query (which can carry a
/// user id) or any body.
fn transport(err: &reqwest::Error) -> Failure {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "response body interrupted"
    } else if err.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    Failure::Transport(kind.to_owned())
}

/// The first path segments, for logs (ids stay out of them).
fn path_kind(path: &str) -> &'static str {
    if path.starts_with("responses") {
        "responses"
    } else if path.starts_with("chatkit/sessions") {
        "chatkit/sessions"
    } else if path.ends_with("/items") {
        "chatkit/threads/{id}/items"
    } else if path.starts_with("chatkit/threads/") {
        "chatkit/threads/{id}"
    } else {
        "chatkit/threads"
    }
}
