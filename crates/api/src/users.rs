//! `/api/v1/users`: accounts, their passwords, whether they are disabled,
//! and their grants. Only an admin whose grant covers every district
//! manages them. A password change, a disable and an explicit end of
//! sessions end every session of the user (open WebSockets close within
//! about a second). An admin cannot lock themself out: neither disable
//! their own account nor remove their own last admin grant over all
//! districts.
//! Every grant passes the separation of duties
//! (`citywatch_audit::check_grant`): never to oneself, never admin beside
//! auditor.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use citywatch_audit::{hash_password, GrantError, GrantRefused, Granter, MakeRowAfter, PendingEntry, Permission, Record};
use citywatch_model::{ChainHead, Grant, GrantSpec, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{audit, Caller};
use crate::{body, ApiError, AppState};

/// A user as the administrator's list shows it.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub(crate) struct UserAccount {
    pub username: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// `null`: never logged in (since this was recorded).
    pub last_login_at: Option<DateTime<Utc>>,
    /// Unexpired sessions now.
    pub open_sessions: usize,
    pub grants: Vec<Grant>,
}

/// Every user with their grants, how many sessions they hold open now and
/// when they last logged in.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    let store = state.users.clone();
    let users = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let open = store.open_session_counts(Utc::now())?;
        store
            .users()?
            .into_iter()
            .map(|u| {
                let grants = store.grants_of(&u.username)?;
                let open_sessions = open.get(&u.username).copied().unwrap_or(0);
                Ok(json!(UserAccount {
                    username: u.username,
                    disabled: u.disabled,
                    created_at: u.created_at,
                    last_login_at: u.last_login_at,
                    open_sessions,
                    grants
                }))
            })
            .collect()
    })
    .await??;
    Ok(Json(Value::Array(users)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
    #[serde(default)]
    grants: Vec<NewGrant>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct NewGrant {
    role: String,
    #[serde(default)]
    districts: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
}

pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field("username", "must be 1 to 64 of a-z, 0-9, '.', '_', '-', '@'"))
    }
}

async fn check_grant(state: &AppState, g: NewGrant) -> Result<GrantSpec, ApiError> {
    let role = Role::parse(&g.role)
        .ok_or_else(|| ApiError::field("role", format!("unknown role '{}'; expected one of {}", g.role, Role::ALL.map(|r| r.as_str()).join(", "))))?;
    let expires_at = g
        .expires_at
        .map(|t| {
            DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)).map_err(|e| ApiError::field("expires_at", format!("must be an RFC 3339 time: {e}")))
        })
        .transpose()?;
    if expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(ApiError::field("expires_at", "is in the past"));
    }
    if let Some(list) = &g.districts {
        if list.is_empty() {
            return Err(ApiError::field("districts", "is empty; give null for all districts or at least one name"));
        }
        let known = crate::districts::all(state).await?;
        for d in list {
            if !known.iter().any(|k| &k.name == d) {
                return Err(ApiError::field("districts", format!("no district is named '{d}'")));
            }
        }
    }
    Ok(GrantSpec { role, districts: g.districts, expires_at })
}

pub async fn create(State(state): State<AppState>, caller: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    let new: NewUser = body::json_typed(&bytes)?;
    check_username(&new.username)?;
    let mut specs = Vec::new();
    for g in new.grants.iter().cloned() {
        specs.push(check_grant(&state, g).await?);
    }
    // Separation of duties over the whole set, before anything is stored.
    let mut held = Vec::new();
    for s in &specs {
        if let Err(why) = citywatch_audit::check_grant(Granter::User(caller.name()), &new.username, s.role, &held) {
            return Err(refuse(&state, &caller, "user.create", &new.username, why).await);
        }
        held.push(s.role);
    }
    let hash = hash_password(&new.password).map_err(|e| ApiError::field("password", e.to_string()))?;
    let store = state.users.clone();
    let username = new.username.clone();
    let (log, actor) = (state.audit.clone(), caller.name().to_owned());
    let grants = tokio::task::spawn_blocking(move || -> Result<Vec<Grant>, ApiError> {
        let record = |grants: &Vec<Grant>| Record::new(actor, "user.create", &username).detail(json!({"grants": grants}));
        let (grants, row) = store.create_user(&username, &hash, &specs, after(record))?;
        log.appended(&row)?;
        Ok(grants)
    })
    .await??;
    Ok((StatusCode::CREATED, Json(json!({"username": new.username, "grants": grants}))).into_response())
}

pub async fn add_grant(State(state): State<AppState>, caller: Caller, Path(username): Path<String>, bytes: Bytes) -> Result<Response, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    let spec = check_grant(&state, body::json_typed(&bytes)?).await?;
    let store = state.users.clone();
    let (name, granter, log) = (username.clone(), caller.name().to_owned(), state.audit.clone());
    let added = tokio::task::spawn_blocking(move || {
        let record = |grant: &Grant| Record::new(&granter, "grant.add", &name).detail(json!({"grant": grant}));
        let added = citywatch_audit::add_grant(&*store, Granter::User(&granter), &name, &spec, Utc::now(), after(record));
        if let Ok((_, row)) = &added {
            // The grant and its entry are committed; a checkpoint that
            // cannot be signed now is signed with a later entry.
            if let Err(e) = log.appended(row) {
                tracing::warn!("audit checkpoint after grant.add: {e}");
            }
        }
        added
    })
    .await?;
    let grant = match added {
        Ok((grant, _)) => grant,
        Err(GrantError::Repo(e)) => return Err(e.into()),
        Err(GrantError::Refused(why)) => return Err(refuse(&state, &caller, "grant.add", &username, why).await),
    };
    Ok((StatusCode::CREATED, Json(grant)).into_response())
}

/// `DELETE /api/v1/users/{username}/grants/{id}`: takes effect on the
/// user's next request (grants are read afresh for each), and open
/// WebSockets re-check at once. An admin may not take away their own last
/// admin grant over all districts: nobody might be left to manage users.
pub async fn remove_grant(State(state): State<AppState>, caller: Caller, Path((username, id)): Path<(String, i64)>) -> Result<StatusCode, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    let store = state.users.clone();
    let own = username == caller.name();
    let (log, actor) = (state.audit.clone(), caller.name().to_owned());
    let removed = tokio::task::spawn_blocking(move || -> Result<Result<Grant, Grant>, ApiError> {
        let grants = store.grants_of(&username)?;
        let Some(grant) = grants.iter().find(|g| g.id == id).cloned() else {
            return Err(ApiError::NotFound(format!("grant {id} of user {username} not found")));
        };
        if own && is_admin_over_all(&grant) && !grants.iter().any(|g| g.id != id && is_admin_over_all(g)) {
            return Ok(Err(grant));
        }
        let record = |grant: &Grant| Record::new(actor, "grant.remove", &grant.username).detail(json!({"grant": grant}));
        let (grant, row) = store.delete_grant(id, after(record))?;
        log.appended(&row)?;
        Ok(Ok(grant))
    })
    .await??;
    match removed {
        Ok(_) => {}
        Err(kept) => {
            let why = "you cannot remove your own last admin grant over all districts, or no one might be left to manage users; ask another admin";
            let record = Record::new(caller.name(), "grant.remove", caller.name()).result("denied").detail(json!({"grant": kept, "reason": why}));
            audit(&state, record).await?;
            return Err(ApiError::Conflict(why.into()));
        }
    };
    state.session_ends.ended();
    Ok(StatusCode::NO_CONTENT)
}

/// An admin grant in force now that reaches every district: what managing users needs.
fn is_admin_over_all(g: &Grant) -> bool {
    g.role == Role::Admin && g.districts.is_none() && g.is_active(Utc::now())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// `PUT /api/v1/users/{username}/password`: sets the password and ends
/// every session of the user.
pub async fn set_password(State(state): State<AppState>, caller: Caller, Path(username): Path<String>, bytes: Bytes) -> Result<StatusCode, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    let NewPassword { password } = body::json_typed(&bytes)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await?.map_err(|e| ApiError::field("password", e.to_string()))?;
    let (store, log, actor) = (state.users.clone(), state.audit.clone(), caller.name().to_owned());
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let record = |ended: &usize| Record::new(actor, "user.set_password", &username).detail(json!({"sessions_ended": ended}));
        let (_, row) = store.set_password_hash(&username, &hash, after(record))?;
        Ok(log.appended(&row)?)
    })
    .await??;
    state.session_ends.ended();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{username}/disable`: refuses the user's logins and
/// ends every session of it. Not one's own account: an admin who locks
/// themself out may leave no one to undo it.
pub async fn disable(State(state): State<AppState>, caller: Caller, Path(username): Path<String>) -> Result<Json<Value>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    if username == caller.name() {
        return Err(ApiError::Conflict("you cannot disable your own account; ask another admin".into()));
    }
    set_disabled(&state, &caller, username, true).await
}

/// `POST /api/v1/users/{username}/enable`: lets the user log in again.
pub async fn enable(State(state): State<AppState>, caller: Caller, Path(username): Path<String>) -> Result<Json<Value>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    set_disabled(&state, &caller, username, false).await
}

async fn set_disabled(state: &AppState, caller: &Caller, username: String, disabled: bool) -> Result<Json<Value>, ApiError> {
    let (store, log, actor) = (state.users.clone(), state.audit.clone(), caller.name().to_owned());
    let name = username.clone();
    let ended = tokio::task::spawn_blocking(move || -> Result<usize, ApiError> {
        let action = if disabled { "user.disable" } else { "user.enable" };
        let record = |ended: &usize| Record::new(actor, action, &name).detail(json!({"sessions_ended": ended}));
        let (ended, row) = store.set_user_disabled(&name, disabled, after(record))?;
        log.appended(&row)?;
        Ok(ended)
    })
    .await??;
    if disabled {
        state.session_ends.ended();
    }
    Ok(Json(json!({"username": username, "disabled": disabled, "sessions_ended": ended})))
}

/// `POST /api/v1/users/{username}/sessions/end`: logs the user out
/// everywhere without disabling the account (a lost phone, a shared
/// terminal); open WebSockets close within about a second. The user may
/// log in again at once.
pub async fn end_sessions(State(state): State<AppState>, caller: Caller, Path(username): Path<String>) -> Result<Json<Value>, ApiError> {
    caller.require_all_districts(&state, Permission::ManageUsers, "managing users").await?;
    let (store, log, actor) = (state.users.clone(), state.audit.clone(), caller.name().to_owned());
    let name = username.clone();
    let ended = tokio::task::spawn_blocking(move || -> Result<usize, ApiError> {
        let record = |ended: &usize| Record::new(actor, "user.end_sessions", &name).detail(json!({"sessions_ended": ended}));
        let (ended, row) = store.end_sessions_of(&name, after(record))?;
        log.appended(&row)?;
        Ok(ended)
    })
    .await??;
    state.session_ends.ended();
    Ok(Json(json!({"username": username, "sessions_ended": ended})))
}

/// The audit entry of an account change, made from what the change did
/// and committed in its transaction (`UserRepo`): both or neither.
pub(crate) fn after<'a, T>(record: impl FnOnce(&T) -> Record + 'a) -> MakeRowAfter<'a, T> {
    Box::new(move |outcome: &T, head: Option<&ChainHead>| PendingEntry::new(record(outcome)).row_on(head))
}

/// Records a grant refused by the separation of duties, and answers it:
/// 403 for a grant to oneself, 409 for admin beside auditor.
async fn refuse(state: &AppState, caller: &Caller, action: &str, username: &str, why: GrantRefused) -> ApiError {
    let role = match &why {
        GrantRefused::ToOneself { role } | GrantRefused::AdminAndAuditor { asked: role, .. } => *role,
    };
    let record = Record::new(caller.name(), action, username).result("denied").detail(json!({"role": role, "reason": why.to_string()}));
    if let Err(e) = audit(state, record).await {
        return e;
    }
    match why {
        GrantRefused::ToOneself { .. } => ApiError::Forbidden(why.to_string()),
        GrantRefused::AdminAndAuditor { .. } => ApiError::Conflict(why.to_string()),
    }
}
