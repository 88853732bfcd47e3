//! The ChatKit REST API over HTTP.

use async_trait::async_trait;
use chatkit_leads_core::chatkit::{CreateSession, Page, PageRequest, Session, Thread, ThreadItem};
use chatkit_leads_core::{ChatKitClient, ChatKitError, ThreadId, UserId};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::transport::{Api, Failure, OpenAiClient};

fn chatkit_error(failure: Failure) -> ChatKitError {
    match failure {
        Failure::Status(StatusCode::NOT_FOUND) => ChatKitError::NotFound,
        Failure::Status(s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => {
            ChatKitError::Unauthorized { status: s.as_u16() }
        }
        Failure::Status(StatusCode::TOO_MANY_REQUESTS) => ChatKitError::RateLimited,
        Failure::Status(s) => ChatKitError::Status { status: s.as_u16() },
        Failure::Transport(what) => ChatKitError::Transport(what),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ChatKitError> {
    serde_json::from_slice(bytes).map_err(|e| {
        // Position and category only: the body holds customer text.
        ChatKitError::Decode(format!(
            "{:?} at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

fn page_query(page: &PageRequest) -> Vec<(&'static str, String)> {
    let mut query = vec![
        ("order", page.order.as_str().to_owned()),
        ("limit", page.limit.to_string()),
    ];
    if let Some(after) = &page.after {
        query.push(("after", after.clone()));
    }
    query
}

impl OpenAiClient {
    async fn chatkit_get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ChatKitError> {
        let bytes = self
            .call(Api::ChatKit, Method::GET, path, query, None)
            .await
            .map_err(chatkit_error)?;
        decode(&bytes)
    }
}

#[async_trait]
impl ChatKitClient for OpenAiClient {
    async fn create_session(&self, request: &CreateSession) -> Result<Session, ChatKitError> {
        let body =
            serde_json::to_value(request).map_err(|e| ChatKitError::Decode(e.to_string()))?;
        let bytes = self
            .call(
                Api::ChatKit,
                Method::POST,
                "chatkit/sessions",
                &[],
                Some(&body),
            )
            .await
            .map_err(chatkit_error)?;
        decode(&bytes)
    }

    async fn retrieve_thread(&self, thread_id: &ThreadId) -> Result<Thread, ChatKitError> {
        // Thread ids are validated to [A-Za-z0-9_-], so they are path-safe.
        self.chatkit_get(&format!("chatkit/threads/{thread_id}"), &[])
            .await
    }

    async fn list_items(
        &self,
        thread_id: &ThreadId,
        page: &PageRequest,
    ) -> Result<Page<ThreadItem>, ChatKitError> {
        self.chatkit_get(
            &format!("chatkit/threads/{thread_id}/items"),
            &page_query(page),
        )
        .await
    }

    async fn list_threads(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Thread>, ChatKitError> {
        let mut query = page_query(page);
        query.push(("user", user.as_str().to_owned()));
        self.chatkit_get("chatkit/threads", &query).await
    }
}
