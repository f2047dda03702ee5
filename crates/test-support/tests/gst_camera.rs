//! The GStreamer RTSP test camera starts, answers RTSP, and comes back on
//! the same port after a kill.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use citywatch_test_support::{free_port, GstCamera};

/// The camera's answer to an RTSP OPTIONS request.
fn options(camera: &GstCamera) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", camera.port())).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(c, "OPTIONS {} RTSP/1.0\r\nCSeq: 1\r\n\r\n", camera.url("/test")).unwrap();
    let mut buf = [0u8; 1024];
    let n = c.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn starts_answers_and_restarts_on_the_same_port() {
    let mut camera = GstCamera::start(free_port(), &[]);
    assert_eq!(camera.url("/test"), format!("rtsp://127.0.0.1:{}/test", camera.port()));
    let answer = options(&camera);
    assert!(answer.starts_with("RTSP/1.0 200"), "{answer}");
    camera.kill();
    assert!(TcpStream::connect(("127.0.0.1", camera.port())).is_err(), "killed, the port is closed");
    camera.restart();
    assert!(options(&camera).starts_with("RTSP/1.0 200"));
}
