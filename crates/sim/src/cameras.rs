//! The simulated cameras: which scene each shows and from where in its
//! loop, and the encoded loops they share.
//!
//! Cameras are `cam-0001` … `cam-NNNN` (the demo city's ids), each with a
//! `main` and a `sub` stream. A handful of scenes are encoded once per
//! stream size; every camera replays one of them from its own phase offset.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::encode::{scene_truth, EncodeCache, EncodeParams, EncodedLoop};
use crate::truth::{CameraTruth, SceneTruth};
use crate::SimError;

/// One stream's picture size and bit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    pub width: u16,
    pub height: u16,
    pub bitrate_kbps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Cameras `cam-0001` … `cam-{cameras}`.
    pub cameras: u32,
    pub fps: u32,
    pub main: StreamConfig,
    pub sub: StreamConfig,
    /// Length of each scene's loop.
    pub loop_secs: u32,
    /// A key frame (IDR, with SPS/PPS) this often.
    pub key_interval_secs: u32,
    /// Distinct scenes shared by the cameras.
    pub scenes: usize,
    pub seed: u64,
}

impl Default for SimConfig {
    /// A realistic camera: 1280×720 main at 1.5 Mbit/s, 640×360 sub, 15 fps.
    fn default() -> Self {
        SimConfig {
            cameras: 16,
            fps: 15,
            main: StreamConfig { width: 1280, height: 720, bitrate_kbps: 1500 },
            sub: StreamConfig { width: 640, height: 360, bitrate_kbps: 300 },
            loop_secs: 10,
            key_interval_secs: 1,
            scenes: 4,
            seed: 2026,
        }
    }
}

impl SimConfig {
    /// Light enough for a laptop serving and recording the demo city.
    pub fn demo(cameras: u32) -> Self {
        SimConfig {
            cameras,
            fps: 10,
            main: StreamConfig { width: 640, height: 360, bitrate_kbps: 300 },
            sub: StreamConfig { width: 320, height: 180, bitrate_kbps: 80 },
            ..SimConfig::default()
        }
    }

    pub fn loop_frames(&self) -> u32 {
        self.loop_secs * self.fps
    }

    pub fn key_interval_frames(&self) -> u32 {
        (self.key_interval_secs * self.fps).max(1)
    }

    /// Which scene camera `n` shows and its phase offset, in frames:
    /// known from the configuration alone, without encoding anything.
    pub fn camera(&self, n: u32) -> CameraTruth {
        let h = mix(self.seed ^ u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        CameraTruth {
            id: camera_id(n),
            scene: (h % self.scenes.max(1) as u64) as usize,
            phase_frames: ((h >> 20) % u64::from(self.loop_frames().max(1))) as u32,
        }
    }

    /// What one scene shows at the main stream's size, frame by frame
    /// (geometry only: nothing is drawn or encoded).
    pub fn scene_truth(&self, scene: usize) -> SceneTruth {
        scene_truth(self.params(scene, self.main))
    }

    fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.cameras == 0 {
            return bad("at least one camera is needed".into());
        }
        if !(1..=60).contains(&self.fps) {
            return bad(format!("fps {} is outside 1..=60", self.fps));
        }
        if self.loop_secs == 0 || self.key_interval_secs == 0 || self.key_interval_secs > self.loop_secs {
            return bad(format!(
                "loop {} s and key interval {} s: both must be positive, the interval no longer than the loop",
                self.loop_secs, self.key_interval_secs
            ));
        }
        if self.scenes == 0 || self.scenes > 64 {
            return bad(format!("scenes {} is outside 1..=64", self.scenes));
        }
        for (name, s) in [(StreamKind::Main, self.main), (StreamKind::Sub, self.sub)] {
            if s.width % 2 != 0 || s.height % 2 != 0 || s.width < 16 || s.height < 16 || s.width > 3840 || s.height > 2160 {
                return bad(format!("{name} size {}x{}: width and height must be even, 16..=3840 × 16..=2160", s.width, s.height));
            }
            if !(16..=50_000).contains(&s.bitrate_kbps) {
                return bad(format!("{name} bit rate {} kbit/s is outside 16..=50000", s.bitrate_kbps));
            }
        }
        Ok(())
    }

    fn params(&self, scene: usize, s: StreamConfig) -> EncodeParams {
        EncodeParams {
            scene,
            seed: self.seed,
            width: s.width,
            height: s.height,
            fps: self.fps,
            bitrate_bps: s.bitrate_kbps * 1000,
            loop_frames: self.loop_frames(),
            key_interval_frames: self.key_interval_frames(),
        }
    }
}

pub use citywatch_model::StreamKind;

/// The encoded scenes and the camera → scene mapping. Immutable once made.
pub struct Simulator {
    pub config: SimConfig,
    main: Vec<Arc<EncodedLoop>>,
    sub: Vec<Arc<EncodedLoop>>,
}

/// A well-mixed hash, so neighbouring cameras get unrelated scenes and phases.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Simulator {
    /// Renders and encodes every scene at both stream sizes (the slow part:
    /// seconds), reusing whatever `cache` already holds.
    pub fn prepare(config: SimConfig, cache: &EncodeCache) -> Result<Simulator, SimError> {
        config.validate()?;
        let mut wanted = Vec::new();
        for scene in 0..config.scenes {
            wanted.push(config.params(scene, config.main));
            wanted.push(config.params(scene, config.sub));
        }
        let loops = cache.get_all(&wanted)?;
        let (mut main, mut sub) = (Vec::new(), Vec::new());
        for pair in loops.chunks(2) {
            main.push(pair[0].clone());
            sub.push(pair[1].clone());
        }
        Ok(Simulator { config, main, sub })
    }

    /// `cam-0001` → 1, if it is one of this simulator's cameras.
    pub fn camera_number(&self, id: &str) -> Option<u32> {
        let n: u32 = id.strip_prefix("cam-")?.parse().ok()?;
        (n >= 1 && n <= self.config.cameras && camera_id(n) == id).then_some(n)
    }

    /// Which scene camera `n` shows and its phase offset, in frames.
    pub fn camera(&self, n: u32) -> CameraTruth {
        self.config.camera(n)
    }

    pub fn cameras(&self) -> impl Iterator<Item = CameraTruth> + '_ {
        (1..=self.config.cameras).map(|n| self.camera(n))
    }

    /// The encoded loop a camera's stream plays.
    pub fn stream(&self, n: u32, kind: StreamKind) -> Arc<EncodedLoop> {
        let scene = self.camera(n).scene;
        match kind {
            StreamKind::Main => self.main[scene].clone(),
            StreamKind::Sub => self.sub[scene].clone(),
        }
    }

    /// Ground truth of one scene at the main stream's size.
    pub fn scene_truth(&self, scene: usize) -> SceneTruth {
        scene_truth(self.main[scene].params)
    }

    /// Writes `scene-<n>.json` for every scene and `cameras.json` (each
    /// camera's scene and phase) into `dir`.
    pub fn write_truth(&self, dir: &Path) -> Result<Vec<PathBuf>, SimError> {
        let io = |path: &Path, e: std::io::Error| SimError::Io { path: path.display().to_string(), source: e };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut written = Vec::new();
        for scene in 0..self.config.scenes {
            let path = dir.join(format!("scene-{scene}.json"));
            let json = serde_json::to_vec(&self.scene_truth(scene)).map_err(|e| io(&path, e.into()))?;
            std::fs::write(&path, json).map_err(|e| io(&path, e))?;
            written.push(path);
        }
        let path = dir.join("cameras.json");
        let cams: Vec<CameraTruth> = self.cameras().collect();
        let json = serde_json::to_vec_pretty(&cams).map_err(|e| io(&path, e.into()))?;
        std::fs::write(&path, json).map_err(|e| io(&path, e))?;
        written.push(path);
        Ok(written)
    }
}

/// `cam-0001` style id of camera `n`.
pub fn camera_id(n: u32) -> String {
    format!("cam-{n:04}")
}
