//! OpenAI-style error answers: `{"error": {"message", "type", "param", "code"}}`.

use hyper::StatusCode;
use serde_json::{Value, json};

/// An error the fake answers with, in the shape the real API uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) kind: &'static str,
    pub(crate) param: Option<String>,
    pub(crate) code: Option<&'static str>,
}

impl ApiError {
    /// 400 `invalid_request_error` about one parameter.
    pub(crate) fn invalid(
        message: impl Into<String>,
        param: impl Into<String>,
        code: Option<&'static str>,
    ) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some(param.into()),
            code,
        }
    }

    /// `Missing required parameter: '<param>'.`
    pub(crate) fn missing(param: &str) -> Self {
        Self::invalid(
            format!("Missing required parameter: '{param}'."),
            param,
            Some("missing_required_parameter"),
        )
    }

    /// `Invalid type for '<param>': expected <expected>, but got <got> instead.`
    pub(crate) fn wrong_type(param: &str, expected: &str, got: &Value) -> Self {
        Self::invalid(
            format!(
                "Invalid type for '{param}': expected {expected}, but got {} instead.",
                json_type(got)
            ),
            param,
            Some("invalid_type"),
        )
    }

    /// `Unknown parameter: '<param>'.`
    pub(crate) fn unknown(param: &str) -> Self {
        Self::invalid(
            format!("Unknown parameter: '{param}'."),
            param,
            Some("unknown_parameter"),
        )
    }

    /// 400 for a body that is not JSON (the real message, shortened).
    pub(crate) fn unparsable_body() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: "We could not parse the JSON body of your request. (HINT: This likely means \
                      you aren't using your HTTP library correctly. The OpenAI API expects a JSON \
                      payload, but what was sent was not valid JSON.)"
                .into(),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
    }

    /// 404 `Invalid URL (<METHOD> <path>)`, as the real API answers unknown routes.
    pub(crate) fn invalid_url(method: &str, path: &str) -> Self {
        Self::not_found(format!("Invalid URL ({method} {path})"))
    }

    /// 404 with a message.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
    }

    /// 500 for a problem of the fake itself (a missing fixture).
    pub(crate) fn fake_internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: None,
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

/// The JSON type name used in the real API's type errors.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
