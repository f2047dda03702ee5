//! Object detection with NanoDet-g 416: road users only (person, bicycle,
//! car, motorcycle, bus, truck), boxes in the picture's own pixels.
//!
//! The picture is letterboxed into 416×416 (scaled to fit, top-left, the
//! rest filled with the mean colour so it normalises to zero). NanoDet's
//! heads give, per stride 8/16/32 and per cell, 80 class scores (already
//! sigmoid) and 4 sides × 11 bins (GFL): the softmax expectation of the
//! bins times the stride is the distance from the cell centre to that side.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;

use crate::backend::{Backend, Net};
use crate::frame::RgbImage;
use crate::model::ModelError;

pub const MODEL_FILE: &str = "nanodet-g-416.onnx";
const SIZE: u32 = 416;
const BINS: usize = 11;
const STRIDES: [usize; 3] = [8, 16, 32];
/// Per channel in the network's B, G, R order.
const MEAN: [f32; 3] = [103.53, 116.28, 123.675];
const STD: [f32; 3] = [57.375, 57.12, 58.395];

/// The road users we keep, with their COCO class index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectClass {
    Person,
    Bicycle,
    Car,
    Motorcycle,
    Bus,
    Truck,
}

impl ObjectClass {
    pub const ALL: [ObjectClass; 6] = [Self::Person, Self::Bicycle, Self::Car, Self::Motorcycle, Self::Bus, Self::Truck];

    pub fn coco_index(self) -> usize {
        match self {
            Self::Person => 0,
            Self::Bicycle => 1,
            Self::Car => 2,
            Self::Motorcycle => 3,
            Self::Bus => 5,
            Self::Truck => 7,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Bicycle => "bicycle",
            Self::Car => "car",
            Self::Motorcycle => "motorcycle",
            Self::Bus => "bus",
            Self::Truck => "truck",
        }
    }

    pub fn is_vehicle(self) -> bool {
        self != Self::Person
    }
}

/// An axis-aligned box in pixels; serialised as `[x0, y0, x1, y1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 4]", into = "[f64; 4]")]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl From<[f32; 4]> for BBox {
    fn from([x0, y0, x1, y1]: [f32; 4]) -> Self {
        BBox { x0, y0, x1, y1 }
    }
}

impl From<BBox> for [f32; 4] {
    fn from(b: BBox) -> Self {
        [b.x0, b.y0, b.x1, b.y1]
    }
}

impl From<[f64; 4]> for BBox {
    fn from(v: [f64; 4]) -> Self {
        v.map(|v| v as f32).into()
    }
}

impl From<BBox> for [f64; 4] {
    fn from(b: BBox) -> Self {
        // Tenths of a pixel are plenty and keep JSON lines short.
        [b.x0, b.y0, b.x1, b.y1].map(|v| (f64::from(v) * 10.0).round() / 10.0)
    }
}

impl BBox {
    pub fn width(&self) -> f32 {
        (self.x1 - self.x0).max(0.0)
    }
    pub fn height(&self) -> f32 {
        (self.y1 - self.y0).max(0.0)
    }
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }
    pub fn iou(&self, o: &BBox) -> f32 {
        let inter = BBox { x0: self.x0.max(o.x0), y0: self.y0.max(o.y0), x1: self.x1.min(o.x1), y1: self.y1.min(o.y1) }.area();
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub class: ObjectClass,
    #[serde(serialize_with = "three_decimals")]
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

fn three_decimals<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*v) * 1000.0).round() / 1000.0)
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("picture {width}x{height} is empty")]
    Empty { width: u32, height: u32 },
    #[error("running {MODEL_FILE}: {0}")]
    Run(String),
}

pub struct Detector {
    model: Net,
    /// Scores below this are dropped (0..1).
    pub score_threshold: f32,
    /// Within one class, a box overlapping a better one by more than this
    /// IoU is dropped.
    pub nms_iou: f32,
}

impl Detector {
    /// Loads NanoDet from `model_dir` (hash-checked) on the backend named
    /// by `$CITYWATCH_BACKEND` (tract when unset). `threads` is the number
    /// of threads one detection may use.
    pub fn new(model_dir: &Path, threads: usize) -> Result<Detector, DetectError> {
        Detector::with_backend(&Backend::from_env()?, model_dir, threads)
    }

    pub fn with_backend(backend: &Backend, model_dir: &Path, threads: usize) -> Result<Detector, DetectError> {
        let model = Net::load(backend, model_dir, MODEL_FILE, &[1, 3, SIZE as usize, SIZE as usize], threads)?;
        Ok(Detector { model, score_threshold: 0.35, nms_iou: 0.5 })
    }

    /// The engine running the model ("tract" or "ort").
    pub fn backend_name(&self) -> &'static str {
        self.model.backend_name()
    }

    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, DetectError> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Err(DetectError::Empty { width: w, height: h });
        }
        let (input, scale) = letterbox(img);
        let outputs = self.model.run(input).map_err(DetectError::Run)?;
        let heads = pair_heads(&outputs)?;
        let mut found = Vec::new();
        for (stride, scores, dists) in heads {
            decode_head(stride, scores, dists, self.score_threshold, &mut found);
        }
        for d in &mut found {
            let b = &mut d.bbox;
            *b = BBox {
                x0: (b.x0 / scale).clamp(0.0, w as f32),
                y0: (b.y0 / scale).clamp(0.0, h as f32),
                x1: (b.x1 / scale).clamp(0.0, w as f32),
                y1: (b.y1 / scale).clamp(0.0, h as f32),
            };
        }
        Ok(nms(found, self.nms_iou))
    }
}

/// The network input and the picture→input scale factor.
fn letterbox(img: &RgbImage) -> (Tensor, f32) {
    let (w, h) = img.dimensions();
    let scale = (SIZE as f32 / w as f32).min(SIZE as f32 / h as f32);
    let (nw, nh) = (((w as f32 * scale).round() as u32).clamp(1, SIZE), ((h as f32 * scale).round() as u32).clamp(1, SIZE));
    let resized = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
    let side = SIZE as usize;
    let mut t = tract_ndarray::Array4::<f32>::zeros((1, 3, side, side));
    for (x, y, px) in resized.enumerate_pixels() {
        let [r, g, b] = px.0;
        for (c, v) in [b, g, r].into_iter().enumerate() {
            t[[0, c, y as usize, x as usize]] = (f32::from(v) - MEAN[c]) / STD[c];
        }
    }
    (t.into(), scale)
}

/// Matches each stride's class-score and distance outputs by their shapes
/// (`[1, N, 80]`, `[1, N, 44]`, N = (416/stride)²), whatever their names.
/// One stride's outputs: the stride, class scores, side distributions.
type Head<'a> = (usize, &'a [f32], &'a [f32]);

fn pair_heads(outputs: &[TValue]) -> Result<Vec<Head<'_>>, DetectError> {
    let mut heads = Vec::new();
    for stride in STRIDES {
        let n = (SIZE as usize / stride).pow(2);
        let find = |c: usize| {
            outputs
                .iter()
                .find(|o| o.shape() == [1, n, c])
                .and_then(|o| o.as_slice::<f32>().ok())
                .ok_or_else(|| DetectError::Run(format!("no output of shape [1, {n}, {c}] for stride {stride}")))
        };
        heads.push((stride, find(80)?, find(4 * BINS)?));
    }
    Ok(heads)
}

fn decode_head(stride: usize, scores: &[f32], dists: &[f32], threshold: f32, out: &mut Vec<Detection>) {
    let cols = SIZE as usize / stride;
    for (cell, cell_scores) in scores.chunks_exact(80).enumerate() {
        let mut bbox = None;
        for class in ObjectClass::ALL {
            let score = cell_scores[class.coco_index()];
            if score < threshold {
                continue;
            }
            let b = *bbox.get_or_insert_with(|| {
                let d = &dists[cell * 4 * BINS..(cell + 1) * 4 * BINS];
                let side = |k: usize| expectation(&d[k * BINS..(k + 1) * BINS]) * stride as f32;
                let cx = ((cell % cols) as f32 + 0.5) * stride as f32;
                let cy = ((cell / cols) as f32 + 0.5) * stride as f32;
                BBox { x0: cx - side(0), y0: cy - side(1), x1: cx + side(2), y1: cy + side(3) }
            });
            out.push(Detection { class, score, bbox: b });
        }
    }
}

/// Σ i·softmax(bins)_i.
fn expectation(bins: &[f32]) -> f32 {
    let max = bins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut sum, mut weighted) = (0.0, 0.0);
    for (i, &b) in bins.iter().enumerate() {
        let e = (b - max).exp();
        sum += e;
        weighted += i as f32 * e;
    }
    weighted / sum
}

/// Greedy non-maximum suppression within each class; best first.
pub fn nms(mut found: Vec<Detection>, iou: f32) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if !kept.iter().any(|k| k.class == d.class && k.bbox.iou(&d.bbox) > iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class: ObjectClass, score: f32, x0: f32) -> Detection {
        Detection { class, score, bbox: BBox { x0, y0: 0.0, x1: x0 + 10.0, y1: 10.0 } }
    }

    #[test]
    fn nms_is_per_class() {
        let kept = nms(
            vec![det(ObjectClass::Car, 0.6, 1.0), det(ObjectClass::Car, 0.9, 0.0), det(ObjectClass::Truck, 0.5, 0.0), det(ObjectClass::Car, 0.4, 50.0)],
            0.5,
        );
        let got: Vec<_> = kept.iter().map(|d| (d.class, d.score)).collect();
        assert_eq!(got, vec![(ObjectClass::Car, 0.9), (ObjectClass::Truck, 0.5), (ObjectClass::Car, 0.4)]);
    }

    #[test]
    fn expectation_of_one_hot_bins_is_the_bin() {
        let mut bins = [-50.0; BINS];
        bins[3] = 50.0;
        assert!((expectation(&bins) - 3.0).abs() < 1e-4);
        assert!((expectation(&[0.0; BINS]) - 5.0).abs() < 1e-4);
    }

    #[test]
    fn boxes_serialise_as_four_numbers() {
        let d = det(ObjectClass::Motorcycle, 0.74456, 1.04);
        let j = serde_json::to_string(&d).unwrap();
        assert_eq!(j, r#"{"class":"motorcycle","score":0.745,"box":[1.0,0.0,11.0,10.0]}"#);
        let back: Detection = serde_json::from_str(&j).unwrap();
        assert_eq!(back.bbox, BBox { x0: 1.0, y0: 0.0, x1: 11.0, y1: 10.0 });
    }
}
