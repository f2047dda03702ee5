//! Licence plates: find them inside vehicle boxes ([`locate`], PP-OCRv4
//! text detection), read them ([`recognize`], PP-OCRv4 recognition
//! restricted to A-Z, 0-9), put the text into its country's printed form
//! where it fits one of the configured regions' layouts ([`format`]), vote across the reads of one vehicle track ([`vote`]),
//! and ration and decide those reads per track ([`track_reads`]).
//!
//! Plates only: nothing here looks at people. What happens to a read
//! (events, hotlists, search, purge) is `citywatch-hotlists`' job.

pub mod format;
pub mod locate;
pub mod recognize;
pub mod track_reads;
pub mod vote;

use std::path::Path;

use serde::Serialize;

use crate::backend::{Backend, Net};
use crate::detect::BBox;
use crate::frame::RgbImage;
use crate::model::ModelError;

pub use format::{known_regions, Fit, FormattedPlate, Layouts, UnknownRegions};
pub use locate::PlateFinder;
pub use recognize::{RawRead, Recognizer};
pub use track_reads::{PlateBudget, PlateStep, PlateTracks, TrackPlate};
pub use vote::{vote, TrackRead};

#[derive(Debug, thiserror::Error)]
pub enum PlateError {
    #[error(transparent)]
    Load(ModelError),
    #[error("plate model: {0}")]
    Model(String),
    #[error("plate crop of {width}x{height} pixels is too small to read")]
    Empty { width: u32, height: u32 },
    #[error("running a plate model: {0}")]
    Run(String),
}

/// Loads a PP-OCRv4 model (hash-checked) at a fixed input shape. Paddle's
/// exporter names its dynamic dimensions `p2o.DynamicDimension.N`, which
/// tract cannot parse as a symbol, so the names are made plain first.
/// Returns the proto too, for its metadata. ONNX Runtime (`backend`) reads
/// the file itself.
pub(crate) fn load_ppocr(backend: &Backend, dir: &Path, file: &str, shape: &[usize], threads: usize) -> Result<(Net, tract_onnx::pb::ModelProto), PlateError> {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value as Type;
    use tract_onnx::prelude::*;
    let path = crate::model::verify(dir, file)?;
    let failed = |e: TractError| PlateError::Load(ModelError::Load { path: path.clone(), shape: shape.to_vec(), detail: format!("{e:#}") });
    let mut proto = tract_onnx::onnx().proto_model_for_path(&path).map_err(failed)?;
    if *backend != Backend::Tract {
        return Ok((Net::load(backend, dir, file, shape, threads).map_err(PlateError::Load)?, proto));
    }
    if let Some(graph) = proto.graph.as_mut() {
        for v in graph.input.iter_mut().chain(graph.output.iter_mut()).chain(graph.value_info.iter_mut()) {
            if let Some(Type::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut()) {
                for d in t.shape.iter_mut().flat_map(|s| s.dim.iter_mut()) {
                    if let Some(Dim::DimParam(name)) = d.value.as_mut() {
                        *name = name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
                    }
                }
            }
        }
    }
    let model = (|| -> TractResult<crate::model::Model> {
        let model = tract_onnx::onnx().model_for_proto_model(&proto)?.with_input_fact(0, f32::fact(shape).into())?.into_optimized()?;
        let mut options = PlanOptions::default();
        if threads > 1 {
            options.executor = Some(tract_linalg::multithread::Executor::multithread_with_name(threads, "plates"));
        }
        model.into_runnable_with_options(&options)
    })()
    .map_err(failed)?;
    Ok((Net::Tract(model), proto))
}

/// One plate read in a picture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlateRead {
    /// In its country's printed form when a configured layout fits
    /// (`BG 123-AB`), else the characters read (A-Z, 0-9).
    pub text: String,
    /// ISO 3166 alpha-2 of the layout it fits; `null` when none fits.
    pub country: Option<&'static str>,
    /// Mean character probability, scaled down when only a general rule
    /// or no layout fits (`fallback.toml`).
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// The recogniser's string before any layout was fitted.
    pub raw: String,
    /// Each character of `raw`'s probability.
    pub char_confidence: Vec<f32>,
}

impl PlateRead {
    pub fn track_read(&self) -> TrackRead {
        TrackRead { text: self.text.clone(), score: self.score, formatted: self.country.is_some() }
    }

    /// A recogniser's read of the plate in `bbox`, fitted to `layouts`:
    /// `None` when it is too short to be a plate or its characters' mean
    /// probability is below `min_score`. A read that fits no layout is kept
    /// as read with a lower score, never dropped for it.
    pub fn from_raw(raw: RawRead, layouts: &Layouts, min_score: f32, bbox: BBox) -> Option<PlateRead> {
        let key_len = raw.text.chars().filter(char::is_ascii_alphanumeric).count();
        let score = raw.score();
        if key_len < format::fallback().min_chars || score < min_score {
            return None;
        }
        let p = layouts.normalise(&raw.text);
        Some(PlateRead { score: score * p.score_factor(), text: p.text, country: p.country, bbox, raw: raw.text, char_confidence: raw.char_confidence })
    }
}

/// Vehicle box in, plates out.
pub struct PlateReader {
    finder: PlateFinder,
    recognizer: Recognizer,
    /// The regions whose layouts reads are fitted to (every known one
    /// unless set: `[plates] regions`, `citywatch analyze --regions`).
    pub layouts: Layouts,
    /// Reads whose characters' mean probability is below this are dropped.
    pub min_score: f32,
    /// Context added around a plate box before reading it, as a fraction
    /// of its height on every side (0 read best on the simulator: 77% of
    /// plates, vs 67% at 0.15 and 74% at 0.3).
    pub margin: f32,
}

impl PlateReader {
    /// Loads both models from `model_dir` (hash-checked) on the backend
    /// named by `$CITYWATCH_BACKEND` (tract when unset).
    pub fn new(model_dir: &Path, threads: usize) -> Result<PlateReader, PlateError> {
        PlateReader::with_backend(&Backend::from_env().map_err(PlateError::Load)?, model_dir, threads)
    }

    pub fn with_backend(backend: &Backend, model_dir: &Path, threads: usize) -> Result<PlateReader, PlateError> {
        Ok(PlateReader {
            finder: PlateFinder::with_backend(backend, model_dir, threads)?,
            recognizer: Recognizer::with_backend(backend, model_dir, threads)?,
            layouts: Layouts::all(),
            min_score: 0.5,
            margin: 0.0,
        })
    }

    /// Plates inside one vehicle's box, best first (usually one).
    pub fn read_vehicle(&self, img: &RgbImage, vehicle: BBox) -> Result<Vec<PlateRead>, PlateError> {
        self.read_area(img, vehicle, 3)
    }

    /// Plates in a still picture, best first: inside each vehicle box, one
    /// per place where overlapping boxes (a car also scored as a truck)
    /// both see it. When no vehicle box holds a readable plate (a close-up
    /// of a plate, a trailer's back, a car too close for the detector), the
    /// whole picture is searched.
    pub fn read_picture(&self, img: &RgbImage, vehicles: &[BBox]) -> Result<Vec<PlateRead>, PlateError> {
        let mut found: Vec<PlateRead> = Vec::new();
        for &v in vehicles {
            for p in self.read_vehicle(img, v)? {
                if !found.iter().any(|f| f.bbox.iou(&p.bbox) > 0.5) {
                    found.push(p);
                }
            }
        }
        if found.is_empty() {
            let (w, h) = img.dimensions();
            // The whole picture shrinks into the finder's input, so its
            // boxes are coarse (a plate's first letter cut off): each is
            // searched again at the finder's full resolution, with room
            // around it. More candidates than in a vehicle: a scene has
            // more text.
            for (b, _) in self.finder.find(img, BBox { x0: 0.0, y0: 0.0, x1: w as f32, y1: h as f32 })?.into_iter().take(8) {
                let (gx, gy) = (b.width() * 0.5, b.height() * 1.5);
                let around = BBox { x0: b.x0 - gx, y0: b.y0 - gy, x1: b.x1 + gx, y1: b.y1 + gy };
                for p in self.read_area(img, around, 3)? {
                    if !found.iter().any(|f| f.bbox.iou(&p.bbox) > 0.5) {
                        found.push(p);
                    }
                }
            }
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(found)
    }

    fn read_area(&self, img: &RgbImage, area: BBox, candidates: usize) -> Result<Vec<PlateRead>, PlateError> {
        let mut out = Vec::new();
        for (b, _) in self.finder.find(img, area)?.into_iter().take(candidates) {
            if let Some(r) = self.read_box(img, b)? {
                out.push(r);
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(out)
    }

    /// Reads the plate in `plate` (picture pixels); `None` when nothing
    /// plate-like is read there.
    pub fn read_box(&self, img: &RgbImage, plate: BBox) -> Result<Option<PlateRead>, PlateError> {
        let (iw, ih) = img.dimensions();
        let m = plate.height() * self.margin;
        let plate = BBox { x0: plate.x0 - m, y0: plate.y0 - m, x1: plate.x1 + m, y1: plate.y1 + m };
        let x0 = plate.x0.max(0.0) as u32;
        let y0 = plate.y0.max(0.0) as u32;
        let x1 = (plate.x1.ceil().max(0.0) as u32).min(iw);
        let y1 = (plate.y1.ceil().max(0.0) as u32).min(ih);
        if x1 < x0 + 2 || y1 < y0 + 2 {
            return Ok(None);
        }
        let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
        let raw = self.recognizer.read_chars(&crop)?;
        Ok(PlateRead::from_raw(raw, &self.layouts, self.min_score, plate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str, p: f32) -> RawRead {
        RawRead { text: text.into(), char_confidence: vec![p; text.len()] }
    }

    /// A US plate read where only Serbia's layouts are configured fits
    /// none: it is kept as read (the hotlists match its key), not dropped.
    #[test]
    fn a_read_that_fits_no_layout_is_kept_as_read_with_a_lower_score() {
        let rs = Layouts::for_regions(&["RS"]).unwrap();
        let b = BBox { x0: 0.0, y0: 0.0, x1: 40.0, y1: 10.0 };
        let r = PlateRead::from_raw(raw("7ABC123", 0.9), &rs, 0.5, b).expect("kept");
        assert_eq!((r.text.as_str(), r.country, r.raw.as_str()), ("7ABC123", None, "7ABC123"));
        assert!(r.score < 0.9 && r.score > 0.0, "{}", r.score);
        assert_eq!(r.char_confidence.len(), 7);
        let r = PlateRead::from_raw(raw("BG-123AB", 0.9), &rs, 0.5, b).unwrap();
        assert_eq!((r.text.as_str(), r.country, r.raw.as_str()), ("BG 123-AB", Some("RS"), "BG-123AB"));
        assert!((r.score - 0.9).abs() < 1e-5, "a read that fits a layout keeps its score: {}", r.score);
        // Too unsure, or too short to be a plate.
        assert_eq!(PlateRead::from_raw(raw("7ABC123", 0.4), &rs, 0.5, b), None);
        assert_eq!(PlateRead::from_raw(raw("AB1", 0.99), &rs, 0.5, b), None);
        let json = serde_json::to_value(PlateRead::from_raw(raw("7ABC123", 0.9), &rs, 0.5, b).unwrap()).unwrap();
        assert!(json["country"].is_null() && json["raw"] == "7ABC123" && json["char_confidence"].as_array().unwrap().len() == 7, "{json}");
    }
}
