//! What the workspace's tests share across crates: a free loopback port,
//! polling until something holds, a child process killed when dropped,
//! the directory of the models, and the GStreamer RTSP test camera
//! ([`GstCamera`]). A dev-dependency only, of any crate's tests; it depends
//! on no workspace crate, so any of them can use it without a cycle.
//! Helpers that need one crate's types stay in that crate's tests
//! (`tests/common`, `tests/support`).

mod gst_camera;

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

pub use gst_camera::GstCamera;

/// A loopback TCP port nobody listens on right now. Another process may
/// take it before the caller binds it; tests live with that small race.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Calls `f` every 100 ms until it returns something, and returns that;
/// panics naming `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed (and reaped) when dropped, also when the test
/// panics, so no server outlives its test.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The models the product ships: `$CITYWATCH_MODELS`, else the workspace's
/// `target/models` (where scripts/models.sh and `citywatch models install`
/// put them). Panics unless `needed` is there: a test without its model
/// would check nothing.
pub fn models(needed: &str) -> PathBuf {
    let dir = std::env::var_os("CITYWATCH_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/models"));
    assert!(dir.join(needed).is_file(), "no {needed} in {}: set CITYWATCH_MODELS or run `citywatch models install`", dir.display());
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    }

    #[test]
    fn wait_for_returns_the_first_value() {
        let mut calls = 0;
        let v = wait_for("the third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls * 10)
        });
        assert_eq!(v, 30);
    }

    #[test]
    #[should_panic(expected = "waiting for nothing")]
    fn wait_for_gives_up_after_the_timeout() {
        wait_for("nothing", Duration::from_millis(150), || None::<()>);
    }
}
