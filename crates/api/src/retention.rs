//! `/api/v1/cameras/{id}/retention`: a camera's own retention limits, which
//! replace the configured defaults (`[retention]` in citywatch.toml) for
//! that camera. `null` means "the default". A change commits with its
//! audit entry (the limits before and after).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use citywatch_audit::{PendingEntry, Permission, Record};
use citywatch_model::recordings::RetentionOverride;
use citywatch_model::FieldError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{body, ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    max_age_days: Option<i64>,
    max_bytes: Option<i64>,
}

fn limits_json(camera_id: &str, o: Option<&RetentionOverride>) -> Value {
    json!({"camera_id": camera_id, "max_age_days": o.and_then(|o| o.max_age_days), "max_bytes": o.and_then(|o| o.max_bytes)})
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ReadCameras, "reading retention limits").await?;
    if state.registry.snapshot().get(&id, &scope).is_none() {
        return Err(ApiError::NotFound(format!("camera {id} not found")));
    }
    let (index, cam) = (state.recording_index.clone(), id.clone());
    let o = tokio::task::spawn_blocking(move || index.retention_override(&cam)).await??;
    Ok(Json(limits_json(&id, o.as_ref())))
}

pub async fn put(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::ManageCameras, "changing retention limits").await?;
    let b: LimitsBody = body::json_typed(&bytes)?;
    let mut errors = Vec::new();
    if b.max_age_days.is_some_and(|d| d <= 0) {
        errors.push(FieldError::new("max_age_days", "must be a positive number of days, or null for the default"));
    }
    if b.max_bytes.is_some_and(|n| n <= 0) {
        errors.push(FieldError::new("max_bytes", "must be a positive number of bytes, or null for the default"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if state.registry.snapshot().get(&id, &scope).is_none() {
        return Err(ApiError::NotFound(format!("camera {id} not found")));
    }
    let new = RetentionOverride { camera_id: id.clone(), max_age_days: b.max_age_days, max_bytes: b.max_bytes };
    let (index, log, actor, n) = (state.recording_index.clone(), state.audit.clone(), caller.name().to_owned(), new.clone());
    tokio::task::spawn_blocking(move || {
        // The entry holds the limits replaced, read inside the change's
        // transaction: it commits with the change or not at all.
        let record = |before: &Option<RetentionOverride>| {
            let detail = json!({"before": limits_json(&n.camera_id, before.as_ref()), "after": limits_json(&n.camera_id, Some(&n))});
            Record::new(actor, "camera.retention", &n.camera_id).detail(detail)
        };
        let (_, row) = index.set_retention_override(&n, PendingEntry::after(record))?;
        log.appended(&row);
        Ok::<_, citywatch_model::RepoError>(())
    })
    .await??;
    Ok(Json(limits_json(&id, Some(&new))))
}
