//! The body of every failure answer: `{"error": "…"}`, shared by
//! the handlers and the rate limits' `429`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chatkit_leads_core::ErrorResponse;

/// `{"error": message}` with `status`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorResponse {
            error: message.into(),
        }),
    )
        .into_response()
}
