//! The ChatKit endpoints: sessions, threads, thread items, with the checks
//! and cursor semantics of the real API.

use serde_json::{Map, Value, json};

use crate::api_error::{ApiError, json_type};
use crate::fixtures::Threads;

/// Longest state variable key ChatKit accepts.
const MAX_STATE_KEY_CHARS: usize = 64;
/// Session lifetime when the request does not set `expires_after`.
const DEFAULT_SESSION_SECONDS: i64 = 600;

/// `POST /v1/chatkit/sessions`: validates the body and answers the
/// `session_ok.json` shape with the request's user and workflow.
pub(crate) fn create_session(
    template: &Value,
    body: &Value,
    n: u64,
    now: i64,
) -> Result<Value, ApiError> {
    let Some(body) = body.as_object() else {
        return Err(ApiError::wrong_type("body", "an object", body));
    };
    check_known(
        body,
        "",
        &[
            "user",
            "workflow",
            "expires_after",
            "rate_limits",
            "chatkit_configuration",
        ],
    )?;

    let user = required_string(body, "user", "user")?;
    if user.is_empty() {
        return Err(ApiError::invalid(
            "Invalid 'user': empty string. Expected a string with minimum length 1, but got an \
             empty string instead.",
            "user",
            Some("empty_string"),
        ));
    }

    let workflow = match body.get("workflow") {
        None | Some(Value::Null) => return Err(ApiError::missing("workflow")),
        Some(Value::Object(w)) => w,
        Some(other) => return Err(ApiError::wrong_type("workflow", "an object", other)),
    };
    check_known(
        workflow,
        "workflow.",
        &["id", "version", "state_variables", "tracing"],
    )?;
    let workflow_id = required_string(workflow, "id", "workflow.id")?;
    if !workflow_id.starts_with("wf_") {
        return Err(ApiError::invalid(
            "Invalid 'workflow.id': expected an ID that begins with 'wf_'.",
            "workflow.id",
            Some("invalid_value"),
        ));
    }
    let version = match workflow.get("version") {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::String(_)) => v.clone(),
        Some(other) => return Err(ApiError::wrong_type("workflow.version", "a string", other)),
    };
    let state_variables = match workflow.get("state_variables") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(vars)) => {
            check_state_variables(vars)?;
            Value::Object(vars.clone())
        }
        Some(other) => {
            return Err(ApiError::wrong_type(
                "workflow.state_variables",
                "an object",
                other,
            ));
        }
    };
    match workflow.get("tracing") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(other) => return Err(ApiError::wrong_type("workflow.tracing", "an object", other)),
    }

    let lifetime = match body.get("expires_after") {
        None | Some(Value::Null) => DEFAULT_SESSION_SECONDS,
        Some(Value::Object(e)) => {
            check_known(e, "expires_after.", &["anchor", "seconds"])?;
            let anchor = required_string(e, "anchor", "expires_after.anchor")?;
            if anchor != "created_at" {
                return Err(ApiError::invalid(
                    format!("Invalid value: '{anchor}'. Supported values are: 'created_at'."),
                    "expires_after.anchor",
                    Some("invalid_value"),
                ));
            }
            positive_integer(e, "seconds", "expires_after.seconds")?
        }
        Some(other) => return Err(ApiError::wrong_type("expires_after", "an object", other)),
    };

    let per_minute = match body.get("rate_limits") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => {
            check_known(r, "rate_limits.", &["max_requests_per_1_minute"])?;
            match r.get("max_requests_per_1_minute") {
                None | Some(Value::Null) => None,
                Some(_) => Some(positive_integer(
                    r,
                    "max_requests_per_1_minute",
                    "rate_limits.max_requests_per_1_minute",
                )?),
            }
        }
        Some(other) => return Err(ApiError::wrong_type("rate_limits", "an object", other)),
    };

    match body.get("chatkit_configuration") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(other) => {
            return Err(ApiError::wrong_type(
                "chatkit_configuration",
                "an object",
                other,
            ));
        }
    }

    let mut session = template.clone();
    session["id"] = json!(format!("cksess_fake_{n}"));
    session["client_secret"] = json!(format!("ek_fake_{n}"));
    session["expires_at"] = json!(now + lifetime);
    session["user"] = json!(user);
    session["workflow"]["id"] = json!(workflow_id);
    session["workflow"]["version"] = version;
    session["workflow"]["state_variables"] = state_variables;
    if let Some(per_minute) = per_minute {
        session["max_requests_per_1_minute"] = json!(per_minute);
        session["rate_limits"]["max_requests_per_1_minute"] = json!(per_minute);
    }
    Ok(session)
}

fn check_state_variables(vars: &Map<String, Value>) -> Result<(), ApiError> {
    for (key, value) in vars {
        let len = key.chars().count();
        if len > MAX_STATE_KEY_CHARS {
            return Err(ApiError::invalid(
                format!(
                    "Invalid 'workflow.state_variables': key '{short}…' is too long. Expected a key \
                     with maximum length {MAX_STATE_KEY_CHARS}, but got a key with length {len} \
                     instead.",
                    short = key.chars().take(16).collect::<String>()
                ),
                "workflow.state_variables",
                Some("string_above_max_length"),
            ));
        }
        if !(value.is_string() || value.is_boolean() || value.is_number()) {
            return Err(ApiError::invalid(
                format!(
                    "Invalid type for 'workflow.state_variables.{key}': expected one of a string, \
                     a boolean or a number, but got {} instead.",
                    json_type(value)
                ),
                format!("workflow.state_variables.{key}"),
                Some("invalid_type"),
            ));
        }
    }
    Ok(())
}

/// `GET /v1/chatkit/threads/{id}`.
pub(crate) fn get_thread(threads: &Threads, id: &str) -> Result<Value, ApiError> {
    threads
        .get(id)
        .map(|t| t.thread.clone())
        .ok_or_else(|| thread_not_found(id))
}

/// `GET /v1/chatkit/threads/{id}/items`.
pub(crate) fn list_items(
    threads: &Threads,
    id: &str,
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let thread = threads.get(id).ok_or_else(|| thread_not_found(id))?;
    let q = ListQuery::parse(query)?;
    q.page(thread.items.iter().collect())
}

/// `GET /v1/chatkit/threads?user=…`: the threads of one user (all threads
/// without `user`), ordered by creation time.
pub(crate) fn list_threads(threads: &Threads, query: Option<&str>) -> Result<Value, ApiError> {
    let q = ListQuery::parse(query)?;
    if q.user.as_deref() == Some("") {
        return Err(ApiError::invalid(
            "Invalid 'user': empty string. Expected a string with minimum length 1, but got an \
             empty string instead.",
            "user",
            Some("empty_string"),
        ));
    }
    let mut threads: Vec<_> = threads
        .iter()
        .filter(|(_, t)| q.user.as_deref().is_none_or(|u| t.user() == Some(u)))
        .collect();
    threads.sort_by(|(a_id, a), (b_id, b)| (a.created_at(), a_id).cmp(&(b.created_at(), b_id)));
    q.page(threads.into_iter().map(|(_, t)| &t.thread).collect())
}

fn thread_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No thread found with id '{id}'."))
}

/// Sort order of a list call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Asc,
    Desc,
}

/// The cursor parameters shared by the ChatKit list endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListQuery {
    order: Order,
    limit: usize,
    after: Option<String>,
    before: Option<String>,
    user: Option<String>,
}

impl ListQuery {
    /// Defaults as documented: `order=desc`, `limit=20`.
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut q = ListQuery {
            order: Order::Desc,
            limit: 20,
            after: None,
            before: None,
            user: None,
        };
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "order" => {
                    q.order = match value.as_ref() {
                        "asc" => Order::Asc,
                        "desc" => Order::Desc,
                        other => {
                            return Err(ApiError::invalid(
                                format!(
                                    "Invalid value: '{other}'. Supported values are: 'asc' and \
                                     'desc'."
                                ),
                                "order",
                                Some("invalid_value"),
                            ));
                        }
                    }
                }
                "limit" => q.limit = parse_limit(&value)?,
                "after" => q.after = Some(value.into_owned()),
                "before" => q.before = Some(value.into_owned()),
                "user" => q.user = Some(value.into_owned()),
                _ => {}
            }
        }
        Ok(q)
    }

    /// One page of `all` (given oldest first) in the `{"object": "list", …}` shape.
    fn page(&self, mut all: Vec<&Value>) -> Result<Value, ApiError> {
        if self.order == Order::Desc {
            all.reverse();
        }
        let start = match &self.after {
            Some(after) => position(&all, after, "after")? + 1,
            None => 0,
        };
        let end = match &self.before {
            Some(before) => position(&all, before, "before")?,
            None => all.len(),
        };
        let window = all.get(start..end).unwrap_or_default();
        // `after` (or no cursor) pages forward from its cursor; `before`
        // alone returns the entries closest to (just before) its cursor.
        let page = if self.before.is_some() && self.after.is_none() {
            &window[window.len().saturating_sub(self.limit)..]
        } else {
            &window[..window.len().min(self.limit)]
        };
        let id_of = |v: Option<&&Value>| v.and_then(|v| v["id"].as_str()).map(str::to_owned);
        Ok(json!({
            "object": "list",
            "data": page,
            "first_id": id_of(page.first()),
            "last_id": id_of(page.last()),
            "has_more": window.len() > page.len(),
        }))
    }
}

fn position(all: &[&Value], id: &str, param: &str) -> Result<usize, ApiError> {
    all.iter()
        .position(|v| v["id"].as_str() == Some(id))
        .ok_or_else(|| {
            ApiError::invalid(
                format!("Invalid '{param}': no object with id '{id}' in this list."),
                param,
                Some("invalid_value"),
            )
        })
}

fn parse_limit(value: &str) -> Result<usize, ApiError> {
    let Ok(limit) = value.parse::<i64>() else {
        return Err(ApiError::invalid(
            format!("Invalid 'limit': expected an integer, but got '{value}' instead."),
            "limit",
            Some("invalid_type"),
        ));
    };
    if limit < 1 {
        return Err(ApiError::invalid(
            format!(
                "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got \
                 {limit} instead."
            ),
            "limit",
            Some("integer_below_min_value"),
        ));
    }
    if limit > 100 {
        return Err(ApiError::invalid(
            format!(
                "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got \
                 {limit} instead."
            ),
            "limit",
            Some("integer_above_max_value"),
        ));
    }
    Ok(usize::try_from(limit).unwrap_or(100))
}

fn check_known(obj: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<(), ApiError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::unknown(&format!("{prefix}{unknown}"))),
        None => Ok(()),
    }
}

fn required_string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    param: &str,
) -> Result<&'a str, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(param)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ApiError::wrong_type(param, "a string", other)),
    }
}

fn positive_integer(obj: &Map<String, Value>, key: &str, param: &str) -> Result<i64, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(param)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v >= 1 => Ok(v),
            Some(v) => Err(ApiError::invalid(
                format!(
                    "Invalid '{param}': integer below minimum value. Expected a value >= 1, but \
                     got {v} instead."
                ),
                param,
                Some("integer_below_min_value"),
            )),
            None => Err(ApiError::wrong_type(
                param,
                "an integer",
                &Value::Number(n.clone()),
            )),
        },
        Some(other) => Err(ApiError::wrong_type(param, "an integer", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Value> {
        (1..=n).map(|i| json!({"id": format!("i{i}")})).collect()
    }

    fn ids(page: &Value) -> Vec<&str> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|v| v["id"].as_str())
            .collect()
    }

    fn page(all: &[Value], query: &str) -> Value {
        ListQuery::parse(Some(query))
            .expect("query")
            .page(all.iter().collect())
            .expect("page")
    }

    #[test]
    fn default_order_is_newest_first_twenty() {
        let all = items(25);
        let p = page(&all, "");
        assert_eq!(ids(&p).len(), 20);
        assert_eq!(p["first_id"], "i25");
        assert_eq!(p["last_id"], "i6");
        assert_eq!(p["has_more"], true);
    }

    #[test]
    fn before_returns_the_entries_just_before_the_cursor() {
        let all = items(10);
        let p = page(&all, "order=asc&limit=3&before=i8");
        assert_eq!(ids(&p), ["i5", "i6", "i7"]);
        assert_eq!(p["has_more"], true);
        let p = page(&all, "order=asc&limit=3&before=i3");
        assert_eq!(ids(&p), ["i1", "i2"]);
        assert_eq!(p["has_more"], false);
    }

    #[test]
    fn an_empty_page_has_null_ids() {
        let all = items(2);
        let p = page(&all, "order=asc&after=i2");
        assert!(ids(&p).is_empty());
        assert_eq!(p["first_id"], Value::Null);
        assert_eq!(p["last_id"], Value::Null);
        assert_eq!(p["has_more"], false);
    }

    #[test]
    fn an_unknown_cursor_is_refused() {
        let err = ListQuery::parse(Some("after=nope"))
            .expect("query")
            .page(Vec::new())
            .expect_err("unknown cursor");
        assert_eq!(err.param.as_deref(), Some("after"));
    }

    #[test]
    fn a_session_echoes_user_workflow_and_state_variables() {
        let template = json!({"workflow": {"id": "wf_fixture"}, "rate_limits": {}});
        let body = json!({
            "user": "anon_1",
            "workflow": {"id": "wf_abc", "state_variables": {"locale": "en", "open": true, "n": 1.5}},
            "expires_after": {"anchor": "created_at", "seconds": 120},
            "rate_limits": {"max_requests_per_1_minute": 5}
        });
        let s = create_session(&template, &body, 7, 1_000).expect("session");
        assert_eq!(s["client_secret"], "ek_fake_7");
        assert_eq!(s["expires_at"], 1_120);
        assert_eq!(s["user"], "anon_1");
        assert_eq!(s["workflow"]["id"], "wf_abc");
        assert_eq!(s["workflow"]["state_variables"]["open"], true);
        assert_eq!(s["rate_limits"]["max_requests_per_1_minute"], 5);
    }

    #[test]
    fn a_session_with_a_foreign_workflow_id_or_unknown_field_is_refused() {
        let t = json!({});
        let err = create_session(&t, &json!({"user": "u", "workflow": {"id": "abc"}}), 1, 0)
            .expect_err("bad id");
        assert_eq!(err.param.as_deref(), Some("workflow.id"));
        let err = create_session(
            &t,
            &json!({"user": "u", "workflow": {"id": "wf_1"}, "workflow_id": "wf_1"}),
            1,
            0,
        )
        .expect_err("unknown");
        assert_eq!(err.param.as_deref(), Some("workflow_id"));
        let err = create_session(
            &t,
            &json!({"user": "u", "workflow": {"id": "wf_1", "state_variables": {"x": null}}}),
            1,
            0,
        )
        .expect_err("null value");
        assert_eq!(err.param.as_deref(), Some("workflow.state_variables.x"));
    }
}
