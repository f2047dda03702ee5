//! Hotlist CSV: a header row, then one entry per line. Columns `plate`,
//! `reason` and `priority` (0..10) are required; `source` (default: the
//! importer) and `expires_at` (RFC 3339; empty: never) are optional. Every
//! bad row is reported with its line and field (the first
//! [`ImportLimits::max_errors`] problems in full, all of them counted); good
//! rows are still imported.

use chrono::{DateTime, Utc};
use citywatch_model::{FieldError, ImportLimits, ImportRefusal, RowErrors};
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

/// What a file holds: its good entries, and its bad rows' problems (the
/// first ones in full, all of them counted).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedHotlist {
    /// Rows read (good and bad).
    pub rows: usize,
    pub good: Vec<NewHotlistEntry>,
    pub errors: RowErrors<RowError>,
}

const COLUMNS: [&str; 5] = ["plate", "reason", "priority", "source", "expires_at"];
const LONGEST_TEXT: usize = 500;

/// Reads the file one row at a time: only good entries and the first
/// `limits.max_errors` problems are kept, whatever the file holds. `Err`
/// when the file as a whole is unusable (no header, a missing required
/// column, an unknown column) or holds more than `limits.max_rows` rows.
pub fn parse_csv(input: impl std::io::Read, default_source: &str, now: DateTime<Utc>, limits: ImportLimits) -> Result<ParsedHotlist, ImportRefusal> {
    let unusable = ImportRefusal::Unusable;
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().map_err(|e| unusable(format!("cannot read the CSV header: {e}")))?.clone();
    for required in ["plate", "reason", "priority"] {
        if !headers.iter().any(|h| h == required) {
            return Err(unusable(format!("the CSV header has no \"{required}\" column (columns: {})", headers.iter().collect::<Vec<_>>().join(", "))));
        }
    }
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(h)) {
        return Err(unusable(format!("unknown CSV column {unknown:?}; columns are {}", COLUMNS.join(", "))));
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let columns: Vec<Option<usize>> = COLUMNS.iter().map(|c| column(c)).collect();
    let mut parsed = ParsedHotlist { rows: 0, good: Vec::new(), errors: RowErrors::new(limits.max_errors) };
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() as usize;
        let problems = match reader.read_record(&mut record) {
            Ok(false) => break,
            Err(e) => {
                // A malformed row (unequal columns, bad UTF-8): the reader goes on with the next.
                let line = e.position().map_or(line, |p| p.line() as usize);
                vec![RowError { line, field: "row".into(), reason: e.to_string() }]
            }
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line() as usize);
                let get = |name: &str| COLUMNS.iter().position(|c| *c == name).and_then(|i| columns[i]).and_then(|i| record.get(i)).unwrap_or("");
                match entry(get, default_source, now) {
                    Ok(e) => {
                        parsed.good.push(e);
                        Vec::new()
                    }
                    Err(fields) => fields.into_iter().map(|f| RowError { line, field: f.field, reason: f.reason }).collect(),
                }
            }
        };
        parsed.rows += 1;
        if parsed.rows > limits.max_rows {
            return Err(ImportRefusal::TooManyRows { max: limits.max_rows });
        }
        if !problems.is_empty() {
            parsed.errors.push_row(problems);
        }
    }
    Ok(parsed)
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
        (true, Some(priority)) => {
            Ok(NewHotlistEntry { plate: plate.to_owned(), plate_key: key, source: source.to_owned(), reason: reason.to_owned(), priority, expires_at })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &[u8]) -> Result<ParsedHotlist, ImportRefusal> {
        parse_csv(csv, "me", Utc::now(), ImportLimits::default())
    }

    #[test]
    fn bad_rows_name_their_line_and_field() {
        let csv = b"plate,reason,priority,expires_at\nBG 123-AB,stolen,7,\nNS 1-X,stolen,11,\nZG 1234-AB,,3,2000-01-01T00:00:00Z\n";
        let parsed = parse(csv).unwrap();
        assert_eq!((parsed.rows, parsed.good.len(), parsed.errors.bad_rows), (3, 1, 2));
        let first = &parsed.good[0];
        assert_eq!((first.plate_key.as_str(), first.priority, first.source.as_str()), ("BG123AB", 7, "me"));
        let errors: Vec<_> = parsed.errors.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errors, [(3, "priority"), (4, "reason"), (4, "expires_at")]);
        assert!(parse(b"plate,priority\n").unwrap_err().to_string().contains("\"reason\""));
        assert!(parse(b"plate,reason,priority,colour\n").unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn rows_past_the_cap_refuse_the_file_and_errors_past_the_cap_are_counted() {
        let limits = ImportLimits { max_rows: 3, max_errors: 2 };
        let bad = b"plate,reason,priority\n$,,x\n$,,x\n$,,x\n";
        let parsed = parse_csv(&bad[..], "me", Utc::now(), limits).unwrap();
        assert_eq!((parsed.errors.errors.len(), parsed.errors.error_count, parsed.errors.bad_rows), (2, 9, 3));
        let four = b"plate,reason,priority\nAB1,x,1\nAB2,x,1\nAB3,x,1\nAB4,x,1\n";
        assert_eq!(parse_csv(&four[..], "me", Utc::now(), limits).unwrap_err(), ImportRefusal::TooManyRows { max: 3 });
    }
}
