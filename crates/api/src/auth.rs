//! Login, sessions and the `Caller` of every authenticated route.
//!
//! A session token is accepted as `Authorization: Bearer <token>` (API
//! clients) or as the HttpOnly `cw_session` cookie the console gets at login
//! (SameSite=Strict, so other sites cannot ride on it).

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use citywatch_audit::{hash_password, new_session_token, token_hash, verify_password, Permission, Principal, Record, Scope};
use citywatch_model::Role;
use serde::Deserialize;
use serde_json::json;

use crate::login_name::{LoginName, MAX_LOGIN_NAME_CHARS};
use crate::login_throttle::FailureEntry;
use crate::{body, ApiError, AppState};

pub const SESSION_COOKIE: &str = "cw_session";

/// The authenticated user of a request, with the grants in force now.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized("authentication required: log in with POST /api/v1/auth/login and send the token as 'Authorization: Bearer <token>'".into())
        })?;
        let store = state.users.clone();
        let principal = tokio::task::spawn_blocking(move || -> Result<Option<Principal>, ApiError> {
            let now = Utc::now();
            let Some(username) = store.session_user(&token_hash(&token), now)? else { return Ok(None) };
            let grants = store.grants_of(&username)?;
            Ok(Some(Principal::new(username, grants, now)))
        })
        .await??;
        principal.map(Caller).ok_or_else(|| ApiError::Unauthorized("session is invalid or has expired; log in again".into()))
    }
}

pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return auth.strip_prefix("Bearer ").map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(SESSION_COOKIE).and_then(|rest| rest.strip_prefix('=')))
        .map(str::to_owned)
        .filter(|t| !t.is_empty())
}

impl Caller {
    pub fn name(&self) -> &str {
        &self.0.username
    }

    /// The caller's scope for `permission`, or 403 (recorded in the audit log).
    pub async fn require(&self, state: &AppState, permission: Permission, what: &str) -> Result<Scope, ApiError> {
        if let Some(scope) = self.0.scope(permission) {
            return Ok(scope);
        }
        let record = Record::new(self.name(), "access.denied", what).result("denied").detail(json!({"needs": format!("{permission:?}")}));
        audit_repeatable(state, record).await?;
        Err(ApiError::Forbidden(refusal(what, permission.roles(), &self.0.roles().into_iter().collect::<Vec<_>>())))
    }

    /// The caller's scope under either permission (the wider of the two
    /// when both are held), or 403 naming every role that would do.
    pub async fn require_either(&self, state: &AppState, first: Permission, second: Permission, what: &str) -> Result<Scope, ApiError> {
        match (self.0.scope(first), self.0.scope(second)) {
            (Some(Scope::All), _) | (_, Some(Scope::All)) => return Ok(Scope::All),
            (Some(Scope::Districts(mut a)), Some(Scope::Districts(b))) => {
                a.extend(b);
                return Ok(Scope::Districts(a));
            }
            (Some(scope), None) | (None, Some(scope)) => return Ok(scope),
            (None, None) => {}
        }
        let needs = format!("{first:?} or {second:?}");
        let record = Record::new(self.name(), "access.denied", what).result("denied").detail(json!({"needs": needs}));
        audit_repeatable(state, record).await?;
        let mut roles: Vec<Role> = first.roles().iter().chain(second.roles()).copied().collect();
        roles.sort();
        roles.dedup();
        Err(ApiError::Forbidden(refusal(what, &roles, &self.0.roles().into_iter().collect::<Vec<_>>())))
    }

    /// Like `require`, but the grant must cover every district.
    pub async fn require_all_districts(&self, state: &AppState, permission: Permission, what: &str) -> Result<(), ApiError> {
        match self.require(state, permission, what).await? {
            Scope::All => Ok(()),
            Scope::Districts(_) => {
                audit_repeatable(state, Record::new(self.name(), "access.denied", what).result("denied").detail(json!({"needs": "grant over all districts"})))
                    .await?;
                Err(ApiError::Forbidden(format!("{what} needs a grant over all districts")))
            }
        }
    }
}

/// A refusal for people: "reading cameras needs the role admin, supervisor
/// or operator; you are an auditor".
fn refusal(what: &str, needed: &[Role], held: &[Role]) -> String {
    let needed: Vec<&str> = needed.iter().map(|r| r.as_str()).collect();
    let held: Vec<String> = held.iter().map(|r| format!("{} {}", article(*r), r.as_str())).collect();
    let you = if held.is_empty() { "you hold no role".to_owned() } else { format!("you are {}", either(&held, "and")) };
    format!("{what} needs the role {}; {you}", either(&needed, "or"))
}

/// "a", "a or b", "a, b or c".
fn either(items: &[impl AsRef<str>], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., tail] => format!("{} {last} {}", rest.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(", "), tail.as_ref()),
    }
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Operator | Role::Officer | Role::Auditor => "an",
        Role::Supervisor | Role::Dispatcher => "a",
    }
}

/// Appends to the audit log on a blocking thread.
pub async fn audit(state: &AppState, record: Record) -> Result<(), ApiError> {
    let log = state.audit.clone();
    tokio::task::spawn_blocking(move || log.record(record)).await??;
    Ok(())
}

/// Like [`audit`], for entries a caller can repeat at will (a refused
/// request): the first of a burst is written, repeats within the window
/// are counted into one entry (`repeats.rs`).
pub async fn audit_repeatable(state: &AppState, record: Record) -> Result<(), ApiError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.repeats.record(&s.audit, record)).await??;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// A login body is two short strings; anything larger is refused before it
/// is parsed. (No password set here is longer than 1024 characters, so the
/// limit refuses no one.)
pub(crate) const LOGIN_BODY_LIMIT: usize = 8 * 1024;

/// Throttled per client address and per user name at that address before a
/// password is hashed; failures and refusals reach the audit log as
/// described in `login_throttle`.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!("a login request must be at most {} KiB", LOGIN_BODY_LIMIT / 1024)),
        _ => ApiError::BadRequest(format!("could not read the request body: {}", e.body_text())),
    })?;
    let LoginBody { username, password } = body::json_typed(&bytes)?;
    let ip = peer.ip();
    let name = LoginName::parse(&username).map_err(|refused| {
        state.login_throttle.malformed(&refused, ip);
        ApiError::BadRequest(format!("username must be 1 to {MAX_LOGIN_NAME_CHARS} printable characters"))
    })?;
    state.login_throttle.check(&name, ip).map_err(|r| ApiError::TooManyRequests { retry_after_s: r.retry_after_s() })?;
    let store = state.users.clone();
    let claimed = name.as_str().to_owned();
    let ok = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
        match store.user_credentials(&claimed)? {
            Some(c) if !c.disabled => Ok(verify_password(&password, &c.password_hash)),
            _ => {
                // Same work as for a real user, so timing does not reveal which names exist.
                verify_password(&password, dummy_hash());
                Ok(false)
            }
        }
    })
    .await??;
    if !ok {
        if state.login_throttle.failed(&name, ip) == FailureEntry::Own {
            let r = Record::new(name.as_str(), "auth.login", "session").result("denied").detail(json!({"reason": "bad credentials", "peer": ip.to_string()}));
            audit(&state, r).await?;
        }
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    }
    state.login_throttle.succeeded(&name, ip);
    let username = name.as_str().to_owned();
    let token = new_session_token();
    let store = state.users.clone();
    let (user, hash, expires) = (username.clone(), token_hash(&token), Utc::now() + state.session_ttl);
    let principal = tokio::task::spawn_blocking(move || -> Result<Principal, ApiError> {
        store.create_session(&hash, &user, expires)?;
        Ok(Principal::new(user.clone(), store.grants_of(&user)?, Utc::now()))
    })
    .await??;
    audit(&state, Record::new(&username, "auth.login", "session").detail(json!({"peer": ip.to_string()}))).await?;
    let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", state.session_ttl.num_seconds());
    let roles: Vec<&str> = principal.roles().into_iter().map(|r| r.as_str()).collect();
    let mut response = Json(json!({"token": token, "username": username, "roles": roles, "expires_at": expires})).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("token is URL-safe base64"));
    Ok(response)
}

/// Writes the counted login refusals that are due (all of them if `all`).
pub(crate) async fn write_login_summaries(state: &AppState, all: bool) {
    for record in state.login_throttle.take_summaries(all) {
        if let Err(e) = audit(state, record).await {
            tracing::error!("could not record counted login refusals: {e:?}");
        }
    }
}

/// Runs until the server stops (`serve` aborts it, then writes what is left).
pub(crate) async fn write_login_summaries_forever(state: AppState) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        write_login_summaries(&state, false).await;
    }
}

pub async fn logout(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let store = state.users.clone();
        tokio::task::spawn_blocking(move || store.delete_session(&token_hash(&token))).await??;
        state.session_ends.ended();
    }
    audit(&state, Record::new(caller.name(), "auth.logout", "session")).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("cw_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"));
    Ok(response)
}

pub async fn me(caller: Caller) -> Json<serde_json::Value> {
    let grants: Vec<_> = caller.0.grants().iter().map(|g| json!({"id": g.id, "role": g.role, "districts": g.districts, "expires_at": g.expires_at})).collect();
    // What the console builds its views from, so it never keeps its own
    // copy of which role may do what.
    let permissions: Vec<&str> = Permission::ALL.into_iter().filter(|p| caller.0.may(*p)).map(Permission::as_str).collect();
    Json(json!({"username": caller.0.username, "roles": caller.0.roles(), "grants": grants, "permissions": permissions}))
}

fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("citywatch-timing-equaliser").expect("hashing a constant works"))
}
