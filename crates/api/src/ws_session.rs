//! The session side of the API's WebSocket streams (`/api/v1/live`,
//! `/api/v1/alerts/stream`, `/api/v1/dispatch/stream`), written once.
//!
//! Owns who may open a stream (the stream's permission, a page of this
//! server, a session token that can be checked again) and, while it is
//! open, checking that session again every so often and at once when
//! sessions end (`session_ends`): a session that ended closes the socket
//! with [`CLOSE_SESSION_ENDED`], a grant that is gone with
//! [`CLOSE_FORBIDDEN`], and a database that cannot answer leaves it open
//! until the next check. Each stream supplies only what it sends: a
//! stream that only pushes updates (alerts, units) runs [`push`] with its
//! [`Feed`]; live video, which also takes commands, runs its own loop
//! around a [`Session`].

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap};
use chrono::{DateTime, Utc};
use citywatch_audit::{token_hash, Permission, Principal, Scope};
use citywatch_model::RepoError;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::time::Interval;

use crate::auth::{session_token, Caller};
use crate::{ApiError, AppState};

/// WebSocket close codes (private range 4000-4999).
pub(crate) const CLOSE_SESSION_ENDED: u16 = 4401;
pub(crate) const CLOSE_FORBIDDEN: u16 = 4403;

/// What one stream is, for its handshake and its checks.
pub(crate) struct Rules {
    /// The route, named in the refusal of a request that is not a WebSocket.
    pub path: &'static str,
    /// Needed to open the stream and to keep it open.
    pub permission: Permission,
    /// What the caller is doing, for the 403 of a caller without it.
    pub doing: &'static str,
    /// The close reason when the grant is gone while the socket is open.
    pub revoked: &'static str,
    /// The largest message the client may send.
    pub max_message: usize,
}

/// Accepts the handshake of a stream: the caller holds its permission, the
/// page is this server's and the request names a session token. The
/// returned [`Session`] checks that session again every `every`.
pub(crate) async fn open(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    rules: &'static Rules,
    every: Duration,
) -> Result<(WebSocketUpgrade, Session), ApiError> {
    caller.require(state, rules.permission, rules.doing).await?;
    same_origin(headers, rules.path)?;
    let ws = ws.map_err(|e| ApiError::BadRequest(format!("{} speaks WebSocket only: {e}", rules.path)))?;
    let token = session_token(headers).ok_or_else(|| ApiError::Unauthorized("no session token".into()))?;
    let recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let session = Session { state: state.clone(), rules, token, recheck, ends: state.session_ends.subscribe() };
    Ok((ws.max_message_size(rules.max_message), session))
}

/// Browsers send `Origin` with every WebSocket handshake; refuse pages of
/// other sites riding on the session cookie. Clients that send no `Origin`
/// (not browsers) authenticate with a bearer token anyway.
fn same_origin(headers: &HeaderMap, path: &str) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/');
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("{path} is served to pages of this server only (Origin {origin} is not {host})")))
    }
}

/// The session behind an open socket.
pub(crate) struct Session {
    state: AppState,
    rules: &'static Rules,
    token: String,
    recheck: Interval,
    ends: watch::Receiver<u64>,
}

/// What a check of the session found.
pub(crate) enum Check<T> {
    /// Still allowed: the session's principal now, its scope for the
    /// stream's permission, and what the stream read along with it.
    Granted { principal: Principal, scope: Scope, extra: T },
    /// Not any more: send this and close the socket.
    Close(CloseFrame),
    /// The database could not say; the socket stays open until the next check.
    Unknown,
}

impl Session {
    /// Resolves when the session is due for a check: periodically, or as
    /// soon as sessions end. Cancel-safe, for `tokio::select!` loops.
    pub(crate) async fn due(&mut self) {
        crate::session_ends::next_check(&mut self.recheck, &mut self.ends).await;
    }

    /// Checks the session and the stream's permission again.
    pub(crate) async fn check(&self) -> Check<()> {
        self.check_with(|_, _| Ok(())).await
    }

    /// As [`Session::check`], also reading `extra` for the session's user
    /// in the same blocking task (live video: the user's unmask grants).
    pub(crate) async fn check_with<T: Send + 'static>(&self, extra: impl FnOnce(&str, DateTime<Utc>) -> Result<T, RepoError> + Send + 'static) -> Check<T> {
        let users = self.state.users.clone();
        let hash = token_hash(&self.token);
        let found = tokio::task::spawn_blocking(move || -> Result<Option<(Principal, T)>, RepoError> {
            let now = Utc::now();
            let Some(user) = users.session_user(&hash, now)? else { return Ok(None) };
            let grants = users.grants_of(&user)?;
            let extra = extra(&user, now)?;
            Ok(Some((Principal::new(user, grants, now), extra)))
        })
        .await;
        let close = |code: u16, reason: &str| Check::Close(CloseFrame { code, reason: reason.to_owned().into() });
        match found {
            Ok(Ok(Some((principal, extra)))) => match principal.scope(self.rules.permission) {
                Some(scope) => Check::Granted { principal, scope, extra },
                None => close(CLOSE_FORBIDDEN, self.rules.revoked),
            },
            Ok(Ok(None)) => close(CLOSE_SESSION_ENDED, "session ended; log in again"),
            // A database hiccup is no reason to drop the console.
            Ok(Err(e)) => {
                tracing::warn!("{}: checking the session: {e}", self.rules.path);
                Check::Unknown
            }
            Err(e) => {
                tracing::warn!("{}: checking the session: {e}", self.rules.path);
                Check::Unknown
            }
        }
    }
}

/// One item from a stream's broadcast channel.
pub(crate) enum Received<T> {
    Update(T),
    /// The socket fell behind and this many updates were dropped.
    Missed(u64),
}

/// Where a push-only stream's updates come from: the events bus (alerts)
/// or dispatch's unit channel.
pub(crate) trait Updates: Send + 'static {
    type Item: Send;

    /// The next update, or `None` once the source has closed.
    fn next(&mut self) -> impl Future<Output = Option<Received<Self::Item>>> + Send;
}

impl<T: Clone + Send + 'static> Updates for broadcast::Receiver<T> {
    type Item = T;

    async fn next(&mut self) -> Option<Received<T>> {
        match self.recv().await {
            Ok(u) => Some(Received::Update(u)),
            Err(RecvError::Lagged(n)) => Some(Received::Missed(n)),
            Err(RecvError::Closed) => None,
        }
    }
}

impl<T: Clone + Send + 'static> Updates for citywatch_events::BusReceiver<T> {
    type Item = T;

    async fn next(&mut self) -> Option<Received<T>> {
        match self.recv().await {
            Ok(u) => Some(Received::Update(u)),
            Err(citywatch_events::BusRecvError::Lagged(n)) => Some(Received::Missed(n)),
            Err(citywatch_events::BusRecvError::Closed) => None,
        }
    }
}

/// What to do with one item.
pub(crate) enum Step {
    Send(Value),
    Skip,
    End,
}

/// The part of a push-only stream that is its own: what it sends for an
/// update, given who is watching.
pub(crate) trait Feed: Send + 'static {
    type Update: Clone + Send + 'static;

    fn render(&mut self, principal: &Principal, received: Received<Self::Update>) -> impl Future<Output = Step> + Send;
}

/// Runs a push-only stream: `first` (if any), then what `feed` makes of
/// each update, until the client leaves, the channel closes, the feed ends
/// it or the session check closes it. Client messages are ignored.
pub(crate) async fn push<F: Feed, U: Updates<Item = F::Update>>(
    socket: WebSocket,
    mut session: Session,
    mut principal: Principal,
    first: Option<Value>,
    mut updates: U,
    mut feed: F,
) {
    let (mut sink, mut incoming) = socket.split();
    if let Some(first) = first {
        if sink.send(Message::Text(first.to_string().into())).await.is_err() {
            return;
        }
    }
    loop {
        let received = tokio::select! {
            u = updates.next() => match u {
                Some(u) => u,
                None => break,
            },
            m = incoming.next() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            _ = session.due() => match session.check().await {
                Check::Granted { principal: p, .. } => { principal = p; continue }
                Check::Close(frame) => { let _ = sink.send(Message::Close(Some(frame))).await; break }
                Check::Unknown => continue,
            },
        };
        let msg = match feed.render(&principal, received).await {
            Step::Send(v) => Message::Text(v.to_string().into()),
            Step::Skip => continue,
            Step::End => break,
        };
        if sink.send(msg).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origin_must_be_this_server() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "/api/v1/live").is_ok(), "no Origin: not a browser");
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h, "/api/v1/live").is_ok());
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(same_origin(&h, "/api/v1/live").is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8081"));
        assert!(same_origin(&h, "/api/v1/live").is_err());
    }
}
