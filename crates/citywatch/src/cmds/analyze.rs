//! `citywatch analyze IMAGE...`: runs the object detector and, inside each
//! vehicle it finds (the whole image when none holds a plate), the plate
//! reader on still images, and prints one JSON line per image: `{"file",
//! "objects": [{"class", "score", "box"}], "plates": [{"text", "country",
//! "score", "box", "raw", "char_confidence"}]}`. Boxes are `[x0, y0, x1,
//! y1]` in the image's pixels; `country` is null for a read that fits no
//! layout of `--regions` (kept as read); `raw` is the recogniser's string
//! before any layout, `char_confidence` each of its characters'
//! probability. For integrators and evaluation; nothing is stored.
//!
//! An unreadable image gets an error line on stderr and a non-zero exit;
//! the other images are still analysed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use citywatch_analytics::plates::{known_regions, Layouts, PlateRead, PlateReader};
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
    /// Regions whose plate layouts reads are fitted to (ISO 3166 codes,
    /// comma-separated, first preferred on a tie), as `[plates] regions`.
    /// Default: every region known.
    #[arg(long, value_delimiter = ',', long_help = regions_help())]
    pub regions: Vec<String>,
}

fn regions_help() -> String {
    format!(
        "Regions whose plate layouts reads are fitted to (ISO 3166 codes, comma-separated, first preferred on a tie), as `[plates] regions`: letters and digits are corrected only toward their layouts, a read that fits one as read is never changed, a read that fits none is kept as read with `country: null`. Default: every region known: {}.",
        known_regions().join(", ")
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = model_dir(args.models.as_deref())?;
    let threads = args.threads.max(1);
    let detector = Detector::new(&dir, threads).context("loading the object detector")?;
    let mut reader = PlateReader::new(&dir, threads).context("loading the plate reader")?;
    if !args.regions.is_empty() {
        reader.layouts = Layouts::for_regions(&args.regions).map_err(|e| anyhow::anyhow!("--regions: {e}"))?;
    }
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
