//! The one error a sink setting can have.

use thiserror::Error;

/// A sink setting that cannot be used; names the setting, never its value
/// (URLs and secrets are credentials).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{setting} {why}")]
pub struct SinkSettingsError {
    setting: String,
    why: String,
}

impl SinkSettingsError {
    pub(crate) fn new(setting: &str, why: &str) -> Self {
        Self {
            setting: setting.to_owned(),
            why: why.to_owned(),
        }
    }
}
