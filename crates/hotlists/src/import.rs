//! Hotlist CSV: a header row, then one entry per line. Columns `plate`,
//! `reason` and `priority` (0..10) are required; `source` (default: the
//! importer) and `expires_at` (RFC 3339; empty: never) are optional. Every
//! bad row is reported with its line and field; good rows are still imported.

use chrono::{DateTime, Utc};
use citywatch_model::FieldError;
use citywatch_store::NewHotlistEntry;
use serde::Serialize;

use crate::plate_key;

/// One bad row: its line in the file (the header is line 1) and field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub line: usize,
    pub result: Result<NewHotlistEntry, Vec<FieldError>>,
}

const COLUMNS: [&str; 5] = ["plate", "reason", "priority", "source", "expires_at"];
const LONGEST_TEXT: usize = 500;

/// Parses the file. `Err` only when the file as a whole is unusable (no
/// header, a missing required column, an unknown column).
pub fn parse_csv(bytes: &[u8], default_source: &str, now: DateTime<Utc>) -> Result<Vec<ImportRow>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| format!("cannot read the CSV header: {e}"))?.clone();
    for required in ["plate", "reason", "priority"] {
        if !headers.iter().any(|h| h == required) {
            return Err(format!("the CSV header has no \"{required}\" column (columns: {})", headers.iter().collect::<Vec<_>>().join(", ")));
        }
    }
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(h)) {
        return Err(format!("unknown CSV column {unknown:?}; columns are {}", COLUMNS.join(", ")));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let row = match record {
            Err(e) => ImportRow { line: e.position().map_or(line, |p| p.line() as usize), result: Err(vec![FieldError::new("row", e.to_string())]) },
            Ok(record) => {
                let line = record.position().map_or(line, |p| p.line() as usize);
                let get = |name: &str| headers.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or("");
                ImportRow { line, result: entry(get, default_source, now) }
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

fn entry<'a>(get: impl Fn(&str) -> &'a str, default_source: &str, now: DateTime<Utc>) -> Result<NewHotlistEntry, Vec<FieldError>> {
    let mut errors = Vec::new();
    let plate = get("plate");
    let key = plate_key(plate);
    if !(2..=12).contains(&key.len()) {
        errors.push(FieldError::new("plate", format!("{plate:?} must have 2 to 12 letters or digits")));
    } else if plate.chars().any(|c| !(c.is_ascii_alphanumeric() || c == ' ' || c == '-')) {
        errors.push(FieldError::new("plate", format!("{plate:?} may hold only letters, digits, spaces and hyphens")));
    }
    let reason = get("reason");
    if reason.is_empty() {
        errors.push(FieldError::new("reason", "is required: why the plate is listed"));
    }
    let source = match get("source") {
        "" => default_source,
        s => s,
    };
    for (field, v) in [("reason", reason), ("source", source)] {
        if v.len() > LONGEST_TEXT {
            errors.push(FieldError::new(field, format!("is longer than {LONGEST_TEXT} bytes")));
        }
    }
    let priority = match get("priority").parse::<u8>() {
        Ok(p) if p <= 10 => Some(p),
        _ => {
            errors.push(FieldError::new("priority", format!("{:?} must be an integer 0..10", get("priority"))));
            None
        }
    };
    let expires_at = match get("expires_at") {
        "" => None,
        s => match DateTime::parse_from_rfc3339(s) {
            Ok(t) if t <= now => {
                errors.push(FieldError::new("expires_at", format!("{s:?} is in the past")));
                None
            }
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                errors.push(FieldError::new("expires_at", format!("{s:?} must be an RFC 3339 time, e.g. 2027-01-01T00:00:00Z: {e}")));
                None
            }
        },
    };
    match (errors.is_empty(), priority) {
        (true, Some(priority)) => Ok(NewHotlistEntry { plate: plate.to_owned(), plate_key: key, source: source.to_owned(), reason: reason.to_owned(), priority, expires_at }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_name_their_line_and_field() {
        let csv = b"plate,reason,priority,expires_at\nBG 123-AB,stolen,7,\nNS 1-X,stolen,11,\nZG 1234-AB,,3,2000-01-01T00:00:00Z\n";
        let rows = parse_csv(csv, "me", Utc::now()).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].result.as_ref().unwrap();
        assert_eq!((first.plate_key.as_str(), first.priority, first.source.as_str()), ("BG123AB", 7, "me"));
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].result.as_ref().unwrap_err()[0].field, "priority");
        let third: Vec<_> = rows[2].result.as_ref().unwrap_err().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(third, ["reason", "expires_at"]);
        assert!(parse_csv(b"plate,priority\n", "me", Utc::now()).unwrap_err().contains("\"reason\""));
        assert!(parse_csv(b"plate,reason,priority,colour\n", "me", Utc::now()).unwrap_err().contains("colour"));
    }
}
