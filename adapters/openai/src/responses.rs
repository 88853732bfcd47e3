//! The summary over `POST /v1/responses` with a strict JSON schema.

use async_trait::async_trait;
use chatkit_leads_core::summary::{SCHEMA_NAME, SummaryInput, json_schema};
use chatkit_leads_core::{LeadSummary, Summarizer, SummaryError};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::transport::{Api, Failure, OpenAiClient};

/// The Responses request body for `input` with `model`.
pub fn responses_request(model: &str, input: &SummaryInput) -> serde_json::Value {
    serde_json::json!({
        "model": model,
        "instructions": input.instructions,
        "input": input.input,
        "max_output_tokens": input.max_output_tokens,
        "store": false,
        "text": {
            "format": {
                "type": "json_schema",
                "name": SCHEMA_NAME,
                "strict": true,
                "schema": json_schema(),
            }
        }
    })
}

#[derive(Deserialize)]
struct Response {
    status: Option<String>,
    #[serde(default)]
    incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    output: Vec<OutputItem>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum OutputItem {
    #[serde(rename = "message")]
    Message {
        #[serde(default)]
        content: Vec<OutputContent>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum OutputContent {
    #[serde(rename = "output_text")]
    OutputText { text: String },
    #[serde(rename = "refusal")]
    Refusal {},
    #[serde(other)]
    Other,
}

/// Reads a Responses API answer: finds the output message among other output
/// items (reasoning comes first with current models), and maps a refusal, an
/// incomplete answer or malformed JSON to typed errors. The result is not
/// sanitised here; the workflow sanitises every summary.
pub fn parse_summary(body: &[u8]) -> Result<LeadSummary, SummaryError> {
    let response: Response = serde_json::from_slice(body).map_err(|e| {
        SummaryError::Malformed(format!(
            "response body: {:?} at column {}",
            e.classify(),
            e.column()
        ))
    })?;
    let content: Vec<&OutputContent> = response
        .output
        .iter()
        .filter_map(|item| match item {
            OutputItem::Message { content } => Some(content),
            OutputItem::Other => None,
        })
        .flatten()
        .collect();
    if content
        .iter()
        .any(|c| matches!(c, OutputContent::Refusal {}))
    {
        return Err(SummaryError::Refused);
    }
    if response.status.as_deref() == Some("incomplete") {
        let reason = response
            .incomplete_details
            .and_then(|d| d.reason)
            .unwrap_or_else(|| "unknown".to_owned());
        return Err(SummaryError::Incomplete(reason));
    }
    let text: String = content
        .iter()
        .filter_map(|c| match c {
            OutputContent::OutputText { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if text.is_empty() {
        return Err(SummaryError::Malformed(
            "no output_text in the response".to_owned(),
        ));
    }
    serde_json::from_str(&text).map_err(|e| {
        SummaryError::Malformed(format!(
            "summary JSON: {:?} at column {}",
            e.classify(),
            e.column()
        ))
    })
}

fn summary_error(failure: Failure) -> SummaryError {
    match failure {
        Failure::Status(StatusCode::TOO_MANY_REQUESTS) => SummaryError::RateLimited,
        Failure::Status(s) => SummaryError::Status { status: s.as_u16() },
        Failure::Transport(what) => SummaryError::Transport(what),
    }
}

#[async_trait]
impl Summarizer for OpenAiClient {
    async fn summarize(&self, input: &SummaryInput) -> Result<LeadSummary, SummaryError> {
        let body = responses_request(&self.config.summary_model, input);
        let bytes = self
            .call(Api::Responses, Method::POST, "responses", &[], Some(&body))
            .await
            .map_err(summary_error)?;
        parse_summary(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        std::fs::read(path).expect("fixture")
    }

    #[test]
    fn ok_fixture_parses_past_the_reasoning_item() {
        let summary = parse_summary(&fixture("summary_ok.json")).expect("summary");
        assert_eq!(summary.customer_name.as_deref(), Some("Maria Lopez"));
        assert_eq!(summary.call_script_prompts.len(), 3);
    }

    #[test]
    fn refusal_incomplete_and_malformed_are_typed() {
        assert_eq!(
            parse_summary(&fixture("summary_refusal.json")),
            Err(SummaryError::Refused)
        );
        assert_eq!(
            parse_summary(&fixture("summary_incomplete.json")),
            Err(SummaryError::Incomplete("max_output_tokens".into()))
        );
        assert!(matches!(
            parse_summary(&fixture("summary_malformed.json")),
            Err(SummaryError::Malformed(_))
        ));
        assert!(matches!(
            parse_summary(b"{\"output\": 5"),
            Err(SummaryError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_error_does_not_quote_the_model_text() {
        let err = parse_summary(&fixture("summary_malformed.json")).expect_err("malformed");
        assert!(!err.to_string().contains("Here is the summary"));
    }
}
