//! `/api/v1/plates/search`: plate history. Where a vehicle was is personal
//! data, so every search needs a purpose and a case reference and is
//! audited with them; it reaches only cameras in the caller's districts.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{Permission, Record};
use citywatch_hotlists::search_pattern;
use citywatch_model::plates::{PlateRead, PlateReadFilter};
use citywatch_model::FieldError;
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::events::{check_params, district_filter, limit_param};
use crate::justification::{case_ref_param, purpose_param};
use crate::{ApiError, AppState};

fn read_json(r: &PlateRead) -> Value {
    let x = &r.read;
    json!({
        "id": r.id, "time": x.time, "camera_id": x.camera_id, "district": x.district, "plate": x.plate, "confidence": x.confidence,
        "location": x.lat.zip(x.lon).map(|(lat, lon)| json!({"lat": lat, "lon": lon})),
        "track_id": x.track_id, "crop_ref": x.crop_ref, "event_id": x.event_id, "hotlist_hit": x.hit,
    })
}

pub async fn search(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::SearchPlates, "searching plate history").await?;
    check_params(&params, &["plate", "start", "end", "purpose", "case_ref", "limit"])?;
    let (purpose, case_ref) = match (purpose_param(&params)?, case_ref_param(&params)?) {
        (Some(purpose), Some(case_ref)) => (purpose, case_ref),
        (purpose, _) => {
            let missing = if purpose.is_none() { "purpose" } else { "case_ref" };
            return Err(ApiError::BadRequest(format!(
                "a plate search needs a purpose and a case_ref (query parameters purpose= and case_ref=; {missing} is missing); they are recorded in the audit log"
            )));
        }
    };
    let mut errors = Vec::new();
    let pattern = match params.get("plate").map(|p| search_pattern(p)) {
        Some(Some(p)) => Some(p),
        _ => {
            errors.push(FieldError::new("plate", "is required: letters and digits of the plate, '*' for any characters (e.g. BG 12*)"));
            None
        }
    };
    let mut time = |name: &str| {
        params.get(name).and_then(|v| match DateTime::parse_from_rfc3339(v) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                errors.push(FieldError::new(name, format!("must be an RFC 3339 time, e.g. 2026-11-27T08:00:00Z: {e}")));
                None
            }
        })
    };
    let (start, end) = (time("start"), time("end"));
    let limit = limit_param(&params, &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(FieldError::new("end", "must be after start"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let pattern = pattern.unwrap_or_default();
    let filter = PlateReadFilter { pattern: pattern.clone(), start, end, districts: district_filter(&scope), limit };
    let repo = state.plates.repo().clone();
    let reads = tokio::task::spawn_blocking(move || repo.plate_reads(&filter)).await??;
    let record = Record::new(caller.name(), "plate.search", &pattern)
        .purpose(Some(purpose.into_string()), Some(case_ref.into_string()))
        .detail(json!({"plate": params.get("plate"), "start": start, "end": end, "results": reads.len()}));
    audit(&state, record).await?;
    Ok(Json(json!({"reads": reads.iter().map(read_json).collect::<Vec<_>>()})))
}
