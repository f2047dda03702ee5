//! Request bodies are parsed here rather than by axum's `Json` extractor so
//! that every malformed body gets a message saying where and what.

use axum::body::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ApiError;

pub fn json_value(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::BadRequest("request body is empty; expected JSON".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("request body is not valid JSON: {e}")))
}

pub fn json_object(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match json_value(bytes)? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::BadRequest("request body must be a JSON object".into())),
    }
}

/// For small fixed shapes declared with `#[serde(deny_unknown_fields)]`:
/// serde's message names the unknown or missing field.
pub fn json_typed<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let v = json_value(bytes)?;
    serde_json::from_value(v).map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
}
