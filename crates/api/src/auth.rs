//! Login, sessions and the `Caller` of every authenticated route.
//!
//! A session token is accepted as `Authorization: Bearer <token>` (API
//! clients) or as the HttpOnly `cw_session` cookie the console gets at login
//! (SameSite=Strict, so other sites cannot ride on it).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use citywatch_audit::{hash_password, new_session_token, token_hash, verify_password, Permission, Principal, Record, Scope};
use serde::Deserialize;
use serde_json::json;

use crate::{body, ApiError, AppState};

pub const SESSION_COOKIE: &str = "cw_session";

/// The authenticated user of a request, with the grants in force now.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized(
                "authentication required: log in with POST /api/v1/auth/login and send the token as 'Authorization: Bearer <token>'".into(),
            )
        })?;
        let store = state.store.clone();
        let principal = tokio::task::spawn_blocking(move || -> Result<Option<Principal>, ApiError> {
            let now = Utc::now();
            let Some(username) = store.session_user(&token_hash(&token), now)? else { return Ok(None) };
            let grants = store.grants_of(&username)?;
            Ok(Some(Principal::new(username, grants, now)))
        })
        .await??;
        principal
            .map(Caller)
            .ok_or_else(|| ApiError::Unauthorized("session is invalid or has expired; log in again".into()))
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
        let roles: Vec<&str> = permission.roles().iter().map(|r| r.as_str()).collect();
        Err(ApiError::Forbidden(format!("{what} needs one of the roles {}; you have {:?}", roles.join(", "), self.0.roles())))
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

pub async fn login(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, bytes: Bytes) -> Result<Response, ApiError> {
    let LoginBody { username, password } = body::json_typed(&bytes)?;
    if let Some(retry_after_s) = state.limiter.blocked(&username, peer.ip()) {
        let r = Record::new(&username, "auth.login", "session").result("denied").detail(json!({"reason": "rate limited", "peer": peer.ip().to_string()}));
        audit(&state, r).await?;
        return Err(ApiError::TooManyRequests { retry_after_s });
    }
    let store = state.store.clone();
    let name = username.clone();
    let ok = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
        match store.user_credentials(&name)? {
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
        state.limiter.record_failure(&username, peer.ip());
        audit(&state, Record::new(&username, "auth.login", "session").result("denied").detail(json!({"reason": "bad credentials", "peer": peer.ip().to_string()})))
            .await?;
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    }
    state.limiter.clear(&username);
    let token = new_session_token();
    let store = state.store.clone();
    let (name, hash, expires) = (username.clone(), token_hash(&token), Utc::now() + state.session_ttl);
    let principal = tokio::task::spawn_blocking(move || -> Result<Principal, ApiError> {
        store.create_session(&hash, &name, expires)?;
        Ok(Principal::new(name.clone(), store.grants_of(&name)?, Utc::now()))
    })
    .await??;
    audit(&state, Record::new(&username, "auth.login", "session").detail(json!({"peer": peer.ip().to_string()}))).await?;
    let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", state.session_ttl.num_seconds());
    let roles: Vec<&str> = principal.roles().into_iter().map(|r| r.as_str()).collect();
    let mut response = Json(json!({"token": token, "username": username, "roles": roles, "expires_at": expires})).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("token is URL-safe base64"));
    Ok(response)
}

pub async fn logout(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.delete_session(&token_hash(&token))).await??;
    }
    audit(&state, Record::new(caller.name(), "auth.logout", "session")).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("cw_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"));
    Ok(response)
}

pub async fn me(caller: Caller) -> Json<serde_json::Value> {
    let grants: Vec<_> = caller
        .0
        .grants()
        .iter()
        .map(|g| json!({"id": g.id, "role": g.role, "districts": g.districts, "expires_at": g.expires_at}))
        .collect();
    Json(json!({"username": caller.0.username, "roles": caller.0.roles(), "grants": grants}))
}

fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("citywatch-timing-equaliser").expect("hashing a constant works"))
}

/// Failed logins per user name and per client address, in a sliding window.
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    window: Duration,
    per_user: usize,
    per_address: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter { failures: Mutex::default(), window: Duration::from_secs(15 * 60), per_user: 5, per_address: 20 }
    }
}

impl LoginLimiter {
    fn keys(username: &str, ip: IpAddr) -> [String; 2] {
        [format!("user:{username}"), format!("ip:{ip}")]
    }

    /// Seconds until another try is allowed, if the limit is reached.
    fn blocked(&self, username: &str, ip: IpAddr) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let [user_key, ip_key] = Self::keys(username, ip);
        let mut wait = None;
        for (key, limit) in [(user_key, self.per_user), (ip_key, self.per_address)] {
            if let Some(q) = map.get_mut(&key) {
                while q.front().is_some_and(|t| now.duration_since(*t) > self.window) {
                    q.pop_front();
                }
                if q.len() >= limit {
                    let oldest = *q.front().expect("non-empty");
                    let left = self.window.saturating_sub(now.duration_since(oldest)).as_secs().max(1);
                    wait = Some(wait.map_or(left, |w: u64| w.max(left)));
                }
            }
        }
        wait
    }

    fn record_failure(&self, username: &str, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(username, ip) {
            map.entry(key).or_default().push_back(Instant::now());
        }
        if map.len() > 100_000 {
            // Bound memory under a spray of names: forget the stalest.
            let now = Instant::now();
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
    }

    fn clear(&self, username: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&format!("user:{username}"));
    }
}
