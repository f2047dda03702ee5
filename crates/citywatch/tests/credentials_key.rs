//! The key that seals camera credentials (`credentials.key`, apart from the
//! database): made at init, private, and a wrong or missing one stops the
//! server with a message that says what to do, never with garbage passwords.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::{Server, BIN, PASSWORD};

/// `citywatch serve` that is expected to refuse to start: (exit code, stderr).
fn serve_refused(data: &std::path::Path) -> (i32, String) {
    let out = Command::new("timeout")
        .args(["30", BIN, "serve", "--data", data.to_str().unwrap(), "--listen", &format!("127.0.0.1:{}", support::free_port())])
        .env("CITYWATCH_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_wrong_or_missing_key_stops_the_start_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&data, "");
    let admin = server.login("admin");
    server.add_camera(&admin, "cam-0001", "rtsp://viewer:k3y-test@127.0.0.1:9/none");
    server.stop();
    let key = data.join("credentials.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "made at init, private");
    let good = std::fs::read(&key).unwrap();

    std::fs::write(&key, "11".repeat(32)).unwrap();
    let (code, err) = serve_refused(&data);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cam-0001") && err.contains("do not open") && err.contains("Restore the credentials.key"), "{err}");
    assert!(!err.contains("k3y-test"), "{err}");

    std::fs::remove_file(&key).unwrap();
    let (code, err) = serve_refused(&data);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 camera credentials in this database are sealed") && err.contains("is missing"), "{err}");
    assert!(!key.exists(), "a new key is not made over sealed credentials");

    std::fs::write(&key, good).unwrap();
    server.restart();
    server.stop();
}
