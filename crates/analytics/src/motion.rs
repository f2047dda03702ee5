//! The motion gate: a cheap test, run on every analysed picture, that
//! decides whether (and where) object detection is worth running.
//!
//! The luma plane is averaged down to a small grid (64×36 by default); each
//! cell keeps a running average as its background. A cell whose value is
//! further than a threshold from its background has changed; the picture
//! has motion when the changed fraction of the unmasked cells passes
//! `min_fraction`. Masked areas (trees in the wind, a busy main road the
//! city does not want analysed) never count. A change over most of the
//! picture at once is lighting (clouds, street lights switching on, the
//! camera's IR mode), not motion: the background is re-learnt instead.

use image::GrayImage;

use crate::zones::{Point, Polygon, Rect};

#[derive(Debug, Clone, PartialEq)]
pub struct MotionConfig {
    pub grid_width: usize,
    pub grid_height: usize,
    /// Luma difference (0..255) from the background that counts as changed.
    pub cell_threshold: f32,
    /// Changed fraction of unmasked cells from which there is motion.
    pub min_fraction: f32,
    /// Changed fraction from which the whole picture is taken to have
    /// changed light, not content.
    pub lighting_fraction: f32,
    /// How fast the background follows the picture (0..1 per picture).
    pub learning_rate: f32,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig { grid_width: 64, grid_height: 36, cell_threshold: 18.0, min_fraction: 0.003, lighting_fraction: 0.7, learning_rate: 0.05 }
    }
}

/// What the gate saw in one picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Motion {
    /// Changed fraction of the unmasked cells.
    pub fraction: f32,
    /// Where the changed cells are (normalised, one cell of margin), when
    /// there is motion.
    pub region: Option<Rect>,
    /// The background was re-learnt (first picture, new size, lighting).
    pub relearnt: bool,
}

impl Motion {
    pub fn detected(&self) -> bool {
        self.region.is_some()
    }
}

/// One camera's motion gate.
#[derive(Debug, Clone)]
pub struct MotionGate {
    config: MotionConfig,
    /// Masked cells, row-major over the grid.
    masked: Vec<bool>,
    background: Vec<f32>,
    /// Picture size the background belongs to.
    size: Option<(u32, u32)>,
    cells: Vec<f32>,
}

impl MotionGate {
    /// `mask`: polygons (normalised coordinates) where motion is ignored; a
    /// cell is masked when its centre lies in one.
    pub fn new(config: MotionConfig, mask: &[Polygon]) -> MotionGate {
        let (gw, gh) = (config.grid_width.max(1), config.grid_height.max(1));
        let config = MotionConfig { grid_width: gw, grid_height: gh, ..config };
        let masked = (0..gw * gh)
            .map(|i| {
                let centre = Point { x: ((i % gw) as f32 + 0.5) / gw as f32, y: ((i / gw) as f32 + 0.5) / gh as f32 };
                mask.iter().any(|p| p.contains(centre))
            })
            .collect();
        MotionGate { config, masked, background: Vec::new(), size: None, cells: vec![0.0; gw * gh] }
    }

    /// Compares `luma` with the background and updates it.
    pub fn update(&mut self, luma: &GrayImage) -> Motion {
        let (gw, gh) = (self.config.grid_width, self.config.grid_height);
        downscale(luma, gw, gh, &mut self.cells);
        let size = Some(luma.dimensions());
        if self.size != size {
            self.size = size;
            self.background.clone_from(&self.cells);
            return Motion { fraction: 0.0, region: None, relearnt: true };
        }
        let (mut changed, mut unmasked) = (0usize, 0usize);
        let (mut x0, mut y0, mut x1, mut y1) = (gw, gh, 0, 0);
        for (i, (&v, b)) in self.cells.iter().zip(&mut self.background).enumerate() {
            let moved = (v - *b).abs() > self.config.cell_threshold;
            *b += self.config.learning_rate * (v - *b);
            if self.masked[i] {
                continue;
            }
            unmasked += 1;
            if moved {
                changed += 1;
                let (x, y) = (i % gw, i / gw);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        let fraction = if unmasked == 0 { 0.0 } else { changed as f32 / unmasked as f32 };
        if fraction >= self.config.lighting_fraction {
            self.background.clone_from(&self.cells);
            return Motion { fraction, region: None, relearnt: true };
        }
        let region = (changed > 0 && fraction >= self.config.min_fraction).then(|| Rect {
            x0: x0.saturating_sub(1) as f32 / gw as f32,
            y0: y0.saturating_sub(1) as f32 / gh as f32,
            x1: ((x1 + 2).min(gw)) as f32 / gw as f32,
            y1: ((y1 + 2).min(gh)) as f32 / gh as f32,
        });
        Motion { fraction, region, relearnt: false }
    }
}

/// Box-averages `luma` into a `gw`×`gh` grid (every other pixel of every
/// other row: the gate needs coarse averages, not every sample).
fn downscale(luma: &GrayImage, gw: usize, gh: usize, out: &mut [f32]) {
    let (w, h) = (luma.width() as usize, luma.height() as usize);
    out.iter_mut().for_each(|c| *c = 0.0);
    if w == 0 || h == 0 {
        return;
    }
    let mut counts = vec![0u32; gw * gh];
    let raw = luma.as_raw();
    let col_cell: Vec<usize> = (0..w).map(|x| x * gw / w).collect();
    for y in (0..h).step_by(2) {
        let row = &raw[y * w..(y + 1) * w];
        let base = (y * gh / h) * gw;
        for x in (0..w).step_by(2) {
            let c = base + col_cell[x];
            out[c] += f32::from(row[x]);
            counts[c] += 1;
        }
    }
    for (c, n) in out.iter_mut().zip(counts) {
        if n > 0 {
            *c /= n as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn scene(w: u32, h: u32, block: Option<(u32, u32, u32, u32)>, base: u8) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            let inside = block.is_some_and(|(bx, by, bw, bh)| x >= bx && x < bx + bw && y >= by && y < by + bh);
            // A textured background, so "no motion" is not just a flat image.
            Luma([if inside { 230 } else { base.saturating_add(((x / 7 + y / 5) % 3) as u8 * 10) }])
        })
    }

    #[test]
    fn a_moving_block_is_motion_and_its_region_is_found() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[]);
        assert!(gate.update(&scene(640, 360, None, 60)).relearnt);
        let still = gate.update(&scene(640, 360, None, 60));
        assert!(!still.detected() && still.fraction == 0.0);
        // A 60×40 block at (400, 200): the region must cover it and little else.
        let m = gate.update(&scene(640, 360, Some((400, 200, 60, 40)), 60));
        let r = m.region.expect("motion");
        assert!(r.x0 <= 400.0 / 640.0 && r.x1 >= 460.0 / 640.0 && r.y0 <= 200.0 / 360.0 && r.y1 >= 240.0 / 360.0, "{r:?}");
        assert!(r.x1 - r.x0 < 0.2 && r.y1 - r.y0 < 0.25, "{r:?}");
        assert!(m.fraction > 0.005 && m.fraction < 0.05, "{}", m.fraction);
    }

    #[test]
    fn masked_areas_never_count() {
        let mask = [Polygon::new(vec![Point { x: 0.5, y: 0.4 }, Point { x: 0.9, y: 0.4 }, Point { x: 0.9, y: 0.9 }, Point { x: 0.5, y: 0.9 }]).unwrap()];
        let mut gate = MotionGate::new(MotionConfig::default(), &mask);
        gate.update(&scene(640, 360, None, 60));
        assert!(!gate.update(&scene(640, 360, Some((400, 200, 60, 40)), 60)).detected());
        // The same block outside the mask is seen.
        assert!(gate.update(&scene(640, 360, Some((40, 20, 60, 40)), 60)).detected());
    }

    #[test]
    fn a_lighting_change_relearns_instead_of_reporting_motion() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[]);
        gate.update(&scene(320, 180, None, 60));
        let m = gate.update(&scene(320, 180, None, 140));
        assert!(m.relearnt && !m.detected());
        assert!(!gate.update(&scene(320, 180, None, 140)).detected());
    }

    #[test]
    fn a_block_that_stays_becomes_background() {
        let mut gate = MotionGate::new(MotionConfig::default(), &[]);
        gate.update(&scene(320, 180, None, 60));
        let parked = scene(320, 180, Some((100, 50, 40, 30)), 60);
        assert!(gate.update(&parked).detected());
        let mut last = true;
        for _ in 0..100 {
            last = gate.update(&parked).detected();
        }
        assert!(!last, "a parked car stops being motion");
    }
}
