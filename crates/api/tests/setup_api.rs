//! What the administrator's set-up screen needs of the API: editing a camera
//! without knowing its (write-only) credentials keeps them, and the people
//! who write procedures may read them.

mod common;

use citywatch_model::Role;
use common::start;
use serde_json::json;

#[tokio::test]
async fn editing_a_camera_without_its_credentials_keeps_them_and_a_new_address_drops_them() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    let token = s.login("admin").await;
    let cam =
        |lat: f64, main: &str, sub: &str| json!({"id": "k1", "name": "Gate", "lat": lat, "lon": 20.455, "district": "North", "main_url": main, "sub_url": sub});
    let (st, body) = s.send(&token, "POST", "/api/v1/cameras", Some(cam(44.821, "rtsp://user:main-pw@10.1.1.1/main", "rtsp://view:sub-pw@10.1.1.1/sub"))).await;
    assert_eq!(st, 201, "{body}");
    assert!(!body.to_string().contains("-pw"), "credentials are never shown back: {body}");
    let creds = || common::blocking(|| s.repos.cameras.camera_credentials("k1")).unwrap();

    // Moved on the map: the console sends the URLs as it read them, without credentials.
    let (st, body) = s.send(&token, "PUT", "/api/v1/cameras/k1", Some(cam(44.8215, "rtsp://10.1.1.1/main", "rtsp://10.1.1.1/sub"))).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["lat"], 44.8215);
    assert_eq!(creds(), (Some("user:main-pw".into()), Some("view:sub-pw".into())), "an unchanged address keeps its credentials");

    // New credentials for the main stream replace only those.
    let (st, _) = s.send(&token, "PUT", "/api/v1/cameras/k1", Some(cam(44.8215, "rtsp://user:new-pw@10.1.1.1/main", "rtsp://10.1.1.1/sub"))).await;
    assert_eq!(st, 200);
    assert_eq!(creds(), (Some("user:new-pw".into()), Some("view:sub-pw".into())));

    // The sub stream moves to another host: its old credentials must not follow it there.
    let (st, _) = s.send(&token, "PUT", "/api/v1/cameras/k1", Some(cam(44.8215, "rtsp://10.1.1.1/main", "rtsp://10.9.9.9/sub"))).await;
    assert_eq!(st, 200);
    assert_eq!(creds(), (Some("user:new-pw".into()), None));

    // Leaving a stream out removes its address and credentials.
    let (st, _) = s.send(&token, "PUT", "/api/v1/cameras/k1", Some(json!({"id": "k1", "lat": 44.8215, "lon": 20.455, "district": "North"}))).await;
    assert_eq!(st, 200);
    assert_eq!(creds(), (None, None));

    // A bad edit is refused and changes nothing stored.
    let (st, body) = s.send(&token, "PUT", "/api/v1/cameras/k1", Some(json!({"id": "k1", "lat": 95, "lon": 20.455}))).await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "lat");
    assert_eq!(s.get(&token, "/api/v1/cameras/k1").await.1["lat"], 44.8215);
}

#[tokio::test]
async fn those_who_write_procedures_read_them_and_others_are_told_who_may() {
    let s = start().await;
    s.user("admin", &[(Role::Admin, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    s.user("aud", &[(Role::Auditor, None, None)]);
    let (admin, sup, aud) = (s.login("admin").await, s.login("sup").await, s.login("aud").await);
    let (st, body) = s.send(&sup, "PUT", "/api/v1/procedures/fire", Some(json!({"steps": ["call the fire brigade", "close the street"]}))).await;
    assert_eq!(st, 200, "{body}");

    let (st, list) = s.get(&admin, "/api/v1/procedures").await;
    assert_eq!(st, 200, "an administrator edits procedures, so reads them: {list}");
    assert_eq!(list, json!([{"incident_type": "fire", "steps": ["call the fire brigade", "close the street"]}]));

    let (st, body) = s.get(&aud, "/api/v1/procedures").await;
    assert_eq!(st, 403);
    let message = body["error"].as_str().unwrap();
    assert_eq!(message, "listing procedures needs the role admin, supervisor, operator or dispatcher; you are an auditor");
    assert!(s.audit_actions().iter().any(|(actor, action, result)| actor == "aud" && action == "access.denied" && result == "denied"));
}
