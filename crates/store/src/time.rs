use chrono::{DateTime, SecondsFormat, Utc};

use crate::StoreError;

/// Fixed-width RFC 3339 in UTC, so text order is time order.
pub(crate) fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn from_text(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| StoreError::Corrupt(format!("bad timestamp {s:?}: {e}")))
}
