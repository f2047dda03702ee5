//! The rules of legal holds: each refusal, and what a valid request becomes.

mod common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use citywatch_access::{decide_hold, from_90k, hold_visible, to_90k, HoldProblem, HoldRefusal, HoldRequest, HoldTime, JustificationProblem};
use citywatch_model::{FieldError, Scope};
use citywatch_registry::Snapshot;
use common::{north, now};

/// `n1` in North, `s1` in South.
fn cameras() -> Arc<Snapshot> {
    common::cameras(&[("n1", "North", 44.8, false), ("s1", "South", 44.8, false)])
}

fn valid() -> HoldRequest {
    HoldRequest {
        camera_id: "n1".into(),
        start: "2026-11-26T20:00:00Z".into(),
        end: "2026-11-26T21:00:00Z".into(),
        purpose: "evidence of the theft".into(),
        case_ref: "KT 12/2026".into(),
        expires_at: "2027-11-27T00:00:00Z".into(),
    }
}

fn decide(request: HoldRequest) -> Result<citywatch_store::NewLegalHold, HoldRefusal> {
    decide_hold(request, "sup", &north(), &cameras(), now())
}

fn problems(request: HoldRequest) -> Vec<HoldProblem> {
    match decide(request) {
        Err(HoldRefusal::Invalid(p)) => p,
        other => panic!("expected the request refused as invalid, got {other:?}"),
    }
}

#[test]
fn a_valid_request_becomes_the_hold_to_store() {
    let new = decide(valid()).unwrap();
    assert_eq!((new.camera_id.as_str(), new.created_by.as_str(), new.case_ref.as_str()), ("n1", "sup", "KT 12/2026"));
    assert_eq!(from_90k(new.start_90k), Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap());
    assert_eq!(new.end_90k - new.start_90k, 3600 * 90_000);
    assert_eq!(new.expires_at, Utc.with_ymd_and_hms(2027, 11, 27, 0, 0, 0).unwrap());
}

#[test]
fn each_unreadable_time_is_named() {
    let p = problems(HoldRequest { start: "yesterday".into(), expires_at: "never".into(), ..valid() });
    assert!(matches!(p.as_slice(), [HoldProblem::Unreadable(HoldTime::Start, _), HoldProblem::Unreadable(HoldTime::ExpiresAt, _)]), "{p:?}");
    let fields: Vec<FieldError> = p.into_iter().map(FieldError::from).collect();
    assert_eq!(fields[0].field, "start");
    assert_eq!(fields[1].field, "expires_at");
    assert!(fields[0].reason.starts_with("must be an RFC 3339 time, e.g. 2026-11-27T08:00:00Z: "), "{}", fields[0].reason);
}

#[test]
fn the_range_ends_after_it_starts_and_the_hold_expires_in_the_future() {
    assert_eq!(problems(HoldRequest { end: valid().start, ..valid() }), [HoldProblem::EndNotAfterStart]);
    assert_eq!(HoldProblem::EndNotAfterStart.field(), "end");
    assert_eq!(problems(HoldRequest { expires_at: now().to_rfc3339(), ..valid() }), [HoldProblem::ExpiryPast]);
    assert_eq!(HoldProblem::ExpiryPast.to_string(), "must be in the future");
}

#[test]
fn purpose_and_case_ref_are_required() {
    let p = problems(HoldRequest { purpose: " ".into(), case_ref: String::new(), ..valid() });
    assert_eq!(
        p,
        [
            HoldProblem::Justification(JustificationProblem::PurposeMissing("why the recordings must be kept")),
            HoldProblem::Justification(JustificationProblem::CaseRefMissing)
        ]
    );
    assert_eq!(p[0].to_string(), "is required: why the recordings must be kept");
}

#[test]
fn a_camera_outside_the_districts_is_not_found_and_only_once_the_request_is_valid() {
    let refusal = decide(HoldRequest { camera_id: "s1".into(), ..valid() }).unwrap_err();
    assert_eq!(refusal, HoldRefusal::UnknownCamera("s1".into()));
    assert_eq!(refusal.to_string(), "camera s1 not found");
    let p = problems(HoldRequest { camera_id: "s1".into(), end: valid().start, ..valid() });
    assert_eq!(p, [HoldProblem::EndNotAfterStart]);
}

#[test]
fn holds_are_seen_on_cameras_in_reach() {
    let cameras = cameras();
    assert!(hold_visible(&north(), &cameras, "n1"));
    assert!(!hold_visible(&north(), &cameras, "s1"));
    assert!(!hold_visible(&north(), &cameras, "gone"));
    assert!(hold_visible(&Scope::All, &cameras, "gone"), "a deleted camera's recordings may still be held");
}

#[test]
fn the_90k_clock_keeps_microseconds() {
    let t = Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap() + chrono::Duration::microseconds(123_456);
    assert_eq!(to_90k(t) % 90_000, 11_111);
    assert_eq!(from_90k(to_90k(t)), t - chrono::Duration::microseconds(1), "a tick is 11.1 µs; both ways round down");
}
