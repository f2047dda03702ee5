//! A page of another web site must not be able to act with the console's
//! session cookie: changes and WebSockets authenticated by the cookie need
//! this server's own Origin (and changes a JSON body), while API clients with
//! a bearer token are not asked for either.

mod common;

use citywatch_model::Role;
use common::{start, TestServer};
use serde_json::{json, Value};

const FOREIGN: &str = "http://evil.example";

/// Logs in like the console does and returns the `cw_session=...` pair.
async fn cookie(s: &TestServer, name: &str) -> String {
    let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": name, "password": common::PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// What the browser sends as Origin for a page served by the test server.
fn own_origin(s: &TestServer) -> String {
    s.base.clone()
}

fn camera(id: &str) -> String {
    json!({"id": id, "name": "Gate", "lat": 44.821, "lon": 20.451, "heading_deg": 0, "fov_deg": 90, "range_m": 50, "district": "North"}).to_string()
}

async fn post(s: &TestServer, path: &str, headers: &[(&str, &str)], body: String) -> (u16, Value) {
    let mut req = s.client.post(s.url(path)).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    common::status_json(req.send().await.unwrap()).await
}

async fn camera_ids(s: &TestServer, token: &str) -> Vec<String> {
    common::ids(&s.get(token, "/api/v1/cameras").await.1)
}

#[tokio::test]
async fn a_foreign_page_cannot_change_anything_with_the_cookie() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    let (pair, token) = (cookie(&s, "root").await, s.login("root").await);

    // The attack of the review: a form on another site posting text/plain.
    let (st, body) = post(&s, "/api/v1/cameras", &[("cookie", &pair), ("origin", FOREIGN), ("content-type", "text/plain")], camera("x1")).await;
    assert_eq!(st, 403, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("another web site") && msg.contains(FOREIGN), "a message for people: {msg}");
    // JSON from a foreign origin (a page that got past the preflight somehow) neither.
    let (st, _) = post(&s, "/api/v1/cameras", &[("cookie", &pair), ("origin", FOREIGN), ("content-type", "application/json")], camera("x2")).await;
    assert_eq!(st, 403);
    // Nor a request that names no origin at all, or names it only in a foreign Referer.
    let (st, body) = post(&s, "/api/v1/cameras", &[("cookie", &pair), ("content-type", "application/json")], camera("x3")).await;
    assert_eq!(st, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Bearer"), "says how API clients authenticate: {body}");
    let (st, _) =
        post(&s, "/api/v1/cameras", &[("cookie", &pair), ("referer", "http://evil.example/page"), ("content-type", "application/json")], camera("x4")).await;
    assert_eq!(st, 403);
    // The console's own origin, but a body that is not JSON.
    let origin = own_origin(&s);
    let (st, body) = post(&s, "/api/v1/cameras", &[("cookie", &pair), ("origin", &origin), ("content-type", "text/plain")], camera("x5")).await;
    assert_eq!(st, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("application/json"), "{body}");
    // Nothing was created, and logout from a foreign page does not end the session.
    assert!(camera_ids(&s, &token).await.is_empty());
    let (st, _) = post(&s, "/api/v1/auth/logout", &[("cookie", &pair), ("origin", FOREIGN)], String::new()).await;
    assert_eq!(st, 403);
    let me = s.client.get(s.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(me.status(), 200, "reads with the cookie are untouched and the session lives");
}

#[tokio::test]
async fn the_console_keeps_working_with_its_own_origin() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    let (pair, token) = (cookie(&s, "root").await, s.login("root").await);
    let origin = own_origin(&s);
    let (st, body) = post(&s, "/api/v1/cameras", &[("cookie", &pair), ("origin", &origin), ("content-type", "application/json")], camera("c1")).await;
    assert_eq!(st, 201, "{body}");
    // A browser that leaves Origin out but sends the page as Referer.
    let referer = format!("{origin}/?camera=c1");
    let (st, body) =
        post(&s, "/api/v1/cameras", &[("cookie", &pair), ("referer", &referer), ("content-type", "application/json; charset=utf-8")], camera("c2")).await;
    assert_eq!(st, 201, "{body}");
    // The Host name in another case, with the default port written out.
    let host = s.base.trim_start_matches("http://").to_ascii_uppercase();
    let (st, body) =
        post(&s, "/api/v1/cameras", &[("cookie", &pair), ("origin", &format!("https://{host}")), ("content-type", "application/json")], camera("c3")).await;
    assert_eq!(st, 201, "scheme-insensitive (a proxy ending TLS): {body}");
    // A body-less change (the console's alert buttons, DELETE) needs no Content-Type.
    let r = s.client.delete(s.url("/api/v1/cameras/c3")).header("cookie", &pair).header("origin", &origin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    // Imports take CSV: the origin check is their defence.
    let csv = "id,name,lat,lon,district\nc4,Kiosk,44.822,20.452,North\n";
    let (st, body) = post(&s, "/api/v1/cameras/import", &[("cookie", &pair), ("origin", &origin), ("content-type", "text/csv")], csv.into()).await;
    assert_eq!(st, 200, "{body}");
    let (st, _) = post(&s, "/api/v1/cameras/import", &[("cookie", &pair), ("origin", FOREIGN), ("content-type", "text/csv")], csv.replace("c4", "c5")).await;
    assert_eq!(st, 403);
    assert_eq!(camera_ids(&s, &token).await, vec!["c1", "c2", "c4"]);
    let r = s.client.post(s.url("/api/v1/auth/logout")).header("cookie", &pair).header("origin", &origin).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn api_clients_with_a_bearer_token_need_no_origin() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    let token = s.login("root").await;
    let auth = format!("Bearer {token}");
    let (st, body) = post(&s, "/api/v1/cameras", &[("authorization", &auth), ("content-type", "application/json")], camera("b1")).await;
    assert_eq!(st, 201, "{body}");
    // A bearer token is not the cookie: even a stray cookie beside it changes nothing.
    let (st, body) = post(
        &s,
        "/api/v1/cameras",
        &[("authorization", &auth), ("cookie", "cw_session=stale"), ("origin", FOREIGN), ("content-type", "application/json")],
        camera("b2"),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    // Nor are requests without any session: login, or unauthenticated calls, answer as before.
    let (st, _) = post(&s, "/api/v1/cameras", &[("origin", FOREIGN), ("content-type", "text/plain")], camera("b3")).await;
    assert_eq!(st, 401);
    assert_eq!(camera_ids(&s, &token).await, vec!["b1", "b2"]);
}

/// A WebSocket handshake as the authorization matrix sends it.
async fn handshake(s: &TestServer, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = s
        .client
        .get(s.url(path))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn websockets_with_the_cookie_need_this_servers_origin() {
    let s = start().await;
    s.user("sue", &[(Role::Supervisor, None, None)]);
    let (pair, token) = (cookie(&s, "sue").await, s.login("sue").await);
    let origin = own_origin(&s);
    let bearer = format!("Bearer {token}");
    for path in ["/api/v1/live", "/api/v1/alerts/stream", "/api/v1/dispatch/stream"] {
        assert_eq!(handshake(&s, path, &[("cookie", &pair)]).await, 403, "{path}: cookie and no Origin");
        assert_eq!(handshake(&s, path, &[("cookie", &pair), ("origin", FOREIGN)]).await, 403, "{path}: cookie and a foreign Origin");
        let referer = format!("{origin}/");
        assert_eq!(handshake(&s, path, &[("cookie", &pair), ("referer", &referer)]).await, 403, "{path}: a WebSocket must say its Origin");
        assert_eq!(handshake(&s, path, &[("cookie", &pair), ("origin", &origin)]).await, 101, "{path}: the console");
        assert_eq!(handshake(&s, path, &[("authorization", &bearer)]).await, 101, "{path}: an API client");
    }
}
