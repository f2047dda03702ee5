//! `citywatch analyze IMAGE...`: runs the object detector and, inside each
//! vehicle it finds (the whole image when none holds a plate), the plate
//! reader on still images, and prints one JSON line per image: `{"file",
//! "objects": [{"class", "score", "box"}], "plates": [{"text", "score",
//! "box"}]}`. Boxes are `[x0, y0, x1, y1]` in
//! the image's pixels. For integrators and evaluation; nothing is stored.
//!
//! An unreadable image gets an error line on stderr and a non-zero exit;
//! the other images are still analysed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use citywatch_analytics::plates::{PlateRead, PlateReader};
use citywatch_analytics::{load_image, model_dir, Detection, Detector, RgbImage};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// PNG or JPEG files.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Model directory (see `citywatch models list`).
    #[arg(long, env = "CITYWATCH_MODELS")]
    pub models: Option<PathBuf>,
    /// Threads per detection.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = model_dir(args.models.as_deref())?;
    let threads = args.threads.max(1);
    let detector = Detector::new(&dir, threads).context("loading the object detector")?;
    let reader = PlateReader::new(&dir, threads).context("loading the plate reader")?;
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for path in &args.images {
        let analysed = load_image(path).map_err(anyhow::Error::from).and_then(|img| {
            let objects = detector.detect(&img)?;
            let plates = plates(&reader, &img, &objects)?;
            Ok((objects, plates))
        });
        match analysed {
            Ok((objects, plates)) => {
                let line = json!({"file": path.display().to_string(), "objects": objects, "plates": plates});
                writeln!(out, "{line}")?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e:#}", path.display());
            }
        }
    }
    out.flush()?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn plates(reader: &PlateReader, img: &RgbImage, objects: &[Detection]) -> anyhow::Result<Vec<PlateRead>> {
    let vehicles: Vec<_> = objects.iter().filter(|d| d.class.is_vehicle()).map(|d| d.bbox).collect();
    Ok(reader.read_picture(img, &vehicles)?)
}
