//! What the administrator's Users view relies on, over real HTTP: ending a
//! user's sessions without disabling them (the cookie stops working at
//! once, open WebSockets close), the open-sessions count and last login in
//! the list of users, a removed grant ending with the user's next request,
//! the refusals that keep an admin from locking themself out, and refusals
//! of non-admins that name the role needed.

mod common;

use std::time::{Duration, Instant};

use citywatch_model::Role;
use common::{start, TestServer};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// GET `path` authenticated by the console's session cookie, as a browser sends it.
async fn get_with_cookie(s: &TestServer, token: &str, path: &str) -> u16 {
    s.client.get(s.url(path)).header("cookie", format!("cw_session={token}")).send().await.unwrap().status().as_u16()
}

async fn listed(s: &TestServer, admin: &str, username: &str) -> Value {
    let (st, users) = s.get(admin, "/api/v1/users").await;
    assert_eq!(st, 200, "{users}");
    users.as_array().unwrap().iter().find(|u| u["username"] == username).unwrap_or_else(|| panic!("{username} not listed: {users}")).clone()
}

fn audited(s: &TestServer, actor: &str, action: &str, target: &str, result: &str) -> bool {
    s.audit_entries().iter().any(|e| e.actor == actor && e.action == action && e.target == target && e.result == result)
}

#[tokio::test]
async fn ending_a_users_sessions_logs_them_out_everywhere_at_once_but_leaves_the_account() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, None, None)]);
    s.user("bob", &[(Role::Operator, None, None)]);
    let root = s.login("root").await;
    let (ana1, ana2) = (s.login("ana").await, s.login("ana").await);
    let bob = s.login("bob").await;
    assert_eq!(get_with_cookie(&s, &ana1, "/api/v1/me").await, 200);
    assert_eq!(listed(&s, &root, "ana").await["open_sessions"], 2);
    assert_eq!(listed(&s, &root, "bob").await["open_sessions"], 1);

    // An open WebSocket of ana's closes too, with "session ended".
    let mut req = format!("{}/api/v1/alerts/stream", s.base.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {ana2}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();

    let since = Instant::now();
    let (st, body) = s.send(&root, "POST", "/api/v1/users/ana/sessions/end", None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["sessions_ended"], 2, "{body}");
    assert_eq!(get_with_cookie(&s, &ana1, "/api/v1/me").await, 401, "the cookie stops working at once");
    assert_eq!(s.get(&ana2, "/api/v1/me").await.0, 401);
    loop {
        let left = Duration::from_millis(2500).saturating_sub(since.elapsed());
        match tokio::time::timeout(left, ws.next()).await.expect("the alert stream stayed open after its session ended") {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 4401, "{frame:?}");
                break;
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => panic!("the alert stream ended without saying why"),
            Some(Ok(_)) => continue,
        }
    }

    assert_eq!(listed(&s, &root, "ana").await["open_sessions"], 0);
    assert_eq!(listed(&s, &root, "ana").await["disabled"], false, "the account stays enabled");
    assert_eq!(s.get(&bob, "/api/v1/me").await.0, 200, "other users' sessions go on");
    assert_eq!(s.get(&root, "/api/v1/me").await.0, 200);
    assert!(audited(&s, "root", "user.end_sessions", "ana", "ok"));
    // She may log in again at once.
    let ana3 = s.login("ana").await;
    assert_eq!(s.get(&ana3, "/api/v1/me").await.0, 200);

    // No such user: 404, and nothing else changes.
    let (st, body) = s.send(&root, "POST", "/api/v1/users/nobody/sessions/end", None).await;
    assert_eq!(st, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("nobody"), "{body}");
    assert_eq!(s.get(&ana3, "/api/v1/me").await.0, 200);
}

#[tokio::test]
async fn the_list_of_users_counts_open_sessions_and_says_when_each_last_logged_in() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, Some(&["North"]), None)]);
    let root = s.login("root").await;
    let ana = listed(&s, &root, "ana").await;
    assert_eq!(ana["open_sessions"], 0);
    assert!(ana["last_login_at"].is_null(), "{ana}");
    assert_eq!(ana["grants"][0]["role"], "operator");
    assert_eq!(ana["grants"][0]["districts"], json!(["North"]));

    let token = s.login("ana").await;
    let ana = listed(&s, &root, "ana").await;
    assert_eq!(ana["open_sessions"], 1);
    let last = ana["last_login_at"].as_str().unwrap_or_else(|| panic!("no last login: {ana}"));
    assert!(chrono::DateTime::parse_from_rfc3339(last).is_ok(), "{last}");

    // Logging out closes the session but the last login stays.
    assert_eq!(s.send(&token, "POST", "/api/v1/auth/logout", None).await.0, 204);
    let ana = listed(&s, &root, "ana").await;
    assert_eq!(ana["open_sessions"], 0);
    assert_eq!(ana["last_login_at"], last);
    // A failed login is not a login.
    let r = s.client.post(s.url("/api/v1/auth/login")).json(&json!({"username": "ana", "password": "not-her-password"})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(listed(&s, &root, "ana").await["last_login_at"], last);
}

#[tokio::test]
async fn a_removed_grant_ends_with_the_users_next_request() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, None, None)]);
    let root = s.login("root").await;
    let ana = s.login("ana").await;
    assert_eq!(s.get(&ana, "/api/v1/cameras").await.0, 200);
    let grant = listed(&s, &root, "ana").await["grants"][0]["id"].as_i64().unwrap();
    let (st, body) = s.send(&root, "DELETE", &format!("/api/v1/users/ana/grants/{grant}"), None).await;
    assert_eq!(st, 204, "{body}");
    let (st, body) = s.get(&ana, "/api/v1/cameras").await;
    assert_eq!(st, 403, "{body}");
    assert_eq!(s.get(&ana, "/api/v1/me").await.1["permissions"], json!([]), "the session lives on, with nothing in it");
    // A grant of someone else's, or none at all: 404.
    let (st, _) = s.send(&root, "DELETE", &format!("/api/v1/users/ana/grants/{grant}"), None).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn an_admin_cannot_lock_themself_out() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None), (Role::Admin, Some(&["North"]), None)]);
    s.user("other", &[(Role::Admin, None, None)]);
    let root = s.login("root").await;
    let (st, body) = s.send(&root, "POST", "/api/v1/users/root/disable", None).await;
    assert_eq!(st, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("cannot disable your own account"), "{body}");

    // The grant over all districts is the last one that lets root manage users;
    // the North grant does not count.
    let grants = listed(&s, &root, "root").await["grants"].clone();
    let all = grants.as_array().unwrap().iter().find(|g| g["districts"].is_null()).unwrap()["id"].as_i64().unwrap();
    let north = grants.as_array().unwrap().iter().find(|g| !g["districts"].is_null()).unwrap()["id"].as_i64().unwrap();
    let (st, body) = s.send(&root, "DELETE", &format!("/api/v1/users/root/grants/{all}"), None).await;
    assert_eq!(st, 409, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("your own last admin grant") && message.contains("ask another admin"), "{body}");
    assert!(audited(&s, "root", "grant.remove", "root", "denied"));
    assert_eq!(listed(&s, &root, "root").await["grants"].as_array().unwrap().len(), 2, "nothing was removed");
    assert_eq!(s.get(&root, "/api/v1/users").await.0, 200, "root still manages users");

    // Any other grant of one's own may go, and another admin may take the last one.
    assert_eq!(s.send(&root, "DELETE", &format!("/api/v1/users/root/grants/{north}"), None).await.0, 204);
    let other = s.login("other").await;
    let (st, body) = s.send(&other, "DELETE", &format!("/api/v1/users/root/grants/{all}"), None).await;
    assert_eq!(st, 204, "{body}");
    assert_eq!(s.get(&root, "/api/v1/users").await.0, 403);
    // Ending one's own sessions is allowed: one can log in again.
    let (st, body) = s.send(&other, "POST", "/api/v1/users/other/sessions/end", None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(s.get(&other, "/api/v1/me").await.0, 401);
}

#[tokio::test]
async fn managing_users_is_refused_to_others_with_the_role_it_needs() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ana", &[(Role::Operator, None, None)]);
    s.user("north-admin", &[(Role::Admin, Some(&["North"]), None)]);
    let root = s.login("root").await;
    let ana = s.login("ana").await;
    let calls: [(&str, &str, Option<Value>); 5] = [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users/root/sessions/end", None),
        ("POST", "/api/v1/users", Some(json!({"username": "eve", "password": "a-long-password"}))),
        ("PUT", "/api/v1/users/root/password", Some(json!({"password": "a-long-password"}))),
        ("POST", "/api/v1/users/root/grants", Some(json!({"role": "admin"}))),
    ];
    for (method, path, body) in &calls {
        let (st, answer) = s.send(&ana, method, path, body.clone()).await;
        assert_eq!(st, 403, "{method} {path}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains("needs the role admin") && message.contains("you are an operator"), "{method} {path}: {message}");
    }
    let north = s.login("north-admin").await;
    let (st, answer) = s.send(&north, "POST", "/api/v1/users/ana/sessions/end", None).await;
    assert_eq!(st, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("all districts"), "{answer}");
    assert_eq!(s.get(&root, "/api/v1/me").await.0, 200, "the refused calls ended no session");
    assert_eq!(listed(&s, &root, "root").await["open_sessions"], 1);
    let users = s.get(&root, "/api/v1/users").await.1;
    assert!(!users.as_array().unwrap().iter().any(|u| u["username"] == "eve"), "a refused create stored a user: {users}");
}
