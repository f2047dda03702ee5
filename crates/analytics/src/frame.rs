//! Pictures as analytics sees them: RGB, 8 bits per channel, from image
//! files or from decoded 4:2:0 video.

use std::path::{Path, PathBuf};

pub use image::RgbImage;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("{path}: not a readable image: {detail}")]
    NotAnImage { path: PathBuf, detail: String },
    #[error("I420 picture {width}x{height}: {detail}")]
    BadI420 { width: usize, height: usize, detail: String },
}

/// Reads a PNG or JPEG file, whatever its extension says.
pub fn load_image(path: &Path) -> Result<RgbImage, FrameError> {
    let bad = |detail: String| FrameError::NotAnImage { path: path.to_owned(), detail };
    let reader = image::ImageReader::open(path).map_err(|e| bad(e.to_string()))?;
    let reader = reader.with_guessed_format().map_err(|e| bad(e.to_string()))?;
    Ok(reader.decode().map_err(|e| bad(e.to_string()))?.to_rgb8())
}

/// Converts planar 4:2:0 (BT.601, limited range — what H.264 decoders and
/// the simulator produce) to RGB.
pub fn rgb_from_i420(width: usize, height: usize, y: &[u8], u: &[u8], v: &[u8]) -> Result<RgbImage, FrameError> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    if width == 0 || height == 0 || y.len() < width * height || u.len() < cw * ch || v.len() < cw * ch {
        let detail = format!("planes of {}, {}, {} bytes are too small", y.len(), u.len(), v.len());
        return Err(FrameError::BadI420 { width, height, detail });
    }
    let mut out = RgbImage::new(width as u32, height as u32);
    for (row, line) in out.chunks_exact_mut(width * 3).enumerate() {
        for (col, px) in line.chunks_exact_mut(3).enumerate() {
            let l = 1.164 * (f32::from(y[row * width + col]) - 16.0);
            let c = (row / 2) * cw + col / 2;
            let (cb, cr) = (f32::from(u[c]) - 128.0, f32::from(v[c]) - 128.0);
            px[0] = (l + 1.596 * cr).round().clamp(0.0, 255.0) as u8;
            px[1] = (l - 0.392 * cb - 0.813 * cr).round().clamp(0.0, 255.0) as u8;
            px[2] = (l + 2.017 * cb).round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_and_red_survive_the_round_trip() {
        // Y=126, U=V=128 is mid grey; (81, 90, 240) is BT.601 red.
        let img = rgb_from_i420(2, 2, &[126; 4], &[128], &[128]).unwrap();
        assert_eq!(img.get_pixel(1, 1).0, [128, 128, 128]);
        let red = rgb_from_i420(2, 2, &[81; 4], &[90], &[240]).unwrap();
        let [r, g, b] = red.get_pixel(0, 0).0;
        assert!(r > 245 && g < 10 && b < 10, "{r} {g} {b}");
    }

    #[test]
    fn short_planes_are_refused() {
        assert!(matches!(rgb_from_i420(4, 4, &[0; 15], &[0; 4], &[0; 4]), Err(FrameError::BadI420 { .. })));
    }

    #[test]
    fn a_text_file_is_not_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.png");
        std::fs::write(&p, "hello").unwrap();
        let e = load_image(&p).unwrap_err().to_string();
        assert!(e.contains("notes.png") && e.contains("not a readable image"), "{e}");
    }
}
