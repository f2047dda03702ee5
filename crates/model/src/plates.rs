//! Hotlists and plate reads as the hotlists crate and its repositories
//! speak of them: named lists of plates (a list may be covert), their
//! entries, and every plate a camera read.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotlist {
    pub name: String,
    pub covert: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Entries, expired ones included.
    pub entries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHotlistEntry {
    /// As written in the import, for display.
    pub plate: String,
    /// Normalised (A-Z, 0-9 only): what reads are matched on.
    pub plate_key: String,
    pub source: String,
    pub reason: String,
    /// 0 (lowest) .. 10.
    pub priority: u8,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotlistEntry {
    pub id: i64,
    pub list: String,
    pub covert: bool,
    pub plate: String,
    pub plate_key: String,
    pub source: String,
    pub reason: String,
    pub priority: u8,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl HotlistEntry {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPlateRead {
    pub time: DateTime<Utc>,
    pub camera_id: String,
    pub district: Option<String>,
    /// As read (normalised to its country's format where one matched).
    pub plate: String,
    /// A-Z, 0-9 only: what searches and hotlists match on.
    pub plate_key: String,
    pub confidence: f32,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub track_id: Option<i64>,
    pub crop_ref: Option<String>,
    /// The `plate_read` event raised for it.
    pub event_id: Option<i64>,
    /// It matched a hotlist entry: kept past the purge window.
    pub hit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlateRead {
    pub id: i64,
    pub read: NewPlateRead,
}

/// What a plate-history search asks for.
#[derive(Debug, Clone, Default)]
pub struct PlateReadFilter {
    /// A normalised plate where `*` stands for any characters.
    pub pattern: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Only these districts (`None`: all, reads without a district included).
    pub districts: Option<Vec<String>>,
    pub limit: usize,
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlatePurge {
    pub reads: usize,
    /// Their `plate_read` events (those not part of an alert).
    pub events: usize,
}
