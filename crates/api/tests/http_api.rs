//! The API over real HTTP: import, every query kind (checked against a
//! linear scan), camera changes keeping the index in step, and bad input.

mod common;

use citywatch_geo::{densify_route, distance_to_pieces_m, ellipsoid, sector_contains_exact, Area};
use citywatch_model::Role;
use common::{feature, ids, start, TestServer};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// 150 random cameras over both test districts; returns their features.
async fn with_cameras(s: &TestServer, token: &str) -> Vec<Value> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let features: Vec<Value> = (0..150)
        .map(|i| {
            let (lat0, district) = if i % 2 == 0 { (44.82, "North") } else { (44.80, "South") };
            let fov = if i % 10 == 0 { 360.0 } else { rng.gen_range(30.0..120.0) };
            feature(
                &format!("c{i:03}"),
                lat0 + rng.gen_range(0.0..0.01),
                20.45 + rng.gen_range(0.0..0.02),
                rng.gen_range(0.0..360.0),
                fov,
                rng.gen_range(20.0..150.0),
                district,
            )
        })
        .collect();
    let (status, report) = s.send(token, "POST", "/api/v1/cameras/import", Some(json!({"type": "FeatureCollection", "features": features}))).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 150, "{report}");
    features
}

fn coords(f: &Value) -> (f64, f64) {
    let c = &f["geometry"]["coordinates"];
    (c[1].as_f64().unwrap(), c[0].as_f64().unwrap())
}

fn prop(f: &Value, k: &str) -> f64 {
    f["properties"][k].as_f64().unwrap()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn admin(s: &TestServer) -> String {
    s.user("root", &[(Role::Admin, None, None)]);
    s.login("root").await
}

#[tokio::test]
async fn every_query_kind_matches_a_linear_scan() {
    let s = start().await;
    let token = admin(&s).await;
    let features = with_cameras(&s, &token).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for _ in 0..15 {
        let (lat, lon) = (44.80 + rng.gen_range(0.0..0.03), 20.45 + rng.gen_range(0.0..0.02));

        let (st, near) = s.get(&token, &format!("/api/v1/cameras?near={lat},{lon}&radius_m=400")).await;
        assert_eq!(st, 200, "{near}");
        let want: Vec<String> = features
            .iter()
            .filter(|f| {
                let (a, b) = coords(f);
                ellipsoid::distance_exact(lat, lon, a, b) <= 400.0
            })
            .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(sorted(ids(&near)), sorted(want));
        let d: Vec<f64> = near.as_array().unwrap().iter().map(|c| c["distance_m"].as_f64().unwrap()).collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");

        let (st, nearest) = s.get(&token, &format!("/api/v1/cameras?nearest={lat},{lon}&k=4")).await;
        assert_eq!(st, 200);
        let mut all: Vec<(f64, String)> = features
            .iter()
            .map(|f| {
                let (a, b) = coords(f);
                (ellipsoid::distance_exact(lat, lon, a, b), f["properties"]["id"].as_str().unwrap().to_owned())
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(ids(&nearest), all[..4].iter().map(|x| x.1.clone()).collect::<Vec<_>>());

        let (st, sees) = s.get(&token, &format!("/api/v1/cameras?sees={lat},{lon}")).await;
        assert_eq!(st, 200);
        let want: Vec<String> = features
            .iter()
            .filter(|f| {
                let (a, b) = coords(f);
                sector_contains_exact(a, b, prop(f, "heading_deg"), prop(f, "fov_deg"), prop(f, "range_m"), lat, lon).is_some()
            })
            .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(sorted(ids(&sees)), sorted(want));

        let (w, h) = (rng.gen_range(0.001..0.01), rng.gen_range(0.001..0.01));
        let (st, bbox) = s.get(&token, &format!("/api/v1/cameras?bbox={},{},{},{}", lon - w, lat - h, lon + w, lat + h)).await;
        assert_eq!(st, 200);
        let want: Vec<String> = features
            .iter()
            .filter(|f| {
                let (a, b) = coords(f);
                a >= lat - h && a <= lat + h && b >= lon - w && b <= lon + w
            })
            .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(sorted(ids(&bbox)), sorted(want));

        let poly = json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + w, lat], [lon + w / 2.0, lat + h], [lon, lat]]]});
        let (st, inside) = s.send(&token, "POST", "/api/v1/cameras/search", Some(poly.clone())).await;
        assert_eq!(st, 200, "{inside}");
        let area = Area::from_geojson(&poly).unwrap();
        let want: Vec<String> = features
            .iter()
            .filter(|f| {
                let (a, b) = coords(f);
                area.contains(b, a)
            })
            .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(sorted(ids(&inside)), sorted(want));

        let route = vec![[lon, lat], [lon + w, lat + h], [lon + w, lat + 2.0 * h]];
        let (st, along) = s.send(&token, "POST", "/api/v1/cameras/search?within_m=60", Some(json!({"type": "LineString", "coordinates": route}))).await;
        assert_eq!(st, 200, "{along}");
        let pieces = densify_route(&route);
        let want: Vec<String> = features
            .iter()
            .filter(|f| {
                let (a, b) = coords(f);
                distance_to_pieces_m(a, b, &pieces) <= 60.0
            })
            .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(sorted(ids(&along)), sorted(want));
    }
    let searches = s.audit_actions().into_iter().filter(|(a, action, _)| a == "root" && action == "camera.search").count();
    assert_eq!(searches, 15 * 6, "every spatial search is audited");
}

#[tokio::test]
async fn import_reports_bad_rows_and_atomic_applies_nothing() {
    let s = start().await;
    let token = admin(&s).await;
    let mut bad_lat = feature("b1", 91.0, 20.46, 0.0, 90.0, 50.0, "North");
    bad_lat["geometry"]["coordinates"] = json!([20.46, 91.0]);
    let mut bad_fov = feature("b2", 44.825, 20.46, 0.0, 0.0, 50.0, "North");
    bad_fov["properties"]["fov_deg"] = json!(0);
    let mut unknown = feature("b3", 44.825, 20.46, 0.0, 90.0, 50.0, "North");
    unknown["properties"]["colour"] = json!("red");
    let features = vec![
        feature("ok1", 44.825, 20.46, 0.0, 90.0, 50.0, "North"),
        bad_lat,
        bad_fov,
        feature("ok1", 44.826, 20.46, 0.0, 90.0, 50.0, "North"),
        unknown,
        feature("neg", 44.825, 20.46, 0.0, 90.0, -3.0, "North"),
        feature("ok2", 44.805, 20.46, 0.0, 90.0, 50.0, "South"),
    ];
    let doc = json!({"type": "FeatureCollection", "features": features});

    let (st, report) = s.send(&token, "POST", "/api/v1/cameras/import?atomic=true", Some(doc.clone())).await;
    assert_eq!(st, 422, "{report}");
    assert_eq!(report["created"], 0);
    assert!(ids(&s.get(&token, "/api/v1/cameras").await.1).is_empty(), "atomic import wrote nothing");

    let (st, report) = s.send(&token, "POST", "/api/v1/cameras/import", Some(doc)).await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["created"], 2);
    let errors: Vec<(u64, String)> =
        report["errors"].as_array().unwrap().iter().map(|e| (e["feature"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned())).collect();
    assert_eq!(errors, vec![(1, "lat".into()), (2, "fov_deg".into()), (3, "id".into()), (4, "colour".into()), (5, "range_m".into())]);
    assert!(report["errors"][2]["reason"].as_str().unwrap().contains("duplicate"), "{report}");
    assert_eq!(sorted(ids(&s.get(&token, "/api/v1/cameras").await.1)), vec!["ok1", "ok2"]);
}

#[tokio::test]
async fn csv_import_and_geojson_export_round_trip() {
    let s = start().await;
    let token = admin(&s).await;
    let csv = "id,name,lat,lon,heading_deg,fov_deg,range_m,district,tags,main_url\n\
               k1,Gate,44.821,20.455,90,60,80,North,traffic;gate,rtsp://user:secret@10.1.1.1/main\n\
               k2,Square,44.805,20.46,180,360,40,South,,\n\
               k3,Bad,44.805,abc,180,360,40,South,,\n";
    let (st, report) = s.post_raw(&token, "/api/v1/cameras/import", "text/csv", csv).await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["created"], 2);
    assert_eq!(report["errors"][0]["line"], 4);
    assert_eq!(report["errors"][0]["field"], "lon");

    let (st, cam) = s.get(&token, "/api/v1/cameras/k1").await;
    assert_eq!(st, 200);
    assert_eq!(cam["main_url"], "rtsp://10.1.1.1/main");
    assert_eq!(cam["tags"], json!(["gate", "traffic"]));
    assert!(!cam.to_string().contains("secret"), "credentials are never returned");
    assert_eq!(common::blocking(|| s.repos.cameras.camera_credentials("k1")).unwrap().0.as_deref(), Some("user:secret"));

    let r = s.client.get(s.url("/api/v1/cameras/export")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/geo+json");
    let exported: Value = r.json().await.unwrap();
    assert!(!exported.to_string().contains("secret"));
    assert_eq!(exported["features"].as_array().unwrap().len(), 2);
    // Re-importing the export changes nothing but counts as updates.
    let (st, report) = s.send(&token, "POST", "/api/v1/cameras/import", Some(exported)).await;
    assert_eq!((st, report["updated"].as_u64(), report["created"].as_u64()), (200, Some(2), Some(0)));
    assert_eq!(s.get(&token, "/api/v1/cameras/k1").await.1, cam);
}

#[tokio::test]
async fn camera_changes_keep_the_index_in_step() {
    let s = start().await;
    let token = admin(&s).await;
    let body = json!({"id": "m1", "name": "Mover", "lat": 44.821, "lon": 20.451, "heading_deg": 0, "fov_deg": 90, "range_m": 50, "district": "North"});
    let (st, created) = s.send(&token, "POST", "/api/v1/cameras", Some(body.clone())).await;
    assert_eq!(st, 201, "{created}");
    assert_eq!(s.send(&token, "POST", "/api/v1/cameras", Some(body.clone())).await.0, 409);
    assert_eq!(ids(&s.get(&token, "/api/v1/cameras?near=44.821,20.451&radius_m=5").await.1), vec!["m1"]);

    let mut moved = body.clone();
    moved["lat"] = json!(44.828);
    let (st, _) = s.send(&token, "PUT", "/api/v1/cameras/m1", Some(moved)).await;
    assert_eq!(st, 200);
    assert!(ids(&s.get(&token, "/api/v1/cameras?near=44.821,20.451&radius_m=5").await.1).is_empty());
    assert_eq!(ids(&s.get(&token, "/api/v1/cameras?near=44.828,20.451&radius_m=5").await.1), vec!["m1"]);

    assert_eq!(s.send(&token, "DELETE", "/api/v1/cameras/m1", None).await.0, 204);
    assert_eq!(s.get(&token, "/api/v1/cameras/m1").await.0, 404);
    assert!(ids(&s.get(&token, "/api/v1/cameras?nearest=44.828,20.451&k=3").await.1).is_empty());
    let actions: Vec<String> = s.audit_actions().into_iter().map(|a| a.1).collect();
    for a in ["camera.create", "camera.update", "camera.delete"] {
        assert!(actions.contains(&a.to_owned()), "{a} audited");
    }
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field() {
    let s = start().await;
    let token = admin(&s).await;
    let base = json!({"id": "x1", "lat": 44.82, "lon": 20.46, "fov_deg": 90, "range_m": 50, "district": "North"});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"lat": 90.5}), "lat"),
        (json!({"lat": -91}), "lat"),
        (json!({"lon": 180.01}), "lon"),
        (json!({"lon": -181}), "lon"),
        (json!({"fov_deg": 0}), "fov_deg"),
        (json!({"fov_deg": 361}), "fov_deg"),
        (json!({"range_m": -1}), "range_m"),
        (json!({"lat": "north"}), "lat"),
        (json!({"id": "has space"}), "id"),
        (json!({"colour": "red"}), "colour"),
        (json!({"main_url": "http://not-rtsp/"}), "main_url"),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, err) = s.send(&token, "POST", "/api/v1/cameras", Some(body.clone())).await;
        assert_eq!(st, 422, "{body} → {err}");
        assert!(err["fields"].as_array().unwrap().iter().any(|f| f["field"] == field), "{body} should name {field}: {err}");
        assert!(err["error"].as_str().unwrap().contains(field));
    }
    let r = s.client.post(s.url("/api/v1/cameras")).bearer_auth(&token).header("content-type", "application/json").body("{\"id\": ").send().await.unwrap();
    let (st, err) = common::status_json(r).await;
    assert_eq!(st, 400);
    assert!(err["error"].as_str().unwrap().contains("not valid JSON"), "{err}");

    for (path, needle) in [
        ("/api/v1/cameras?near=44.8,20.4", "radius_m"),
        ("/api/v1/cameras?near=44.8&radius_m=10", "LAT,LON"),
        ("/api/v1/cameras?near=95,20.4&radius_m=10", "near lat"),
        ("/api/v1/cameras?nearest=44.8,20.4&k=0", "k"),
        ("/api/v1/cameras?bbox=1,2,3", "bbox"),
        ("/api/v1/cameras?bbox=20,45,21,44", "min_lat"),
        ("/api/v1/cameras?sees=44.8,20.4&near=44.8,20.4", "one of"),
        ("/api/v1/cameras?colour=red", "colour"),
        ("/api/v1/cameras?near=44.8,20.4&radius_m=-5", "radius_m"),
    ] {
        let (st, err) = s.get(&token, path).await;
        assert!(st == 400 || st == 422, "{path} → {st} {err}");
        assert!(err["error"].as_str().unwrap().contains(needle), "{path}: {err}");
    }
    let (st, err) = s.send(&token, "POST", "/api/v1/cameras/search", Some(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}))).await;
    assert_eq!(st, 400);
    assert!(err["error"].as_str().unwrap().contains("at least 4"), "{err}");
    let (st, err) = s.post_raw(&token, "/api/v1/cameras/import", "application/geo+json", "{\"type\": \"Feature\"}").await;
    assert_eq!(st, 400);
    assert!(err["error"].as_str().unwrap().contains("FeatureCollection"), "{err}");
    let (st, err) = s.post_raw(&token, "/api/v1/cameras/import", "text/csv", "id,name\n1,2\n").await;
    assert_eq!(st, 400);
    assert!(err["error"].as_str().unwrap().contains("lat"), "{err}");
    // Nothing stored by any of the above.
    assert!(ids(&s.get(&token, "/api/v1/cameras").await.1).is_empty());
}

#[tokio::test]
async fn failed_logins_are_rate_limited_and_audited() {
    let s = start().await;
    s.user("ana", &[(Role::Operator, None, None)]);
    for _ in 0..5 {
        let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": "ana", "password": "wrong-password"})).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": "ana", "password": common::PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), 429, "even the right password waits once the limit is hit");
    assert!(r.headers().get("retry-after").is_some());
    // Five entries for the failures; the refusal is counted in a summary
    // written once the burst is over.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let denied: Vec<_> = s.audit_entries().into_iter().filter(|e| e.actor == "ana" && e.action == "auth.login" && e.result == "denied").collect();
        let attempts: u64 = denied.iter().map(|e| e.detail.get("attempts").and_then(Value::as_u64).unwrap_or(1)).sum();
        if attempts == 6 {
            assert_eq!(denied.len(), 6);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{denied:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": "ana", "password": "x", "extra": 1})).send().await.unwrap();
    assert_eq!(r.status(), 400, "unknown fields in the login body are refused");
}

#[tokio::test]
async fn the_console_cookie_authenticates_and_logout_ends_it() {
    let s = start().await;
    s.user("ana", &[(Role::Operator, Some(&["North"]), None)]);
    let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": "ana", "password": common::PASSWORD})).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me: Value = s.client.get(s.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "ana");
    assert_eq!(me["grants"][0]["districts"], json!(["North"]));
    // A browser names the console's origin on every change (see tests/cross_site.rs).
    let r = s.client.post(s.url("/api/v1/auth/logout")).header("cookie", &pair).header("origin", &s.base).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = s.client.get(s.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn openapi_and_health_are_public() {
    let s = start().await;
    let doc: Value = s.client.get(s.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/cameras"]["get"].is_object());
    assert_eq!(s.client.get(s.url("/health")).send().await.unwrap().status(), 200);
}

/// A camera id becomes a directory under `video/`: one that could leave it
/// (`..`, a separator, an encoded dot) is refused on create and replace.
#[tokio::test]
async fn camera_ids_that_could_leave_the_video_directory_are_refused() {
    let s = start().await;
    let token = admin(&s).await;
    let body = |id: &str| json!({"id": id, "lat": 44.82, "lon": 20.46, "district": "North"});
    for id in ["..", ".", "a/b", "%2e%2e", "", &"a".repeat(65)] {
        let (st, err) = s.send(&token, "POST", "/api/v1/cameras", Some(body(id))).await;
        assert_eq!(st, 422, "{id:?} → {err}");
        assert!(err["fields"].as_array().unwrap().iter().any(|f| f["field"] == "id"), "{id:?}: {err}");
    }
    // The id in the path is the camera's id when the body has none (a
    // client folds `..` and `%2e%2e` segments away before sending them).
    for (path, says) in
        [("/api/v1/cameras/.hidden", "letter or a digit"), ("/api/v1/cameras/a%2Fb", "may contain only"), ("/api/v1/cameras/%252e%252e", "may contain only")]
    {
        let (st, err) = s.send(&token, "PUT", path, Some(json!({"lat": 44.82, "lon": 20.46, "district": "North"}))).await;
        assert_eq!(st, 422, "{path} → {err}");
        assert!(err["error"].as_str().unwrap().contains(says), "{path}: {err}");
    }
    assert!(ids(&s.get(&token, "/api/v1/cameras").await.1).is_empty());
    let (st, created) = s.send(&token, "POST", "/api/v1/cameras", Some(body("cam-0001"))).await;
    assert_eq!(st, 201, "{created}");
}
