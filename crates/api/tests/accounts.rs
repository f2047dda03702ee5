//! Accounts over real HTTP: the password rule, a password change and a
//! disabled account end every session of the user, and open WebSockets
//! (live video, the alert and dispatch streams) close within about two
//! seconds of a logout or a disable, including one made directly in the
//! database as `citywatch admin disable-user` does.

mod common;

use std::time::{Duration, Instant};

use citywatch_model::Role;
use common::{start, TestServer, PASSWORD};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn login_with(s: &TestServer, username: &str, password: &str) -> u16 {
    let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": username, "password": password})).send().await.unwrap();
    r.status().as_u16()
}

fn audited(s: &TestServer, action: &str, target: &str) -> bool {
    s.audit_entries().iter().any(|e| e.action == action && e.target == target && e.actor == "root" && e.result == "ok")
}

#[tokio::test]
async fn new_passwords_need_twelve_characters_and_not_only_blanks() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    let root = s.login("root").await;
    for (password, says) in [("        ", "at least 12 characters"), ("eleven-char", "at least 12 characters"), (&" ".repeat(16)[..], "only spaces")] {
        let (st, body) = s.send(&root, "POST", "/api/v1/users", Some(json!({"username": "ana", "password": password}))).await;
        assert_eq!(st, 422, "{password:?}: {body}");
        assert_eq!(body["fields"][0]["field"], "password", "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{password:?}: {body}");
        let (st, body) = s.send(&root, "PUT", "/api/v1/users/root/password", Some(json!({"password": password}))).await;
        assert_eq!(st, 422, "{password:?}: {body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{password:?}: {body}");
    }
    let (st, body) = s.send(&root, "POST", "/api/v1/users", Some(json!({"username": "ana", "password": "twelve-chars"}))).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(login_with(&s, "ana", "twelve-chars").await, 200);
}

#[tokio::test]
async fn a_password_change_ends_every_session_of_the_user() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, None, None)]);
    let root = s.login("root").await;
    let (ana1, ana2) = (s.login("ana").await, s.login("ana").await);
    let (st, body) = s.send(&root, "PUT", "/api/v1/users/ana/password", Some(json!({"password": "a-new-long-password"}))).await;
    assert_eq!(st, 204, "{body}");
    for token in [&ana1, &ana2] {
        assert_eq!(s.get(token, "/api/v1/me").await.0, 401, "a session from before the change is over");
    }
    assert_eq!(login_with(&s, "ana", PASSWORD).await, 401);
    assert_eq!(login_with(&s, "ana", "a-new-long-password").await, 200);
    assert!(audited(&s, "user.set_password", "ana"));
    assert_eq!(s.get(&root, "/api/v1/me").await.0, 200, "other users' sessions go on");
    let (st, _) = s.send(&root, "PUT", "/api/v1/users/nobody/password", Some(json!({"password": "a-new-long-password"}))).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn a_disabled_user_loses_its_sessions_and_cannot_log_in_until_enabled() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, None, None)]);
    s.user("north-admin", &[(Role::Admin, Some(&["North"]), None)]);
    let root = s.login("root").await;
    let ana = s.login("ana").await;
    // Only an admin over all districts disables, and not their own account.
    let (st, _) = s.send(&ana, "POST", "/api/v1/users/root/disable", None).await;
    assert_eq!(st, 403);
    let north = s.login("north-admin").await;
    assert_eq!(s.send(&north, "POST", "/api/v1/users/ana/disable", None).await.0, 403);
    let (st, body) = s.send(&root, "POST", "/api/v1/users/root/disable", None).await;
    assert_eq!(st, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("your own account"), "{body}");

    let (st, body) = s.send(&root, "POST", "/api/v1/users/ana/disable", None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["disabled"], true);
    assert_eq!(s.get(&ana, "/api/v1/me").await.0, 401);
    assert_eq!(login_with(&s, "ana", PASSWORD).await, 401);
    let (_, users) = s.get(&root, "/api/v1/users").await;
    let listed = users.as_array().unwrap().iter().find(|u| u["username"] == "ana").unwrap().clone();
    assert_eq!(listed["disabled"], true);
    assert!(audited(&s, "user.disable", "ana"));

    let (st, body) = s.send(&root, "POST", "/api/v1/users/ana/enable", None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["disabled"], false);
    assert_eq!(login_with(&s, "ana", PASSWORD).await, 200);
    assert!(audited(&s, "user.enable", "ana"));
    assert_eq!(s.send(&root, "POST", "/api/v1/users/nobody/disable", None).await.0, 404);
}

async fn socket(s: &TestServer, path: &str, token: &str) -> Ws {
    let mut req = format!("{}{path}", s.base.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap_or_else(|e| panic!("{path}: {e}")).0
}

const STREAMS: [&str; 3] = ["/api/v1/live", "/api/v1/alerts/stream", "/api/v1/dispatch/stream"];

async fn open_all(s: &TestServer, token: &str) -> Vec<Ws> {
    let mut sockets = Vec::new();
    for path in STREAMS {
        sockets.push(socket(s, path, token).await);
    }
    sockets
}

/// Each socket must close with "session ended" (4401) within `limit`
/// of `since`.
async fn all_close(sockets: Vec<Ws>, since: Instant, limit: Duration) {
    for (mut ws, path) in sockets.into_iter().zip(STREAMS) {
        loop {
            let left = limit.saturating_sub(since.elapsed());
            let msg = tokio::time::timeout(left, ws.next()).await.unwrap_or_else(|_| panic!("{path} still open {:?} after the session ended", since.elapsed()));
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(u16::from(frame.code), 4401, "{path}: {frame:?}");
                    break;
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => panic!("{path} ended without saying why"),
                Some(Ok(_)) => continue,
            }
        }
    }
}

#[tokio::test]
async fn open_websockets_end_within_two_seconds_of_logout_or_disable() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, None, None)]);
    let root = s.login("root").await;
    let limit = Duration::from_millis(2500);

    let ana = s.login("ana").await;
    let sockets = open_all(&s, &ana).await;
    let since = Instant::now();
    assert_eq!(s.send(&ana, "POST", "/api/v1/auth/logout", None).await.0, 204);
    all_close(sockets, since, limit).await;

    let ana = s.login("ana").await;
    let sockets = open_all(&s, &ana).await;
    let since = Instant::now();
    assert_eq!(s.send(&root, "POST", "/api/v1/users/ana/disable", None).await.0, 200);
    all_close(sockets, since, limit).await;
    assert_eq!(s.send(&root, "POST", "/api/v1/users/ana/enable", None).await.0, 200);

    let ana = s.login("ana").await;
    let sockets = open_all(&s, &ana).await;
    let since = Instant::now();
    assert_eq!(s.send(&root, "PUT", "/api/v1/users/ana/password", Some(json!({"password": "a-new-long-password"}))).await.0, 204);
    all_close(sockets, since, limit).await;

    // As the command line does it: straight in the database, through a
    // connection of its own, no request to this server at all.
    let ana_token: Value = s
        .client
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"username": "ana", "password": "a-new-long-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sockets = open_all(&s, ana_token["token"].as_str().unwrap()).await;
    let since = Instant::now();
    let cli = s.other_connection();
    common::blocking(|| cli.users.set_user_disabled("ana", true, common::setup_entry("user.disable"))).unwrap();
    all_close(sockets, since, Duration::from_millis(3500)).await;
}
