use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use citywatch_api::{AppParts, AppState, ConsoleSettings};
use citywatch_audit::Record;
use citywatch_registry::Registry;

use citywatch_video::disk_writer::{DiskWriter, WriterConfig};
use citywatch_video::health::HealthRegistry;
use citywatch_video::ingest::{IngestRuntimes, Transport};
use citywatch_video::live::LiveHub;
use citywatch_video::recording_source::LocalRecordings;
use citywatch_video::recovery::{recover, RecoveryReport};
use citywatch_video::sample_dir::SampleDir;

use crate::config::RtspTransport;
use crate::data_dir::{DataDir, BASEMAP_FILE, ROADS_FILE};
use crate::retention::{policy, run_retention};
use citywatch_node::{keep_recorders, IngestSettings};

#[derive(clap::Args)]
pub struct Args {
    /// Data directory (database, audit key, configuration); created if missing.
    #[arg(long, env = "CITYWATCH_DATA")]
    pub data: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:443.
    #[arg(long, env = "CITYWATCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Password of the first admin, used only when the directory has no users yet.
    /// Without it a random one is printed once.
    #[arg(long, env = "CITYWATCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// A PostgreSQL database to keep everything in
    /// (`postgres://user@host:port/database`), in place of `[database] url`
    /// in the data directory's configuration; without either, citywatch.db
    /// in the data directory. The schema is created or migrated at start.
    #[arg(long, env = "CITYWATCH_DATABASE")]
    pub database: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open_on(&args.data, args.database.as_deref())?;
    announce_admin(&dir, args.admin_password.as_deref())?;
    serve(dir, args.listen)?;
    Ok(ExitCode::SUCCESS)
}

pub fn announce_admin(dir: &DataDir, password: Option<&str>) -> anyhow::Result<()> {
    if let Some(generated) = dir.ensure_admin(password)? {
        println!("Created the first admin account.\n  username: admin\n  password: {generated}\n(shown once; change it with `citywatch admin set-password`)");
    }
    Ok(())
}

/// Runs the server until Ctrl-C or SIGTERM, then signs a final audit checkpoint.
pub fn serve(dir: DataDir, listen: SocketAddr) -> anyhow::Result<()> {
    serve_with(dir, listen, |_| Ok(()))
}

/// The data directory's road network, if it has one (`roads.geojson`:
/// the demo writes its streets there; a deployment copies its roads
/// there): the recommender then ranks by it, in place of OSRM, and the
/// terminal draws routes along it. A file that does not parse stops the
/// start, saying why.
fn with_roads(dir: &DataDir, config: citywatch_dispatch::DispatchConfig) -> anyhow::Result<citywatch_dispatch::DispatchConfig> {
    let path = dir.path.join(ROADS_FILE);
    if !path.exists() {
        return Ok(config);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?;
    let roads = citywatch_geo::roads::RoadNetwork::from_geojson(&json).with_context(|| format!("loading roads from {}", path.display()))?;
    tracing::info!(
        "road network from {}: {} nodes, {} road segments; units are ranked and routed along it",
        path.display(),
        roads.node_count(),
        roads.segment_count()
    );
    Ok(config.with_roads(roads))
}

/// How live video is blurred for viewers without an unmask grant: with
/// CenterFace if the models are installed (whether or not analytics runs);
/// without it those viewers are refused live video, never shown faces.
fn live_redaction(dir: &DataDir) -> citywatch_api::LiveRedaction {
    let a = &dir.config.analytics;
    let models = citywatch_analytics::model_dir(Some(std::path::PathBuf::from(&a.models_dir)).filter(|_| !a.models_dir.is_empty()).as_deref());
    let faces = match models.map_err(anyhow::Error::from).and_then(|d| citywatch_analytics::live_redact::FaceModels::new(&d, 1).map_err(anyhow::Error::from)) {
        Ok(f) => Some(Arc::new(f)),
        Err(e) => {
            tracing::warn!("live video: no face blurring ({e:#}); only holders of an unmask grant can watch live");
            None
        }
    };
    let max = dir.config.video.max_blurred_streams;
    citywatch_api::LiveRedaction {
        faces,
        max_streams: if max == 0 { citywatch_api::LiveRedaction::default_max_streams() } else { max },
        detect: Default::default(),
        max_playback_span: std::time::Duration::from_secs(dir.config.video.max_blurred_minutes * 60),
    }
}

/// A `[video]` thread count: as configured, or for 0 half this machine's
/// cores, 1 to 4.
fn sized_to_machine(configured: usize) -> usize {
    match configured {
        0 => threads_for_cores(std::thread::available_parallelism().map_or(2, |n| n.get())),
        n => n,
    }
}

/// Measured on 2 cores, one ingest and one writer thread cost 12% less CPU
/// than two of each (bench/results/recording-50.txt); more cores serve more
/// cameras, whose syncs and reads then overlap.
fn threads_for_cores(cores: usize) -> usize {
    (cores / 2).clamp(1, 4)
}

/// [`serve`], calling `on_start` on the server's runtime once it listens,
/// with the state the routes use (the demo starts its simulated activity there).
pub fn serve_with(dir: DataDir, listen: SocketAddr, on_start: impl FnOnce(&AppState) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let registry = Arc::new(Registry::load(dir.repos.cameras.clone()).context("loading cameras")?);
    let basemap_path = dir.path.join(BASEMAP_FILE);
    let basemap = if basemap_path.exists() {
        let text = std::fs::read_to_string(&basemap_path).with_context(|| format!("reading {}", basemap_path.display()))?;
        Some(serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", basemap_path.display()))?)
    } else {
        None
    };
    let console = ConsoleSettings {
        style_url: Some(dir.config.console.style_url.clone()).filter(|s| !s.is_empty()),
        center: dir.config.console.center,
        zoom: dir.config.console.zoom,
    };
    let session_ttl = chrono::Duration::hours(dir.config.auth.session_hours);
    let video_dir = dir.path.join("video");
    let samples = Arc::new(SampleDir::open(&video_dir).with_context(|| format!("opening {}", video_dir.display()))?);
    let report = recover(&*dir.repos.recordings, &samples).map_err(|e| anyhow::anyhow!("repairing recordings in {}: {e}", video_dir.display()))?;
    if report != RecoveryReport::default() {
        tracing::warn!(
            "recordings repaired at start: {} deletions finished, {} files cut back to their index, {} orphan files removed, {} damaged (see `citywatch check`)",
            report.garbage_deleted, report.truncated.len(), report.orphans_deleted.len(), report.damaged.len()
        );
    }
    let health = Arc::new(HealthRegistry::default());
    let metrics_token = Some(dir.config.metrics.token.clone()).filter(|t| !t.is_empty());
    // One hub: the recorders publish into it, the live route reads from it.
    let live = Arc::new(LiveHub::default());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Ingest, rules and the MQTT/webhook publishers; the publishers run on the runtime.
    let events = {
        let _rt = runtime.enter();
        citywatch_events::Events::start(dir.repos.events.clone(), registry.clone(), dir.config.events_config()?).context("starting the events service")?
    };
    let dispatch = Arc::new(citywatch_dispatch::Dispatch::new(dir.repos.dispatch.clone(), with_roads(&dir, dir.config.dispatch_config()?)?));
    // One service for plate reads: analytics records into it, the routes search it, the purge task purges it.
    let plates = Arc::new(citywatch_hotlists::PlateReads::new(dir.repos.plates.clone(), registry.clone(), events.clone()));
    let state = AppState::new(AppParts {
        users: dir.repos.users.clone(),
        registry: registry.clone(),
        access: dir.repos.access.clone(),
        audit: dir.audit.clone(),
        console,
        basemap,
        session_ttl,
        recording_index: dir.repos.recordings.clone(),
        recordings: Arc::new(LocalRecordings::new(dir.repos.recordings.clone(), samples.clone())),
        video_dir: video_dir.clone(),
        health: health.clone(),
        metrics_token,
        live: live.clone(),
        events: events.clone(),
        dispatch,
        plates: plates.clone(),
    });
    state.set_live_redaction(live_redaction(&dir));
    let (camera_limits, hotlist_limits) = dir.config.import.limits();
    state.set_import_limits(camera_limits, hotlist_limits);
    let retention = (policy(&dir.config.retention), Duration::from_secs(dir.config.retention.interval_s));
    let video = dir.config.video.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}; is another server using it? choose another with --listen"))?;
        let addr = listener.local_addr()?;
        // Repository calls block (PostgreSQL's client refuses to run on an
        // async thread at all): on a blocking thread, as every route does.
        let audit = dir.audit.clone();
        let start = Record::new("citywatch", "server.start", addr.to_string());
        tokio::task::spawn_blocking(move || audit.record(start)).await??;
        println!("Citywatch is serving http://{addr}/ (data: {}; database: {})", dir.path.display(), dir.database.describe());
        tokio::spawn(follow_external_changes(registry.clone()));
        tokio::spawn(expire_sessions(dir.repos.users.clone()));
        tokio::spawn(run_retention(
            dir.repos.recordings.clone(),
            dir.repos.access.clone(),
            samples.clone(),
            retention.0,
            health.clone(),
            dir.audit.clone(),
            retention.1,
        ));
        tokio::spawn(crate::plate_purge::run(plates.clone(), dir.audit.clone(), dir.config.plates.clone()));
        if dir.config.analytics.enabled {
            if !video.record {
                tracing::warn!("[analytics] enabled but [video] record = false: analytics reads the recorders' frames, so nothing is analysed");
            }
            crate::analytics::start(&dir.path, &dir.config.analytics, &dir.config.plates, registry.clone(), live.clone(), events.clone(), &state)?;
        }
        let (stop_recording, stop_rx) = tokio::sync::watch::channel(false);
        let (ingest_threads, writer_threads) = (sized_to_machine(video.ingest_threads), sized_to_machine(video.writer_threads));
        let runtimes = if video.record {
            let runtimes = IngestRuntimes::start(ingest_threads, Duration::from_millis(video.ingest_tick_ms)).context("starting the camera ingest threads")?;
            tracing::info!(ingest_threads, writer_threads, "camera ingest and disk writer threads started for the recorders");
            Some(Arc::new(runtimes))
        } else {
            None
        };
        let recorders = video.record.then(|| {
            let transport = match video.rtsp_transport {
                RtspTransport::Tcp => Transport::Tcp,
                RtspTransport::Udp => Transport::Udp,
            };
            let record_tag = Some(video.record_tag.clone()).filter(|t| !t.is_empty());
            let writer_config = WriterConfig {
                threads: writer_threads,
                commit_interval: Duration::from_millis(video.commit_interval_ms),
                direct_io: video.direct_io,
                ..WriterConfig::default()
            };
            let writer = DiskWriter::spawn(dir.repos.recordings.clone(), samples, writer_config);
            let settings = IngestSettings { transport, record_tag, read_batch: Duration::from_millis(video.read_batch_ms), runtimes };
            tokio::spawn(keep_recorders(registry, writer, health, live, events, settings, stop_rx))
        });
        tokio::task::block_in_place(|| on_start(&state))?;
        citywatch_api::serve(listener, state, shutdown_signal()).await?;
        // Recorders write what they hold before the process ends.
        let _ = stop_recording.send(true);
        if let Some(r) = recorders {
            let _ = r.await;
        }
        let audit = dir.audit.clone();
        let stop = Record::new("citywatch", "server.stop", addr.to_string());
        tokio::task::spawn_blocking(move || {
            audit.record(stop)?;
            audit.checkpoint_now()
        })
        .await??;
        anyhow::Ok(())
    })
}

/// Keeps the index in step with cameras written by other processes
/// (`citywatch import cameras` against a running server's directory).
async fn follow_external_changes(registry: Arc<Registry>) {
    let mut version = None;
    loop {
        let r = registry.clone();
        let mut v = version;
        match tokio::task::spawn_blocking(move || r.reload_if_changed(&mut v).map(|changed| (changed, v))).await {
            Ok(Ok((changed, v))) => {
                version = v;
                if changed {
                    tracing::info!("cameras changed on disk; index rebuilt");
                }
            }
            Ok(Err(e)) => tracing::warn!("checking for camera changes: {e}"),
            Err(e) => tracing::warn!("checking for camera changes: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn expire_sessions(store: Arc<dyn citywatch_audit::UserRepo>) {
    loop {
        let s = store.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.delete_expired_sessions(chrono::Utc::now())).await {
            tracing::warn!("removing expired sessions: {e}");
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    println!("Shutting down.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_follow_the_machine_unless_configured() {
        assert_eq!([1, 2, 3, 4, 8, 64].map(threads_for_cores), [1, 1, 1, 2, 4, 4]);
        assert_eq!(sized_to_machine(3), 3);
        assert!((1..=4).contains(&sized_to_machine(0)));
    }
}
