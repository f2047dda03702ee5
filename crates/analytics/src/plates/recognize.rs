//! PP-OCRv4 text recognition restricted to plate characters: the crop is
//! resized to 48 px high (aspect kept, padded to a fixed width so one
//! compiled model serves every plate), and CTC is decoded greedily over
//! the blank, A-Z, 0-9 and the hyphen only; every other class of the
//! 6,625-class Chinese/English dictionary is masked before the arg-max.

use std::path::Path;

use tract_onnx::prelude::*;

use crate::backend::{Backend, Net};
use crate::frame::RgbImage;
use crate::model::ModelError;
use crate::plates::{load_ppocr, PlateError};

pub const REC_FILE: &str = "ch_PP-OCRv4_rec_infer.onnx";
const REC_H: usize = 48;
/// Plates are at most about 6:1; 320 px (40 CTC steps) holds 12 characters.
const REC_W: usize = 320;

pub struct Recognizer {
    model: Net,
    /// What each output class stands for when it may be emitted; `None`
    /// for the blank and for masked classes.
    classes: Vec<Option<char>>,
}

/// The dictionary in the model's metadata (`character`, one entry per
/// line), as PaddleOCR lays out the classes: blank, the entries, space.
fn dictionary(proto: &tract_onnx::pb::ModelProto) -> Result<Vec<String>, PlateError> {
    let chars = proto
        .metadata_props
        .iter()
        .find(|p| p.key == "character")
        .ok_or_else(|| PlateError::Model(format!("{REC_FILE}: no `character` dictionary in the model's metadata")))?;
    let mut classes = vec![String::new()];
    classes.extend(chars.value.lines().map(str::to_owned));
    classes.push(" ".into());
    Ok(classes)
}

impl Recognizer {
    pub fn new(model_dir: &Path, threads: usize) -> Result<Recognizer, PlateError> {
        Recognizer::with_backend(&Backend::from_env().map_err(PlateError::Load)?, model_dir, threads)
    }

    pub fn with_backend(backend: &Backend, model_dir: &Path, threads: usize) -> Result<Recognizer, PlateError> {
        let (model, proto) = load_ppocr(backend, model_dir, REC_FILE, &[1, 3, REC_H, REC_W], threads)?;
        let dict = dictionary(&proto)?;
        let classes = dict
            .iter()
            .map(|s| {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' => Some(c),
                    _ => None,
                }
            })
            .collect::<Vec<_>>();
        Ok(Recognizer { model, classes })
    }

    /// Reads one plate crop: the raw text (A-Z, 0-9, '-') and the mean
    /// probability of its characters.
    pub fn read(&self, crop: &RgbImage) -> Result<(String, f32), PlateError> {
        let r = self.read_chars(crop)?;
        let score = r.score();
        Ok((r.text, score))
    }

    /// Reads one plate crop: the raw text and each character's probability.
    pub fn read_chars(&self, crop: &RgbImage) -> Result<RawRead, PlateError> {
        let (w, h) = crop.dimensions();
        if w < 2 || h < 2 {
            return Err(PlateError::Empty { width: w, height: h });
        }
        let nw = ((REC_H as f32 * w as f32 / h as f32).ceil() as usize).clamp(1, REC_W);
        // Triangle read best on the simulator (77% of plates vs 64% nearest, 75% Catmull-Rom, 68% Lanczos).
        let resized = image::imageops::resize(crop, nw as u32, REC_H as u32, image::imageops::FilterType::Triangle);
        // PaddleOCR pads with zeros after normalising (mid grey).
        let mut t = tract_ndarray::Array4::<f32>::zeros((1, 3, REC_H, REC_W));
        for (x, y, px) in resized.enumerate_pixels() {
            let [r, g, b] = px.0;
            for (c, v) in [b, g, r].into_iter().enumerate() {
                t[[0, c, y as usize, x as usize]] = (f32::from(v) / 255.0 - 0.5) / 0.5;
            }
        }
        let out = self.model.run(Tensor::from(t)).map_err(PlateError::Run)?;
        let shape = out[0].shape().to_vec();
        let probs = out[0].as_slice::<f32>().map_err(|e| PlateError::Run(format!("{e:#}")))?;
        if shape.len() != 3 || shape[2] != self.classes.len() {
            return Err(PlateError::Run(format!("output shape {shape:?} does not match the dictionary's {} classes", self.classes.len())));
        }
        let (mut text, mut char_confidence, mut prev) = (String::new(), Vec::new(), 0usize);
        for step in 0..shape[1] {
            let row = &probs[step * shape[2]..(step + 1) * shape[2]];
            let (mut best, mut best_p) = (0usize, row[0]);
            for (i, c) in self.classes.iter().enumerate() {
                if c.is_some() && row[i] > best_p {
                    (best, best_p) = (i, row[i]);
                }
            }
            if best != 0 && best != prev {
                if let Some(c) = self.classes[best] {
                    text.push(c);
                    char_confidence.push(best_p);
                }
            }
            prev = best;
        }
        Ok(RawRead { text, char_confidence })
    }
}

/// The recogniser's best string as read (A-Z, 0-9, '-'), before any
/// layout is fitted, with the probability of each of its characters: what
/// a layout choice can be scored against.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawRead {
    pub text: String,
    /// One per character of `text`, in order.
    pub char_confidence: Vec<f32>,
}

impl RawRead {
    /// The mean probability of the characters (0 when none were read).
    pub fn score(&self) -> f32 {
        if self.char_confidence.is_empty() {
            0.0
        } else {
            self.char_confidence.iter().sum::<f32>() / self.char_confidence.len() as f32
        }
    }
}

impl From<ModelError> for PlateError {
    fn from(e: ModelError) -> Self {
        PlateError::Load(e)
    }
}
