//! `GET /api/v1/live`: one WebSocket per client carrying the live video of
//! several cameras as fragmented MP4 for Media Source Extensions. The
//! protocol is in docs/design/live.md.
//!
//! Owns the wire: who may open the socket (permission `ViewLive`, checked
//! again every [`RECHECK`] while it is open, and at once when sessions end,
//! through `ws_session`), which cameras a subscription
//! may reach (the caller's districts), the audit entry of each subscription,
//! and framing of the hub's frames as `[channel][fMP4]` messages. It never
//! slows the recorder: each subscription reads its own hub subscription,
//! which skips to the next key frame when this socket cannot keep up.
//!
//! Who sees faces: a caller whose unmask grant (`ViewUnmasked`) covers the
//! camera's district, or who holds a supervisor's per-camera unmask grant
//! ([`crate::unmask_grants`]), gets the camera's own stream (nothing transcoded);
//! everyone else gets it with faces pixelated ([`crate::live_redacted`]) or,
//! when that cannot be done, an error for that camera, never the original.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use citywatch_audit::{Permission, Principal, Record};
use citywatch_model::RepoError;
use citywatch_video::fmp4::{self, Fragmenter};
use citywatch_video::live::{LiveEvent, Subscription};
use citywatch_video::recorder::Stream;
use citywatch_video::Codec;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::{audit, Caller};
use crate::ws_session::{self, Check, Session};
use crate::{ApiError, AppState};

/// Cameras one socket may watch at once (a 16-tile wall, with room).
pub const MAX_SUBSCRIPTIONS: usize = 32;
/// Messages queued for the socket. Small on purpose: when the client does
/// not keep up, subscriptions wait here and their hub subscriptions skip
/// ahead to fresh key frames, instead of old video piling up.
const OUT_QUEUE: usize = 16;
/// How often an open socket's session and grants are checked again
/// (unless the binary or a test sets another, `AppState::set_live_recheck`).
pub(crate) const RECHECK: Duration = Duration::from_secs(30);
/// Client messages are small commands.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// Unsent bytes the kernel may hold per connection (`TCP_NOTSENT_LOWAT`).
/// Without a limit Linux buffers megabytes for a client that stopped
/// reading (over a megabyte on loopback), which for live video means tens
/// of seconds of delay before the server notices and skips ahead.
const NOTSENT_LOWAT: u32 = 64 * 1024;

const STREAM: ws_session::Rules = ws_session::Rules {
    path: "/api/v1/live",
    permission: Permission::ViewLive,
    doing: "watching live video",
    revoked: "live video is no longer granted",
    max_message: MAX_CLIENT_MESSAGE,
};

pub async fn socket(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (ws, session) = ws_session::open(&state, &caller, &headers, ws, &STREAM, state.live_recheck()).await?;
    Ok(ws.on_upgrade(move |socket| run(socket, state, caller.0, session)))
}

/// Applied to every accepted connection: no Nagle delay for small frames,
/// and little unsent data in the kernel, so a slow client is noticed within
/// a fraction of a second and its subscriptions skip to fresh key frames.
/// Failures only cost latency, so they are logged and ignored.
pub(crate) fn tune_socket(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY: {e}");
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = socket2::SockRef::from(&*tcp).set_tcp_notsent_lowat(NOTSENT_LOWAT) {
        tracing::debug!("TCP_NOTSENT_LOWAT: {e}");
    }
}

/// One message for the socket.
enum Out {
    Text(String),
    Binary(Bytes),
    Close(CloseFrame),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Command {
    subscribe: Option<String>,
    /// "auto" (default: the sub-stream if the camera has one), "main", "sub".
    stream: Option<String>,
    /// Send H.265 fragments too (browsers' MSE cannot play them).
    #[serde(default)]
    accept_h265: bool,
    unsubscribe: Option<u8>,
    /// Echoed in the reply, to match replies to requests.
    #[serde(rename = "ref")]
    reference: Option<Value>,
}

struct Watching {
    camera: String,
    task: JoinHandle<()>,
    /// Faces shown: the caller's unmask grant covered the camera.
    unmasked: bool,
}

struct Conn {
    state: AppState,
    principal: Principal,
    session: Session,
    out: mpsc::Sender<Out>,
    subs: HashMap<u8, Watching>,
}

async fn run(socket: WebSocket, state: AppState, principal: Principal, session: Session) {
    let (mut sink, mut incoming) = socket.split();
    let (out, mut queue) = mpsc::channel::<Out>(OUT_QUEUE);
    let mut writer = tokio::spawn(async move {
        while let Some(m) = queue.recv().await {
            let (msg, last) = match m {
                Out::Text(t) => (Message::Text(t.into()), false),
                Out::Binary(b) => (Message::Binary(b), false),
                Out::Close(frame) => (Message::Close(Some(frame)), true),
            };
            // `send` flushes: each message leaves at once, for latency.
            if sink.send(msg).await.is_err() || last {
                break;
            }
        }
    });
    let mut conn = Conn { state, principal, session, out, subs: HashMap::new() };
    loop {
        tokio::select! {
            msg = incoming.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if !conn.command(text.as_str()).await {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => conn.reply(json!({"error": "send commands as text messages (JSON)"})).await,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {} // ping/pong: answered by the library
            },
            _ = conn.session.due() => {
                if !conn.recheck().await {
                    break;
                }
            }
            _ = &mut writer => break,
        }
    }
    for (_, w) in conn.subs.drain() {
        w.task.abort();
    }
    drop(conn.out);
    // The writer sends what is queued (a close frame, say), then ends.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

impl Conn {
    async fn reply(&self, v: Value) {
        let _ = self.out.send(Out::Text(v.to_string())).await;
    }

    /// Handles one client command; `false` ends the connection.
    async fn command(&mut self, text: &str) -> bool {
        let cmd: Command = match serde_json::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                self.reply(json!({"error": format!("bad command: {e}; expected {{\"subscribe\": CAMERA_ID, \"stream\": \"auto|main|sub\"}} or {{\"unsubscribe\": CHANNEL}}")})).await;
                return true;
            }
        };
        match (cmd.subscribe, cmd.unsubscribe) {
            (Some(camera), None) => {
                if let Err(e) = self.subscribe(&camera, cmd.stream.as_deref(), cmd.accept_h265, cmd.reference.clone()).await {
                    self.reply(json!({"error": e, "camera": camera, "ref": cmd.reference})).await;
                }
            }
            (None, Some(channel)) => match self.subs.remove(&channel) {
                Some(w) => {
                    w.task.abort();
                    self.reply(json!({"unsubscribed": channel, "camera": w.camera, "ref": cmd.reference})).await;
                }
                None => self.reply(json!({"error": format!("no subscription on channel {channel}"), "ref": cmd.reference})).await,
            },
            _ => self.reply(json!({"error": "a command has exactly one of subscribe or unsubscribe", "ref": cmd.reference})).await,
        }
        true
    }

    async fn subscribe(&mut self, camera_id: &str, stream: Option<&str>, accept_h265: bool, reference: Option<Value>) -> Result<(), String> {
        if self.subs.len() >= MAX_SUBSCRIPTIONS {
            return Err(format!("at most {MAX_SUBSCRIPTIONS} cameras per connection; unsubscribe one first"));
        }
        let scope = self.principal.scope(Permission::ViewLive).ok_or("live video needs a supervisor, operator, dispatcher or officer grant")?;
        let snapshot = self.state.registry.snapshot();
        let camera = snapshot.get(camera_id, &scope).ok_or_else(|| format!("camera {camera_id} not found"))?;
        let stream = match stream.unwrap_or("auto") {
            "auto" if camera.sub_url.is_some() => Stream::Sub,
            "auto" | "main" => Stream::Main,
            "sub" => Stream::Sub,
            other => return Err(format!("stream must be auto, main or sub, got {other:?}")),
        };
        let configured = match stream {
            Stream::Main => camera.main_url.is_some(),
            Stream::Sub => camera.sub_url.is_some(),
        };
        if !configured {
            return Err(format!("camera {camera_id} has no {} stream configured", stream.as_str()));
        }
        let channel = (1..=u8::MAX).find(|c| !self.subs.contains_key(c)).ok_or("no free channel")?;
        // The unmask grant must reach this camera's district too.
        let by_role = self.principal.scope(Permission::ViewUnmasked).is_some_and(|s| s.covers(camera.district.as_deref()));
        // Or a supervisor's grant naming this camera for this user.
        let grant = if by_role { None } else { crate::unmask_grants::grant_for(&self.state, &self.principal.username, camera_id).await };
        let unmasked = by_role || grant.is_some();
        // Masked: the blurred stream or an error, decided before anything is sent.
        let (subscription, lease) = if unmasked {
            (self.state.live.subscribe(camera_id, stream), None)
        } else {
            self.state.blurred_live.subscribe(camera_id, stream).map(|(s, l)| (s, Some(l)))?
        };
        let faces = if unmasked { "shown" } else { "blurred" };
        let record = Record::new(&self.principal.username, "video.live", camera_id)
            .detail(json!({"stream": stream.as_str(), "channel": channel, "faces": faces, "unmask_grant": grant}));
        audit(&self.state, record).await.map_err(|e| format!("could not record the audit entry, so not watching: {e:?}"))?;
        // The reply goes first: the client learns the channel before its data.
        self.reply(json!({"subscribed": camera_id, "channel": channel, "stream": stream.as_str(), "faces": faces, "unmask_grant": grant, "ref": reference}))
            .await;
        let task = tokio::spawn(pump(channel, camera_id.to_owned(), stream, subscription, self.out.clone(), accept_h265, lease));
        self.subs.insert(channel, Watching { camera: camera_id.to_owned(), task, unmasked });
        Ok(())
    }

    /// Checks the session and grants again; drops subscriptions that are
    /// no longer allowed. `false`: the session is over.
    async fn recheck(&mut self) -> bool {
        let access = self.state.access.clone();
        let unmask_grants = move |user: &str, now| -> Result<Vec<String>, RepoError> {
            Ok(access.active_unmask_grants_of(user, now)?.into_iter().flat_map(|g| g.cameras).collect())
        };
        let (principal, scope, granted_cameras) = match self.session.check_with(unmask_grants).await {
            Check::Granted { principal, scope, extra } => (principal, scope, extra),
            Check::Close(frame) => {
                let _ = self.out.send(Out::Close(frame)).await;
                return false;
            }
            // A database hiccup is no reason to cut the video; try again later.
            Check::Unknown => return true,
        };
        let snapshot = self.state.registry.snapshot();
        let gone: Vec<u8> = self.subs.iter().filter(|(_, w)| snapshot.get(&w.camera, &scope).is_none()).map(|(c, _)| *c).collect();
        for channel in gone {
            if let Some(w) = self.subs.remove(&channel) {
                w.task.abort();
                self.reply(json!({"unsubscribed": channel, "camera": w.camera, "reason": "not permitted any more"})).await;
            }
        }
        // An unmask grant that ended, was revoked (or no longer reaches the
        // camera's district) ends the unblurred views; the client may
        // subscribe again, and gets blurred video.
        let unmask = principal.scope(Permission::ViewUnmasked);
        let masked_now: Vec<u8> = self
            .subs
            .iter()
            .filter(|(_, w)| {
                w.unmasked
                    && !granted_cameras.contains(&w.camera)
                    && !unmask.as_ref().is_some_and(|s| snapshot.get(&w.camera, s).is_some_and(|c| s.covers(c.district.as_deref())))
            })
            .map(|(c, _)| *c)
            .collect();
        for channel in masked_now {
            if let Some(w) = self.subs.remove(&channel) {
                w.task.abort();
                self.reply(json!({"unsubscribed": channel, "camera": w.camera, "reason": "faces must be blurred for you now; subscribe again"})).await;
            }
        }
        self.principal = principal;
        true
    }
}

fn binary(channel: u8, payload: &[u8]) -> Out {
    let mut b = Vec::with_capacity(payload.len() + 1);
    b.push(channel);
    b.extend_from_slice(payload);
    Out::Binary(b.into())
}

/// Turns one hub subscription into messages for the socket. Waiting on a
/// full queue is fine: meanwhile the hub subscription skips ahead.
/// `lease` (masked viewers) keeps the camera's face-blurring transcoder
/// running for as long as this pump runs.
async fn pump(
    channel: u8,
    camera: String,
    stream: Stream,
    mut sub: Subscription,
    out: mpsc::Sender<Out>,
    accept_h265: bool,
    lease: Option<crate::live_redacted::Lease>,
) {
    let faces = if lease.is_some() { "blurred" } else { "shown" };
    let _lease = lease;
    let mut fragmenter = Fragmenter::new();
    let mut refused_h265 = false;
    while let Some(event) = sub.next().await {
        let mut msgs = Vec::with_capacity(3);
        match event {
            LiveEvent::Frame(f) => {
                let params = &f.frame.params;
                if params.codec == Codec::H265 && !accept_h265 {
                    if !refused_h265 {
                        refused_h265 = true;
                        msgs.push(Out::Text(json!({"channel": channel, "camera": camera, "unsupported": format!("this {} stream is H.265, which browsers cannot play through Media Source Extensions; configure an H.264 sub-stream for live viewing", stream.as_str()), "codec": params.rfc6381_codec}).to_string()));
                    }
                } else {
                    refused_h265 = false;
                    match fragmenter.push(&f.frame) {
                        Ok(piece) => {
                            if let Some(init) = piece.init {
                                msgs.push(Out::Text(
                                    json!({"channel": channel, "camera": camera, "stream": stream.as_str(), "mime": fmp4::mime_type(params), "codec": params.rfc6381_codec,
                                           "width": params.width, "height": params.height, "browser_playable": fmp4::browser_playable(params), "faces": faces})
                                    .to_string(),
                                ));
                                msgs.push(binary(channel, &init));
                            }
                            msgs.push(binary(channel, &piece.fragment));
                        }
                        // New parameters on a frame that is not a key frame:
                        // wait for one rather than send what cannot decode.
                        Err(e) => tracing::debug!(camera = %camera, "live: frame not sent: {e}"),
                    }
                }
            }
            LiveEvent::Gap { dropped } => {
                fragmenter.discontinuity();
                msgs.push(Out::Text(json!({"channel": channel, "skipped": dropped}).to_string()));
            }
            LiveEvent::Online => {
                fragmenter.discontinuity();
                msgs.push(Out::Text(json!({"channel": channel, "state": "online"}).to_string()));
            }
            LiveEvent::Offline => msgs.push(Out::Text(json!({"channel": channel, "state": "offline"}).to_string())),
        }
        for m in msgs {
            if out.send(m).await.is_err() {
                return;
            }
        }
    }
}
