//! A small RTSP 1.0 server (RFC 2326) that replays the simulator's encoded
//! loops: `rtsp://HOST:PORT/cam-NNNN/{main,sub}`.
//!
//! Why our own: on crates.io the candidates were `rtsp-rs` 0.1.8 (a
//! pre-release hobby project, thread per client, frames pushed into one
//! mount), `rtsp-server` 0.0.0 (an empty name placeholder) and
//! `gstreamer-rtsp-server` (bindings to GStreamer's C server: needs the
//! GStreamer development libraries and runs a media pipeline per stream).
//! None replays shared, pre-packetised loops to a thousand mounts from one
//! tokio runtime, which is what makes 1,000 simulated cameras cheap. The
//! subset needed is small: OPTIONS, DESCRIBE, SETUP (RTP over the RTSP TCP
//! connection, "interleaved"; UDP is refused with 461 and clients such as
//! ffmpeg fall back to TCP), PLAY, PAUSE, TEARDOWN, GET/SET_PARAMETER as
//! keep-alives. No RTCP: retina and ffmpeg play single-stream sessions
//! without sender reports.
//!
//! Pacing: one [`FrameClock`] ticks for every camera; a playing session
//! sends the frames of the ticks since its last send. A PLAY starts with
//! the current GOP, from its key frame, so a client can decode at once.
//! RTP timestamps follow the clock (90 kHz), so they increase forever
//! across loop boundaries; sequence numbers are continuous per session.
//!
//! Owns sockets and protocol only; what is played comes from
//! [`Simulator`].

mod conn;
pub mod message;
mod sdp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::cameras::Simulator;
use crate::clock::FrameClock;
use crate::SimError;

struct Shared {
    sim: Arc<Simulator>,
    clock: FrameClock,
}

/// Serves `sim`'s cameras on `listener` until `shutdown` turns true.
pub async fn serve(sim: Arc<Simulator>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let clock = FrameClock::start(sim.config.fps, shutdown.clone());
    let shared = Arc::new(Shared { sim, clock });
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(conn::serve_connection(stream, shared.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Typically out of file descriptors: wait for some to close.
                    warn!("RTSP accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// The simulator serving on its own thread and tokio runtime, so it can
/// run beside any other server in the process. Stops when dropped.
pub struct SimServer {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimServer {
    /// Binds `addr` (port 0 picks a free one) and starts serving.
    pub fn spawn(sim: Arc<Simulator>, addr: SocketAddr) -> Result<SimServer, SimError> {
        let bind = |e: std::io::Error| SimError::Listen { addr, source: e };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("citywatch-sim").enable_all().build().map_err(bind)?;
        let (stop, stop_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("citywatch-sim".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(l) => serve(sim, l, stop_rx).await,
                        Err(e) => warn!("simulated cameras: {e}"),
                    }
                });
                // Connections still open end with the runtime.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(bind)?;
        info!("simulated cameras at rtsp://{local}/cam-NNNN/{{main,sub}}");
        Ok(SimServer { addr: local, stop, thread: Some(thread) })
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
