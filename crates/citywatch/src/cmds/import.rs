use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use citywatch_audit::{PendingEntry, Record, Scope};
use citywatch_model::ImportLimits;
use citywatch_registry::{parse_csv, parse_districts, parse_geojson, ImportFormat, Registry};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::data_dir::{cli_actor, DataDir};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Import cameras from GeoJSON (a FeatureCollection of Points) or CSV
    /// (header row with id,name,lat,lon,heading_deg,fov_deg,range_m,district,tags,main_url,sub_url).
    ///
    /// Good rows are applied and every bad row is listed (exit code 2). With
    /// --atomic nothing is applied if any row is bad. A running server on the
    /// same data directory picks the change up within seconds.
    Cameras {
        /// The file to import (.geojson/.json or .csv).
        file: PathBuf,
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
        /// Apply nothing unless every row is good.
        #[arg(long)]
        atomic: bool,
        /// Override the format guessed from the file name.
        #[arg(long, value_parser = ["geojson", "csv"])]
        format: Option<String>,
    },
    /// Import district boundaries: a GeoJSON FeatureCollection of Polygon or
    /// MultiPolygon features, each with a "name" property. Existing districts
    /// of the same name are replaced. All or nothing.
    Districts {
        file: PathBuf,
        #[arg(long, env = "CITYWATCH_DATA")]
        data: PathBuf,
    },
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Cameras { file, data, atomic, format } => import_cameras(file, data, atomic, format),
        Command::Districts { file, data } => import_districts(file, data),
    }
}

fn import_districts(file: PathBuf, data: PathBuf) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let districts = parse_districts(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let dir = DataDir::open(&data)?;
    // Each district commits with its own entry: a failure part way keeps
    // what was written accounted for, and says which district stopped it.
    let source = file.display().to_string();
    for d in &districts {
        let record = Record::new(cli_actor(), "district.import", &source).detail(json!({"district": d.name}));
        let row =
            dir.repos.cameras.put_district(d, Box::new(PendingEntry::new(record).into_maker())).with_context(|| format!("storing district {}", d.name))?;
        dir.audit.appended(&row);
    }
    let names: Vec<&str> = districts.iter().map(|d| d.name.as_str()).collect();
    println!("{} districts imported: {}", districts.len(), names.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn import_cameras(file: PathBuf, data: PathBuf, atomic: bool, format: Option<String>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let format = ImportFormat::guess(format.as_deref().map(|f| if f == "csv" { ".csv" } else { ".geojson" }).unwrap_or(&file.to_string_lossy()));
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {pos} rows read").expect("template"));
    bar.set_message(format!("reading {}", file.display()));
    let progress = |n: usize| bar.set_position(n as u64);
    // A file on the operator's own disk: no row cap, but only the first
    // problems are listed in full.
    let limits = ImportLimits { max_rows: usize::MAX, ..ImportLimits::default() };
    let parsed = match format {
        ImportFormat::GeoJson => parse_geojson(&bytes, limits, progress),
        ImportFormat::Csv => parse_csv(&bytes[..], limits, progress),
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    bar.finish_with_message(format!("read {}", file.display()));
    let total = parsed.total;
    let dir = DataDir::open(&data)?;
    let registry = Arc::new(Registry::load(dir.repos.cameras.clone())?);
    let saving = ProgressBar::new_spinner().with_message(format!("writing {total} rows in one transaction"));
    saving.enable_steady_tick(std::time::Duration::from_millis(120));
    let report = registry.import(parsed, &Scope::All, atomic, &dir.audit, |report| {
        let (bad_rows, failed) = (report.errors.bad_rows, atomic && report.errors.bad_rows > 0);
        Record::new(cli_actor(), "camera.import", file.display().to_string())
            .result(if failed { "failed" } else { "ok" })
            .detail(json!({"rows": total, "created": report.created, "updated": report.updated, "bad_rows": bad_rows, "atomic": atomic}))
    })?;
    saving.finish_and_clear();
    let bad_rows = report.errors.bad_rows;
    let failed = atomic && bad_rows > 0;
    for e in &report.errors.errors {
        eprintln!("  {e}");
    }
    if report.errors.truncated() {
        eprintln!("  ... and {} more problems", report.errors.error_count - report.errors.errors.len());
    }
    if failed {
        eprintln!("{bad_rows} bad rows of {total}; nothing was imported (--atomic). Fix the rows above and run again.");
        return Ok(ExitCode::from(2));
    }
    println!("{total} rows: {} cameras created, {} updated, {bad_rows} bad rows.", report.created, report.updated);
    Ok(if bad_rows == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
