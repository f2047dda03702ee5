//! The IoU tracker: gives each detected object a track id that stays the
//! same from one analysed picture to the next.
//!
//! Per class, detections are matched greedily to the existing tracks by
//! overlap (highest IoU first, above a threshold). An unmatched detection
//! starts a track; a track unmatched for more than `max_age` analysed
//! pictures ends. This is SORT without the Kalman filter: at 5 fps on a
//! sub-stream, boxes of the same car overlap well from picture to picture,
//! and the tracker must cost nothing next to detection. Tracks follow
//! boxes only, never appearance: a person who leaves and comes back is a
//! new track (the red line: no re-identification).

use crate::zones::Rect;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Least IoU for a detection to continue a track.
    pub min_iou: f32,
    /// Analysed pictures a track may go unseen before it ends.
    pub max_age: u32,
    /// Sightings before a track is reported (filters one-picture false detections).
    pub min_hits: u32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig { min_iou: 0.3, max_age: 5, min_hits: 2 }
    }
}

/// A detection handed to the tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub class: &'static str,
    pub score: f32,
    pub rect: Rect,
}

/// A confirmed track as of the latest picture.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedObject {
    pub id: u64,
    pub class: &'static str,
    pub score: f32,
    pub rect: Rect,
    /// Pictures the track was seen in.
    pub hits: u32,
    /// First reported in this update.
    pub new: bool,
}

#[derive(Debug, Clone)]
struct Track {
    id: u64,
    class: &'static str,
    score: f32,
    rect: Rect,
    hits: u32,
    missed: u32,
    reported: bool,
}

/// What one update produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackUpdate {
    /// Confirmed tracks seen in this picture.
    pub objects: Vec<TrackedObject>,
    /// Reported tracks that ended in this update.
    pub ended: Vec<u64>,
}

/// One camera's tracks.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker { config, tracks: Vec::new(), next_id: 1 }
    }

    /// Live tracks (confirmed or not).
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Matches one picture's detections to the tracks.
    pub fn update(&mut self, sightings: &[Sighting]) -> TrackUpdate {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            for (si, s) in sightings.iter().enumerate() {
                if s.class == t.class {
                    let iou = t.rect.iou(&s.rect);
                    if iou >= self.config.min_iou {
                        pairs.push((iou, ti, si));
                    }
                }
            }
        }
        // Highest overlap first; ties by position keep the result deterministic.
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut track_taken = vec![false; self.tracks.len()];
        let mut sighting_taken = vec![false; sightings.len()];
        for (_, ti, si) in pairs {
            if track_taken[ti] || sighting_taken[si] {
                continue;
            }
            track_taken[ti] = true;
            sighting_taken[si] = true;
            let (t, s) = (&mut self.tracks[ti], &sightings[si]);
            t.rect = s.rect;
            t.score = s.score;
            t.hits += 1;
            t.missed = 0;
        }
        for (t, taken) in self.tracks.iter_mut().zip(&track_taken) {
            if !taken {
                t.missed += 1;
            }
        }
        let mut out = TrackUpdate::default();
        let max_age = self.config.max_age;
        self.tracks.retain(|t| {
            let keep = t.missed <= max_age;
            if !keep && t.reported {
                out.ended.push(t.id);
            }
            keep
        });
        for (s, _) in sightings.iter().zip(&sighting_taken).filter(|(_, taken)| !**taken) {
            self.tracks.push(Track { id: self.next_id, class: s.class, score: s.score, rect: s.rect, hits: 1, missed: 0, reported: false });
            self.next_id += 1;
        }
        for t in self.tracks.iter_mut().filter(|t| t.missed == 0 && t.hits >= self.config.min_hits) {
            out.objects.push(TrackedObject { id: t.id, class: t.class, score: t.score, rect: t.rect, hits: t.hits, new: !t.reported });
            t.reported = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car(x: f32) -> Sighting {
        Sighting { class: "car", score: 0.8, rect: Rect { x0: x, y0: 0.5, x1: x + 0.1, y1: 0.6 } }
    }

    #[test]
    fn a_moving_car_keeps_its_id_and_a_second_car_gets_another() {
        let mut t = Tracker::new(TrackerConfig::default());
        // Seen once: not reported yet.
        assert!(t.update(&[car(0.10), car(0.60)]).objects.is_empty());
        let u = t.update(&[car(0.12), car(0.62)]);
        assert_eq!(u.objects.len(), 2);
        assert!(u.objects.iter().all(|o| o.new));
        let (a, b) = (u.objects[0].id, u.objects[1].id);
        assert_ne!(a, b);
        // Moving 0.02 a picture (IoU ≈ 0.67): same ids, no longer new.
        for i in 2..20 {
            let x = 0.10 + 0.02 * i as f32;
            let u = t.update(&[car(x + 0.5), car(x)]);
            let ids: Vec<u64> = u.objects.iter().map(|o| o.id).collect();
            assert!(ids.contains(&a) && (x + 0.5 > 1.0 || ids.contains(&b)), "picture {i}: {ids:?}");
            assert!(u.objects.iter().all(|o| !o.new));
            let tracked_a = u.objects.iter().find(|o| o.id == a).unwrap();
            assert!((tracked_a.rect.x0 - x).abs() < 1e-6, "track {a} follows the car at {x}");
        }
    }

    #[test]
    fn classes_never_match_each_other() {
        let mut t = Tracker::new(TrackerConfig { min_hits: 1, ..TrackerConfig::default() });
        let id = t.update(&[car(0.1)]).objects[0].id;
        let mut bus = car(0.1);
        bus.class = "bus";
        let u = t.update(&[bus]);
        assert_eq!(u.objects.len(), 1);
        assert_ne!(u.objects[0].id, id);
    }

    #[test]
    fn a_track_survives_short_gaps_and_ends_after_max_age() {
        let mut t = Tracker::new(TrackerConfig { min_iou: 0.3, max_age: 2, min_hits: 1 });
        let id = t.update(&[car(0.1)]).objects[0].id;
        assert!(t.update(&[]).ended.is_empty());
        assert!(t.update(&[]).ended.is_empty());
        assert_eq!(t.update(&[car(0.1)]).objects[0].id, id, "back after two missed pictures");
        for _ in 0..2 {
            t.update(&[]);
        }
        assert_eq!(t.update(&[]).ended, [id]);
        assert!(t.is_empty());
        assert_ne!(t.update(&[car(0.1)]).objects[0].id, id, "a new track after the end");
    }

    #[test]
    fn greedy_matching_prefers_the_best_overlap() {
        let mut t = Tracker::new(TrackerConfig { min_hits: 1, ..TrackerConfig::default() });
        let u = t.update(&[car(0.10), car(0.16)]);
        let (a, b) = (u.objects[0].id, u.objects[1].id);
        // Swap their order in the input: each must still follow its own box.
        let u = t.update(&[car(0.165), car(0.105)]);
        let at = |x: f32| u.objects.iter().find(|o| (o.rect.x0 - x).abs() < 1e-6).unwrap().id;
        assert_eq!(at(0.105), a);
        assert_eq!(at(0.165), b);
    }
}
