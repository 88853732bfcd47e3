//! `POST /v1/responses`: the checks the real API makes on a structured-output
//! request, including its strict-schema rules.

use serde_json::{Map, Value};

use crate::api_error::ApiError;

/// Request fields the Responses API knows; anything else is refused as the
/// real API does (`unknown_parameter`).
const KNOWN_FIELDS: &[&str] = &[
    "background",
    "conversation",
    "include",
    "input",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];

/// Smallest `max_output_tokens` the API accepts.
const MIN_OUTPUT_TOKENS: i64 = 16;

/// Validates a Responses request that asks for strict JSON-schema output.
pub(crate) fn validate(body: &Value) -> Result<(), ApiError> {
    let Some(body) = body.as_object() else {
        return Err(ApiError::wrong_type("body", "an object", body));
    };
    if let Some(unknown) = body.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::unknown(unknown));
    }
    match body.get("model") {
        None | Some(Value::Null) => return Err(ApiError::missing("model")),
        Some(Value::String(m)) if !m.is_empty() => {}
        Some(other) => return Err(ApiError::wrong_type("model", "a non-empty string", other)),
    }
    match body.get("input") {
        None | Some(Value::Null) => return Err(ApiError::missing("input")),
        Some(Value::String(_) | Value::Array(_)) => {}
        Some(other) => {
            return Err(ApiError::wrong_type("input", "a string or an array", other));
        }
    }
    match body.get("instructions") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(other) => return Err(ApiError::wrong_type("instructions", "a string", other)),
    }
    match body.get("max_output_tokens") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64().is_some() => {
            let n = n.as_i64().unwrap_or_default();
            if n < MIN_OUTPUT_TOKENS {
                return Err(ApiError::invalid(
                    format!(
                        "Invalid 'max_output_tokens': integer below minimum value. Expected a \
                         value >= {MIN_OUTPUT_TOKENS}, but got {n} instead."
                    ),
                    "max_output_tokens",
                    Some("integer_below_min_value"),
                ));
            }
        }
        Some(other) => {
            return Err(ApiError::wrong_type(
                "max_output_tokens",
                "an integer",
                other,
            ));
        }
    }
    let format = text_format(body)?;
    let name = match format.get("name") {
        None | Some(Value::Null) => return Err(ApiError::missing("text.format.name")),
        Some(Value::String(n)) => n,
        Some(other) => return Err(ApiError::wrong_type("text.format.name", "a string", other)),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(ApiError::invalid(
            format!(
                "Invalid 'text.format.name': string does not match pattern. Expected a string \
                 that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$', but got '{name}' instead."
            ),
            "text.format.name",
            Some("invalid_value"),
        ));
    }
    if format.get("strict") != Some(&Value::Bool(true)) {
        // The fake only serves strict structured output; the product never
        // asks for anything else (SPEC §8).
        return Err(ApiError::invalid(
            "Invalid 'text.format.strict': this fake only answers strict json_schema requests \
             (expected true).",
            "text.format.strict",
            Some("invalid_value"),
        ));
    }
    let schema = match format.get("schema") {
        None | Some(Value::Null) => return Err(ApiError::missing("text.format.schema")),
        Some(Value::Object(s)) => s,
        Some(other) => {
            return Err(ApiError::wrong_type(
                "text.format.schema",
                "an object",
                other,
            ));
        }
    };
    if !is_object_schema(schema) {
        return Err(schema_error(
            name,
            "schema must be a JSON Schema of 'type: \"object\"'.",
        ));
    }
    check_strict(schema, &mut Vec::new()).map_err(|why| schema_error(name, &why))
}

fn text_format(body: &Map<String, Value>) -> Result<&Map<String, Value>, ApiError> {
    let text = match body.get("text") {
        None | Some(Value::Null) => return Err(ApiError::missing("text.format")),
        Some(Value::Object(t)) => t,
        Some(other) => return Err(ApiError::wrong_type("text", "an object", other)),
    };
    let format = match text.get("format") {
        None | Some(Value::Null) => return Err(ApiError::missing("text.format")),
        Some(Value::Object(f)) => f,
        Some(other) => return Err(ApiError::wrong_type("text.format", "an object", other)),
    };
    match format.get("type") {
        Some(Value::String(t)) if t == "json_schema" => Ok(format),
        None | Some(Value::Null) => Err(ApiError::missing("text.format.type")),
        Some(other) => Err(ApiError::invalid(
            format!(
                "Invalid value: {other}. This fake only answers text.format.type 'json_schema'."
            ),
            "text.format.type",
            Some("invalid_value"),
        )),
    }
}

fn schema_error(name: &str, why: &str) -> ApiError {
    ApiError::invalid(
        format!("Invalid schema for response_format '{name}': {why}"),
        "text.format.schema",
        Some("invalid_json_schema"),
    )
}

fn is_object_schema(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => schema.contains_key("properties"),
    }
}

/// The strict-mode rules: every object schema, at any depth, sets
/// `additionalProperties: false` and lists every property in `required`
/// (and nothing else).
fn check_strict(schema: &Map<String, Value>, context: &mut Vec<String>) -> Result<(), String> {
    if is_object_schema(schema) {
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(format!(
                "In context={}, 'additionalProperties' is required to be supplied and to be false.",
                context_str(context)
            ));
        }
        let empty = Map::new();
        let properties = match schema.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => {
                return Err(format!(
                    "In context={}, 'properties' must be an object.",
                    context_str(context)
                ));
            }
        };
        let required: Vec<&str> = match schema.get("required") {
            None if properties.is_empty() => Vec::new(),
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            _ => {
                return Err(format!(
                    "In context={}, 'required' is required to be supplied and to be an array \
                     including every key in properties.",
                    context_str(context)
                ));
            }
        };
        if let Some(missing) = properties.keys().find(|k| !required.contains(&k.as_str())) {
            return Err(format!(
                "In context={}, 'required' is required to be supplied and to be an array \
                 including every key in properties. Missing '{missing}'.",
                context_str(context)
            ));
        }
        if let Some(extra) = required.iter().find(|k| !properties.contains_key(**k)) {
            return Err(format!(
                "In context={}, Extra required key '{extra}' supplied.",
                context_str(context)
            ));
        }
        for (key, sub) in properties {
            check_sub(sub, context, &["properties", key])?;
        }
    }
    if let Some(items) = schema.get("items") {
        check_sub(items, context, &["items"])?;
    }
    for keyword in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(subs)) = schema.get(keyword) {
            for (i, sub) in subs.iter().enumerate() {
                check_sub(sub, context, &[keyword, &i.to_string()])?;
            }
        }
    }
    for keyword in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = schema.get(keyword) {
            for (key, sub) in defs {
                check_sub(sub, context, &[keyword, key])?;
            }
        }
    }
    Ok(())
}

fn check_sub(sub: &Value, context: &mut Vec<String>, path: &[&str]) -> Result<(), String> {
    let Value::Object(sub) = sub else {
        return Ok(());
    };
    let depth = context.len();
    context.extend(path.iter().map(|p| (*p).to_owned()));
    let result = check_strict(sub, context);
    context.truncate(depth);
    result
}

/// Python-tuple style, as the real error messages print it: `('properties', 'x')`.
fn context_str(context: &[String]) -> String {
    let parts: Vec<String> = context.iter().map(|p| format!("'{p}'")).collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(schema: Value) -> Value {
        json!({
            "model": "gpt-5.2-2025-12-11",
            "input": "Customer: hi",
            "text": {"format": {"type": "json_schema", "name": "lead_summary", "strict": true, "schema": schema}}
        })
    }

    #[test]
    fn nested_objects_must_be_strict_too() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "array", "items": {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]}}}
        });
        let err = validate(&request(schema)).expect_err("nested not strict");
        assert!(
            err.message.contains("context=('properties', 'a', 'items')"),
            "{}",
            err.message
        );
        assert!(err.message.contains("additionalProperties"));
    }

    #[test]
    fn an_extra_required_key_is_refused() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "required": ["a", "z"],
            "properties": {"a": {"type": "string"}}
        });
        let err = validate(&request(schema)).expect_err("extra required");
        assert!(err.message.contains("Extra required key 'z'"));
    }

    #[test]
    fn an_any_of_branch_is_checked() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {}, "additionalProperties": true}]}}
        });
        let err = validate(&request(schema)).expect_err("anyOf branch");
        assert!(err.message.contains("('properties', 'a', 'anyOf', '1')"));
    }

    #[test]
    fn an_unknown_field_or_a_tiny_token_budget_is_refused() {
        let mut body =
            request(json!({"type": "object", "additionalProperties": false, "properties": {}}));
        body["response_format"] = json!({});
        assert_eq!(
            validate(&body).expect_err("unknown").param.as_deref(),
            Some("response_format")
        );
        let mut body =
            request(json!({"type": "object", "additionalProperties": false, "properties": {}}));
        body["max_output_tokens"] = json!(5);
        assert_eq!(
            validate(&body).expect_err("budget").param.as_deref(),
            Some("max_output_tokens")
        );
    }

    #[test]
    fn the_root_must_be_an_object_schema() {
        let err = validate(&request(
            json!({"type": "array", "items": {"type": "string"}}),
        ))
        .expect_err("array root");
        assert_eq!(err.param.as_deref(), Some("text.format.schema"));
    }
}
