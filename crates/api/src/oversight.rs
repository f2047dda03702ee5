//! `GET /api/v1/oversight/sensitive-reads`: a supervisor's list of the
//! day's sensitive reads in their districts — playbacks, incident exports,
//! plate searches, unit trail reads and views with faces unblurred — with
//! who, when, purpose and case reference. Supervisors do not read the
//! audit log (that is the auditor's), so the server picks these entries
//! out of it for them, narrowed to what touched their districts, and the
//! reading is itself audited.
//!
//! What "in their districts" means per entry: a camera's district for
//! playbacks and unmasked views, a unit's home district for trail reads,
//! the incident's place for exports. A plate search has no place of its
//! own (it reads every camera the searcher may read), so it is in the
//! supervisor's districts when the searcher's plate-search grants reach
//! one of them, as the grants stand now.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use citywatch_audit::{Permission, Principal, Record, Scope};
use citywatch_geo::Area;
use citywatch_model::AuditEntry;
use serde_json::{json, Value};

use crate::auth::{audit_repeatable, Caller};
use crate::districts::{areas, covers_place};
use crate::events::check_params;
use crate::{ApiError, AppState};

/// Entries read from the log for one day before narrowing; a day with
/// more is answered with `truncated: true` (the newest are kept).
const MAX_SCANNED: usize = 5_000;
/// The audit actions that read sensitive material.
const ACTIONS: [&str; 7] = ["video.playback", "incident.export", "plate.search", "event.search", "unit.trail", "video.live", "event.snapshot"];
/// A time zone's offset from UTC is within ±14 h.
const MAX_OFFSET_MIN: i64 = 14 * 60;

/// The kind of read, as the console names it.
fn kind(e: &AuditEntry) -> Option<&'static str> {
    let faces_shown = e.detail.get("faces").and_then(Value::as_str) == Some("shown");
    match e.action.as_str() {
        "video.playback" => Some("playback"),
        "incident.export" => Some("export"),
        "plate.search" | "event.search" => Some("plate_search"),
        "unit.trail" => Some("trail"),
        // Watching live with faces blurred is an operator's everyday work;
        // only unblurred views are sensitive.
        "video.live" | "event.snapshot" if faces_shown => Some("unmasked_view"),
        // A plate-bearing snapshot is opened with a purpose.
        "event.snapshot" if e.purpose.is_some() => Some("snapshot"),
        _ => None,
    }
}

/// Whether two scopes share a district.
fn overlaps(mine: &Scope, theirs: &Scope) -> bool {
    match (mine, theirs) {
        (Scope::All, _) | (_, Scope::All) => true,
        (Scope::Districts(a), Scope::Districts(b)) => !a.is_disjoint(b),
    }
}

fn number_after(text: &str, prefix: &str) -> Option<i64> {
    text.strip_prefix(prefix)?.trim().parse().ok()
}

/// The day asked for, as a UTC range: `date` (default today) in the
/// caller's time zone, `tz_offset_min` minutes east of UTC (default 0).
fn day_range(params: &HashMap<String, String>) -> Result<(NaiveDate, i64, DateTime<Utc>, DateTime<Utc>), ApiError> {
    let offset = match params.get("tz_offset_min") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|m| m.abs() <= MAX_OFFSET_MIN)
            .ok_or_else(|| ApiError::field("tz_offset_min", format!("must be whole minutes east of UTC, from -{MAX_OFFSET_MIN} to {MAX_OFFSET_MIN}")))?,
    };
    let date = match params.get("date") {
        None => (Utc::now() + Duration::minutes(offset)).date_naive(),
        Some(v) => NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| ApiError::field("date", "must be a day as YYYY-MM-DD, e.g. 2026-12-07"))?,
    };
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc() - Duration::minutes(offset);
    Ok((date, offset, midnight, midnight + Duration::days(1)))
}

/// What the entry's districts are checked against, loaded once per request.
struct Places {
    scope: Scope,
    areas: Vec<(String, Area)>,
    unit_districts: HashMap<String, Option<String>>,
    /// Per actor and search action: the districts their searches reach.
    searchers: HashMap<(String, String), Option<Scope>>,
}

impl Places {
    async fn in_scope(&mut self, state: &AppState, e: &AuditEntry) -> Result<bool, ApiError> {
        if self.scope == Scope::All {
            return Ok(true);
        }
        let camera = |id: &str| state.registry.snapshot().get(id, &self.scope).is_some();
        Ok(match e.action.as_str() {
            "video.playback" | "video.live" => camera(&e.target),
            "event.snapshot" => e.detail.get("camera").and_then(Value::as_str).is_some_and(camera),
            // A unit deleted since is no one's but an all-district caller's.
            "unit.trail" => self.unit_districts.get(&e.target).is_some_and(|d| self.scope.covers(d.as_deref())),
            "incident.export" => match number_after(&e.target, "incident ") {
                None => false,
                Some(id) => {
                    let d = state.dispatch.clone();
                    match tokio::task::spawn_blocking(move || d.incident(id)).await? {
                        Ok(i) => covers_place(&self.scope, &self.areas, i.location.lat, i.location.lon),
                        Err(_) => false,
                    }
                }
            },
            "plate.search" | "event.search" => {
                let permission = if e.action == "plate.search" { Permission::SearchPlates } else { Permission::ReadEvents };
                let reach = match self.searchers.get(&(e.actor.clone(), e.action.clone())) {
                    Some(reach) => reach.clone(),
                    None => {
                        let (store, actor) = (state.users.clone(), e.actor.clone());
                        let grants = tokio::task::spawn_blocking(move || store.grants_of(&actor)).await??;
                        let reach = Principal::new(e.actor.clone(), grants, Utc::now()).scope(permission);
                        self.searchers.insert((e.actor.clone(), e.action.clone()), reach.clone());
                        reach
                    }
                };
                reach.is_some_and(|theirs| overlaps(&self.scope, &theirs))
            }
            _ => false,
        })
    }
}

pub async fn sensitive_reads(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let scope = caller.require(&state, Permission::OverseeSensitiveReads, "reading the day's sensitive reads").await?;
    check_params(&params, &["date", "tz_offset_min"])?;
    let (date, offset, from, to) = day_range(&params)?;
    let log = state.audit.clone();
    let entries = tokio::task::spawn_blocking(move || log.repo().entries_with_actions(&ACTIONS, from, to, MAX_SCANNED)).await??;
    let truncated = entries.len() == MAX_SCANNED;
    let d = state.dispatch.clone();
    let units = tokio::task::spawn_blocking(move || d.repo().units()).await??;
    let mut places = Places {
        areas: areas(&state).await?,
        unit_districts: units.into_iter().map(|u| (u.id, u.district)).collect(),
        searchers: HashMap::new(),
        scope: scope.clone(),
    };
    let mut reads = Vec::new();
    for e in &entries {
        let Some(kind) = kind(e) else { continue };
        if !places.in_scope(&state, e).await? {
            continue;
        }
        let camera = match e.action.as_str() {
            "video.playback" | "video.live" => Some(e.target.clone()),
            "event.snapshot" => e.detail.get("camera").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        reads.push(json!({
            "seq": e.seq,
            "time": e.time,
            "actor": e.actor,
            "action": e.action,
            "kind": kind,
            "target": e.target,
            "camera_id": camera,
            "purpose": e.purpose,
            "case_ref": e.case_ref,
            "result": e.result,
            "faces": e.detail.get("faces"),
            "unmask_grant": e.detail.get("unmask_grant"),
        }));
    }
    let districts: Option<BTreeSet<String>> = match &scope {
        Scope::All => None,
        Scope::Districts(d) => Some(d.clone()),
    };
    // One entry per reading; reloading the same day's list is counted into it.
    let detail = json!({"date": date.to_string(), "tz_offset_min": offset, "districts": districts});
    audit_repeatable(&state, Record::new(caller.name(), "oversight.sensitive_reads", "audit_log").detail(detail)).await?;
    Ok(Json(json!({
        "date": date.to_string(),
        "from": from,
        "to": to,
        "districts": districts,
        "reads": reads,
        "truncated": truncated,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_day_in_the_callers_time_zone_is_a_utc_range() {
        let (date, offset, from, to) = day_range(&params(&[("date", "2026-12-07"), ("tz_offset_min", "60")])).unwrap();
        assert_eq!((date.to_string(), offset), ("2026-12-07".to_owned(), 60));
        assert_eq!(from.to_rfc3339(), "2026-12-06T23:00:00+00:00");
        assert_eq!(to - from, Duration::days(1));
    }

    #[test]
    fn bad_days_and_offsets_are_refused_by_name() {
        for (k, v) in [("date", "07.12.2026"), ("date", "2026-02-30"), ("tz_offset_min", "900"), ("tz_offset_min", "x")] {
            match day_range(&params(&[(k, v)])) {
                Err(ApiError::Invalid { fields, .. }) => assert_eq!(fields[0].field, k, "{k}={v}"),
                other => panic!("{k}={v}: {:?}", other.map(|r| r.0)),
            }
        }
    }

    #[test]
    fn scopes_overlap_when_they_share_a_district() {
        let d = |names: &[&str]| Scope::Districts(names.iter().map(|s| s.to_string()).collect());
        assert!(overlaps(&d(&["A"]), &d(&["A", "B"])));
        assert!(!overlaps(&d(&["A"]), &d(&["B"])));
        assert!(overlaps(&d(&["A"]), &Scope::All));
        assert!(!overlaps(&d(&[]), &d(&["B"])));
    }
}
