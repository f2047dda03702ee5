//! `/api/v1/procedures`: per incident type, the ordered checklist a new
//! incident of that type starts with. Changing one does not touch the
//! checklists of incidents already created.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use citywatch_audit::{Permission, Record};
use citywatch_model::dispatch::Procedure;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::{body, ApiError, AppState};

/// Read by those who run incidents, and by those who write the procedures
/// (an administrator edits them without reading any incident).
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_either(&state, Permission::ReadDispatch, Permission::ManageProcedures, "listing procedures").await?;
    let d = state.dispatch.clone();
    let procedures = tokio::task::spawn_blocking(move || d.procedures()).await??;
    Ok(Json(json!(procedures)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcedureBody {
    steps: Vec<String>,
}

pub async fn put(State(state): State<AppState>, caller: Caller, Path(incident_type): Path<String>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ManageProcedures, "defining procedures").await?;
    let b: ProcedureBody = body::json_typed(&bytes)?;
    let p = Procedure { incident_type, steps: b.steps.iter().map(|s| s.trim().to_owned()).collect() };
    let (d, log, p2) = (state.dispatch.clone(), state.audit.clone(), p.clone());
    let record = Record::new(caller.name(), "procedure.put", &p.incident_type).detail(json!({"steps": p.steps}));
    tokio::task::spawn_blocking(move || d.put_procedure(&p2, &log, record)).await??;
    Ok(Json(json!(p)))
}
