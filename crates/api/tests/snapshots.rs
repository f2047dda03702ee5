//! Event snapshots over HTTP: faces are pixelated (by the real CenterFace
//! blur the binary uses) for everyone without an unmask grant, shown to a
//! supervisor's grant, refused when faces cannot be blurred, scoped to the
//! caller's districts, kept inside the snapshot directory, and every view
//! is audited.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use citywatch_analytics::redact::FaceFinder;
use citywatch_api::Snapshots;
use citywatch_model::Role;
use common::{start, TestServer};
use serde_json::{json, Value};

/// The models the product ships (`citywatch models install`), or the
/// workspace's sibling `../shared/models` that tests may use.
fn models() -> PathBuf {
    let dir = std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models"));
    assert!(dir.join("centerface.onnx").is_file(), "no centerface.onnx in {}: set CITYWATCH_MODELS or run `citywatch models install`", dir.display());
    dir
}

/// A public-domain portrait (see crates/analytics/tests/data/README.md).
fn portrait() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../analytics/tests/data/astronaut-320.jpg")).unwrap()
}

async fn get_bytes(s: &TestServer, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = s.client.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn raise_with_snapshot(s: &TestServer, token: &str, camera: &str, event_type: &str, snapshot: &str) -> i64 {
    let (st, b) = s.send(token, "POST", "/api/v1/events", Some(json!({"type": event_type, "source": {"kind": "camera", "id": camera}, "details": {"snapshot": snapshot}}))).await;
    assert_eq!(st, 201, "{b}");
    b["id"].as_i64().unwrap()
}

fn faces_in(finder: &FaceFinder, jpeg: &[u8]) -> usize {
    let img = image::load_from_memory(jpeg).expect("a JPEG").to_rgb8();
    finder.faces(&img).unwrap().len()
}

#[tokio::test]
async fn faces_are_blurred_unless_unmasked_and_every_view_is_audited() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    s.user("south-op", &[(Role::Operator, Some(&["South"]), None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    s.user("aud", &[(Role::Auditor, None, None)]);
    let (root, op, south_op, sup, aud) = (s.login("root").await, s.login("op").await, s.login("south-op").await, s.login("sup").await, s.login("aud").await);
    let (st, b) = s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": "cam-n", "lat": 44.825, "lon": 20.46, "district": "North"}))).await;
    assert_eq!(st, 201, "{b}");

    let dir = s.dir.path().join("snapshots");
    std::fs::create_dir_all(dir.join("cam-n")).unwrap();
    std::fs::write(dir.join("cam-n/portrait.jpg"), portrait()).unwrap();
    std::fs::write(s.dir.path().join("secret.jpg"), portrait()).unwrap();
    let finder = Arc::new(FaceFinder::new(&models(), 640, 360, 1).unwrap());
    assert_eq!(faces_in(&finder, &portrait()), 1, "the portrait shows one face");
    let f = finder.clone();
    s.state.set_snapshots(Snapshots { dir, redactor: Some(Arc::new(move |jpeg: &[u8]| f.blur_jpeg(jpeg).map_err(|e| e.to_string()))) });

    let id = raise_with_snapshot(&s, &op, "cam-n", "object", "cam-n/portrait.jpg").await;
    let path = format!("/api/v1/events/{id}/snapshot.jpg");

    // An operator: the picture with the face pixelated.
    let (st, masked) = get_bytes(&s, &op, &path).await;
    assert_eq!(st, 200);
    assert_ne!(masked, portrait());
    assert_eq!(faces_in(&finder, &masked), 0, "no face can be found in what the operator sees");
    let (orig, seen) = (image::load_from_memory(&portrait()).unwrap().to_rgb8(), image::load_from_memory(&masked).unwrap().to_rgb8());
    assert_eq!(orig.dimensions(), seen.dimensions(), "the same picture, not a crop");

    // A supervisor's unmask grant: the picture as it was taken.
    let (st, unmasked) = get_bytes(&s, &sup, &path).await;
    assert_eq!((st, unmasked == portrait()), (200, true));

    // Outside the caller's districts, or without the permission.
    assert_eq!(get_bytes(&s, &south_op, &path).await.0, 404);
    assert_eq!(get_bytes(&s, &aud, &path).await.0, 403);
    assert_eq!(get_bytes(&s, &op, "/api/v1/events/999999/snapshot.jpg").await.0, 404);

    // A snapshot name that would leave the directory is not followed.
    let sneaky = raise_with_snapshot(&s, &op, "cam-n", "object", "../secret.jpg").await;
    assert_eq!(get_bytes(&s, &op, &format!("/api/v1/events/{sneaky}/snapshot.jpg")).await.0, 404);

    // A plate read's snapshot is a plate search: purpose and case reference.
    let plate = raise_with_snapshot(&s, &op, "cam-n", "plate_read", "cam-n/portrait.jpg").await;
    let (st, body) = get_bytes(&s, &op, &format!("/api/v1/events/{plate}/snapshot.jpg")).await;
    assert_eq!(st, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("purpose"));
    assert_eq!(get_bytes(&s, &op, &format!("/api/v1/events/{plate}/snapshot.jpg?purpose=theft&case_ref=C-9")).await.0, 200);

    // Each view is in the audit log, saying whether faces were shown.
    s.user("auditor", &[(Role::Auditor, None, None)]);
    let auditor = s.login("auditor").await;
    let (st, log) = s.get(&auditor, "/api/v1/audit?limit=1000").await;
    assert_eq!(st, 200, "{log}");
    let entries: Vec<&Value> = log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "event.snapshot").collect();
    let faces: Vec<(&str, &str)> = entries.iter().map(|e| (e["actor"].as_str().unwrap(), e["detail"]["faces"].as_str().unwrap())).collect();
    assert!(faces.contains(&("op", "blurred")) && faces.contains(&("sup", "shown")), "{faces:?}");
    assert!(entries.iter().any(|e| e["purpose"] == "theft" && e["case_ref"] == "C-9"), "the plate snapshot's purpose is recorded");
}

#[tokio::test]
async fn without_a_face_model_masked_callers_are_refused_not_shown_faces() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    s.user("sup", &[(Role::Supervisor, None, None)]);
    let (root, op, sup) = (s.login("root").await, s.login("op").await, s.login("sup").await);
    s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": "cam-n", "lat": 44.825, "lon": 20.46, "district": "North"}))).await;
    let dir = s.dir.path().join("snapshots");
    std::fs::create_dir_all(dir.join("cam-n")).unwrap();
    std::fs::write(dir.join("cam-n/p.jpg"), portrait()).unwrap();
    s.state.set_snapshots(Snapshots { dir, redactor: None });
    let id = raise_with_snapshot(&s, &op, "cam-n", "object", "cam-n/p.jpg").await;
    let path = format!("/api/v1/events/{id}/snapshot.jpg");
    let (st, body) = get_bytes(&s, &op, &path).await;
    assert_eq!(st, 503);
    assert!(String::from_utf8_lossy(&body).contains("cannot be blurred"), "{}", String::from_utf8_lossy(&body));
    assert_eq!(get_bytes(&s, &sup, &path).await, (200, portrait()));
}
