//! `GET /api/v1/audit`: auditors page through the log, filtered on the
//! server; `/audit/verify` checks the chain and the signed checkpoints;
//! `/audit/export` hands a filtered range to a court or a data-protection
//! authority with the checkpoint that covers it. Reading, verifying and
//! exporting are themselves recorded. There is no route that changes or
//! deletes entries.
//!
//! A walk through the log has a fixed end: the first page answers the
//! log's `head_seq` at that moment, later pages pass it back and never go
//! past it, and the last page answers `next_after_seq: null`. Otherwise a
//! client paging to the end would never get there, as each of its own page
//! reads adds an entry. Page reads of one walk are counted into one entry
//! like repeated refusals (`repeats.rs`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use citywatch_audit::{Permission, Record};
use citywatch_model::{AuditCheckpoint, AuditEntry, AuditFilter};
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::{ApiError, AppState};

const MAX_PAGE: usize = 1_000;
/// An export is built in memory; a range larger than this is refused with
/// a request to narrow it (a year of a busy city is split by month).
const MAX_EXPORT: usize = 200_000;
/// What an entry's `result` can be (see `citywatch_audit::Record`).
const RESULTS: [&str; 4] = ["ok", "denied", "refused", "failed"];
/// The text filters: each matches its column exactly.
const TEXT_FILTERS: [&str; 5] = ["actor", "action", "target", "case_ref", "result"];
const FILTER_PARAMS: [&str; 7] = ["actor", "action", "target", "case_ref", "result", "from", "to"];
const WHAT: &str = "reading the audit log";

/// The filter a request names, refused with the parameter's name when a
/// value is unusable. `extra` are the other parameters the route takes.
fn filter_from(params: &HashMap<String, String>, extra: &[&str]) -> Result<AuditFilter, ApiError> {
    if let Some(k) = params.keys().find(|k| !FILTER_PARAMS.contains(&k.as_str()) && !extra.contains(&k.as_str())) {
        let known: Vec<&str> = extra.iter().chain(FILTER_PARAMS.iter()).copied().collect();
        return Err(ApiError::BadRequest(format!("unknown query parameter {k}; expected {}", known.join(", "))));
    }
    let mut text = HashMap::new();
    for name in TEXT_FILTERS {
        if let Some(v) = params.get(name) {
            if v.trim().is_empty() {
                return Err(ApiError::field(name, "must not be empty; leave it out to match every entry"));
            }
            text.insert(name, v.clone());
        }
    }
    if let Some(r) = text.get("result").filter(|r| !RESULTS.contains(&r.as_str())) {
        return Err(ApiError::field("result", format!("{r:?} is not a result; use one of {}", RESULTS.join(", "))));
    }
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        params
            .get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| ApiError::field(name, "must be a time in RFC 3339, e.g. 2026-12-07T08:00:00Z"))
            })
            .transpose()
    };
    let filter = AuditFilter {
        actor: text.remove("actor"),
        action: text.remove("action"),
        target: text.remove("target"),
        case_ref: text.remove("case_ref"),
        result: text.remove("result"),
        from: time("from")?,
        to: time("to")?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(ApiError::field("to", "must be after from"));
        }
    }
    Ok(filter)
}

/// The filter as the audit entry of a read or export records it.
fn filter_json(f: &AuditFilter) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in [("actor", &f.actor), ("action", &f.action), ("target", &f.target), ("case_ref", &f.case_ref), ("result", &f.result)] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    for (k, v) in [("from", f.from), ("to", f.to)] {
        if let Some(t) = v {
            m.insert(k.into(), json!(t.to_rfc3339_opts(SecondsFormat::Micros, true)));
        }
    }
    Value::Object(m)
}

pub async fn read(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReadAudit, WHAT).await?;
    let filter = filter_from(&params, &["after_seq", "limit", "head_seq"])?;
    let seq = |name: &str| -> Result<Option<i64>, ApiError> {
        params.get(name).map(|v| v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| ApiError::field(name, "must be a whole number ≥ 0"))).transpose()
    };
    let after_seq = seq("after_seq")?.unwrap_or(0);
    let limit = match params.get("limit") {
        None => 100,
        Some(v) => {
            v.parse::<usize>().ok().filter(|v| (1..=MAX_PAGE).contains(v)).ok_or_else(|| ApiError::field("limit", format!("must be in 1..={MAX_PAGE}")))?
        }
    };
    let store = state.audit.repo().clone();
    let given_head = seq("head_seq")?;
    let walk_filter = filter.clone();
    let (head_seq, entries) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let now = store.head_seq()?;
        if given_head.is_some_and(|h| h > now) {
            return Err(ApiError::field("head_seq", format!("is past the log's head ({now}): pass back the head_seq of the first page")));
        }
        let head = given_head.unwrap_or(now);
        Ok((head, store.entries_matching(&walk_filter, after_seq, head, limit)?))
    })
    .await??;
    let mut detail = json!({"head_seq": head_seq});
    let filters = filter_json(&filter);
    if filters.as_object().is_some_and(|m| !m.is_empty()) {
        detail["filters"] = filters;
    }
    crate::auth::audit_repeatable(&state, Record::new(caller.name(), "audit.read", "audit_log").detail(detail)).await?;
    // A short page is the last one: no entry up to the head is left to match.
    let next = entries.last().map(|e| e.seq).filter(|s| *s < head_seq && entries.len() == limit);
    Ok(Json(json!({"entries": entries, "next_after_seq": next, "head_seq": head_seq})))
}

/// `GET /api/v1/audit/verify`: the whole chain and every checkpoint,
/// checked with the server's own public key, and the key's fingerprint so
/// that the reader can compare it with the key they were given.
pub async fn verify(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(&state, Permission::ReadAudit, WHAT).await?;
    let log = state.audit.clone();
    let (outcome, last) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let outcome = citywatch_audit::verify_log(&**log.repo(), &log.verifying_key())?;
        Ok((outcome, log.repo().last_checkpoint()?))
    })
    .await??;
    let mut body = json!({
        "public_key": state.audit.public_key_hex(),
        "public_key_sha256": state.audit.public_key_sha256(),
        "last_checkpoint": last.as_ref().map(checkpoint_json),
    });
    let detail = match &outcome {
        Ok(report) => {
            body["verified"] = json!(true);
            body["entries"] = json!(report.entries);
            body["checkpoints"] = json!(report.checkpoints);
            json!({"verified": true, "entries": report.entries, "checkpoints": report.checkpoints})
        }
        Err(failure) => {
            body["verified"] = json!(false);
            body["failure"] = json!({"seq": failure.seq, "reason": failure.reason, "message": failure.to_string()});
            json!({"verified": false, "failed_at_seq": failure.seq, "reason": failure.reason})
        }
    };
    let result = if outcome.is_ok() { "ok" } else { "failed" };
    audit(&state, Record::new(caller.name(), "audit.verify", "audit_log").result(result).detail(detail)).await?;
    Ok(Json(body))
}

fn checkpoint_json(c: &AuditCheckpoint) -> Value {
    json!({"seq": c.seq, "hash": c.hash, "time": c.time.to_rfc3339_opts(SecondsFormat::Micros, true), "signature": c.signature})
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "csv" => Some(ExportFormat::Csv),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }
}

/// `GET /api/v1/audit/export?format=csv|json&<filters>`: every matching
/// entry up to the log's head now, with the first signed checkpoint at or
/// after the last of them (one is signed now if none is yet): its hash
/// chains back over every exported entry, so the export can be checked
/// against the full log and the public key.
pub async fn export(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ReadAudit, WHAT).await?;
    let filter = filter_from(&params, &["format"])?;
    let format = match params.get("format") {
        None => ExportFormat::Json,
        Some(f) => ExportFormat::parse(f).ok_or_else(|| ApiError::field("format", format!("{f:?} is not an export format; use csv or json")))?,
    };
    let log = state.audit.clone();
    let range = filter.clone();
    let (head, entries, checkpoint) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let store = log.repo();
        let head = store.head_seq()?;
        let entries = store.entries_matching(&range, 0, head, MAX_EXPORT + 1)?;
        if entries.len() > MAX_EXPORT {
            return Err(ApiError::PayloadTooLarge(format!(
                "more than {MAX_EXPORT} entries match; narrow the filter (a shorter time range, one actor or one case reference) and export in parts"
            )));
        }
        let through = entries.last().map_or(head, |e| e.seq);
        let checkpoint = match store.checkpoint_covering(through)? {
            Some(c) => Some(c),
            None => {
                log.checkpoint_now()?;
                store.checkpoint_covering(through)?
            }
        };
        Ok((head, entries, checkpoint))
    })
    .await??;
    let mut checkpoint = checkpoint.as_ref().map(checkpoint_json).unwrap_or(Value::Null);
    if !checkpoint.is_null() {
        checkpoint["public_key"] = json!(state.audit.public_key_hex());
        checkpoint["public_key_sha256"] = json!(state.audit.public_key_sha256());
    }
    let filters = filter_json(&filter);
    let record = Record::new(caller.name(), "audit.export", "audit_log")
        .detail(json!({"format": format.as_str(), "entries": entries.len(), "head_seq": head, "filters": filters}));
    audit(&state, record).await?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let disposition = format!("attachment; filename=\"citywatch-audit-{stamp}.{}\"", format.as_str());
    match format {
        ExportFormat::Json => {
            let body = json!({"head_seq": head, "filters": filters, "entries": entries, "checkpoint": checkpoint});
            Ok(([(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)], body.to_string()).into_response())
        }
        ExportFormat::Csv => {
            let text = csv_text(&entries, &checkpoint)?;
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], text).into_response())
        }
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a
/// tab or carriage return first: OWASP's CSV injection list) gets an
/// apostrophe in front, which spreadsheets show as text. Any actor can put
/// such text into the log (a search query, a camera name), and the auditor
/// opens the export in a spreadsheet. The JSON export keeps every value as
/// stored, for checking the entries' hashes.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// One row per entry, then the covering checkpoint as a comment line (CSV
/// has no place for it; a reader that skips `#` lines still gets a table).
fn csv_text(entries: &[AuditEntry], checkpoint: &Value) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let write = |w: &mut csv::Writer<Vec<u8>>, row: &[&str]| {
        w.write_record(row.iter().map(|c| spreadsheet_safe(c).into_owned())).map_err(|e| ApiError::Internal(format!("writing the CSV export: {e}")))
    };
    write(&mut w, &["seq", "time", "actor", "action", "target", "purpose", "case_ref", "result", "detail", "hash"])?;
    for e in entries {
        let (seq, time, detail) = (e.seq.to_string(), e.time.to_rfc3339_opts(SecondsFormat::Micros, true), e.detail.to_string());
        let row: [&str; 10] =
            [&seq, &time, &e.actor, &e.action, &e.target, e.purpose.as_deref().unwrap_or(""), e.case_ref.as_deref().unwrap_or(""), &e.result, &detail, &e.hash];
        write(&mut w, &row)?;
    }
    let mut text = String::from_utf8(w.into_inner().map_err(|e| ApiError::Internal(format!("writing the CSV export: {e}")))?)
        .map_err(|e| ApiError::Internal(format!("writing the CSV export: {e}")))?;
    match checkpoint.as_object() {
        Some(c) => {
            let field = |k: &str| c.get(k).map_or_else(String::new, |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            text.push_str(&format!(
                "# checkpoint seq={} hash={} time={} signature={} public_key={} public_key_sha256={}\n",
                field("seq"),
                field("hash"),
                field("time"),
                field("signature"),
                field("public_key"),
                field("public_key_sha256")
            ));
        }
        None => text.push_str("# checkpoint none: the log is empty\n"),
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_become_text_and_other_cells_stay_as_they_are() {
        for (cell, shown) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("cam-01", "cam-01"),
            ("KU-2026-114", "KU-2026-114"),
            ("", ""),
            ("{\"q\":\"=1\"}", "{\"q\":\"=1\"}"),
        ] {
            assert_eq!(spreadsheet_safe(cell), shown, "{cell:?}");
        }
    }
}
