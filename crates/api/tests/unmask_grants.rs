//! Unmask grants over HTTP: a supervisor lets one named user see faces of
//! cameras in the supervisor's districts until an expiry, for a purpose and
//! case reference. Bad bodies are refused naming the field, only
//! supervisors grant, the list is scoped, and an event snapshot (blurred by
//! the real CenterFace) shows the face to the grantee only while the grant
//! is in force; grant, revocation and each view are audited. The live
//! video side is in tests/live_redacted.rs.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use citywatch_analytics::redact::FaceFinder;
use citywatch_api::Snapshots;
use citywatch_model::Role;
use common::{models, portrait, start, NO_STREAM};
use serde_json::{json, Value};

fn body(grantee: &str, cameras: &[&str]) -> Value {
    json!({"grantee": grantee, "camera_ids": cameras, "expires_at": (Utc::now() + Duration::hours(2)).to_rfc3339(), "purpose": "armed robbery in progress", "case_ref": "INC-42"})
}

/// The fields a 422 names.
fn fields(b: &Value) -> Vec<String> {
    b["fields"].as_array().map(|f| f.iter().map(|x| x["field"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn bad_grants_are_refused_naming_the_field_and_only_supervisors_grant() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, Some(&["North"]), None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    s.user("officer", &[(Role::Officer, None, None)]);
    s.user("aud", &[(Role::Auditor, None, None)]);
    let (root, sup, op, aud, officer) = (s.login("root").await, s.login("sup").await, s.login("op").await, s.login("aud").await, s.login("officer").await);
    s.camera(&root, "cam-n", "North", Some(NO_STREAM)).await;
    s.camera(&root, "cam-s", "South", Some(NO_STREAM)).await;
    let post = |token: String, b: Value| {
        let s = &s;
        async move { s.send(&token, "POST", "/api/v1/unmask-grants", Some(b)).await }
    };

    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut b = body("officer", &["cam-n"]);
    b.as_object_mut().unwrap().remove("purpose");
    cases.push((b, "purpose"));
    let mut b = body("officer", &["cam-n"]);
    b["case_ref"] = json!("  ");
    cases.push((b, "case_ref"));
    let mut b = body("officer", &["cam-n"]);
    b["expires_at"] = json!((Utc::now() - Duration::minutes(1)).to_rfc3339());
    cases.push((b, "expires_at"));
    let mut b = body("officer", &["cam-n"]);
    b["expires_at"] = json!((Utc::now() + Duration::hours(13)).to_rfc3339());
    cases.push((b, "expires_at"));
    let mut b = body("officer", &["cam-n"]);
    b.as_object_mut().unwrap().remove("expires_at");
    cases.push((b, "expires_at"));
    let mut b = body("officer", &["cam-n"]);
    b["expires_at"] = json!("tomorrow");
    cases.push((b, "expires_at"));
    cases.push((body("officer", &["cam-s"]), "camera_ids"));
    cases.push((body("officer", &["no-such-camera"]), "camera_ids"));
    cases.push((body("officer", &[]), "camera_ids"));
    cases.push((body("nobody", &["cam-n"]), "grantee"));
    for (b, field) in cases {
        let (st, answer) = post(sup.clone(), b.clone()).await;
        assert_eq!((st, fields(&answer)), (422, vec![field.to_owned()]), "{b} -> {answer}");
        assert!(answer["error"].as_str().unwrap().contains(field), "{answer}");
    }
    // Unknown fields are refused too (a typo must not drop a limit).
    let mut b = body("officer", &["cam-n"]);
    b["expires"] = json!("2030-01-01T00:00:00Z");
    assert_eq!(post(sup.clone(), b).await.0, 400);
    assert!(common::blocking(|| s.repos.access.unmask_grants()).unwrap().is_empty(), "nothing refused was stored");

    // Not a supervisor: 403, and the refusal is audited.
    for token in [&op, &officer, &aud, &root] {
        assert_eq!(post(token.clone(), body("officer", &["cam-n"])).await.0, 403);
    }
    assert!(s.audit_actions().iter().any(|(who, action, _)| who == "op" && action == "access.denied"));

    // A good one; the supervisor's own districts only.
    let (st, g) = post(sup.clone(), body("officer", &["cam-n", "cam-n"])).await;
    assert_eq!(st, 201, "{g}");
    assert_eq!((g["grantee"].as_str(), g["camera_ids"].clone(), g["active"].as_bool()), (Some("officer"), json!(["cam-n"]), Some(true)));
    let id = g["id"].as_i64().unwrap();
    let created = s.audit_entries().into_iter().find(|e| e.action == "unmask_grant.create").expect("the grant is audited");
    assert_eq!(
        (created.actor.as_str(), created.target.as_str(), created.purpose.as_deref(), created.case_ref.as_deref()),
        ("sup", "officer", Some("armed robbery in progress"), Some("INC-42"))
    );
    assert_eq!(created.detail["id"], id);

    // A South grant (by an all-district supervisor) is not the North supervisor's business.
    s.user("boss", &[(Role::Supervisor, None, None)]);
    let boss = s.login("boss").await;
    let (st, south) = post(boss.clone(), body("officer", &["cam-s"])).await;
    assert_eq!(st, 201, "{south}");
    let listed = |v: Value| v.as_array().unwrap().iter().map(|g| g["id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(listed(s.get(&sup, "/api/v1/unmask-grants").await.1), vec![id]);
    assert_eq!(listed(s.get(&aud, "/api/v1/unmask-grants").await.1), vec![south["id"].as_i64().unwrap(), id]);
    assert_eq!(s.get(&officer, "/api/v1/unmask-grants").await.0, 403);
    assert_eq!(s.send(&sup, "DELETE", &format!("/api/v1/unmask-grants/{}", south["id"]), None).await.0, 404);
    assert_eq!(s.send(&op, "DELETE", &format!("/api/v1/unmask-grants/{id}"), None).await.0, 403);

    // Revoking: once, audited, and the list says so.
    assert_eq!(s.send(&sup, "DELETE", &format!("/api/v1/unmask-grants/{id}"), None).await.0, 204);
    assert_eq!(s.send(&sup, "DELETE", &format!("/api/v1/unmask-grants/{id}"), None).await.0, 409);
    assert_eq!(s.send(&sup, "DELETE", "/api/v1/unmask-grants/999", None).await.0, 404);
    let list = s.get(&sup, "/api/v1/unmask-grants").await.1;
    assert_eq!((list[0]["active"].as_bool(), list[0]["revoked_by"].as_str()), (Some(false), Some("sup")), "{list}");
    assert_eq!(s.audit_actions().iter().filter(|(who, action, _)| who == "sup" && action == "unmask_grant.revoke").count(), 1);

    // The cameras of an incident: those of the supervisor's districts that
    // see it, else those near it.
    s.user("disp", &[(Role::Dispatcher, None, None)]);
    let disp = s.login("disp").await;
    let mut incidents = Vec::new();
    for lat in [44.825, 44.805] {
        let (st, inc) = s.send(&disp, "POST", "/api/v1/incidents", Some(json!({"type": "robbery", "priority": 1, "lat": lat, "lon": 20.46}))).await;
        assert_eq!(st, 201, "{inc}");
        incidents.push(inc["id"].clone());
    }
    let for_incident = |incident: Value| {
        let mut b = body("officer", &[]);
        b.as_object_mut().unwrap().remove("camera_ids");
        b["incident_id"] = incident;
        b
    };
    let (st, g) = post(sup.clone(), for_incident(incidents[0].clone())).await;
    assert_eq!((st, g["camera_ids"].clone()), (201, json!(["cam-n"])), "{g}");
    let mut both = for_incident(incidents[0].clone());
    both["camera_ids"] = json!(["cam-n"]);
    for bad in [for_incident(incidents[1].clone()), for_incident(json!(999_999)), both] {
        let (st, answer) = post(sup.clone(), bad.clone()).await;
        assert_eq!((st, fields(&answer)), (422, vec!["incident_id".to_owned()]), "{bad} -> {answer}");
    }
}

#[tokio::test]
async fn a_snapshot_shows_the_face_to_the_grantee_only_while_the_grant_is_in_force() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, Some(&["North"]), None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    s.user("op2", &[(Role::Operator, None, None)]);
    let (root, sup, op, op2) = (s.login("root").await, s.login("sup").await, s.login("op").await, s.login("op2").await);
    s.camera(&root, "cam-n", "North", Some(NO_STREAM)).await;
    s.camera(&root, "cam-n2", "North", Some(NO_STREAM)).await;
    let dir = s.dir.path().join("snapshots");
    // Each camera's snapshots in its own folder, as the pipeline keeps them.
    for camera in ["cam-n", "cam-n2"] {
        std::fs::create_dir_all(dir.join(camera)).unwrap();
        std::fs::write(dir.join(camera).join("p.jpg"), portrait()).unwrap();
    }
    let finder = Arc::new(FaceFinder::new(&models(), 640, 360, 1).unwrap());
    let f = finder.clone();
    s.state.set_snapshots(Snapshots {
        dir,
        redactor: Some(Arc::new(move |jpeg: &[u8], _persons: &citywatch_analytics::redact::PersonBoxes| f.blur_jpeg(jpeg).map_err(|e| e.to_string()))),
    });
    let faces = |jpeg: &[u8]| finder.faces(&image::load_from_memory(jpeg).unwrap().to_rgb8()).unwrap().len();
    assert_eq!(faces(&portrait()), 1);
    let raise = |camera: &'static str| {
        let s = &s;
        async move {
            // Raised as the pipeline raises it: the API refuses events naming a snapshot.
            let details = json!({"snapshot": format!("{camera}/p.jpg")});
            let e = citywatch_model::NewEvent {
                event_type: citywatch_model::EventType::Object,
                time: Utc::now(),
                source: citywatch_model::Source::camera(camera),
                location: None,
                details,
            };
            format!("/api/v1/events/{}/snapshot.jpg", s.events.raise(e).await.unwrap().id)
        }
    };
    let (on_n, on_n2) = (raise("cam-n").await, raise("cam-n2").await);
    let get = |token: &str, path: &str| {
        let (s, token, path) = (&s, token.to_owned(), path.to_owned());
        async move {
            let r = s.client.get(s.url(&path)).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().to_vec()
        }
    };
    assert_eq!(faces(&get(&op, &on_n).await), 0, "blurred before any grant");

    let (st, g) = s.send(&sup, "POST", "/api/v1/unmask-grants", Some(body("op", &["cam-n"]))).await;
    assert_eq!(st, 201, "{g}");
    let id = g["id"].as_i64().unwrap();
    assert_eq!(get(&op, &on_n).await, portrait(), "the grantee sees the picture as taken");
    assert_eq!(faces(&get(&op, &on_n2).await), 0, "a camera the grant does not name stays blurred");
    assert_eq!(faces(&get(&op2, &on_n).await), 0, "another user stays blurred");

    assert_eq!(s.send(&sup, "DELETE", &format!("/api/v1/unmask-grants/{id}"), None).await.0, 204);
    assert_eq!(faces(&get(&op, &on_n).await), 0, "blurred again after revocation");

    // A grant that has run out no longer counts.
    let expires = Utc::now() + Duration::seconds(4);
    let (st, g) = s
        .send(
            &sup,
            "POST",
            "/api/v1/unmask-grants",
            Some(json!({"grantee": "op", "camera_ids": ["cam-n"], "expires_at": expires.to_rfc3339(), "purpose": "p", "case_ref": "c"})),
        )
        .await;
    assert_eq!(st, 201, "{g}");
    assert_eq!(get(&op, &on_n).await, portrait());
    tokio::time::sleep((expires - Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(100)).await;
    assert_eq!(faces(&get(&op, &on_n).await), 0, "blurred again after expiry");

    let views: Vec<(String, String, Value)> = s
        .audit_entries()
        .into_iter()
        .filter(|e| e.action == "event.snapshot" && e.actor == "op")
        .map(|e| (e.target, e.detail["faces"].as_str().unwrap().to_owned(), e.detail["unmask_grant"].clone()))
        .collect();
    let faces_and_grant: Vec<(&str, Value)> = views.iter().map(|(_, f, g)| (f.as_str(), g.clone())).collect();
    assert_eq!(
        faces_and_grant,
        vec![
            ("blurred", Value::Null),
            ("shown", json!(id)),
            ("blurred", Value::Null),
            ("blurred", Value::Null),
            ("shown", g["id"].clone()),
            ("blurred", Value::Null)
        ]
    );
}
