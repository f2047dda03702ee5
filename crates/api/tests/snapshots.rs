//! Event snapshots over HTTP: faces are pixelated (by the real CenterFace
//! blur the binary uses) for everyone without an unmask grant, shown to a
//! supervisor's grant, refused when faces cannot be blurred, scoped to the
//! caller's districts, kept inside the snapshot directory, and every view
//! is audited.

mod common;

use std::sync::Arc;

use chrono::Utc;
use citywatch_analytics::blazeface::BlazeFace;
use citywatch_analytics::redact::{FaceFinder, PersonBoxes, SnapshotRedactor};
use citywatch_analytics::zones::Rect;
use citywatch_api::Snapshots;
use citywatch_model::{EventType, NewEvent, Role, Source};
use common::{models, portrait, start, TestServer};
use serde_json::{json, Value};

async fn get_bytes(s: &TestServer, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = s.client.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// An event naming a snapshot, raised the way the analytics pipeline does
/// (in process: the API refuses events that name one).
async fn raise_with_snapshot(s: &TestServer, camera: &str, event_type: &str, details: Value) -> i64 {
    let event_type = EventType::parse(event_type).unwrap();
    let e = NewEvent { event_type, time: Utc::now(), source: Source::camera(camera), location: None, details };
    s.events.raise(e).await.unwrap().id
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
    s.state.set_snapshots(Snapshots { dir, redactor: Some(Arc::new(move |jpeg: &[u8], _persons: &PersonBoxes| f.blur_jpeg(jpeg).map_err(|e| e.to_string()))) });

    let id = raise_with_snapshot(&s, "cam-n", "object", json!({"snapshot": "cam-n/portrait.jpg"})).await;
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
    let sneaky = raise_with_snapshot(&s, "cam-n", "object", json!({"snapshot": "../secret.jpg"})).await;
    assert_eq!(get_bytes(&s, &op, &format!("/api/v1/events/{sneaky}/snapshot.jpg")).await.0, 404);

    // A plate read's snapshot is a plate search: purpose and case reference.
    let plate = raise_with_snapshot(&s, "cam-n", "plate_read", json!({"plate": "BG123AB", "snapshot": "cam-n/portrait.jpg"})).await;
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
    let id = raise_with_snapshot(&s, "cam-n", "object", json!({"snapshot": "cam-n/p.jpg"})).await;
    let path = format!("/api/v1/events/{id}/snapshot.jpg");
    let (st, body) = get_bytes(&s, &op, &path).await;
    assert_eq!(st, 503);
    assert!(String::from_utf8_lossy(&body).contains("cannot be blurred"), "{}", String::from_utf8_lossy(&body));
    assert_eq!(get_bytes(&s, &sup, &path).await, (200, portrait()));
}

/// `w`×`h` street-like JPEG with the portrait scaled to `side`² at (`x`, `y`): a person far from the lens.
fn street_with_person(w: u32, h: u32, side: u32, x: i64, y: i64) -> Vec<u8> {
    let portrait = image::load_from_memory(&portrait()).unwrap().to_rgb8();
    let small = image::imageops::resize(&portrait, side, side, image::imageops::FilterType::Triangle);
    let mut scene = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([90 + (x / 40 % 2 * 30) as u8, 95 + (y / 30 % 2 * 25) as u8, 100]));
    image::imageops::replace(&mut scene, &small, x, y);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&scene).unwrap();
    jpeg
}

/// Mean difference of the two JPEGs' green in `r`.
fn difference(a: &[u8], b: &[u8], r: &Rect) -> f64 {
    let (a, b) = (image::load_from_memory(a).unwrap().to_rgb8(), image::load_from_memory(b).unwrap().to_rgb8());
    let (w, h) = (a.width() as f32, a.height() as f32);
    let (x0, y0, x1, y1) = ((r.x0 * w) as u32, (r.y0 * h) as u32, (r.x1 * w).ceil() as u32, (r.y1 * h).ceil() as u32);
    let n = f64::from((x1 - x0) * (y1 - y0));
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| (f64::from(a.get_pixel(x, y).0[1]) - f64::from(b.get_pixel(x, y).0[1])).abs())
        .sum::<f64>()
        / n
}

/// A person far from the lens: their face (15 px in a 1280×720 picture)
/// is too small for CenterFace on the whole picture, so the event's person
/// box is what gets it blurred (BlazeFace on the head of the box, the
/// redactor the binary serves snapshots through); and where the event has
/// no `persons` (no detector ran on the picture), NanoDet's, at blur time.
#[tokio::test]
async fn a_distant_persons_face_is_blurred_through_the_events_person_box() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("op", &[(Role::Operator, None, None)]);
    let (root, op) = (s.login("root").await, s.login("op").await);
    s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": "cam-n", "lat": 44.825, "lon": 20.46, "district": "North"}))).await;
    let jpeg = street_with_person(1280, 720, 80, 900, 300);
    let dir = s.dir.path().join("snapshots");
    std::fs::create_dir_all(dir.join("cam-n")).unwrap();
    std::fs::write(dir.join("cam-n/far.jpg"), &jpeg).unwrap();
    let redactor = Arc::new(SnapshotRedactor::new(&models(), 640, 360, 1).unwrap());
    assert!(redactor.detects_persons(), "NanoDet is in {}", models().display());
    let r = redactor.clone();
    s.state.set_snapshots(Snapshots {
        dir: dir.clone(),
        redactor: Some(Arc::new(move |jpeg: &[u8], persons: &PersonBoxes| r.blur_jpeg(jpeg, persons).map_err(|e| e.to_string()))),
    });

    let person = [900.0 / 1280.0, 300.0 / 720.0, 980.0 / 1280.0, 380.0 / 720.0];
    let blaze = BlazeFace::new(&models(), 1).unwrap();
    let faces_at = |jpeg: &[u8], p: [f32; 4]| {
        let img = image::load_from_memory(jpeg).unwrap().to_rgb8();
        blaze.faces_in_persons(&img, &[Rect { x0: p[0], y0: p[1], x1: p[2], y1: p[3] }]).unwrap()
    };
    let faces = |jpeg: &[u8]| faces_at(jpeg, person).len();
    assert_eq!(faces(&jpeg), 1, "the face is there to be found in the person's head");
    let finder = FaceFinder::new(&models(), 640, 360, 1).unwrap();
    assert_eq!(faces_in(&finder, &jpeg), 0, "CenterFace alone misses it");

    let show = |details: Value| {
        let (s, op) = (&s, &op);
        async move {
            let id = raise_with_snapshot(s, "cam-n", "object", details).await;
            let (st, masked) = get_bytes(s, op, &format!("/api/v1/events/{id}/snapshot.jpg")).await;
            assert_eq!(st, 200);
            masked
        }
    };
    // Events whose detector ran on the picture: one about the person (its
    // box) and one about something else naming the person among the
    // picture's `persons`. Their boxes are trusted: no detection here.
    for details in [
        json!({"class": "person", "box": person, "persons": [person], "snapshot": "cam-n/far.jpg"}),
        json!({"class": "car", "box": [0.1, 0.5, 0.3, 0.7], "persons": [person], "snapshot": "cam-n/far.jpg"}),
    ] {
        assert_eq!(faces(&show(details.clone()).await), 0, "no face left in the person's head for {details}");
    }
    assert_eq!(redactor.detections(), 0);
    // The control: the detector ran and saw no one (`persons: []`), so only
    // CenterFace runs, and this face is too small for it.
    let masked = show(json!({"class": "car", "box": [0.1, 0.5, 0.3, 0.7], "persons": [], "snapshot": "cam-n/far.jpg"})).await;
    assert_eq!((faces(&masked), redactor.detections()), (1, 0));

    // No detector ran on the picture (a motion-only camera's event, no
    // `persons`): NanoDet finds the person now and the face is pixelated;
    // before, this snapshot went out with the face as it was. A 640×360
    // sub-stream picture with the portrait at 60 px: the face (~11 px) is
    // below CenterFace, the head and shoulders still a person to NanoDet.
    let sub = street_with_person(640, 360, 60, 450, 150);
    std::fs::write(dir.join("cam-n/sub.jpg"), &sub).unwrap();
    assert_eq!(faces_in(&finder, &sub), 0, "CenterFace alone misses it");
    let face = faces_at(&sub, [450.0 / 640.0, 150.0 / 360.0, 510.0 / 640.0, 210.0 / 360.0])[0];
    let id = raise_with_snapshot(&s, "cam-n", "motion", json!({"snapshot": "cam-n/sub.jpg"})).await;
    let (st, masked) = get_bytes(&s, &op, &format!("/api/v1/events/{id}/snapshot.jpg")).await;
    assert_eq!((st, redactor.detections()), (200, 1));
    // The same picture with `persons: []` is trusted: no detection, the face as it was.
    let kept = show(json!({"class": "car", "box": [0.1, 0.5, 0.3, 0.7], "persons": [], "snapshot": "cam-n/sub.jpg"})).await;
    assert_eq!(redactor.detections(), 1);
    // Pixelated, the face differs from the picture taken by far more than
    // re-encoding alone changes it; away from the person, neither changed.
    let (pixelated, reencoded) = (difference(&masked, &sub, &face), difference(&kept, &sub, &face));
    println!("face box: {pixelated:.1} pixelated, {reencoded:.1} re-encoded");
    assert!(pixelated > 2.5 * reencoded && pixelated > 10.0, "{pixelated:.1} against {reencoded:.1}");
    let street = Rect { x0: 0.05, y0: 0.05, x1: 0.5, y1: 0.9 };
    assert!(difference(&masked, &sub, &street) < 2.0 && difference(&kept, &sub, &street) < 2.0);
}

/// Snapshots are named by the server only, and a served file belongs to
/// the event's camera: an operator of one district cannot reach another
/// district's plate crop by raising an event that names it.
#[tokio::test]
async fn an_event_cannot_name_another_cameras_snapshot() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("north-op", &[(Role::Operator, Some(&["North"]), None)]);
    let (root, op) = (s.login("root").await, s.login("north-op").await);
    for (id, lat, district) in [("cam-n", 44.825, "North"), ("cam-s", 44.805, "South")] {
        let (st, b) = s.send(&root, "POST", "/api/v1/cameras", Some(json!({"id": id, "lat": lat, "lon": 20.46, "district": district}))).await;
        assert_eq!(st, 201, "{b}");
    }
    let dir = s.dir.path().join("snapshots");
    let crop = "cam-s/2026-11-27/101500.123-plate-t7.jpg";
    std::fs::create_dir_all(dir.join("cam-s/2026-11-27")).unwrap();
    std::fs::write(dir.join(crop), portrait()).unwrap();
    std::fs::create_dir_all(dir.join("cam-n")).unwrap();
    std::fs::write(dir.join("cam-n/own.jpg"), b"north's own picture").unwrap();
    // Blurring is not what this is about: the "blur" passes pictures through.
    s.state.set_snapshots(Snapshots { dir: dir.clone(), redactor: Some(Arc::new(|jpeg: &[u8], _: &PersonBoxes| Ok(jpeg.to_vec()))) });

    // Stored before this rule (or by a server part gone wrong): an event of
    // cam-n naming cam-s's crop, a name leaving cam-n's folder, or a link in
    // it leading out, is not served.
    std::os::unix::fs::symlink(dir.join(crop), dir.join("cam-n/link.jpg")).unwrap();
    for name in
        [crop, "cam-n/../cam-s/2026-11-27/101500.123-plate-t7.jpg", "./cam-s/2026-11-27/101500.123-plate-t7.jpg", "cam-n/link.jpg", "/etc/passwd", "cam-n"]
    {
        let id = raise_with_snapshot(&s, "cam-n", "object", json!({"snapshot": name})).await;
        let (st, body) = get_bytes(&s, &op, &format!("/api/v1/events/{id}/snapshot.jpg")).await;
        assert_eq!(st, 404, "{name}");
        assert_ne!(body, portrait(), "{name}: nothing of South is served");
    }
    // Raised through the API on the operator's own camera: refused, naming the field.
    let events_before = common::blocking(|| s.events.events(&citywatch_store::EventFilter { limit: 1000, ..Default::default() })).unwrap().len();
    for details in [json!({"snapshot": crop}), json!({"snapshot": "cam-n/own.jpg"}), json!({"class": "person", "persons": [[0.1, 0.1, 0.2, 0.2]]})] {
        let (st, b) =
            s.send(&op, "POST", "/api/v1/events", Some(json!({"type": "object", "source": {"kind": "camera", "id": "cam-n"}, "details": details}))).await;
        assert_eq!(st, 422, "{details} -> {b}");
        let field = b["fields"][0]["field"].as_str().unwrap();
        assert!(field == "details.snapshot" || field == "details.persons", "{b}");
        assert!(b["fields"][0]["reason"].as_str().unwrap().contains("server"), "{b}");
    }
    assert_eq!(
        common::blocking(|| s.events.events(&citywatch_store::EventFilter { limit: 1000, ..Default::default() })).unwrap().len(),
        events_before,
        "nothing stored"
    );

    // The event's own camera's snapshot still is.
    let id = raise_with_snapshot(&s, "cam-n", "object", json!({"snapshot": "cam-n/own.jpg"})).await;
    assert_eq!(get_bytes(&s, &op, &format!("/api/v1/events/{id}/snapshot.jpg")).await, (200, b"north's own picture".to_vec()));
}
