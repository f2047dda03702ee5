//! `GET /api/v1/events/{id}/snapshot.jpg`: the picture an analytics event
//! was raised on, with every face pixelated unless the caller holds an
//! unmask grant (`Permission::ViewUnmasked`, a supervisor's, or a
//! per-camera grant from one, [`crate::unmask_grants`]). Each view is
//! audited, saying whether faces were shown. Snapshots of plate-bearing
//! events (plate reads, hotlist hits) also need a purpose and case
//! reference, like the plate search.
//!
//! The API does not know how to find faces: the binary hands it a
//! [`Redactor`] (the analytics crate's face finders). Without one, masked
//! callers are refused (503): a snapshot is never shown unblurred by
//! accident. The redactor also gets the person boxes the event recorded
//! (its own `box` for a person, and `persons`: every person the pipeline
//! detected in that picture), where it looks for faces too small to find
//! in the whole picture. An event without `persons` (a motion-only camera,
//! a plate crop, an event from before the key) was never searched for
//! persons, and the redactor is told so: it looks for them itself.
//!
//! Only the server names snapshots (the API refuses events that do), and
//! an event is served only a file in its own camera's folder of the
//! snapshot directory, links resolved: never another camera's picture.

use std::collections::HashMap;
use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use citywatch_analytics::pipeline::snapshot_folder;
use citywatch_analytics::redact::PersonBoxes;
use citywatch_audit::{Permission, Record};
use citywatch_model::{CaseRef, Purpose, SourceKind};
use serde_json::json;

use crate::auth::{audit, Caller};
use crate::justification::{case_ref_param, purpose_param};
use crate::{ApiError, AppState};

/// JPEG and the persons its event knows in it in, the same picture with
/// faces pixelated out (JPEG).
pub type Redactor = Arc<dyn Fn(&[u8], &PersonBoxes) -> Result<Vec<u8>, String> + Send + Sync>;

/// Where snapshots live and how faces are blurred on the way out.
#[derive(Clone)]
pub struct Snapshots {
    pub dir: PathBuf,
    pub redactor: Option<Redactor>,
}

pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let scope = caller.require(&state, Permission::ReadEvents, "viewing event snapshots").await?;
    let not_found = || ApiError::NotFound(format!("no snapshot for event {id}"));
    let event_id: i64 = id.parse().map_err(|_| not_found())?;
    let events = state.events.clone();
    let event = tokio::task::spawn_blocking(move || events.event(event_id)).await??.ok_or_else(not_found)?;
    // Only camera events carry snapshots; a camera outside the caller's
    // districts is answered as if it did not exist.
    if event.source.kind != SourceKind::Camera || state.registry.snapshot().get(&event.source.id, &scope).is_none() {
        return Err(not_found());
    }
    let name = event.details.get("snapshot").and_then(|s| s.as_str()).ok_or_else(not_found)?;
    let (purpose, case_ref) = (purpose_param(&params)?, case_ref_param(&params)?);
    if event.event_type.carries_plate() && (purpose.is_none() || case_ref.is_none()) {
        return Err(ApiError::BadRequest("a plate read's snapshot needs purpose and case_ref (it is a plate search, audited)".into()));
    }
    let Some(snapshots) = state.snapshots() else {
        return Err(not_found());
    };
    // Only a file in the event's own camera's folder: an event (stored
    // before the API refused snapshot names, or by a part gone wrong) that
    // names another camera's picture must not serve it as its own.
    let folder_name = snapshot_folder(&event.source.id);
    let in_folder = name.strip_prefix(folder_name.as_str()).and_then(|rest| rest.strip_prefix('/')).ok_or_else(not_found)?;
    let folder = snapshots.dir.join(&folder_name);
    let path = inside(&folder, in_folder).ok_or_else(not_found)?;
    let bytes = read_within(&folder, &path).await.ok_or_else(not_found)?;
    // The unmask grant must reach this camera's district too.
    let by_role = caller.0.scope(Permission::ViewUnmasked).is_some_and(|s| s.covers(event.district.as_deref()));
    // Or a supervisor's grant naming this camera for this caller.
    let grant = if by_role { None } else { crate::unmask_grants::grant_for(&state, caller.name(), &event.source.id).await };
    let unmasked = by_role || grant.is_some();
    let body = if unmasked {
        bytes
    } else {
        let redactor = snapshots.redactor.clone().ok_or_else(|| {
            ApiError::Unavailable("faces cannot be blurred on this server (no face model: run `citywatch models install`), so snapshots are shown only to holders of an unmask grant".into())
        })?;
        let persons = person_boxes(&event.details);
        tokio::task::spawn_blocking(move || redactor(&bytes, &persons))
            .await?
            .map_err(|e| ApiError::Internal(format!("blurring faces in the snapshot: {e}")))?
    };
    let record = Record::new(caller.name(), "event.snapshot", format!("event {event_id}"))
        .purpose(purpose.map(Purpose::into_string), case_ref.map(CaseRef::into_string))
        .detail(json!({"camera": event.source.id, "faces": if unmasked { "shown" } else { "blurred" }, "unmask_grant": grant}));
    audit(&state, record).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, no-store")], body).into_response())
}

/// The person boxes an event's details name: its own `box` when it is
/// about a person, and its picture's `persons`, whose presence (even
/// empty) says detection ran on the picture. Malformed entries are
/// skipped (CenterFace still covers the whole picture).
fn person_boxes(details: &serde_json::Value) -> PersonBoxes {
    let as_box = |v: &serde_json::Value| -> Option<[f32; 4]> {
        let a = v.as_array().filter(|a| a.len() == 4)?;
        let mut b = [0.0f32; 4];
        for (o, v) in b.iter_mut().zip(a) {
            *o = v.as_f64().filter(|f| f.is_finite())? as f32;
        }
        Some(b)
    };
    let own = (details.get("class").and_then(|c| c.as_str()) == Some("person")).then(|| details.get("box").and_then(as_box)).flatten();
    let persons = details.get("persons").and_then(|p| p.as_array());
    let others = persons.into_iter().flatten().filter_map(as_box);
    PersonBoxes { boxes: own.into_iter().chain(others).collect(), searched: persons.is_some() }
}

/// The file at `path` if, with every link resolved, it is a file inside
/// `folder` (a link placed in the folder must not lead out of it).
async fn read_within(folder: &FsPath, path: &FsPath) -> Option<Vec<u8>> {
    let (folder, path) = (tokio::fs::canonicalize(folder).await.ok()?, tokio::fs::canonicalize(path).await.ok()?);
    if !path.starts_with(&folder) || !tokio::fs::metadata(&path).await.ok()?.is_file() {
        return None;
    }
    tokio::fs::read(&path).await.ok()
}

/// `name` below `dir`, refusing anything that could leave it.
fn inside(dir: &FsPath, name: &str) -> Option<PathBuf> {
    let rel = FsPath::new(name);
    let mut parts = rel.components().peekable();
    (parts.peek().is_some() && parts.all(|c| matches!(c, Component::Normal(_)))).then(|| dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_boxes_come_from_the_event_and_its_picture() {
        let d = json!({"class": "person", "box": [0.1, 0.2, 0.3, 0.4], "persons": [[0.5, 0.5, 0.6, 0.9], [1, 2], "x", [0.0, 0.0, 0.1, null]]});
        assert_eq!(person_boxes(&d), PersonBoxes { boxes: vec![[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.6, 0.9]], searched: true });
        // A car's box is not a person's; detection ran and saw no one.
        assert_eq!(person_boxes(&json!({"class": "car", "box": [0.1, 0.2, 0.3, 0.4], "persons": []})), PersonBoxes { boxes: vec![], searched: true });
        // No `persons` key: nobody looked (motion only, a plate crop), whatever the event's own box.
        assert_eq!(person_boxes(&json!({"fraction": 0.2})), PersonBoxes { boxes: vec![], searched: false });
        assert_eq!(person_boxes(&json!({"class": "person", "box": [0.1, 0.2, 0.3, 0.4]})), PersonBoxes { boxes: vec![[0.1, 0.2, 0.3, 0.4]], searched: false });
        // Not an array is not a search.
        assert!(!person_boxes(&json!({"persons": "none"})).searched);
    }

    #[test]
    fn snapshot_names_cannot_leave_the_directory() {
        let dir = FsPath::new("/data/snapshots");
        assert_eq!(inside(dir, "cam-1/2026-11-27/10-00-00-1.jpg"), Some(dir.join("cam-1/2026-11-27/10-00-00-1.jpg")));
        for bad in ["../citywatch.db", "/etc/passwd", "cam/../../x.jpg", "", "./x.jpg"] {
            assert_eq!(inside(dir, bad), None, "{bad}");
        }
    }
}
