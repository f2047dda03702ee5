//! Finding plates inside a vehicle box with PP-OCRv4 text detection: the
//! crop is scaled into a fixed input (so one compiled model serves every
//! vehicle), the DB probability map is thresholded, each connected region
//! becomes a box scored by its mean probability, boxes on one line are
//! joined (DB splits a plate's groups), each is grown by the DB "unclip"
//! distance (area × ratio / perimeter), and boxes too small or not wide
//! enough to be a plate are dropped.

use std::path::Path;

use tract_onnx::prelude::*;

use crate::backend::{Backend, Net};
use crate::detect::BBox;
use crate::frame::RgbImage;
use crate::plates::{load_ppocr, PlateError};

pub const DET_FILE: &str = "ch_PP-OCRv4_det_infer.onnx";
/// Input size (multiples of 32): vehicles are wider than tall.
const DET_W: usize = 320;
const DET_H: usize = 224;
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];
const THRESHOLD: f32 = 0.3;
const BOX_THRESHOLD: f32 = 0.5;
const UNCLIP: f32 = 1.5;

pub struct PlateFinder {
    model: Net,
}

impl PlateFinder {
    pub fn new(model_dir: &Path, threads: usize) -> Result<PlateFinder, PlateError> {
        PlateFinder::with_backend(&Backend::from_env().map_err(PlateError::Load)?, model_dir, threads)
    }

    pub fn with_backend(backend: &Backend, model_dir: &Path, threads: usize) -> Result<PlateFinder, PlateError> {
        Ok(PlateFinder { model: load_ppocr(backend, model_dir, DET_FILE, &[1, 3, DET_H, DET_W], threads)?.0 })
    }

    /// Text boxes shaped like plates inside `vehicle`, in picture pixels,
    /// best first, with their detection scores.
    pub fn find(&self, img: &RgbImage, vehicle: BBox) -> Result<Vec<(BBox, f32)>, PlateError> {
        let (iw, ih) = img.dimensions();
        let x0 = vehicle.x0.max(0.0).floor() as u32;
        let y0 = vehicle.y0.max(0.0).floor() as u32;
        let x1 = (vehicle.x1.ceil() as u32).min(iw);
        let y1 = (vehicle.y1.ceil() as u32).min(ih);
        if x1 <= x0 + 4 || y1 <= y0 + 4 {
            return Ok(Vec::new());
        }
        let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
        let scale = (DET_W as f32 / crop.width() as f32).min(DET_H as f32 / crop.height() as f32);
        let (nw, nh) = (((crop.width() as f32 * scale) as u32).clamp(1, DET_W as u32), ((crop.height() as f32 * scale) as u32).clamp(1, DET_H as u32));
        let resized = image::imageops::resize(&crop, nw, nh, image::imageops::FilterType::Triangle);
        let mut t = tract_ndarray::Array4::<f32>::zeros((1, 3, DET_H, DET_W));
        for (x, y, px) in resized.enumerate_pixels() {
            for c in 0..3 {
                t[[0, c, y as usize, x as usize]] = (f32::from(px.0[c]) / 255.0 - MEAN[c]) / STD[c];
            }
        }
        let out = self.model.run(Tensor::from(t)).map_err(PlateError::Run)?;
        let map = out[0].as_slice::<f32>().map_err(|e| PlateError::Run(format!("{e:#}")))?;
        if map.len() != DET_W * DET_H {
            return Err(PlateError::Run(format!("probability map of {} values, expected {}", map.len(), DET_W * DET_H)));
        }
        let mut found: Vec<(BBox, f32)> = regions(map, DET_W, DET_H, nw as usize, nh as usize)
            .into_iter()
            .map(|(b, s)| {
                let to_img = |v: f32, o: u32, hi: u32| (v / scale + o as f32).clamp(0.0, hi as f32);
                (BBox { x0: to_img(b.x0, x0, iw), y0: to_img(b.y0, y0, ih), x1: to_img(b.x1, x0, iw), y1: to_img(b.y1, y0, ih) }, s)
            })
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(found)
    }
}

/// Connected regions (4-neighbours) above the threshold inside the
/// `used_w × used_h` part of the map, as unclipped boxes in map pixels.
fn regions(map: &[f32], w: usize, h: usize, used_w: usize, used_h: usize) -> Vec<(BBox, f32)> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        let (sx, sy) = (start % w, start / w);
        if seen[start] || sx >= used_w || sy >= used_h || map[start] < THRESHOLD {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut bx0, mut by0, mut bx1, mut by1, mut sum, mut n) = (sx, sy, sx, sy, 0.0f32, 0usize);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x), by1.max(y));
            sum += map[i];
            n += 1;
            let mut push = |j: usize| {
                if !seen[j] && map[j] >= THRESHOLD {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                push(i - 1);
            }
            if x + 1 < used_w {
                push(i + 1);
            }
            if y > 0 {
                push(i - w);
            }
            if y + 1 < used_h {
                push(i + w);
            }
        }
        let score = sum / n as f32;
        if score >= BOX_THRESHOLD && by1 - by0 + 1 >= 3 {
            out.push((BBox { x0: bx0 as f32, y0: by0 as f32, x1: bx1 as f32 + 1.0, y1: by1 as f32 + 1.0 }, score));
        }
    }
    // A plate is one line of text: a wide box, more than a speck.
    merge_lines(out)
        .into_iter()
        .filter(|(b, _)| b.width() >= 1.5 * b.height())
        .map(|(b, s)| {
            let d = b.width() * b.height() * UNCLIP / (2.0 * (b.width() + b.height()));
            (BBox { x0: b.x0 - d, y0: b.y0 - d, x1: b.x1 + d, y1: b.y1 + d }, s)
        })
        .collect()
}

/// Joins boxes on one line (mostly overlapping rows, a gap under twice
/// the line's height): DB finds a plate's groups (`BG`, `123-AB`) apart.
fn merge_lines(mut boxes: Vec<(BBox, f32)>) -> Vec<(BBox, f32)> {
    let same_line = |a: &BBox, b: &BBox| {
        let overlap = a.y1.min(b.y1) - a.y0.max(b.y0);
        let h = a.height().min(b.height());
        let gap = a.x0.max(b.x0) - a.x1.min(b.x1);
        overlap >= 0.5 * h && gap <= 2.0 * a.height().max(b.height())
    };
    loop {
        let mut merged = false;
        'outer: for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if same_line(&boxes[i].0, &boxes[j].0) {
                    let (b, sb) = boxes.swap_remove(j);
                    let (a, sa) = boxes[i];
                    let (wa, wb) = (a.area(), b.area());
                    let u = BBox { x0: a.x0.min(b.x0), y0: a.y0.min(b.y0), x1: a.x1.max(b.x1), y1: a.y1.max(b.y1) };
                    boxes[i] = (u, (sa * wa + sb * wb) / (wa + wb).max(1e-6));
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            return boxes;
        }
    }
}
