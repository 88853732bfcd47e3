//! Injected failures: what a flaky network or an overloaded OpenAI does to a
//! client, one request at a time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One failure, consumed by the next request whose path starts with its
/// `path_prefix` (the path only, without the query string).
///
/// Faults are queued with [`FakeOpenAi::push_fault`](crate::FakeOpenAi::push_fault)
/// or, out of process, `POST /__fake/faults` with the serde form, tagged by
/// `kind`:
///
/// ```
/// use chatkit_leads_openai_fake::Fault;
///
/// let fault: Fault = serde_json::from_str(
///     r#"{"kind": "status", "path_prefix": "/v1/responses", "status": 429, "retry_after_secs": 2}"#,
/// )
/// .expect("fault");
/// assert_eq!(fault.path_prefix(), "/v1/responses");
///
/// // `Slow` carries its delay as `delay_ms`.
/// let slow: Fault =
///     serde_json::from_str(r#"{"kind": "slow", "path_prefix": "/v1/", "delay_ms": 250}"#)
///         .expect("fault");
/// assert_eq!(
///     slow,
///     Fault::Slow { path_prefix: "/v1/".into(), delay: std::time::Duration::from_millis(250) }
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status instead of the real answer: the body of
    /// `openai/error_429.json` or `openai/error_500.json` (by status; any
    /// other code gets a generic error body), plus `retry-after` when set.
    Status {
        /// Which requests the fault applies to.
        path_prefix: String,
        /// The status code (an invalid code answers 500).
        status: u16,
        /// Value of the `retry-after` header, in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Wait, then answer normally.
    Slow {
        /// Which requests the fault applies to.
        path_prefix: String,
        /// How long to wait before answering (`delay_ms` in the serde form).
        #[serde(rename = "delay_ms", with = "millis")]
        delay: Duration,
    },
    /// Send the real answer's headers with its full `Content-Length`, write
    /// only part of the body, then close the connection.
    TruncatedBody {
        /// Which requests the fault applies to.
        path_prefix: String,
    },
    /// Read the request, then reset the TCP connection (`SO_LINGER` 0)
    /// without any HTTP answer.
    ResetConnection {
        /// Which requests the fault applies to.
        path_prefix: String,
    },
}

impl Fault {
    /// The path prefix this fault waits for.
    pub fn path_prefix(&self) -> &str {
        match self {
            Fault::Status { path_prefix, .. }
            | Fault::Slow { path_prefix, .. }
            | Fault::TruncatedBody { path_prefix }
            | Fault::ResetConnection { path_prefix } => path_prefix,
        }
    }
}

/// `Duration` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_round_trips_through_its_serde_form() {
        let faults = [
            Fault::Status {
                path_prefix: "/v1/responses".into(),
                status: 429,
                retry_after_secs: Some(3),
            },
            Fault::Status {
                path_prefix: "/v1/".into(),
                status: 500,
                retry_after_secs: None,
            },
            Fault::Slow {
                path_prefix: "/v1/chatkit".into(),
                delay: Duration::from_millis(1500),
            },
            Fault::TruncatedBody {
                path_prefix: "/v1/chatkit/threads".into(),
            },
            Fault::ResetConnection {
                path_prefix: "/v1/chatkit/sessions".into(),
            },
        ];
        for fault in faults {
            let json = serde_json::to_value(&fault).expect("serialize");
            assert!(json["kind"].is_string(), "{json}");
            let back: Fault = serde_json::from_value(json).expect("deserialize");
            assert_eq!(back, fault);
        }
    }

    #[test]
    fn kinds_are_snake_case() {
        let json = serde_json::to_value(Fault::ResetConnection {
            path_prefix: "/".into(),
        })
        .expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"kind": "reset_connection", "path_prefix": "/"})
        );
    }
}
