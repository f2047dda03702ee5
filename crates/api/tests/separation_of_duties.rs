//! Grants through the API: nobody grants a role to themselves, and admin and
//! auditor never meet on one account. Refusals are explained and audited.

mod common;

use citywatch_model::Role;
use common::{start, TestServer};
use serde_json::json;

fn roles(s: &TestServer, user: &str) -> Vec<Role> {
    common::blocking(|| s.repos.users.grants_of(user)).unwrap().into_iter().map(|g| g.role).collect()
}

fn denied(s: &TestServer, action: &str, target: &str) -> usize {
    s.audit_entries().into_iter().filter(|e| e.action == action && e.target == target && e.result == "denied").count()
}

#[tokio::test]
async fn an_admin_cannot_grant_itself_any_role() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    let token = s.login("root").await;
    for role in ["supervisor", "auditor", "operator", "admin"] {
        let (st, body) = s.send(&token, "POST", "/api/v1/users/root/grants", Some(json!({"role": role}))).await;
        assert_eq!(st, 403, "{role}: {body}");
        let msg = body["error"].as_str().unwrap();
        assert!(msg.contains("cannot give yourself a role") && msg.contains("another admin"), "{msg}");
    }
    assert_eq!(roles(&s, "root"), vec![Role::Admin]);
    assert_eq!(denied(&s, "grant.add", "root"), 4, "every refusal is audited");
}

#[tokio::test]
async fn admin_and_auditor_never_on_one_account() {
    let s = start().await;
    s.user("root", &[(Role::Admin, None, None)]);
    s.user("ops", &[(Role::Admin, None, None)]);
    s.user("aud", &[(Role::Auditor, None, None)]);
    let token = s.login("root").await;

    let (st, body) = s.send(&token, "POST", "/api/v1/users/ops/grants", Some(json!({"role": "auditor"}))).await;
    assert_eq!(st, 409, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(msg.contains("ops would hold both admin and auditor") && msg.contains("separation of duties"), "{msg}");
    let (st, body) = s.send(&token, "POST", "/api/v1/users/aud/grants", Some(json!({"role": "admin", "districts": ["North"]}))).await;
    assert_eq!(st, 409, "{body}");
    assert_eq!((roles(&s, "ops"), roles(&s, "aud")), (vec![Role::Admin], vec![Role::Auditor]));
    assert_eq!((denied(&s, "grant.add", "ops"), denied(&s, "grant.add", "aud")), (1, 1));

    // Both in one new account: refused before the account exists.
    let new = json!({"username": "both", "password": "long-enough-pw", "grants": [{"role": "admin"}, {"role": "auditor"}]});
    let (st, body) = s.send(&token, "POST", "/api/v1/users", Some(new)).await;
    assert_eq!(st, 409, "{body}");
    assert!(common::blocking(|| s.repos.users.user_credentials("both")).unwrap().is_none(), "nothing was stored");
    assert_eq!(denied(&s, "user.create", "both"), 1);

    // Other grants to other people work as before.
    let (st, body) = s.send(&token, "POST", "/api/v1/users/ops/grants", Some(json!({"role": "supervisor"}))).await;
    assert_eq!(st, 201, "{body}");
    let new = json!({"username": "dana", "password": "long-enough-pw", "grants": [{"role": "operator"}, {"role": "dispatcher"}]});
    assert_eq!(s.send(&token, "POST", "/api/v1/users", Some(new)).await.0, 201);
    // Once the other admin's grant is gone, it may become an auditor.
    let admin_grant = common::blocking(|| s.repos.users.grants_of("ops")).unwrap().into_iter().find(|g| g.role == Role::Admin).unwrap();
    assert_eq!(s.send(&token, "DELETE", &format!("/api/v1/users/ops/grants/{}", admin_grant.id), None).await.0, 204);
    let (st, body) = s.send(&token, "POST", "/api/v1/users/ops/grants", Some(json!({"role": "auditor"}))).await;
    assert_eq!(st, 201, "{body}");
}
