//! SDK errors mapped onto the core's [`StoreError`].

use std::error::Error;

use chatkit_leads_core::StoreError;

/// A failed call: the store is unavailable for now. The message names the
/// operation and the SDK's error chain.
pub(crate) fn unavailable(op: &str, err: &(dyn Error + 'static)) -> StoreError {
    StoreError::Unavailable(format!("{op}: {}", describe(err)))
}

/// The error and its sources, joined by `": "`, e.g. `service error:
/// ResourceNotFoundException: Requested resource not found` or `dispatch
/// failure: io error: … Connection refused`.
///
/// This is the first half of what the SDK's `DisplayErrorContext` prints.
/// Its second half, the `Debug` form of the whole error, is left out on
/// purpose: for a service error it carries the raw HTTP response, whose body
/// can hold attribute values (a `ConditionalCheckFailedException` returns
/// the whole item), and nothing of an item may reach a log line.
pub(crate) fn describe(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some layers repeat their cause's message; say it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
