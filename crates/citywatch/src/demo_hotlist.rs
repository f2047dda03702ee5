//! The demo's hotlist hits, which a demo rule (created if missing) turns
//! into alerts. The plates are on a real hotlist ([`import`]).
//!
//! With the plate models, the hits are the analytics pipeline's own reads
//! of the LPR cameras' video ([`start_windows`]): a hotlisted plate passes
//! each camera once per 10 s scene loop, so to raise a hit every few
//! minutes rather than on every pass, each demo entry is active (on the
//! list, not expired) only for a short window, one plate an LPR camera
//! shows at a time.
//!
//! Without them ([`start`]), every so often a plate on the demo hotlist is
//! "read" on a simulated camera that really shows it, from the simulator's
//! ground truth (`citywatch_sim::sightings`), raised as a `plate_read` and
//! a `hotlist_hit` event through the events service; every such event says
//! so in its details (`"source": "simulator ground truth"`).

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use citywatch_api::AppState;
use citywatch_audit::{PendingEntry, Record};
use citywatch_hotlists::plate_key;
use citywatch_hotlists::{ImportCounts, PlateRepo};
use citywatch_model::{EventType, Location, NewEvent, RuleSpec, Severity, Source};
use citywatch_sim::sightings::{cameras_showing, demo_hotlist, sightings, HotlistEntry};
use citywatch_sim::{camera_id, SimConfig};
use citywatch_store::NewHotlistEntry;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The demo rule's name: found by [`RULE_PREFIX`], so it is made only once
/// (earlier demos named it "… (simulator ground truth)").
pub const RULE_NAME: &str = "Demo: hotlisted vehicle seen";
const RULE_PREFIX: &str = "Demo: hotlisted vehicle";
/// What every event raised here carries in `details.source`.
pub const SOURCE: &str = "simulator ground truth";

/// Creates the rule if missing and raises a hit after `first`, then every `every`.
pub fn start(state: &AppState, sim: SimConfig, first: Duration, every: Duration) -> anyhow::Result<()> {
    ensure_rule(state)?;
    let hotlist = demo_hotlist(&sim);
    anyhow::ensure!(!hotlist.is_empty(), "the simulated scenes show no plates for the demo hotlist");
    tracing::info!("demo: a hotlisted plate is \"read\" from the simulator's ground truth every {every:?} ({} plates on the demo hotlist)", hotlist.len());
    tokio::spawn(run(state.clone(), sim, hotlist, first, every));
    Ok(())
}

/// How long a demo entry stays active: about six passes of its plate (a
/// 10 s loop), so reads slowed by a busy machine still find it on the list;
/// the rule's 60 s correlation makes the hits of one window one alert.
const WINDOW: Duration = Duration::from_secs(60);

/// Creates the rule if missing, deactivates the demo entries, then (unless
/// `every` is `None`) after `first` and every `every` activates, for [`WINDOW`], the next plate that
/// one of the `lpr` cameras shows; the hit itself comes from the video.
pub fn start_windows(state: &AppState, sim: &SimConfig, lpr: &[u32], first: Duration, every: Option<Duration>) -> anyhow::Result<()> {
    ensure_rule(state)?;
    let all = demo_hotlist(sim);
    let shown = lpr_plates(sim, lpr, &all);
    anyhow::ensure!(!shown.is_empty(), "the LPR cameras show no plate of the demo hotlist");
    // Until its window, no entry may hit: the plates pass every 10 s.
    let every_entry: Vec<HotlistEntry> = all.iter().chain(&shown).cloned().collect();
    set_entries(state, &every_entry, Utc::now())?;
    let Some(every) = every else {
        tracing::info!("demo: no plate of the demo hotlist is active (--hotlist-every-secs 0)");
        return Ok(());
    };
    let plates: Vec<&str> = shown.iter().map(|e| e.sighting.plate.as_str()).collect();
    tracing::info!("demo: every {every:?} one of {} is on the demo hotlist for {WINDOW:?}, and read from the LPR cameras' video", plates.join(", "));
    tokio::spawn(run_windows(state.clone(), shown, first, every));
    Ok(())
}

/// For each LPR camera's scene, the plate seen widest there (the likeliest
/// to be read; the demo hotlist's own pick may pass far away), listed with
/// the reason and priority of that scene's demo entry.
fn lpr_plates(sim: &SimConfig, lpr: &[u32], demo: &[HotlistEntry]) -> Vec<HotlistEntry> {
    let mut scenes: Vec<usize> = lpr.iter().map(|&n| sim.camera(n).scene).collect();
    scenes.sort_unstable();
    scenes.dedup();
    let seen = sightings(sim);
    scenes
        .into_iter()
        .filter_map(|scene| {
            let widest = seen.iter().filter(|s| s.scene == scene).max_by_key(|s| s.bbox.w)?;
            let listed = demo.iter().find(|e| e.sighting.scene == scene).or(demo.first())?;
            Some(HotlistEntry { sighting: widest.clone(), hotlist: listed.hotlist, priority: listed.priority })
        })
        .collect()
}

async fn run_windows(state: AppState, shown: Vec<HotlistEntry>, first: Duration, every: Duration) {
    tokio::time::sleep(first).await;
    for entry in shown.iter().cycle() {
        let until = Utc::now() + chrono::Duration::from_std(WINDOW).unwrap_or_default();
        let (s, e) = (state.clone(), entry.clone());
        match tokio::task::spawn_blocking(move || set_entries(&s, std::slice::from_ref(&e), until)).await {
            Ok(Ok(())) => tracing::info!("demo: {} is on the demo hotlist until {until}", entry.sighting.plate),
            Ok(Err(e)) => tracing::warn!("demo: putting {} on the demo hotlist: {e:#}", entry.sighting.plate),
            Err(e) => tracing::warn!("demo: putting {} on the demo hotlist: {e}", entry.sighting.plate),
        }
        tokio::time::sleep(every).await;
    }
}

/// Puts `entries` on the demo hotlist, active until `until`, audited.
fn set_entries(state: &AppState, entries: &[HotlistEntry], until: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let rows: Vec<NewHotlistEntry> = entries.iter().cloned().map(|e| new_entry(e, Some(until))).collect();
    let plates: Vec<&str> = rows.iter().map(|r| r.plate.as_str()).collect();
    let record = |&(added, replaced): &ImportCounts| {
        Record::new("citywatch-demo", "hotlist.import", HOTLIST).detail(json!({"added": added, "replaced": replaced, "plates": plates, "expires_at": until}))
    };
    let (_, row) = state
        .plates
        .repo()
        .import_hotlist(HOTLIST, false, &rows, "citywatch-demo", Utc::now(), PendingEntry::after(record))
        .context("updating the demo hotlist")?;
    state.audit.appended(&row);
    Ok(())
}

fn new_entry(e: HotlistEntry, expires_at: Option<chrono::DateTime<Utc>>) -> NewHotlistEntry {
    NewHotlistEntry {
        plate_key: plate_key(&e.sighting.plate),
        plate: e.sighting.plate,
        source: "citywatch demo".into(),
        reason: e.hotlist.into(),
        priority: e.priority,
        expires_at,
    }
}

/// The hotlist the demo's plates are imported into.
pub const HOTLIST: &str = "demo";

/// Puts the demo hotlist's plates on the hotlist [`HOTLIST`] (added or
/// replaced), audited like an import.
pub fn import(dir: &crate::data_dir::DataDir, sim: &SimConfig) -> anyhow::Result<()> {
    let entries: Vec<NewHotlistEntry> = demo_hotlist(sim).into_iter().map(|e| new_entry(e, None)).collect();
    let record = |&(added, replaced): &ImportCounts| {
        Record::new("citywatch-demo", "hotlist.import", HOTLIST).detail(json!({"added": added, "replaced": replaced, "rows": entries.len()}))
    };
    let (_, row) = PlateRepo::import_hotlist(&*dir.repos.plates, HOTLIST, false, &entries, "citywatch-demo", Utc::now(), PendingEntry::after(record))
        .context("importing the demo hotlist")?;
    dir.audit.appended(&row);
    Ok(())
}

fn ensure_rule(state: &AppState) -> anyhow::Result<()> {
    if state.events.rules().iter().any(|r| r.spec.name.starts_with(RULE_PREFIX)) {
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
    // Its entry (`rule.create`) commits with it.
    state.events.add_rule(spec, "citywatch-demo", &state.audit).context("creating the demo hotlist rule")?;
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
