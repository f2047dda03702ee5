//! The licence-plate typeface: DejaVu Sans Condensed Bold (vendored in
//! `fonts/`, its licence beside it), measured in world units and rasterised
//! with anti-aliasing by `ab_glyph`.
//!
//! A condensed bold sans is close to the DIN-style faces real plates use;
//! unlike the OSD's 5×7 bitmap font it has the curves and proportions a
//! real plate reader is trained on (D vs O, V vs U, 0 vs 8).

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};

static TTF: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed-Bold.ttf");

/// Extra space between characters, as a fraction of the cap height: plates
/// are spaced more loosely than running text.
const TRACKING: f32 = 0.1;

struct Face {
    font: FontRef<'static>,
    /// Height of a capital letter, font units.
    cap: f32,
}

fn face() -> &'static Face {
    static FACE: OnceLock<Face> = OnceLock::new();
    FACE.get_or_init(|| {
        // The font is compiled in and checked by the tests below, so a
        // failure here is a broken build, not bad input.
        let font = FontRef::try_from_slice(TTF).expect("the vendored plate font parses");
        let cap = font.outline(font.glyph_id('H')).map(|o| (o.bounds.max.y - o.bounds.min.y).abs()).unwrap_or(0.73 * font.units_per_em().unwrap_or(2048.0));
        Face { font, cap }
    })
}

/// Whether the typeface has a glyph for `c`.
pub fn has_glyph(c: char) -> bool {
    c == ' ' || face().font.glyph_id(c).0 != 0
}

/// Width of `text` set with capitals `cap` units tall (same units out).
pub fn text_width(text: &str, cap: f32) -> f32 {
    let f = face();
    let per_unit = cap / f.cap;
    let n = text.chars().count();
    let advances: f32 = text.chars().map(|c| f.font.h_advance_unscaled(f.font.glyph_id(c))).sum();
    advances * per_unit + TRACKING * cap * n.saturating_sub(1) as f32
}

/// Rasterises `text` with its top-left corner at (`x`, `y`) and capitals
/// `cap` tall, all in pixels; `ink(px, py, coverage)` gets each covered
/// pixel (coverage in 0..=1; a pixel may come more than once).
pub fn draw(text: &str, x: f32, y: f32, cap: f32, mut ink: impl FnMut(i32, i32, f32)) {
    let f = face();
    let per_unit = cap / f.cap;
    // ab_glyph's pixel scale is the font's ascent-to-descent height.
    let px = PxScale::from(per_unit * f.font.height_unscaled());
    let scaled = f.font.as_scaled(px);
    let baseline = y + cap;
    let mut pen = x;
    for c in text.chars() {
        let id = f.font.glyph_id(c);
        let glyph: Glyph = id.with_scale_and_position(px, point(pen, baseline));
        if let Some(outline) = f.font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, c| ink(b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32, c));
        }
        pen += scaled.h_advance(id) + TRACKING * cap;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_characters_have_glyphs_and_ink_stays_in_the_cap_box() {
        for c in ('A'..='Z').chain('0'..='9').chain(['-', ' ']) {
            assert!(has_glyph(c), "{c}");
        }
        assert!(!has_glyph('\u{E000}'));
        let w = text_width("BG 123-AB", 30.0);
        assert!(w > 9.0 * 12.0 && w < 9.0 * 30.0, "{w}");
        let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        let mut dark = 0.0;
        draw("BG 123-AB", 10.0, 20.0, 30.0, |x, y, c| {
            if c > 0.0 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                dark += c;
            }
        });
        assert!(x0 >= 10 && (x1 as f32) < 10.0 + w + 1.0, "{x0}..{x1} vs width {w}");
        // Round letters overshoot the cap height by a pixel or so.
        assert!(y0 >= 18 && y1 <= 51, "{y0}..{y1}");
        assert!(dark > 300.0, "{dark}");
    }
}
