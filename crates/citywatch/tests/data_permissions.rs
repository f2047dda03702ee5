//! Nothing in a data directory is readable by other local users: the
//! database (camera credentials, password hashes, plate reads), keys,
//! snapshots and recordings are the server's user's alone.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use support::{Server, BIN};

/// Every file and directory under `root` (the root too) whose mode lets
/// group or others in, with that mode in octal.
fn shared(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            out.push(format!("{} {mode:o}", p.display()));
        }
        if meta.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_served_data_directory_is_private_and_an_old_one_is_tightened() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&data, "");
    let admin = server.login("admin");
    server.add_camera(&admin, "cam-0001", "rtsp://viewer:s3cret@127.0.0.1:9/none");
    server.stop();
    let names: Vec<String> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for f in ["citywatch.db", "citywatch.toml", "audit-signing.key"] {
        assert!(names.contains(&f.to_owned()), "{f} in {names:?}");
    }
    assert_eq!(shared(&data), Vec::<String>::new(), "after serving a fresh directory");

    // A directory left by an older release: readable by all.
    chmod(&data, 0o755);
    chmod(&data.join("citywatch.db"), 0o644);
    std::fs::create_dir_all(data.join("snapshots/cam-0001/2024-01-01")).unwrap();
    std::fs::write(data.join("snapshots/cam-0001/2024-01-01/120000.000-1.jpg"), b"jpeg").unwrap();
    chmod(&data.join("snapshots"), 0o755);
    chmod(&data.join("snapshots/cam-0001/2024-01-01/120000.000-1.jpg"), 0o644);
    assert_eq!(shared(&data).len(), 6, "{:?}", shared(&data));
    server.restart();
    assert_eq!(shared(&data), Vec::<String>::new(), "tightened at start");
    let log = server.log_text();
    assert!(log.contains("readable by other local users") && log.contains("citywatch.db 644 → 600"), "the start says what it tightened:\n{log}");
    server.stop();
}

#[test]
fn commands_that_make_a_data_directory_make_it_private() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new");
    let out = Command::new(BIN)
        .args(["admin", "create-user", "--data", data.to_str().unwrap(), "--username", "ana", "--password", "long-enough-pw", "--role", "operator"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(shared(&data), Vec::<String>::new());
}
