//! The demo's hotlist hits: every so often a plate on the demo hotlist is
//! "read" on a simulated camera that really shows it, raised as a
//! `plate_read` and a `hotlist_hit` event through the events service, and a
//! demo rule (created if missing) turns the hit into an alert.
//!
//! These reads come from the simulator's ground truth
//! (`citywatch_sim::sightings`), and every such event says so in its
//! details (`"source": "simulator ground truth"`). The same plates are
//! also put on a real hotlist ([`import`]), so that with `[analytics]` and
//! `[plates]` enabled the pipeline's own reads of the simulated video raise
//! hits through the hotlists like any camera's.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use citywatch_api::AppState;
use citywatch_audit::Record;
use citywatch_hotlists::plate_key;
use citywatch_store::NewHotlistEntry;
use citywatch_model::{EventType, Location, NewEvent, RuleSpec, Severity, Source};
use citywatch_sim::sightings::{cameras_showing, demo_hotlist, HotlistEntry};
use citywatch_sim::{camera_id, SimConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The demo rule's name: found by it, so it is made only once.
pub const RULE_NAME: &str = "Demo: hotlisted vehicle seen (simulator ground truth)";
/// What every event raised here carries in `details.source`.
pub const SOURCE: &str = "simulator ground truth";

/// Creates the rule if missing and raises a hit after `first`, then every `every`.
pub fn start(state: &AppState, sim: SimConfig, first: Duration, every: Duration) -> anyhow::Result<()> {
    ensure_rule(state)?;
    let hotlist = demo_hotlist(&sim);
    anyhow::ensure!(!hotlist.is_empty(), "the simulated scenes show no plates for the demo hotlist");
    tracing::info!("demo: a hotlisted plate is read every {every:?} ({} plates on the demo hotlist)", hotlist.len());
    tokio::spawn(run(state.clone(), sim, hotlist, first, every));
    Ok(())
}

/// The hotlist the demo's plates are imported into.
pub const HOTLIST: &str = "demo";

/// Puts the demo hotlist's plates on the hotlist [`HOTLIST`] (added or
/// replaced), audited like an import.
pub fn import(dir: &crate::data_dir::DataDir, sim: &SimConfig) -> anyhow::Result<()> {
    let entries: Vec<NewHotlistEntry> = demo_hotlist(sim)
        .into_iter()
        .map(|e| NewHotlistEntry {
            plate_key: plate_key(&e.sighting.plate),
            plate: e.sighting.plate,
            source: "citywatch demo".into(),
            reason: e.hotlist.into(),
            priority: e.priority,
            expires_at: None,
        })
        .collect();
    let (added, replaced) = dir.store.import_hotlist(HOTLIST, false, &entries, "citywatch-demo", Utc::now()).context("importing the demo hotlist")?;
    dir.audit.record(Record::new("citywatch-demo", "hotlist.import", HOTLIST).detail(json!({"added": added, "replaced": replaced, "rows": entries.len()})))?;
    Ok(())
}

fn ensure_rule(state: &AppState) -> anyhow::Result<()> {
    if state.events.rules().iter().any(|r| r.spec.name == RULE_NAME) {
        return Ok(());
    }
    let spec = RuleSpec {
        name: RULE_NAME.into(),
        enabled: true,
        event_types: vec![EventType::HotlistHit],
        cameras: Vec::new(),
        districts: Vec::new(),
        area: None,
        schedule: None,
        min_hotlist_priority: Some(5),
        severity: Severity::Severe,
        correlation_window_s: 60,
        correlation_radius_m: 100.0,
    };
    let rule = state.events.add_rule(spec, "citywatch-demo").context("creating the demo hotlist rule")?;
    state.audit.record(Record::new("citywatch-demo", "rule.create", rule.id.to_string()).detail(json!({"name": RULE_NAME})))?;
    Ok(())
}

async fn run(state: AppState, sim: SimConfig, hotlist: Vec<HotlistEntry>, first: Duration, every: Duration) {
    let mut rng = StdRng::from_entropy();
    tokio::time::sleep(first).await;
    let mut next = 0usize;
    loop {
        let entry = &hotlist[next % hotlist.len()];
        next += 1;
        if let Err(e) = raise(&state, &sim, entry, &mut rng).await {
            tracing::warn!("demo hotlist hit for {}: {e:#}", entry.sighting.plate);
        }
        tokio::time::sleep(every).await;
    }
}

/// One read of `entry`'s plate on a registered camera that shows its scene.
async fn raise(state: &AppState, sim: &SimConfig, entry: &HotlistEntry, rng: &mut StdRng) -> anyhow::Result<()> {
    let s = &entry.sighting;
    let snapshot = state.registry.snapshot();
    let cameras: Vec<_> = cameras_showing(sim, s.scene).into_iter().filter_map(|n| snapshot.cameras.get(&camera_id(n)).cloned()).collect();
    anyhow::ensure!(!cameras.is_empty(), "no registered camera shows scene {}", s.scene);
    let camera = &cameras[rng.gen_range(0..cameras.len())];
    let location = Some(Location { lat: camera.lat, lon: camera.lon });
    let time = Utc::now();
    let seen = json!({
        "plate": s.plate,
        "country": s.country,
        "source": SOURCE,
        "scene": s.scene,
        "frame": s.frame,
        "bbox": {"x": s.bbox.x, "y": s.bbox.y, "w": s.bbox.w, "h": s.bbox.h},
    });
    let read = NewEvent { event_type: EventType::PlateRead, time, source: Source::camera(camera.id.clone()), location, details: seen.clone() };
    state.events.raise(read).await.context("raising the plate read")?;
    let mut hit = seen;
    hit["hotlist"] = json!(entry.hotlist);
    hit["priority"] = json!(entry.priority);
    let hit = NewEvent { event_type: EventType::HotlistHit, time, source: Source::camera(camera.id.clone()), location, details: hit };
    state.events.raise(hit).await.context("raising the hotlist hit")?;
    Ok(())
}
