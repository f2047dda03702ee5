//! BlazeFace (MediaPipe's short-range face detector) on person crops:
//! finding faces only to blur them.
//!
//! CenterFace on a whole 640×360 picture misses faces a few pixels
//! across, the faces of people far from the lens. Where the pipeline
//! already knows where a person is, the head part of that person's box is
//! cut out, scaled up to BlazeFace's 128×128 input and searched there,
//! so a face of eight pixels becomes one of thirty.
//!
//! The network gives, for each of 896 fixed anchors (strides 8 and 16),
//! a score logit and 16 regressors: the box (centre offset and size, in
//! input pixels) then six landmarks. Boxes above the threshold are merged
//! by MediaPipe's weighted non-maximum suppression.
//!
//! The red line, as in [`crate::redact`]: the boxes found go straight to
//! the blur; the landmark regressors are never read and nothing about a
//! face is returned beyond its box or kept.

use std::path::Path;

use image::RgbImage;
use tract_onnx::prelude::*;

use crate::backend::{Backend, Net};
use crate::redact::RedactError;
use crate::zones::Rect;

pub const MODEL_FILE: &str = "face_detection_short_range.onnx";
/// The network's input side.
const SIZE: u32 = 128;
const ANCHORS: usize = 896;
const REGRESSORS: usize = 16;
/// MediaPipe's suppression overlap for this model.
const NMS_IOU: f32 = 0.3;

/// BlazeFace short range, loaded once; runs concurrently from several threads.
pub struct BlazeFace {
    net: Net,
    /// Anchor centres, as fractions of the input.
    anchors: Vec<(f32, f32)>,
    /// Scores (after the sigmoid) below this are not faces (MediaPipe's 0.5).
    pub threshold: f32,
}

impl BlazeFace {
    /// Loads BlazeFace (hash-checked) on `$CITYWATCH_BACKEND`'s engine.
    pub fn new(model_dir: &Path, threads: usize) -> Result<BlazeFace, RedactError> {
        BlazeFace::with_backend(&Backend::from_env()?, model_dir, threads)
    }

    pub fn with_backend(backend: &Backend, model_dir: &Path, threads: usize) -> Result<BlazeFace, RedactError> {
        let net = Net::load(backend, model_dir, MODEL_FILE, &[1, SIZE as usize, SIZE as usize, 3], threads)?;
        Ok(BlazeFace { net, anchors: anchors(), threshold: 0.5 })
    }

    pub fn backend_name(&self) -> &'static str {
        self.net.backend_name()
    }

    /// Face boxes in the whole of `img` (letterboxed to a square), in
    /// fractions of `img`, for the blur only. Suits close-up pictures.
    pub fn faces(&self, img: &RgbImage) -> Result<Vec<Rect>, RedactError> {
        let (w, h) = img.dimensions();
        let side = w.max(h);
        let square = Square { x0: (i64::from(w) - i64::from(side)) / 2, y0: (i64::from(h) - i64::from(side)) / 2, side };
        self.faces_in(img, square)
    }

    /// Faces in the heads of `persons` (boxes in fractions of `img`), in
    /// fractions of `img`, for the blur only.
    pub fn faces_in_persons(&self, img: &RgbImage, persons: &[Rect]) -> Result<Vec<Rect>, RedactError> {
        let mut out = Vec::new();
        for p in persons {
            if let Some(head) = head_square(p, img.width(), img.height()) {
                out.extend(self.faces_in(img, head)?);
            }
        }
        Ok(out)
    }

    fn faces_in(&self, img: &RgbImage, sq: Square) -> Result<Vec<Rect>, RedactError> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 || sq.side == 0 {
            return Ok(Vec::new());
        }
        let out = self.net.run(input(img, sq)).map_err(|detail| RedactError::Run { model: MODEL_FILE, detail })?;
        let found = decode(&out, &self.anchors, self.threshold)?;
        // From fractions of the square to fractions of the picture.
        let (fw, fh, side) = (w as f32, h as f32, sq.side as f32);
        Ok(found
            .into_iter()
            .map(|r| Rect {
                x0: ((sq.x0 as f32 + r.x0 * side) / fw).clamp(0.0, 1.0),
                y0: ((sq.y0 as f32 + r.y0 * side) / fh).clamp(0.0, 1.0),
                x1: ((sq.x0 as f32 + r.x1 * side) / fw).clamp(0.0, 1.0),
                y1: ((sq.y0 as f32 + r.y1 * side) / fh).clamp(0.0, 1.0),
            })
            .filter(|r| r.x1 > r.x0 && r.y1 > r.y0)
            .collect())
    }
}

/// A square of a picture in pixels; it may reach past the picture's edges
/// (that part reads as black, as MediaPipe's letterbox padding does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Square {
    pub x0: i64,
    pub y0: i64,
    pub side: u32,
}

/// Where to look for the face of a person boxed by `p` (fractions of a
/// `w`×`h` picture): a square as wide as the box, but no more than 0.6 of
/// its height (so a standing person's square is head and shoulders, a
/// head-and-torso box's its upper part), centred across the box and
/// starting a tenth of its side above it, since detector boxes often clip
/// the top of the head. `None` for an empty box.
pub fn head_square(p: &Rect, w: u32, h: u32) -> Option<Square> {
    let (pw, ph) = ((p.x1 - p.x0) * w as f32, (p.y1 - p.y0) * h as f32);
    if !(pw >= 1.0 && ph >= 1.0) {
        return None;
    }
    let side = pw.min(ph * 0.6).max(1.0);
    let cx = (p.x0 + p.x1) / 2.0 * w as f32;
    Some(Square { x0: (cx - side / 2.0).round() as i64, y0: (p.y0 * h as f32 - side * 0.1).round() as i64, side: side.round() as u32 })
}

/// The square scaled to 128×128, as NHWC RGB in −1..1.
fn input(img: &RgbImage, sq: Square) -> Tensor {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let crop = RgbImage::from_fn(sq.side, sq.side, |x, y| {
        let (sx, sy) = (sq.x0 + i64::from(x), sq.y0 + i64::from(y));
        if (0..w).contains(&sx) && (0..h).contains(&sy) {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            image::Rgb([0, 0, 0])
        }
    });
    let scaled = image::imageops::resize(&crop, SIZE, SIZE, image::imageops::FilterType::Triangle);
    let data: Vec<f32> = scaled.as_raw().iter().map(|&v| f32::from(v) / 127.5 - 1.0).collect();
    tract_ndarray::Array4::from_shape_vec((1, SIZE as usize, SIZE as usize, 3), data).expect("128·128·3 values").into()
}

/// The 896 anchor centres of MediaPipe's `SsdAnchorsCalculator` for this
/// model (4 layers, strides 8, 16, 16, 16, fixed anchor size): 2 per cell
/// of the 16×16 grid, then 6 per cell of the 8×8 grid (its three layers
/// merged), cells in row order.
fn anchors() -> Vec<(f32, f32)> {
    let mut out = Vec::with_capacity(ANCHORS);
    for (stride, per_cell) in [(8u32, 2), (16, 6)] {
        let n = SIZE / stride;
        for y in 0..n {
            for x in 0..n {
                let c = ((x as f32 + 0.5) / n as f32, (y as f32 + 0.5) / n as f32);
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

/// Face boxes (fractions of the input) from the network's outputs, which
/// are told apart by shape: regressors `[1,896,16]`, score logits `[1,896,1]`.
fn decode(out: &[TValue], anchors: &[(f32, f32)], threshold: f32) -> Result<Vec<Rect>, RedactError> {
    let bad = |detail: String| RedactError::Run { model: MODEL_FILE, detail };
    let find = |last: usize| -> Result<&[f32], RedactError> {
        let t = out.iter().find(|t| t.shape() == [1, ANCHORS, last]).ok_or_else(|| {
            let shapes: Vec<_> = out.iter().map(|t| t.shape().to_vec()).collect();
            bad(format!("expected outputs of shapes [1, {ANCHORS}, {REGRESSORS}] and [1, {ANCHORS}, 1], got {shapes:?}"))
        })?;
        t.as_slice::<f32>().map_err(|e| bad(format!("{e:#}")))
    };
    let (reg, logits) = (find(REGRESSORS)?, find(1)?);
    let size = SIZE as f32;
    let mut found: Vec<(f32, Rect)> = Vec::new();
    for (i, (&logit, &(ax, ay))) in logits.iter().zip(anchors).enumerate() {
        // MediaPipe clips logits to ±100 before the sigmoid.
        let score = 1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp());
        if score < threshold {
            continue;
        }
        let r = &reg[i * REGRESSORS..i * REGRESSORS + 4];
        let (cx, cy, bw, bh) = (ax + r[0] / size, ay + r[1] / size, r[2] / size, r[3] / size);
        if bw > 0.0 && bh > 0.0 {
            found.push((score, Rect { x0: cx - bw / 2.0, y0: cy - bh / 2.0, x1: cx + bw / 2.0, y1: cy + bh / 2.0 }));
        }
    }
    Ok(weighted_nms(found))
}

/// MediaPipe's weighted suppression: the best box and every box
/// overlapping it by more than [`NMS_IOU`] become one box, their
/// score-weighted mean; repeat with what is left.
fn weighted_nms(mut found: Vec<(f32, Rect)>) -> Vec<Rect> {
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = Vec::new();
    while let Some(&(_, best)) = found.first() {
        let (cluster, rest): (Vec<_>, Vec<_>) = found.into_iter().partition(|(_, r)| r.iou(&best) > NMS_IOU || *r == best);
        let total: f32 = cluster.iter().map(|(s, _)| s).sum();
        let mean = |f: fn(&Rect) -> f32| cluster.iter().map(|(s, r)| s * f(r)).sum::<f32>() / total;
        out.push(Rect { x0: mean(|r| r.x0), y0: mean(|r| r.y0), x1: mean(|r| r.x1), y1: mean(|r| r.y1) });
        found = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_match_mediapipes_layout() {
        let a = anchors();
        assert_eq!(a.len(), ANCHORS);
        assert_eq!((a[0], a[1]), ((0.5 / 16.0, 0.5 / 16.0), (0.5 / 16.0, 0.5 / 16.0)));
        assert_eq!(a[2], (1.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[511], (15.5 / 16.0, 15.5 / 16.0));
        assert!(a[512..518].iter().all(|&c| c == (0.5 / 8.0, 0.5 / 8.0)));
        assert_eq!(a[895], (7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn overlapping_boxes_merge_by_score_and_apart_ones_stay() {
        let r = |x0: f32| Rect { x0, y0: 0.1, x1: x0 + 0.2, y1: 0.3 };
        let out = weighted_nms(vec![(0.6, r(0.12)), (0.9, r(0.1)), (0.8, r(0.6)), (0.6, r(0.1))]);
        assert_eq!(out.len(), 2, "{out:?}");
        // (0.9·0.1 + 0.6·0.12 + 0.6·0.1) / 2.1
        assert!((out[0].x0 - 0.10571).abs() < 1e-4, "{out:?}");
        assert!(out[1].iou(&r(0.6)) > 0.999, "{out:?}");
    }

    #[test]
    fn outputs_of_the_wrong_shape_are_a_clear_error() {
        let a = anchors();
        let wrong = [Tensor::zero::<f32>(&[1, 896, 4]).unwrap().into_tvalue(), Tensor::zero::<f32>(&[1, 896, 1]).unwrap().into_tvalue()];
        let e = decode(&wrong, &a, 0.5).unwrap_err().to_string();
        assert!(e.contains(MODEL_FILE) && e.contains("[1, 896, 16]") && e.contains("[1, 896, 4]"), "{e}");
        // Right shapes, nothing above the threshold: no face.
        let none = [Tensor::zero::<f32>(&[1, 896, 16]).unwrap().into_tvalue(), Tensor::zero::<f32>(&[1, 896, 1]).unwrap().into_tvalue()];
        assert!(decode(&none, &a, 0.6).unwrap().is_empty());
    }

    #[test]
    fn a_missing_or_foreign_model_file_is_refused_with_the_fix() {
        let empty = tempfile::tempdir().unwrap();
        let e = BlazeFace::with_backend(&Backend::Tract, empty.path(), 1).err().expect("no model file").to_string();
        assert!(e.contains(MODEL_FILE) && e.contains("missing") && e.contains("citywatch models install"), "{e}");
        // Another network under BlazeFace's name (CenterFace: wrong inputs and outputs) is refused before it runs.
        let dir = crate::model::test_models(crate::redact::MODEL_FILE);
        let foreign = tempfile::tempdir().unwrap();
        std::fs::copy(dir.join(crate::redact::MODEL_FILE), foreign.path().join(MODEL_FILE)).unwrap();
        let e = BlazeFace::with_backend(&Backend::Tract, foreign.path(), 1).err().expect("wrong file").to_string();
        assert!(e.contains(MODEL_FILE) && e.contains("sha256") && e.contains("refusing"), "{e}");
    }

    #[test]
    fn head_square_is_the_top_of_the_box() {
        // A standing person 40×100 px in a 640×360 picture: the square is
        // as wide as the box and starts 4 px above it.
        let p = Rect { x0: 100.0 / 640.0, y0: 100.0 / 360.0, x1: 140.0 / 640.0, y1: 200.0 / 360.0 };
        assert_eq!(head_square(&p, 640, 360), Some(Square { x0: 100, y0: 96, side: 40 }));
        // A head-and-shoulders box 100×100: 60 px square, centred.
        let p = Rect { x0: 0.0, y0: 0.0, x1: 100.0 / 640.0, y1: 100.0 / 360.0 };
        assert_eq!(head_square(&p, 640, 360), Some(Square { x0: 20, y0: -6, side: 60 }));
        assert_eq!(head_square(&Rect { x0: 0.5, y0: 0.5, x1: 0.5, y1: 0.6 }, 640, 360), None);
    }

    fn astronaut() -> RgbImage {
        image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/astronaut-320.jpg")).unwrap().to_rgb8()
    }

    #[test]
    fn blazeface_finds_the_astronauts_face() {
        let blaze = BlazeFace::with_backend(&Backend::Tract, &crate::model::test_models(MODEL_FILE), 1).unwrap();
        let faces = blaze.faces(&astronaut()).unwrap();
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = faces[0];
        // Measured with tract (ONNX Runtime agrees: tests/ort_backend.rs);
        // within 0.02 = 6 px of the 320 px picture.
        let golden = Rect { x0: 0.347, y0: 0.157, x1: 0.531, y1: 0.342 };
        for (got, want) in [(f.x0, golden.x0), (f.y0, golden.y0), (f.x1, golden.x1), (f.y1, golden.y1)] {
            assert!((got - want).abs() < 0.02, "{f:?} vs {golden:?}");
        }
        // The same face CenterFace finds.
        let centerface = crate::redact::FaceFinder::with_backend(&Backend::Tract, &crate::model::test_models(crate::redact::MODEL_FILE), 320, 320, 1).unwrap();
        let c = centerface.faces(&astronaut()).unwrap();
        assert!(c.iter().any(|c| c.iou(&f) > 0.4), "blazeface {f:?}, centerface {c:?}");
        // No face in a picture of no one.
        let flat = RgbImage::from_fn(200, 150, |x, y| image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x ^ y) % 256) as u8]));
        assert!(blaze.faces(&flat).unwrap().is_empty());
    }
}
