//! ChatKit objects in their official JSON shapes, as the ChatKit port returns
//! them: threads, thread items, list pages, and the session call.
//!
//! Only the fields the product reads are modelled; unknown fields are ignored
//! and unknown item or content types deserialize to an `Other` variant, so a
//! new ChatKit feature never breaks a transcript.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ThreadId, UserId};

/// `GET /v1/chatkit/threads/{id}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Thread {
    /// The thread id.
    pub id: ThreadId,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
    /// Title ChatKit generated for the chat, if any.
    #[serde(default)]
    pub title: Option<String>,
    /// The ChatKit `user` that owns the thread.
    #[serde(default)]
    pub user: Option<String>,
}

/// One entry of `GET /v1/chatkit/threads/{id}/items`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ThreadItem {
    /// Item id (`cthi_…`).
    pub id: String,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
    /// What the item holds.
    #[serde(flatten)]
    pub kind: ItemKind,
}

/// The item types the transcript cares about; everything else is `Other`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum ItemKind {
    /// Something the visitor typed or quoted, with optional attachments.
    #[serde(rename = "chatkit.user_message")]
    UserMessage {
        /// Text parts.
        #[serde(default)]
        content: Vec<UserContent>,
        /// Uploaded files.
        #[serde(default)]
        attachments: Vec<Attachment>,
    },
    /// The agent's reply.
    #[serde(rename = "chatkit.assistant_message")]
    AssistantMessage {
        /// Text parts.
        #[serde(default)]
        content: Vec<AssistantContent>,
    },
    /// Widgets, tasks, task groups, client tool calls and any future type.
    #[serde(other)]
    Other,
}

/// A part of a user message.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum UserContent {
    /// Text the visitor typed.
    #[serde(rename = "input_text")]
    InputText {
        /// The text.
        text: String,
    },
    /// Text the visitor quoted from an earlier message.
    #[serde(rename = "quoted_text")]
    QuotedText {
        /// The text.
        text: String,
    },
    /// Any other part type.
    #[serde(other)]
    Other,
}

/// A part of an assistant message.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum AssistantContent {
    /// Text the agent wrote.
    #[serde(rename = "output_text")]
    OutputText {
        /// The text.
        text: String,
    },
    /// Any other part type.
    #[serde(other)]
    Other,
}

/// A file the visitor attached to a message.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Attachment {
    /// File id.
    #[serde(default)]
    pub id: Option<String>,
    /// File name as uploaded (untrusted).
    #[serde(default)]
    pub name: Option<String>,
    /// MIME type as uploaded (untrusted).
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Short-lived URL of the file (untrusted; only http/https are kept).
    #[serde(default)]
    pub preview_url: Option<String>,
}

/// A page of a ChatKit list endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Page<T> {
    /// The entries.
    pub data: Vec<T>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// Id of the last entry, the cursor for the next page.
    #[serde(default)]
    pub last_id: Option<String>,
}

/// Sort order of a list call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

impl Order {
    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
        }
    }
}

/// Cursor parameters of a list call (`order`, `limit`, `after`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Sort order.
    pub order: Order,
    /// Page size (ChatKit allows up to 100).
    pub limit: u32,
    /// Return entries after this id.
    pub after: Option<String>,
}

impl PageRequest {
    /// The first page, oldest first, at the largest page size.
    pub fn first() -> Self {
        Self {
            order: Order::Asc,
            limit: 100,
            after: None,
        }
    }

    /// The page after `last_id`, same order and size.
    pub fn next(&self, last_id: String) -> Self {
        Self {
            after: Some(last_id),
            ..self.clone()
        }
    }
}

/// A state variable value: ChatKit accepts only strings, booleans and numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StateValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
}

/// The workflow part of a session request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowParam {
    /// `wf_…`.
    pub id: String,
    /// Values the agent can read (keys ≤ 64 chars).
    pub state_variables: BTreeMap<String, StateValue>,
}

/// Body of `POST /v1/chatkit/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateSession {
    /// The ChatKit user the session acts for.
    pub user: UserId,
    /// The workflow and its state variables.
    pub workflow: WorkflowParam,
    /// Session lifetime override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<ExpiresAfter>,
    /// Per-session rate limit override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
    /// ChatKit features of the session (uploads, history, titling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chatkit_configuration: Option<ChatKitConfiguration>,
}

/// `chatkit_configuration` of a session request: which ChatKit features
/// the chat has. A field left `None` keeps ChatKit's default (uploads off,
/// history on without a limit, titling on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChatKitConfiguration {
    /// File uploads: customers attach photos with the paperclip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_upload: Option<FileUpload>,
    /// Whether the customer sees earlier threads, and how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
    /// Whether ChatKit titles threads by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic_thread_titling: Option<Enabled>,
}

impl ChatKitConfiguration {
    /// Files per session a lead-intake chat allows by default: photos from
    /// several angles, with room to spare.
    pub const DEFAULT_MAX_FILES: u32 = 10;
    /// Largest file by default, in MB: a phone's full-size photo.
    pub const DEFAULT_MAX_FILE_MB: u32 = 20;

    /// Every feature set: uploads of at most `upload` = (files, MB) when
    /// given (off when `None`), history on or off with at most
    /// `recent_threads`, automatic titling on or off.
    pub fn with(
        upload: Option<(u32, u32)>,
        history: bool,
        recent_threads: Option<u32>,
        titling: bool,
    ) -> Self {
        Self {
            file_upload: Some(upload.map_or(
                FileUpload {
                    enabled: false,
                    max_files: Self::DEFAULT_MAX_FILES,
                    max_file_size: Self::DEFAULT_MAX_FILE_MB,
                },
                |(max_files, max_file_size)| FileUpload {
                    enabled: true,
                    max_files,
                    max_file_size,
                },
            )),
            history: Some(History {
                enabled: history,
                recent_threads,
            }),
            automatic_thread_titling: Some(Enabled { enabled: titling }),
        }
    }
}

/// `file_upload` of [`ChatKitConfiguration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FileUpload {
    /// Uploads allowed.
    pub enabled: bool,
    /// Most files per session (at least 1).
    pub max_files: u32,
    /// Largest file, in MB (1 to 512).
    pub max_file_size: u32,
}

/// `history` of [`ChatKitConfiguration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct History {
    /// Earlier threads shown.
    pub enabled: bool,
    /// How many of the most recent (`None`: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_threads: Option<u32>,
}

/// A feature switch (`{"enabled": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enabled {
    /// On or off.
    pub enabled: bool,
}

/// `expires_after` of a session request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiresAfter {
    /// Always `"created_at"`.
    pub anchor: &'static str,
    /// Lifetime in seconds.
    pub seconds: u32,
}

/// `rate_limits` of a session request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimits {
    /// Requests per minute the client secret may make.
    pub max_requests_per_1_minute: u32,
}

/// The answer of `POST /v1/chatkit/sessions` that the browser needs.
///
/// `Debug` hides the client secret.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
pub struct Session {
    /// `cksess_…`.
    #[serde(default)]
    pub id: Option<String>,
    /// The ephemeral secret the ChatKit runtime uses.
    pub client_secret: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("client_secret", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_item_and_content_types_are_other_not_errors() {
        let item: ThreadItem = serde_json::from_value(serde_json::json!({
            "id": "cthi_1", "type": "chatkit.brand_new", "created_at": 5, "whatever": [1]
        }))
        .expect("parse");
        assert_eq!(item.kind, ItemKind::Other);

        let item: ThreadItem = serde_json::from_value(serde_json::json!({
            "id": "cthi_2", "type": "chatkit.user_message", "created_at": 5,
            "content": [{"type": "input_image", "url": "x"}, {"type": "input_text", "text": "hi"}]
        }))
        .expect("parse");
        let ItemKind::UserMessage { content, .. } = item.kind else {
            panic!("user message expected");
        };
        assert_eq!(content[0], UserContent::Other);
    }

    #[test]
    fn session_debug_hides_the_secret() {
        let s = Session {
            id: None,
            client_secret: "ek_live_secret".into(),
            expires_at: 1,
        };
        assert!(!format!("{s:?}").contains("ek_live_secret"));
    }
}
