//! One camera's analysis of one picture: motion gate → object detection
//! (only when something moved) → tracker → zone and line rules, giving the
//! findings that become events. No threads, files or events here: the
//! pipeline ([`crate::pipeline`]) schedules this and acts on what it finds.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use citywatch_model::EventType;

use crate::decode::Picture;
use crate::detect::{Detection, Detector};
use crate::motion::{MotionConfig, MotionGate};
use crate::track::{Sighting, TrackUpdate, TrackedObject, Tracker, TrackerConfig};
use crate::zones::{Line, Polygon, Rect, Zone, ZoneEvent, ZoneRules};

/// What a camera's analysis is told: its masks, zones and lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraRules {
    /// Areas where motion is ignored (normalised polygons).
    #[serde(default)]
    pub motion_mask: Vec<Polygon>,
    #[serde(default)]
    pub zones: Vec<Zone>,
    #[serde(default)]
    pub lines: Vec<Line>,
}

/// Something worth an event, with its details (a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub event_type: EventType,
    pub details: Value,
}

/// What one picture gave.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub motion: bool,
    /// Detection ran on this picture.
    pub detected: bool,
    pub findings: Vec<Finding>,
    /// When detection ran: the confirmed tracks seen in this picture and
    /// the tracks that ended (what plate reading works from).
    pub tracks: Vec<TrackedObject>,
    pub ended: Vec<u64>,
    /// When detection ran: every person detected in this picture, best
    /// first, confirmed track or not (where snapshot blurring looks for
    /// faces too small for CenterFace).
    pub persons: Vec<Rect>,
}

/// The per-camera state that carries from picture to picture.
pub struct CameraAnalysis {
    gate: MotionGate,
    tracker: Tracker,
    zones: ZoneRules,
    /// The previous picture had motion (a motion event marks a start).
    moving: bool,
}

impl CameraAnalysis {
    pub fn new(rules: &CameraRules) -> CameraAnalysis {
        CameraAnalysis {
            gate: MotionGate::new(MotionConfig::default(), &rules.motion_mask),
            tracker: Tracker::new(TrackerConfig::default()),
            zones: ZoneRules::new(rules.zones.clone(), rules.lines.clone()),
            moving: false,
        }
    }

    /// Analyses one picture. `detector` may be absent (motion only), or
    /// fail on this picture: then the findings are motion only and the
    /// error is returned beside them.
    pub fn analyse(&mut self, picture: &Picture, detector: Option<&Detector>) -> (Outcome, Option<String>) {
        let motion = self.gate.update(&picture.luma);
        let mut out = Outcome { motion: motion.detected(), ..Outcome::default() };
        let started = motion.detected() && !self.moving;
        self.moving = motion.detected();
        let Some(region) = motion.region else {
            // Nothing moved: the tracks stand where they were.
            return (out, None);
        };
        if started {
            out.findings.push(Finding { event_type: EventType::Motion, details: json!({"fraction": round3(motion.fraction), "region": rect_json(&region)}) });
        }
        let Some(detector) = detector else { return (out, None) };
        let detections = match detector.detect(&picture.rgb) {
            Ok(d) => d,
            Err(e) => return (out, Some(e.to_string())),
        };
        out.detected = true;
        let (w, h) = (picture.rgb.width() as f32, picture.rgb.height() as f32);
        let sighted = sightings(&detections, w, h);
        out.persons = sighted.iter().filter(|s| s.class == "person").map(|s| s.rect).collect();
        let update = self.tracker.update(&sighted);
        out.findings.extend(self.track_findings(&update));
        out.tracks = update.objects;
        out.ended = update.ended;
        (out, None)
    }

    fn track_findings(&mut self, update: &TrackUpdate) -> Vec<Finding> {
        let mut out: Vec<Finding> = update
            .objects
            .iter()
            .filter(|o| o.new)
            .map(|o| Finding {
                event_type: EventType::Object,
                details: json!({"class": o.class, "score": round3(o.score), "track": o.id, "box": rect_json(&o.rect)}),
            })
            .collect();
        for e in self.zones.update(&update.objects, &update.ended) {
            let box_of = |track: u64| update.objects.iter().find(|o| o.id == track).map(|o| rect_json(&o.rect));
            out.push(match e {
                ZoneEvent::Entered { zone, track, class } => Finding {
                    event_type: EventType::Zone,
                    details: json!({"zone": zone, "action": "enter", "class": class, "track": track, "box": box_of(track)}),
                },
                ZoneEvent::Left { zone, track, class } => Finding {
                    event_type: EventType::Zone,
                    details: json!({"zone": zone, "action": "leave", "class": class, "track": track, "box": box_of(track)}),
                },
                ZoneEvent::Crossed { line, track, class, direction } => Finding {
                    event_type: EventType::LineCrossing,
                    details: json!({"line": line, "direction": direction, "class": class, "track": track, "box": box_of(track)}),
                },
            });
        }
        out
    }
}

/// Detections in pixels → sightings in normalised coordinates.
pub fn sightings(detections: &[Detection], w: f32, h: f32) -> Vec<Sighting> {
    detections
        .iter()
        .map(|d| Sighting {
            class: d.class.as_str(),
            score: d.score,
            rect: Rect { x0: d.bbox.x0 / w, y0: d.bbox.y0 / h, x1: d.bbox.x1 / w, y1: d.bbox.y1 / h },
        })
        .collect()
}

fn round3(v: f32) -> f64 {
    (f64::from(v) * 1000.0).round() / 1000.0
}

/// A box as `[x0, y0, x1, y1]`, fractions of the picture.
pub(crate) fn rect_json(r: &Rect) -> Value {
    json!([round3(r.x0), round3(r.y0), round3(r.x1), round3(r.y1)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::sim_frames;
    use crate::decode::StreamDecoder;
    use crate::zones::Point;

    #[test]
    fn a_simulated_street_gives_motion_objects_and_zone_entries() {
        let dir = crate::model::test_models(crate::detect::MODEL_FILE);
        let detector = Detector::new(&dir, 1).unwrap();
        let everywhere = Polygon::new(vec![Point { x: 0.0, y: 0.0 }, Point { x: 1.0, y: 0.0 }, Point { x: 1.0, y: 1.0 }, Point { x: 0.0, y: 1.0 }]).unwrap();
        let rules = CameraRules { zones: vec![Zone { name: "street".into(), area: everywhere, classes: vec![] }], ..CameraRules::default() };
        let mut analysis = CameraAnalysis::new(&rules);
        let mut decoder = StreamDecoder::new(5.0);
        let mut findings = Vec::new();
        for f in &sim_frames(640, 360, 30) {
            if let Some(p) = decoder.decode(f).unwrap() {
                let (out, err) = analysis.analyse(&p, Some(&detector));
                assert!(err.is_none(), "{err:?}");
                findings.extend(out.findings);
            }
        }
        let of = |t: EventType| findings.iter().filter(|f| f.event_type == t).collect::<Vec<_>>();
        assert_eq!(of(EventType::Motion).len(), 1, "motion starts once: {findings:?}");
        let objects = of(EventType::Object);
        assert!(!objects.is_empty(), "{findings:?}");
        // Every confirmed track is inside the whole-picture zone: one entry per object, same track ids.
        let entries = of(EventType::Zone);
        assert_eq!(entries.len(), objects.len(), "{findings:?}");
        for (o, z) in objects.iter().zip(&entries) {
            assert_eq!(o.details["track"], z.details["track"]);
            assert_eq!(z.details["action"], "enter");
            assert!(["person", "bicycle", "car", "motorcycle", "bus", "truck"].contains(&o.details["class"].as_str().unwrap()));
        }
    }
}
