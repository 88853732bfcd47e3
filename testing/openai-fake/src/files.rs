//! `GET /files/{name}`: the files behind ChatKit attachment links
//! (`preview_url`), which a lead email fetches to carry the customer's
//! photos. No key: such links are signed URLs. Tests register what each
//! name answers, down to a redirect or a body that is not what its
//! `Content-Type` says.

use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, LOCATION};

use crate::server::Body;

/// What the fake answers at `GET /files/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFile {
    /// The status (200 for a file, 302 with `location` for a redirect).
    pub status: u16,
    /// The `Content-Type` header, whatever the body really is.
    pub content_type: String,
    /// The body.
    pub body: Bytes,
    /// A `Location` header.
    pub location: Option<String>,
}

impl ServedFile {
    /// A 200 answer with `body` labelled `content_type`.
    pub fn ok(content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status: 200,
            content_type: content_type.to_owned(),
            body: body.into(),
            location: None,
        }
    }

    /// A 302 to `location`.
    pub fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            content_type: "text/plain".to_owned(),
            body: Bytes::new(),
            location: Some(location.to_owned()),
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response =
            Response::new(Full::new(self.body).map_err(|never| match never {}).boxed());
        *response.status_mut() =
            hyper::StatusCode::from_u16(self.status).unwrap_or(hyper::StatusCode::OK);
        if let Ok(value) = HeaderValue::from_str(&self.content_type) {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        if let Some(value) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(LOCATION, value);
        }
        response
    }
}

/// The 404 of a name nobody registered (an expired link).
pub(crate) fn not_found() -> ServedFile {
    ServedFile {
        status: 404,
        content_type: "text/plain".to_owned(),
        body: Bytes::from_static(b"Not Found"),
        location: None,
    }
}
