//! The GStreamer RTSP test camera: `crates/video/tests/rtsp_server.py`
//! (gst-rtsp-server) run by Debian's `/usr/bin/python3`, serving a live
//! 640×360 15 fps test pattern with a key frame every second at
//! `rtsp://127.0.0.1:PORT/test`. Killed when dropped (also on panic),
//! and restartable on the same port, for the tests of a camera that goes
//! away and comes back.
//!
//! Tests that need it fail, never skip, when it cannot start; the message
//! names the Debian packages to install.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../video/tests/rtsp_server.py");
const PYTHON: &str = "/usr/bin/python3";
const PACKAGES: &str = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp \
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly";
/// Generous: a loaded 2-core machine must not fail these tests.
const LONG: Duration = Duration::from_secs(60);
/// The script's exit code when it cannot listen on the port.
const EXIT_PORT_BUSY: i32 = 5;

pub struct GstCamera {
    child: Option<Child>,
    port: u16,
    /// The script's options: `--codec h265`, `--user NAME --password PW`
    /// (the stream then needs Digest auth), `--path /other`.
    args: Vec<String>,
}

impl GstCamera {
    /// Starts the camera on `port` with the script's `args` and waits until
    /// it accepts connections, retrying while the port is still busy (a
    /// restart right after a kill).
    pub fn start(port: u16, args: &[&str]) -> GstCamera {
        let mut camera = GstCamera { child: None, port, args: args.iter().map(|a| a.to_string()).collect() };
        camera.restart();
        camera
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rtsp://127.0.0.1:PORT{path}`; the stream is at `/test`.
    pub fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{path}", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts on the same port, retrying while the port is busy.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + LONG;
        loop {
            match self.try_start(deadline) {
                Ok(()) => return,
                Err(PortBusy) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(PortBusy) => panic!("port {} stayed busy for {LONG:?}", self.port),
            }
        }
    }

    /// One start; the child is held in `self` from the first moment, so
    /// that a panic while it starts still kills it.
    fn try_start(&mut self, deadline: Instant) -> Result<(), PortBusy> {
        // Override only to run elsewhere than Debian (or to see this fail).
        let python = std::env::var("CITYWATCH_TEST_PYTHON").unwrap_or_else(|_| PYTHON.into());
        assert!(
            std::path::Path::new(&python).exists(),
            "{python} not found: the RTSP tests need Debian's python3 with GStreamer's RTSP server; install the Debian packages: apt-get install {PACKAGES}"
        );
        let mut child = Command::new(&python)
            .arg(SCRIPT)
            .arg(self.port.to_string())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} {SCRIPT}: {e}; install the Debian packages: apt-get install {PACKAGES}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                collected.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let child = self.child.insert(child);
        loop {
            let exited = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.starts_with("READY") => break,
                Ok(_) => continue,
                // stdout closed: the process is exiting.
                Err(RecvTimeoutError::Disconnected) => child.wait().ok(),
                Err(RecvTimeoutError::Timeout) => child.try_wait().ok().flatten(),
            };
            if let Some(status) = exited {
                if status.code() == Some(EXIT_PORT_BUSY) {
                    self.child = None;
                    return Err(PortBusy);
                }
                std::thread::sleep(Duration::from_millis(100)); // let stderr drain
                let msg = stderr.lock().unwrap().clone();
                panic!(
                    "the GStreamer RTSP server exited ({status}) before it was ready:\n{msg}\n\
                     It needs the Debian packages: apt-get install {PACKAGES} \
                     (x265enc for H.265 is in gstreamer1.0-plugins-bad)"
                );
            }
            if Instant::now() >= deadline {
                let msg = stderr.lock().unwrap().clone();
                panic!("the GStreamer RTSP server did not get ready within {LONG:?}:\n{msg}\nIt needs the Debian packages: apt-get install {PACKAGES}");
            }
        }
        // READY is printed once it listens; check anyway.
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "port {} never accepted", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for GstCamera {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The script exited because the port is not free (yet).
struct PortBusy;
