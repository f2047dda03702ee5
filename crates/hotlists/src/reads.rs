//! [`PlateReads`]: what the analytics pipeline calls for every plate it
//! reads. The read is stored, raised as a `plate_read` event, checked
//! against every hotlist, and each non-expired entry of that plate raises a
//! `hotlist_hit` event carrying the entry's priority (which rules match on).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use citywatch_audit::{AuditLog, PendingEntry, Record};
use citywatch_events::Events;
use citywatch_model::plates::{HotlistEntry, NewPlateRead, PlatePurge, PlateRead, PlateReadFilter};
use citywatch_model::{Event, EventType, FieldError, Location, NewEvent, Source};
use citywatch_registry::Registry;
use serde_json::json;

use crate::repo::PlateRepo;
use crate::{plate_key, HotlistError};

/// One read from a camera.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadInput {
    pub camera_id: String,
    pub time: DateTime<Utc>,
    /// The plate as read, e.g. `"BG 123-AB"`.
    pub plate: String,
    /// 0..1.
    pub confidence: f32,
    /// Where the vehicle was; `None`: the camera's position.
    pub location: Option<Location>,
    /// The vehicle's track in the camera's analytics.
    pub track_id: Option<i64>,
    /// Where the plate crop is kept (e.g. a snapshot path), if anywhere.
    pub crop_ref: Option<String>,
}

/// A hotlist entry the read matched and the event it raised.
#[derive(Debug, Clone)]
pub struct Hit {
    pub entry: HotlistEntry,
    pub event: Event,
}

#[derive(Debug, Clone)]
pub struct RecordedRead {
    pub read_id: i64,
    pub event: Event,
    pub hits: Vec<Hit>,
}

pub struct PlateReads {
    repo: Arc<dyn PlateRepo>,
    registry: Arc<Registry>,
    events: Arc<Events>,
}

impl PlateReads {
    pub fn new(repo: Arc<dyn PlateRepo>, registry: Arc<Registry>, events: Arc<Events>) -> PlateReads {
        PlateReads { repo, registry, events }
    }

    /// The hotlists and reads as stored, for the API's hotlist screens
    /// (which decide who sees a covert list).
    pub fn repo(&self) -> &Arc<dyn PlateRepo> {
        &self.repo
    }

    /// Records one read: events first (so the stored read names its event),
    /// then the row. Waits until the events are committed and the rules ran.
    pub async fn record(&self, r: ReadInput) -> Result<RecordedRead, HotlistError> {
        self.record_with(r, serde_json::Map::new()).await
    }

    /// [`record`](Self::record), with more details for both events (the
    /// analytics pipeline's boxes, vehicle class, and `snapshot`: the plate
    /// crop, which the API serves like any plate-bearing snapshot). They
    /// never replace the read's own fields.
    pub async fn record_with(&self, r: ReadInput, extra: serde_json::Map<String, serde_json::Value>) -> Result<RecordedRead, HotlistError> {
        let key = plate_key(&r.plate);
        let mut errors = Vec::new();
        if !(2..=12).contains(&key.len()) {
            errors.push(FieldError::new("plate", format!("{:?} must have 2 to 12 letters or digits", r.plate)));
        }
        if !(0.0..=1.0).contains(&r.confidence) {
            errors.push(FieldError::new("confidence", "must be between 0 and 1"));
        }
        if !errors.is_empty() {
            return Err(HotlistError::Invalid(errors));
        }
        let (repo, k, now) = (self.repo.clone(), key.clone(), Utc::now());
        let entries = tokio::task::spawn_blocking(move || repo.active_hotlist_entries(&k, now)).await.map_err(|e| HotlistError::Join(e.to_string()))??;
        let mut base = json!({"plate": r.plate, "confidence": r.confidence, "track_id": r.track_id, "crop_ref": r.crop_ref});
        if let Some(obj) = base.as_object_mut() {
            for (k, v) in extra {
                obj.entry(k).or_insert(v);
            }
        }
        let event = self
            .events
            .raise(NewEvent {
                event_type: EventType::PlateRead,
                time: r.time,
                source: Source::camera(&r.camera_id),
                location: r.location,
                details: base.clone(),
            })
            .await?;
        let mut hits = Vec::new();
        for entry in entries {
            let mut details = base.clone();
            details["priority"] = json!(entry.priority);
            details["read_event_id"] = json!(event.id);
            details["entry_id"] = json!(entry.id);
            details["covert"] = json!(entry.covert);
            // A covert list's name and reason stay with the supervisors who may see the list.
            if !entry.covert {
                details["list"] = json!(entry.list);
                details["reason"] = json!(entry.reason);
                details["hotlist_source"] = json!(entry.source);
            }
            let hit = self
                .events
                .raise(NewEvent { event_type: EventType::HotlistHit, time: r.time, source: Source::camera(&r.camera_id), location: r.location, details })
                .await?;
            hits.push(Hit { entry, event: hit });
        }
        let district = self.registry.snapshot().cameras.get(&r.camera_id).and_then(|c| c.district.clone());
        let row = NewPlateRead {
            time: event.time,
            camera_id: r.camera_id,
            district,
            plate: r.plate,
            plate_key: key,
            confidence: r.confidence,
            lat: event.location.map(|l| l.lat),
            lon: event.location.map(|l| l.lon),
            track_id: r.track_id,
            crop_ref: r.crop_ref,
            event_id: Some(event.id),
            hit: !hits.is_empty(),
        };
        let repo = self.repo.clone();
        let read_id = tokio::task::spawn_blocking(move || repo.add_plate_read(&row)).await.map_err(|e| HotlistError::Join(e.to_string()))??;
        Ok(RecordedRead { read_id, event, hits })
    }

    /// Plate history (blocking).
    pub fn search(&self, filter: &PlateReadFilter) -> Result<Vec<PlateRead>, HotlistError> {
        Ok(self.repo.plate_reads(filter)?)
    }

    /// Deletes reads that hit nothing and are older than `window` at `now`
    /// (blocking); whenever anything was deleted, its audit entry
    /// (`plate_read.purge`, with the counts) commits with the deletion.
    pub fn purge_audited(&self, audit: &AuditLog, window: chrono::Duration, now: DateTime<Utc>) -> Result<PlatePurge, HotlistError> {
        let before = now - window;
        let record = move |purged: &PlatePurge| {
            let detail = json!({"reads": purged.reads, "events": purged.events, "window_s": window.num_seconds(), "before": before});
            Record::new("citywatch", "plate_read.purge", "plate_reads").detail(detail)
        };
        let (purged, row) = self.repo.purge_plate_reads(before, PendingEntry::after(record))?;
        if let Some(row) = row {
            audit.appended(&row);
        }
        Ok(purged)
    }
}
