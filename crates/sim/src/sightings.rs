//! Which plate each simulated camera really shows, from the ground truth,
//! and the demo's hotlist of such plates.
//!
//! Until plate recognition exists, the demo raises its plate reads from
//! here: a [`Sighting`] is a plate fully visible (not cut off, not hidden)
//! in a frame of a scene's loop, so every camera showing that scene shows
//! it once per loop, with the frame index on its on-screen display. Pure:
//! computed from the configuration, nothing is drawn or encoded.

use crate::truth::PixelBox;
use crate::SimConfig;

/// A plate seen by the cameras that show `scene`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub plate: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub scene: usize,
    /// The loop frame where the plate's box is largest (the OSD shows it).
    pub frame: u32,
    /// The plate's box in that frame, main-stream pixels.
    pub bbox: PixelBox,
}

/// A plate on the demo's hotlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotlistEntry {
    pub sighting: Sighting,
    pub hotlist: &'static str,
    /// 0 (lowest) .. 10.
    pub priority: u8,
}

/// Every plate fully visible somewhere in each scene's loop, one sighting
/// per plate and scene, in scene then plate order.
pub fn sightings(config: &SimConfig) -> Vec<Sighting> {
    let mut out = Vec::new();
    for scene in 0..config.scenes {
        let truth = config.scene_truth(scene);
        let mut best: std::collections::BTreeMap<(String, String), (u32, PixelBox)> = std::collections::BTreeMap::new();
        for f in &truth.frames {
            for p in f.objects.iter().filter_map(|o| o.plate.as_ref()) {
                let area = p.bbox.w * p.bbox.h;
                let e = best.entry((p.text.clone(), p.country.clone())).or_insert((f.index, p.bbox));
                if area > e.1.w * e.1.h {
                    *e = (f.index, p.bbox);
                }
            }
        }
        out.extend(best.into_iter().map(|((plate, country), (frame, bbox))| Sighting { plate, country, scene, frame, bbox }));
    }
    out
}

/// Reasons a plate is on the demo hotlist, with their priority.
const LISTS: [(&str, u8); 3] = [("stolen vehicle", 8), ("wanted in connection with a robbery", 9), ("vehicle of a missing person", 7)];

/// The demo hotlist: one plate from each scene (so the hits come from many
/// cameras), deterministic for a configuration.
pub fn demo_hotlist(config: &SimConfig) -> Vec<HotlistEntry> {
    let all = sightings(config);
    (0..config.scenes)
        .filter_map(|scene| {
            let of_scene: Vec<&Sighting> = all.iter().filter(|s| s.scene == scene).collect();
            // Any stable pick will do; the middle one.
            of_scene.get(of_scene.len() / 2).map(|s| (*s).clone())
        })
        .enumerate()
        .map(|(i, sighting)| {
            let (hotlist, priority) = LISTS[i % LISTS.len()];
            HotlistEntry { sighting, hotlist, priority }
        })
        .collect()
}

/// The cameras (numbers 1..=`config.cameras`) that show `scene`.
pub fn cameras_showing(config: &SimConfig, scene: usize) -> Vec<u32> {
    (1..=config.cameras).filter(|&n| config.camera(n).scene == scene).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sighting_is_in_the_ground_truth_of_its_frame() {
        let config = SimConfig::demo(40);
        let all = sightings(&config);
        assert!(all.len() >= config.scenes, "{all:?}");
        for s in &all {
            let truth = config.scene_truth(s.scene);
            let f = &truth.frames[s.frame as usize];
            assert!(
                f.objects.iter().filter_map(|o| o.plate.as_ref()).any(|p| p.text == s.plate && p.bbox == s.bbox),
                "{s:?} is not in frame {} of scene {}",
                s.frame,
                s.scene
            );
        }
    }

    #[test]
    fn the_demo_hotlist_is_stable_and_each_plate_has_cameras() {
        let config = SimConfig::demo(40);
        let list = demo_hotlist(&config);
        assert_eq!(list, demo_hotlist(&config));
        assert_eq!(list.len(), config.scenes);
        for e in &list {
            assert!((1..=10).contains(&e.priority));
            let cams = cameras_showing(&config, e.sighting.scene);
            assert!(!cams.is_empty(), "no camera shows scene {}", e.sighting.scene);
            for n in cams {
                assert_eq!(config.camera(n).scene, e.sighting.scene);
            }
        }
    }
}
