//! The rules of unmask grants: each refusal and each limit, and what a
//! valid request becomes.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use citywatch_access::{
    decide_grant, grant_covering, grant_visible, Directory, GrantProblem, GrantRefusal, GrantRequest, JustificationProblem, MAX_CAMERAS, MAX_GRANT,
};
use citywatch_model::RepoError;
use citywatch_model::{FieldError, Scope};
use citywatch_registry::Snapshot;
use citywatch_store::UnmaskGrant;
use common::{north, now};

/// Incidents (id → lat, lon) and users (name → may log in).
#[derive(Default)]
struct FakeDirectory {
    incidents: HashMap<i64, (f64, f64)>,
    users: HashMap<String, bool>,
}

impl Directory for FakeDirectory {
    fn incident_location(&self, id: i64) -> Result<Option<(f64, f64)>, RepoError> {
        Ok(self.incidents.get(&id).copied())
    }

    fn user_enabled(&self, username: &str) -> Result<Option<bool>, RepoError> {
        Ok(self.users.get(username).copied())
    }
}

/// In North: `n1` (with a stream) and `n2` (without) at 44.8, and `n3`
/// (with a stream) 111 m north of them; in South: `s1` (with a stream) at
/// the same place as `n1`.
fn cameras() -> Arc<Snapshot> {
    common::cameras(&[("n1", "North", 44.8, true), ("n2", "North", 44.8, false), ("n3", "North", 44.801, true), ("s1", "South", 44.8, true)])
}

fn directory() -> FakeDirectory {
    FakeDirectory {
        incidents: HashMap::from([(1, (44.8, 20.4)), (2, (44.8005, 20.4)), (3, (45.5, 21.0))]),
        users: HashMap::from([("ana".to_owned(), true), ("old".to_owned(), false)]),
    }
}

fn valid() -> GrantRequest {
    GrantRequest {
        grantee: Some(" ana ".into()),
        camera_ids: Some(vec!["n3".into(), " n1".into(), "n1".into()]),
        incident_id: None,
        expires_at: Some("2026-11-27T12:00:00Z".into()),
        purpose: Some("identify the suspect of the theft".into()),
        case_ref: Some("KT 12/2026".into()),
    }
}

fn problems(request: GrantRequest) -> Vec<GrantProblem> {
    match decide_grant(request, "sup", &north(), &cameras(), &directory(), now()) {
        Err(GrantRefusal::Invalid(p)) => p,
        other => panic!("expected the request refused as invalid, got {other:?}"),
    }
}

#[test]
fn a_valid_request_becomes_the_grant_to_store() {
    let new = decide_grant(valid(), "sup", &north(), &cameras(), &directory(), now()).unwrap();
    assert_eq!(new.grantee, "ana");
    assert_eq!(new.cameras, ["n1", "n3"], "trimmed, sorted, once each");
    assert_eq!((new.purpose.as_str(), new.case_ref.as_str(), new.created_by.as_str()), ("identify the suspect of the theft", "KT 12/2026", "sup"));
    assert_eq!(new.expires_at, now() + Duration::hours(4));
}

#[test]
fn an_empty_request_names_every_missing_field_in_order() {
    let p = problems(GrantRequest::default());
    assert_eq!(
        p,
        [
            GrantProblem::GranteeMissing,
            GrantProblem::Justification(JustificationProblem::PurposeMissing("why faces must be shown")),
            GrantProblem::Justification(JustificationProblem::CaseRefMissing),
            GrantProblem::ExpiryMissing,
            GrantProblem::CamerasMissing,
        ]
    );
    let fields: Vec<FieldError> = p.into_iter().map(FieldError::from).collect();
    assert_eq!(fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["grantee", "purpose", "case_ref", "expires_at", "camera_ids"]);
    assert_eq!(fields[3].reason, "is required (RFC 3339, at most 12 h from now)");
}

#[test]
fn the_expiry_is_in_the_future_and_at_most_one_shift_away() {
    let at = |t: DateTime<Utc>| GrantRequest { expires_at: Some(t.to_rfc3339()), ..valid() };
    assert_eq!(problems(at(now())), [GrantProblem::ExpiryPast]);
    assert_eq!(problems(at(now() + MAX_GRANT + Duration::seconds(1))), [GrantProblem::ExpiryTooLate]);
    assert_eq!(GrantProblem::ExpiryTooLate.to_string(), "must be at most 12 h from now");
    decide_grant(at(now() + MAX_GRANT), "sup", &north(), &cameras(), &directory(), now()).expect("exactly one shift is allowed");
    let p = problems(GrantRequest { expires_at: Some("tonight".into()), ..valid() });
    let [GrantProblem::ExpiryUnreadable(why)] = p.as_slice() else { panic!("expected an unreadable expiry: {p:?}") };
    assert!(p[0].to_string().starts_with("must be an RFC 3339 time, e.g. 2026-11-27T20:00:00Z: "), "{why}");
}

#[test]
fn the_grantee_must_be_an_enabled_user() {
    assert_eq!(problems(GrantRequest { grantee: Some("nobody".into()), ..valid() }), [GrantProblem::NoSuchGrantee("nobody".into())]);
    assert_eq!(problems(GrantRequest { grantee: Some("old".into()), ..valid() }), [GrantProblem::GranteeDisabled("old".into())]);
    assert_eq!(GrantProblem::GranteeDisabled("old".into()).to_string(), "user old is disabled");
}

#[test]
fn unreadable_justification_is_refused_with_its_field() {
    let p = problems(GrantRequest { case_ref: Some("KT\u{200B}12".into()), ..valid() });
    let [GrantProblem::Justification(JustificationProblem::Unreadable(e))] = p.as_slice() else { panic!("expected an unreadable case_ref: {p:?}") };
    assert_eq!(e.field, "case_ref");
    assert_eq!(p[0].field(), "case_ref");
}

#[test]
fn cameras_are_named_in_the_granters_districts_within_the_limit() {
    let with = |ids: Vec<String>| GrantRequest { camera_ids: Some(ids), ..valid() };
    assert_eq!(problems(with(vec![])), [GrantProblem::CamerasMissing]);
    assert_eq!(problems(with(vec!["n1".into(), " ".into()])), [GrantProblem::CamerasMissing], "a blank id is no id");
    let too_many: Vec<String> = (0..=MAX_CAMERAS).map(|i| format!("c{i}")).collect();
    assert_eq!(problems(with(too_many)), [GrantProblem::TooManyCameras]);
    assert_eq!(GrantProblem::TooManyCameras.to_string(), "at most 64 cameras per grant");
    let p = problems(with(vec!["s1".into(), "n1".into(), "gone".into()]));
    assert_eq!(p, [GrantProblem::CamerasOutside(vec!["gone".into(), "s1".into()])]);
    assert_eq!(p[0].to_string(), "not cameras of your districts: gone, s1");
}

#[test]
fn an_incident_brings_the_cameras_with_a_stream_that_see_it() {
    let for_incident = |id: i64| GrantRequest { camera_ids: None, incident_id: Some(id), ..valid() };
    // Incident 1 is where n1, n2 and s1 stand: n2 has no stream, s1 is in South.
    let new = decide_grant(for_incident(1), "sup", &north(), &cameras(), &directory(), now()).unwrap();
    assert_eq!(new.cameras, ["n1"]);
    let everywhere = decide_grant(for_incident(1), "sup", &Scope::All, &cameras(), &directory(), now()).unwrap();
    assert_eq!(everywhere.cameras, ["n1", "s1"]);
    // Incident 2 is halfway, 56 m from each: nobody sees it, both are near.
    let near = decide_grant(for_incident(2), "sup", &north(), &cameras(), &directory(), now()).unwrap();
    assert_eq!(near.cameras, ["n1", "n3"]);
}

#[test]
fn an_incident_must_exist_have_cameras_and_come_alone() {
    let for_incident = |id: i64| GrantRequest { camera_ids: None, incident_id: Some(id), ..valid() };
    assert_eq!(problems(for_incident(9)), [GrantProblem::NoSuchIncident(9)]);
    assert_eq!(problems(for_incident(3)), [GrantProblem::NoCameraAtIncident(3)]);
    assert_eq!(GrantProblem::NoCameraAtIncident(3).to_string(), "no camera of your districts sees or is within 150 m of incident 3");
    let both = GrantRequest { incident_id: Some(1), ..valid() };
    assert_eq!(problems(both), [GrantProblem::CamerasAndIncident]);
    assert_eq!(GrantProblem::CamerasAndIncident.field(), "incident_id");
}

fn grant(id: i64, cameras: &[&str]) -> UnmaskGrant {
    UnmaskGrant {
        id,
        grantee: "ana".into(),
        cameras: cameras.iter().map(|c| c.to_string()).collect(),
        purpose: "p".into(),
        case_ref: "c".into(),
        created_by: "sup".into(),
        created_at: now(),
        expires_at: now() + Duration::hours(1),
        revoked_at: None,
        revoked_by: None,
    }
}

#[test]
fn a_grant_is_the_business_of_those_who_reach_one_of_its_cameras() {
    let cameras = cameras();
    assert!(grant_visible(&north(), &cameras, &grant(1, &["s1", "n1"])));
    assert!(!grant_visible(&north(), &cameras, &grant(1, &["s1", "gone"])));
    assert!(grant_visible(&Scope::All, &cameras, &grant(1, &["gone"])), "a deleted camera's grant stays visible everywhere");
}

#[test]
fn the_grant_covering_a_camera_is_found() {
    let grants = [grant(1, &["n1"]), grant(2, &["n3", "s1"])];
    assert_eq!(grant_covering(&grants, "s1"), Some(2));
    assert_eq!(grant_covering(&grants, "n2"), None);
}
