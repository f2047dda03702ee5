//! A truncated and a deleted sample file: `citywatch check` reports both and
//! exits non-zero; the server still starts; `/recordings` lists them as
//! gaps (and says why); `view.mp4` over the whole range serves the rest as
//! a valid MP4 (ffprobe, ffmpeg), and a range holding only damage is a 404,
//! never a 500.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{from_90k, now_90k, GstCamera, Rec, Server};

fn range(a: i64, b: i64) -> String {
    let f = |t: i64| from_90k(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!("start={}&end={}", f(a), f(b))
}

#[test]
fn damaged_files_are_reported_and_played_around() {
    let mut camera = GstCamera::start(support::free_port(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("data"), "");
    let admin = server.login("admin");
    server.add_camera(&admin, "gst", &camera.url("/test"));

    // Four recordings of at least 2 s each: the camera drops out between them.
    let mut after = now_90k();
    for i in 0..4 {
        support::wait_for(&format!("recording {i}"), Duration::from_secs(60), || {
            server.recordings("gst").iter().any(|r| r.start_90k >= after && r.end_90k - r.start_90k >= 2 * 90_000).then_some(())
        });
        if i < 3 {
            camera.kill();
            std::thread::sleep(Duration::from_millis(500));
            camera.restart();
            after = now_90k();
        }
    }
    server.stop();
    drop(camera);
    let recs: Vec<Rec> = server.recordings("gst");
    assert_eq!(recs.len(), 4, "{recs:?}");
    let video = server.data.join("video");
    let truncated = &recs[1];
    let deleted = &recs[2];
    let f = std::fs::OpenOptions::new().write(true).open(video.join(&truncated.file)).unwrap();
    f.set_len(truncated.bytes as u64 / 2).unwrap();
    drop(f);
    std::fs::remove_file(video.join(&deleted.file)).unwrap();

    let (ok, out) = server.check();
    assert!(!ok, "check must fail:\n{out}");
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("PROBLEM")).collect();
    assert_eq!(problems.len(), 2, "{out}");
    assert!(problems.iter().any(|l| l.contains(&truncated.file) && l.contains("truncated")), "{out}");
    assert!(problems.iter().any(|l| l.contains(&deleted.file) && l.contains("missing")), "{out}");
    assert!(out.contains("4 recordings") && out.contains("2 damaged"), "{out}");

    // Without a camera, so the index stays as it is.
    server.restart();
    // A supervisor: the recording itself, not a blurred transcode of it.
    let op_grant = serde_json::json!({"username": "op", "password": support::PASSWORD, "grants": [{"role": "supervisor"}]});
    server.post(&admin, "/api/v1/users", op_grant);
    let op = server.login("op");
    assert!(server.log_text().contains("2 damaged"), "start-up reports the damage:\n{}", server.log_text());

    let whole = range(recs[0].start_90k, recs[3].end_90k);
    let listing = server.get_json(&op, &format!("/api/v1/cameras/gst/recordings?{whole}"));
    let spans = listing["spans"].as_array().unwrap();
    let damaged = listing["damaged"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "only the first and last recordings remain playable: {listing}");
    assert_eq!(damaged.len(), 2, "{listing}");
    assert!(damaged[0]["problem"].as_str().unwrap().contains("truncated") && damaged[1]["problem"].as_str().unwrap().contains("missing"), "{listing}");
    let gaps = listing["gaps"].as_array().unwrap();
    let covered = |r: &Rec| {
        gaps.iter().any(|g| {
            let t = |k: &str| g[k].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
            t("start") <= from_90k(r.start_90k) && t("end") >= from_90k(r.end_90k) - chrono::Duration::milliseconds(1)
        })
    };
    assert!(covered(truncated) && covered(deleted), "the damaged recordings are gaps: {listing}");

    let r = server.get(&op, &format!("/api/v1/cameras/gst/view.mp4?{whole}&purpose=damage+test&case_ref=D-1"));
    assert_eq!(r.status(), 200);
    let file = dir.path().join("rest.mp4");
    std::fs::write(&file, r.bytes().unwrap()).unwrap();
    let info = support::ffprobe(&file, &["-show_entries", "stream=codec_name:format=duration"]);
    assert_eq!(info["streams"][0]["codec_name"], "h264", "{info}");
    let duration: f64 = info["format"]["duration"].as_str().unwrap().parse().unwrap();
    let expected = ((recs[0].end_90k - recs[0].start_90k) + (recs[3].end_90k - recs[3].start_90k)) as f64 / 90_000.0;
    assert!((duration - expected).abs() < 0.2, "the MP4 holds the two good recordings ({expected:.2} s), got {duration:.2} s");
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&file).args(["-f", "null", "-"]).output().unwrap();
    assert!(decode.status.success() && decode.stderr.is_empty(), "ffmpeg decode: {}", String::from_utf8_lossy(&decode.stderr));

    // Only damage in range: nothing to play, said plainly.
    let r = server
        .get(&op, &format!("/api/v1/cameras/gst/view.mp4?{}&purpose=damage+test&case_ref=D-1", range(deleted.start_90k + 9_000, deleted.end_90k - 9_000)));
    assert_eq!(r.status(), 404, "{}", r.text().unwrap());
}
