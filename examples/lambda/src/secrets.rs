//! Secrets at cold start: values given in the environment are used as they
//! are; SSM parameter names are read with one `GetParameters` call
//! (`WithDecryption`, so `SecureString`s work) before the first request.

use std::collections::HashMap;
use std::fmt;

use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use aws_sdk_ssm::error::DisplayErrorContext;

use crate::settings::{Identity, Secret, Settings};

/// The secret settings' values. `Debug` prints none of them.
pub(crate) struct Secrets {
    pub openai_api_key: String,
    pub chatkit_workflow_id: String,
    /// `None` when the browser's `user` is trusted.
    pub cookie_key: Option<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// Resolves the settings' secrets, calling SSM only when one of them is a
/// parameter name.
pub(crate) async fn resolve(settings: &Settings, aws: &SdkConfig) -> anyhow::Result<Secrets> {
    let cookie_key = match &settings.identity {
        Identity::SignedCookie { key, .. } => Some(key),
        Identity::TrustBrowser => None,
    };
    let wanted: Vec<(&str, &Secret)> = [
        Some(("OPENAI_API_KEY_PARAM", &settings.openai_api_key)),
        Some(("CHATKIT_WORKFLOW_ID_PARAM", &settings.chatkit_workflow_id)),
        cookie_key.map(|key| ("LEADS_COOKIE_KEY_PARAM", key)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut names: Vec<&str> = wanted
        .iter()
        .filter_map(|(_, secret)| match secret {
            Secret::Parameter(name) => Some(name.as_str()),
            Secret::Value(_) => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    let fetched = if names.is_empty() {
        HashMap::new()
    } else {
        fetch(aws, &names).await?
    };
    let value = |setting: &str, secret: &Secret| -> anyhow::Result<String> {
        match secret {
            Secret::Value(value) => Ok(value.clone()),
            Secret::Parameter(name) => fetched.get(name).cloned().ok_or_else(|| {
                anyhow!("{setting}: SSM parameter {name} does not exist or has no value")
            }),
        }
    };
    Ok(Secrets {
        openai_api_key: value("OPENAI_API_KEY_PARAM", &settings.openai_api_key)?,
        chatkit_workflow_id: value("CHATKIT_WORKFLOW_ID_PARAM", &settings.chatkit_workflow_id)?,
        cookie_key: cookie_key
            .map(|key| value("LEADS_COOKIE_KEY_PARAM", key))
            .transpose()?,
    })
}

/// `GetParameters` for `names` (at most 10, the API's limit; this function
/// asks for three at most), decrypted. Values are trimmed: a parameter
/// typed in the console often ends with a newline.
async fn fetch(aws: &SdkConfig, names: &[&str]) -> anyhow::Result<HashMap<String, String>> {
    let client = aws_sdk_ssm::Client::new(aws);
    let answer = client
        .get_parameters()
        .set_names(Some(names.iter().map(|n| (*n).to_owned()).collect()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| anyhow!("{}", DisplayErrorContext(&e)))
        .with_context(|| {
            format!(
                "cannot read the SSM parameters {} (the function's role needs \
                 ssm:GetParameters on them)",
                names.join(", ")
            )
        })?;
    let invalid = answer.invalid_parameters();
    if !invalid.is_empty() {
        bail!("SSM parameters not found: {}", invalid.join(", "));
    }
    Ok(answer
        .parameters()
        .iter()
        .filter_map(|p| Some((p.name()?.to_owned(), p.value()?.trim().to_owned())))
        .collect())
}
