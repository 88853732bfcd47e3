//! What the fake remembers of each request, with the API key redacted.

use std::collections::BTreeMap;

use hyper::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request the fake received (refused ones included), in arrival order.
///
/// The API key is never stored: the `authorization` header reads
/// `"Bearer [valid]"` when it carried the configured key and `"[invalid]"`
/// otherwise, and any other header value containing the key is replaced by
/// `"[redacted]"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path, without the query string (`/v1/chatkit/threads/cthr_x/items`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// Headers by lowercase name; repeated headers joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON; a body that is not JSON is kept as a JSON
    /// string (lossy UTF-8); `None` when the body was empty.
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// The value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub(crate) fn new(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        api_key: &str,
    ) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: redacted_headers(headers, api_key),
            body: recorded_body(body),
        }
    }
}

fn redacted_headers(headers: &HeaderMap, api_key: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let raw = String::from_utf8_lossy(value.as_bytes());
        let shown = if name == hyper::header::AUTHORIZATION {
            if is_valid_bearer(&raw, api_key) {
                "Bearer [valid]".to_owned()
            } else {
                "[invalid]".to_owned()
            }
        } else if !api_key.is_empty() && raw.contains(api_key) {
            "[redacted]".to_owned()
        } else {
            raw.into_owned()
        };
        out.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&shown);
            })
            .or_insert(shown);
    }
    out
}

/// Whether an `Authorization` value is `Bearer <api_key>`.
pub(crate) fn is_valid_bearer(value: &str, api_key: &str) -> bool {
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && !api_key.is_empty() && token.trim() == api_key
}

fn recorded_body(body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
    )
}

#[cfg(test)]
mod tests {
    use hyper::header::{AUTHORIZATION, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn the_key_is_never_recorded() {
        let h = headers(&[
            ("authorization", "Bearer sk-test"),
            ("x-leak", "prefix sk-test suffix"),
            ("openai-beta", "chatkit_beta=v1"),
        ]);
        let r = RecordedRequest::new("GET", "/v1/x", None, &h, b"", "sk-test");
        assert_eq!(r.header("Authorization"), Some("Bearer [valid]"));
        assert_eq!(r.header("x-leak"), Some("[redacted]"));
        assert_eq!(r.header("OpenAI-Beta"), Some("chatkit_beta=v1"));
        assert!(!format!("{r:?}").contains("sk-test"));
    }

    #[test]
    fn a_wrong_key_is_recorded_as_invalid() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer sk-wrong"));
        let r = RecordedRequest::new("GET", "/v1/x", None, &h, b"", "sk-test");
        assert_eq!(r.header("authorization"), Some("[invalid]"));
    }

    #[test]
    fn bodies_are_json_or_a_string() {
        let h = HeaderMap::new();
        let json = RecordedRequest::new("POST", "/", None, &h, br#"{"a":1}"#, "k");
        assert_eq!(json.body, Some(serde_json::json!({"a": 1})));
        let text = RecordedRequest::new("POST", "/", None, &h, b"not json", "k");
        assert_eq!(text.body, Some(Value::String("not json".into())));
        let empty = RecordedRequest::new("GET", "/", None, &h, b"", "k");
        assert_eq!(empty.body, None);
    }
}
