//! `citywatch sim`: serve simulated RTSP cameras (synthetic street scenes
//! with licence plates) for tests, benchmarks and demos.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use citywatch_sim::{EncodeCache, SimConfig, Simulator, StreamConfig};

/// `citywatch sim --help`: what the command does, beyond the one-line summary.
pub const LONG_ABOUT: &str = "Serve simulated RTSP cameras cam-0001 … cam-NNNN, each with an H.264 main and sub stream \
    showing a synthetic street: cars, buses, trucks and motorbikes with readable licence plates \
    (Serbian and other European formats), pedestrians, changing light.\n\n\
    A few scenes are encoded once at start-up (OpenH264) and replayed in a loop by every camera, \
    each from its own offset, so a thousand cameras cost little CPU. Streams are RTP over the \
    RTSP TCP connection (clients asking for UDP are told 461 and retry over TCP).\n\n\
    URLs: rtsp://LISTEN/cam-NNNN/main and rtsp://LISTEN/cam-NNNN/sub\n\
    Example: citywatch sim --cameras 1000 --listen 127.0.0.1:8554 --truth ./truth\n\
    then:    ffprobe -rtsp_transport tcp rtsp://127.0.0.1:8554/cam-0001/main";

#[derive(clap::Args)]
pub struct Args {
    /// Number of cameras: cam-0001 … cam-NNNN.
    #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub cameras: u32,
    /// Address to serve RTSP on.
    #[arg(long, default_value = "127.0.0.1:8554")]
    pub listen: SocketAddr,
    /// Frames per second of every stream.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,
    /// Main stream size, WIDTHxHEIGHT (even numbers).
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    pub main: (u16, u16),
    /// Sub stream size, WIDTHxHEIGHT (even numbers).
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    pub sub: (u16, u16),
    /// Main stream bit rate, kbit/s.
    #[arg(long, default_value_t = 1500)]
    pub bitrate_kbps: u32,
    /// Sub stream bit rate, kbit/s.
    #[arg(long, default_value_t = 300)]
    pub sub_bitrate_kbps: u32,
    /// Length of each scene's loop, seconds (longer: more start-up encoding).
    #[arg(long, default_value_t = 10)]
    pub loop_secs: u32,
    /// A key frame every this many seconds.
    #[arg(long, default_value_t = 1)]
    pub key_interval_secs: u32,
    /// Distinct scenes the cameras share.
    #[arg(long, default_value_t = 4)]
    pub scenes: usize,
    /// Seed of the scenes' contents (vehicles, plates, people).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Write ground truth here: scene-N.json (every frame's objects, classes,
    /// plates and boxes in main-stream pixels) and cameras.json (each camera's
    /// scene and phase).
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT, e.g. 1280x720"))?;
    let n = |v: &str| v.trim().parse::<u16>().map_err(|_| format!("{v:?} in {s:?} is not a size in pixels"));
    Ok((n(w)?, n(h)?))
}

impl Args {
    pub fn config(&self) -> SimConfig {
        SimConfig {
            cameras: self.cameras,
            fps: self.fps,
            main: StreamConfig { width: self.main.0, height: self.main.1, bitrate_kbps: self.bitrate_kbps },
            sub: StreamConfig { width: self.sub.0, height: self.sub.1, bitrate_kbps: self.sub_bitrate_kbps },
            loop_secs: self.loop_secs,
            key_interval_secs: self.key_interval_secs,
            scenes: self.scenes,
            seed: self.seed,
        }
    }
}

/// Encodes the scenes, reporting how long it took.
pub fn prepare(config: SimConfig) -> anyhow::Result<Arc<Simulator>> {
    let started = Instant::now();
    let (scenes, main, sub) = (config.scenes, config.main, config.sub);
    let sim = Simulator::prepare(config, &EncodeCache::default()).context("preparing the simulated cameras")?;
    println!("Encoded {scenes} scenes at {}x{} and {}x{} in {:.1} s.", main.width, main.height, sub.width, sub.height, started.elapsed().as_secs_f64());
    Ok(Arc::new(sim))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sim = prepare(args.config())?;
    if let Some(dir) = &args.truth {
        let files = sim.write_truth(dir)?;
        println!("Ground truth: {} files in {}.", files.len(), dir.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}; is another server using it? choose another with --listen", args.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "Serving {} simulated cameras at rtsp://{addr}/cam-NNNN/{{main,sub}} (cam-0001 … {}). Ctrl-C stops.",
            sim.config.cameras,
            citywatch_sim::camera_id(sim.config.cameras)
        );
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(citywatch_sim::serve(sim, listener, stop_rx));
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
        let _ = server.await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        assert_eq!(parse_size("640X360"), Ok((640, 360)));
        assert!(parse_size("1280").is_err());
        assert!(parse_size("ax720").is_err());
    }
}
