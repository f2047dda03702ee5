//! Turning a [`Scene`] into I420 pictures and ground truth at a given size.
//!
//! Pixels and truth use the same world→pixel rounding ([`Raster::px`]), so an
//! object's truth box is exactly the pixels painted for it. Shapes and plate
//! text are anti-aliased, each clipped to its own rounded bounds: nothing is
//! painted outside the truth box, and its edge rows and columns hold the
//! shape's partly covered edge pixels.

use crate::font;
use crate::plate_font;
use crate::scene::{Paint, Rgb, Scene, ROAD_BOTTOM, ROAD_TOP, WORLD_H, WORLD_W};
use crate::truth::{FrameTruth, ObjectTruth, PixelBox, PlateTruth};

/// A planar 4:2:0 picture (BT.601 limited range), even width and height.
#[derive(Clone)]
pub struct I420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl I420 {
    pub fn new(width: usize, height: usize) -> I420 {
        let c = (width / 2) * (height / 2);
        I420 { width, height, y: vec![16; width * height], u: vec![128; c], v: vec![128; c] }
    }

    /// Luma at (x, y).
    pub fn luma(&self, x: usize, y: usize) -> u8 {
        self.y[y * self.width + x]
    }

    fn fill(&mut self, (x0, y0, x1, y1): (usize, usize, usize, usize), c: Rgb) {
        let (yy, uu, vv) = to_yuv(c);
        for row in y0..y1 {
            self.y[row * self.width + x0..row * self.width + x1].fill(yy);
        }
        // Chroma covers every 2×2 block the rectangle touches.
        let cw = self.width / 2;
        let (cx0, cy0, cx1, cy1) = (x0 / 2, y0 / 2, x1.div_ceil(2), y1.div_ceil(2));
        for row in cy0..cy1 {
            self.u[row * cw + cx0..row * cw + cx1].fill(uu);
            self.v[row * cw + cx0..row * cw + cx1].fill(vv);
        }
    }

    /// Paints `color(row)` over the picture with the mask's coverage.
    /// Blending in Y′CbCr is blending in R′G′B′ (the transform is linear);
    /// chroma takes the mean coverage of its 2×2 pixels.
    fn blend(&mut self, m: &Mask, color: impl Fn(usize) -> Rgb) {
        let mix = |old: u8, new: u8, a: f32| (old as f32 + (new as f32 - old as f32) * a).round() as u8;
        for r in 0..m.h {
            let row = m.y0 + r;
            let (yy, _, _) = to_yuv(color(row));
            for c in 0..m.w {
                let a = m.a[r * m.w + c].min(1.0);
                if a > 0.0 {
                    let p = &mut self.y[row * self.width + m.x0 + c];
                    *p = mix(*p, yy, a);
                }
            }
        }
        let cw = self.width / 2;
        let at = |x: usize, y: usize| if x >= m.x0 && x < m.x0 + m.w && y >= m.y0 && y < m.y0 + m.h { m.a[(y - m.y0) * m.w + x - m.x0].min(1.0) } else { 0.0 };
        for cy in m.y0 / 2..(m.y0 + m.h).div_ceil(2) {
            let (_, uu, vv) = to_yuv(color(2 * cy));
            for cx in m.x0 / 2..(m.x0 + m.w).div_ceil(2) {
                let a = (at(2 * cx, 2 * cy) + at(2 * cx + 1, 2 * cy) + at(2 * cx, 2 * cy + 1) + at(2 * cx + 1, 2 * cy + 1)) / 4.0;
                if a > 0.0 {
                    let i = cy * cw + cx;
                    self.u[i] = mix(self.u[i], uu, a);
                    self.v[i] = mix(self.v[i], vv, a);
                }
            }
        }
    }

    /// Darkens (or brightens) the whole picture: `factor` 1.0 leaves it as is.
    fn light(&mut self, factor: f32) {
        if (factor - 1.0).abs() < 1e-4 {
            return;
        }
        let mut luma = [0u8; 256];
        let mut chroma = [0u8; 256];
        for i in 0..256 {
            luma[i] = (16.0 + (i as f32 - 16.0) * factor).round().clamp(16.0, 235.0) as u8;
            chroma[i] = (128.0 + (i as f32 - 128.0) * factor).round().clamp(16.0, 240.0) as u8;
        }
        self.y.iter_mut().for_each(|p| *p = luma[*p as usize]);
        self.u.iter_mut().chain(self.v.iter_mut()).for_each(|p| *p = chroma[*p as usize]);
    }
}

fn to_yuv(Rgb(r, g, b): Rgb) -> (u8, u8, u8) {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
    let u = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
    let v = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
    (y.round() as u8, u.round() as u8, v.round() as u8)
}

/// The world→pixel mapping for one output size.
#[derive(Debug, Clone, Copy)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    sx: f32,
    sy: f32,
}

impl Raster {
    pub fn new(width: usize, height: usize) -> Raster {
        Raster { width, height, sx: width as f32 / WORLD_W, sy: height as f32 / WORLD_H }
    }

    /// The pixels a world rectangle covers, clipped to the picture; `None`
    /// if nothing of it is inside.
    pub fn px(&self, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> Option<(usize, usize, usize, usize)> {
        let cx = |x: f32| ((x * self.sx).round().max(0.0) as usize).min(self.width);
        let cy = |y: f32| ((y * self.sy).round().max(0.0) as usize).min(self.height);
        let r = (cx(x0), cy(y0), cx(x1), cy(y1));
        (r.0 < r.2 && r.1 < r.3).then_some(r)
    }

    /// Whether a world rectangle lies entirely inside the picture.
    fn inside(&self, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> bool {
        x0 * self.sx >= -0.5 && y0 * self.sy >= -0.5 && x1 * self.sx <= self.width as f32 + 0.5 && y1 * self.sy <= self.height as f32 + 0.5
    }

    fn paint(&self, img: &mut I420, p: &Paint) {
        let Some(clip) = self.px(p.bounds()) else { return };
        match p {
            Paint::Rect { color, .. } => img.fill(clip, *color),
            Paint::Poly { pts, top, bottom } => {
                let pts: Vec<(f32, f32)> = pts.iter().map(|&(x, y)| (x * self.sx, y * self.sy)).collect();
                let mut m = Mask::new(clip);
                m.convex(&pts);
                let (y0, y1) = pts.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
                img.blend(&m, |row| mix(*top, *bottom, (row as f32 + 0.5 - y0) / (y1 - y0).max(1.0)));
            }
            Paint::Ellipse { cx, cy, rx, ry, color } => {
                let mut m = Mask::new(clip);
                m.ellipse(cx * self.sx, cy * self.sy, rx * self.sx, ry * self.sy);
                img.blend(&m, |_| *color);
            }
            Paint::Label { x, y, cap, text, color } => {
                let mut m = Mask::new(clip);
                plate_font::draw(text, x * self.sx, y * self.sy, cap * self.sy, |px, py, c| m.add(px, py, c));
                img.blend(&m, |_| *color);
            }
            Paint::Text { x, y, scale, text, color } => {
                for (i, c) in text.chars().enumerate() {
                    let gx = x + (i * font::ADVANCE) as f32 * scale;
                    for row in 0..font::GLYPH_H {
                        for col in 0..font::GLYPH_W {
                            if font::ink(c, col, row) {
                                let (fx, fy) = (gx + col as f32 * scale, y + row as f32 * scale);
                                if let Some(r) = self.px((fx, fy, fx + scale, fy + scale)) {
                                    img.fill(r, *color);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Linear mix of two colours, `t` clamped to 0..=1.
fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    let m = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t).round() as u8;
    Rgb(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// Sub-scanlines per pixel row: shapes are exact across a row and sampled
/// this many times down it, which is enough anti-aliasing for edges that
/// H.264 softens anyway.
const SUB_ROWS: usize = 4;

/// Per-pixel coverage of one shape, limited to the shape's truth rectangle
/// so that nothing is ever painted outside the object's truth box.
struct Mask {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    a: Vec<f32>,
}

impl Mask {
    fn new((x0, y0, x1, y1): (usize, usize, usize, usize)) -> Mask {
        Mask { x0, y0, w: x1 - x0, h: y1 - y0, a: vec![0.0; (x1 - x0) * (y1 - y0)] }
    }

    fn add(&mut self, x: i32, y: i32, c: f32) {
        let (x, y) = (x - self.x0 as i32, y - self.y0 as i32);
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let a = &mut self.a[y as usize * self.w + x as usize];
            *a = (*a + c).min(1.0);
        }
    }

    /// Adds the span `xl..xr` (pixels) of one sub-scanline of row `row`.
    fn span(&mut self, row: usize, xl: f32, xr: f32) {
        let (lo, hi) = (self.x0 as f32, (self.x0 + self.w) as f32);
        let (xl, xr) = (xl.max(lo), xr.min(hi));
        if xr <= xl {
            return;
        }
        let line = &mut self.a[(row - self.y0) * self.w..(row - self.y0 + 1) * self.w];
        for c in xl.floor() as usize..(xr.ceil() as usize).min(self.x0 + self.w) {
            let cover = xr.min(c as f32 + 1.0) - xl.max(c as f32);
            line[c - self.x0] += cover.max(0.0) / SUB_ROWS as f32;
        }
    }

    fn sub_rows(&self) -> impl Iterator<Item = (usize, f32)> {
        let (y0, h) = (self.y0, self.h);
        (y0..y0 + h).flat_map(|row| (0..SUB_ROWS).map(move |k| (row, row as f32 + (k as f32 + 0.5) / SUB_ROWS as f32)))
    }

    /// A convex polygon, in pixels.
    fn convex(&mut self, pts: &[(f32, f32)]) {
        let rows: Vec<(usize, f32)> = self.sub_rows().collect();
        for (row, y) in rows {
            let (mut xl, mut xr) = (f32::MAX, f32::MIN);
            for (i, &(ax, ay)) in pts.iter().enumerate() {
                let (bx, by) = pts[(i + 1) % pts.len()];
                if (ay <= y && y < by) || (by <= y && y < ay) {
                    let x = ax + (y - ay) * (bx - ax) / (by - ay);
                    (xl, xr) = (xl.min(x), xr.max(x));
                }
            }
            if xl < xr {
                self.span(row, xl, xr);
            }
        }
    }

    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32) {
        let rows: Vec<(usize, f32)> = self.sub_rows().collect();
        for (row, y) in rows {
            let d = (y - cy) / ry;
            if d.abs() < 1.0 {
                let half = rx * (1.0 - d * d).sqrt();
                self.span(row, cx - half, cx + half);
            }
        }
    }
}

fn pixel_box((x0, y0, x1, y1): (usize, usize, usize, usize)) -> PixelBox {
    PixelBox { x: x0 as u32, y: y0 as u32, w: (x1 - x0) as u32, h: (y1 - y0) as u32 }
}

/// Draws one scene at one size; keeps the static background drawn once.
pub struct Renderer<'a> {
    scene: &'a Scene,
    raster: Raster,
    background: I420,
}

impl<'a> Renderer<'a> {
    pub fn new(scene: &'a Scene, width: usize, height: usize) -> Renderer<'a> {
        let raster = Raster::new(width, height);
        let mut background = I420::new(width, height);
        for p in scene.background() {
            raster.paint(&mut background, p);
        }
        Renderer { scene, raster, background }
    }

    /// Frame `index` of the loop, with the on-screen display.
    pub fn frame(&self, index: u32) -> I420 {
        let mut img = self.background.clone();
        for object in self.scene.objects(index) {
            for p in &object.parts {
                self.raster.paint(&mut img, p);
            }
        }
        img.light(self.scene.brightness(index));
        // The OSD is burnt in after the lighting, as a camera's would be.
        let text = self.scene.osd(index);
        let scale = 3.0;
        let (x, y) = (24.0, 20.0);
        let w = font::text_width(&text) as f32 * scale;
        self.raster.paint(&mut img, &Paint::Rect { x0: x - 8.0, y0: y - 8.0, x1: x + w + 8.0, y1: y + 7.0 * scale + 8.0, color: Rgb(0, 0, 0) });
        self.raster.paint(&mut img, &Paint::Text { x, y, scale, text, color: Rgb(255, 255, 255) });
        img
    }
}

/// What frame `index` of `scene` shows, in pixels of a `width`×`height` picture.
pub fn frame_truth(scene: &Scene, index: u32, width: usize, height: usize) -> FrameTruth {
    let raster = Raster::new(width, height);
    let drawn = scene.objects(index);
    // Pixel rectangles of each object's parts, to see what nearer ones hide.
    let painted: Vec<Vec<PixelBox>> = drawn.iter().map(|d| d.parts.iter().filter_map(|p| raster.px(p.bounds())).map(pixel_box).collect()).collect();
    let mut objects = Vec::new();
    for (i, d) in drawn.iter().enumerate() {
        let mut bounds: Option<(f32, f32, f32, f32)> = None;
        for p in &d.parts {
            let b = p.bounds();
            bounds = Some(match bounds {
                None => b,
                Some(a) => (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)),
            });
        }
        let Some(world) = bounds else { continue };
        let Some(px) = raster.px(world) else { continue };
        let bbox = pixel_box(px);
        let nearer = || painted[i + 1..].iter().flatten();
        let occluded = nearer().any(|r| r.intersects(&bbox));
        // A plate counts only when all of it can be seen.
        let plate = d.plate.as_ref().and_then(|(plate, rect)| {
            let r = raster.px(*rect).filter(|_| raster.inside(*rect)).map(pixel_box)?;
            (!nearer().any(|n| n.intersects(&r))).then(|| PlateTruth { text: plate.text.clone(), country: plate.country.to_owned(), bbox: r })
        });
        objects.push(ObjectTruth { track_id: d.track_id, class: d.class, bbox, truncated: !raster.inside(world), occluded, plate });
    }
    FrameTruth { index: index % scene.loop_frames, brightness: scene.brightness(index), objects }
}

/// The road's rows in a picture of this height.
pub fn road_rows(height: usize) -> [u32; 2] {
    let s = height as f32 / WORLD_H;
    [(ROAD_TOP * s).round() as u32, (ROAD_BOTTOM * s).round() as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_boxes_are_what_was_painted() {
        let scene = Scene::new(0, 7, 60);
        let r = Renderer::new(&scene, 640, 360);
        let mut plates = 0;
        for f in (0..60).step_by(7) {
            let img = r.frame(f);
            let truth = frame_truth(&scene, f, 640, 360);
            for o in &truth.objects {
                assert!(o.bbox.right() <= 640 && o.bbox.bottom() <= 360 && o.bbox.w > 0 && o.bbox.h > 0, "{o:?}");
                if let Some(p) = &o.plate {
                    plates += 1;
                    let b = p.bbox;
                    let lumas: Vec<u8> =
                        (b.y..b.bottom()).flat_map(|y| (b.x..b.right()).map(move |x| (x, y))).map(|(x, y)| img.luma(x as usize, y as usize)).collect();
                    let white = 16.0 + 0.8 * 219.0 * truth.brightness;
                    assert!(lumas.iter().any(|&l| l as f32 >= white), "plate {} has white", p.text);
                    assert!(lumas.iter().any(|&l| l < 40), "plate {} has black", p.text);
                }
            }
        }
        assert!(plates > 0, "some plates were visible");
    }
}
