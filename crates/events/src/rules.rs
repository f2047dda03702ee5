//! Which events a rule matches, and which open alert a matched event joins.
//! Pure functions: the ingest loop feeds them events and stored alerts.

use chrono::Duration;
use citywatch_geo::ellipsoid::distance_m;
use citywatch_model::{Alert, AlertState, Event, EventType, Rule, RuleSpec, SourceKind};

/// Whether `rule` raises (or feeds) an alert for `e`.
pub fn matches(rule: &RuleSpec, e: &Event) -> bool {
    if !rule.enabled || !rule.event_types.contains(&e.event_type) {
        return false;
    }
    let from_listed_camera = e.source.kind == SourceKind::Camera && rule.cameras.contains(&e.source.id);
    if !rule.cameras.is_empty() && !from_listed_camera {
        return false;
    }
    if !rule.districts.is_empty() && !e.district.as_ref().is_some_and(|d| rule.districts.contains(d)) {
        return false;
    }
    if let Some(a) = &rule.area {
        match e.location {
            Some(l) if distance_m(a.lat, a.lon, l.lat, l.lon) <= a.radius_m => {}
            _ => return false,
        }
    }
    if rule.schedule.as_ref().is_some_and(|s| !s.contains(e.time)) {
        return false;
    }
    if let (EventType::HotlistHit, Some(min)) = (e.event_type, rule.min_hotlist_priority) {
        if e.hotlist_priority().is_none_or(|p| p < min) {
            return false;
        }
    }
    true
}

/// Whether `e` (matched by `rule`) belongs to the open alert `a`: within the
/// rule's window of the alert's events, and within its radius of the alert's
/// place — or, when either has no place, from the same source.
pub fn correlates(rule: &RuleSpec, a: &Alert, e: &Event) -> bool {
    if !a.state.is_open() {
        return false;
    }
    let window = Duration::seconds(i64::from(rule.correlation_window_s));
    if e.time < a.first_event_at - window || e.time > a.last_event_at + window {
        return false;
    }
    match (a.location, e.location) {
        (Some(x), Some(y)) => distance_m(x.lat, x.lon, y.lat, y.lon) <= rule.correlation_radius_m,
        _ => a.source == e.source,
    }
}

/// A new alert for the first event `e` that `rule` matched.
pub fn open_alert(rule: &Rule, e: &Event, now: citywatch_model::Timestamp) -> Alert {
    Alert {
        id: 0,
        rule_id: rule.id,
        rule_name: rule.spec.name.clone(),
        state: AlertState::New,
        severity: rule.spec.severity,
        event_type: e.event_type,
        source: e.source.clone(),
        district: e.district.clone(),
        location: e.location,
        first_event_at: e.time,
        last_event_at: e.time,
        event_count: 1,
        created_at: now,
        acknowledged_by: None,
        acknowledged_at: None,
        closed_by: None,
        closed_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use citywatch_model::{Area, Location, Schedule, Source};
    use serde_json::json;

    fn spec() -> RuleSpec {
        serde_json::from_value(json!({"name": "r", "event_types": ["hotlist_hit", "motion"]})).unwrap()
    }

    fn event(t: EventType, cam: &str, lat: f64, priority: u64) -> Event {
        Event {
            id: 1,
            event_type: t,
            time: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap(),
            source: Source::camera(cam),
            district: Some("North".into()),
            location: Some(Location { lat, lon: 20.46 }),
            details: json!({"priority": priority}),
            received_at: Utc::now(),
        }
    }

    #[test]
    fn each_condition_can_refuse() {
        let e = event(EventType::HotlistHit, "c1", 44.825, 5);
        assert!(matches(&spec(), &e));
        assert!(!matches(&spec(), &event(EventType::Object, "c1", 44.825, 5)), "type");
        assert!(!matches(&RuleSpec { cameras: vec!["c2".into()], ..spec() }, &e), "camera");
        assert!(!matches(&RuleSpec { districts: vec!["South".into()], ..spec() }, &e), "district");
        assert!(!matches(&RuleSpec { area: Some(Area { lat: 44.80, lon: 20.46, radius_m: 500.0 }), ..spec() }, &e), "area");
        assert!(matches(&RuleSpec { area: Some(Area { lat: 44.824, lon: 20.46, radius_m: 500.0 }), ..spec() }, &e));
        assert!(!matches(&RuleSpec { schedule: Some(Schedule { days: vec![1], start_hour: 0, end_hour: 6 }), ..spec() }, &e), "schedule");
        assert!(!matches(&RuleSpec { min_hotlist_priority: Some(6), ..spec() }, &e), "priority");
        assert!(matches(&RuleSpec { min_hotlist_priority: Some(5), ..spec() }, &e));
        assert!(!matches(&RuleSpec { enabled: false, ..spec() }, &e), "disabled");
    }
}
