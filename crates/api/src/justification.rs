//! The `purpose=` and `case_ref=` query parameters of routes that read
//! sensitive data (playback, plate searches, plate-bearing events and
//! snapshots, unit trails). Absent or blank is `None`, because each route
//! says in its own words what it needs; anything else must be readable text
//! (`citywatch_model::Purpose`/`CaseRef`), or the request is refused with 400
//! before anything is read or recorded.

use std::collections::HashMap;

use citywatch_model::{CaseRef, FieldError, Purpose};

use crate::ApiError;

pub fn purpose_param(params: &HashMap<String, String>) -> Result<Option<Purpose>, ApiError> {
    param(params, "purpose", Purpose::parse)
}

pub fn case_ref_param(params: &HashMap<String, String>) -> Result<Option<CaseRef>, ApiError> {
    param(params, "case_ref", CaseRef::parse)
}

fn param<T>(params: &HashMap<String, String>, name: &str, parse: fn(&str) -> Result<T, FieldError>) -> Result<Option<T>, ApiError> {
    match params.get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).map_err(|e| ApiError::BadRequest(format!("query parameter {e}"))),
    }
}
