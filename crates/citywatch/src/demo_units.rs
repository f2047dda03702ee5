//! The demo's units on patrol: a fleet of cars, motorbikes and officers on
//! foot, each with a GPS device, whose fixes go through the same AVL ingest
//! (`Dispatch::ingest`) and onto the same event bus (`unit_position`) as a
//! real device's. The movement itself is `citywatch_sim::patrol`; this file
//! only creates the fleet and wires the clock to the ingest.
//!
//! A unit assigned to an incident drives to it and waits there while it is
//! on scene; back to available, it patrols its district again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{SubsecRound, Utc};
use citywatch_api::AppState;
use citywatch_audit::{new_session_token, token_hash, Record};
use citywatch_dispatch::{Dispatch, DispatchError, Fix};
use citywatch_model::dispatch::PositionOutcome;
use citywatch_model::dispatch::{Unit, UnitKind, UnitSpec, UnitStatus};
use citywatch_model::{EventType, Location, NewEvent, Source, SourceKind};
use citywatch_sim::district_names;
use citywatch_sim::patrol::Patrol;
use serde_json::json;

/// The demo fleet: (kind, how many); officers `officer01` … crew them in order.
const FLEET: [(UnitKind, usize); 3] = [(UnitKind::Car, 6), (UnitKind::Motorbike, 3), (UnitKind::Foot, 3)];

/// Demo officer accounts, one per unit.
pub fn officer_names() -> Vec<String> {
    (1..=FLEET.iter().map(|f| f.1).sum::<usize>()).map(|i| format!("officer{i:02}")).collect()
}

struct DemoUnit {
    id: String,
    device_id: String,
    token_hash: String,
    patrol: Patrol,
}

/// Creates the fleet if missing (a unit that exists is left as it is, but
/// its device is re-keyed: the token lives only in this process).
fn ensure_fleet(d: &Dispatch, audit: &citywatch_audit::AuditLog, officers_exist: impl Fn(&str) -> bool) -> anyhow::Result<Vec<DemoUnit>> {
    let names = district_names();
    let officers = officer_names();
    let mut out = Vec::new();
    let mut n = 0;
    for (kind, count) in FLEET {
        for k in 1..=count {
            let district = n % names.len();
            let id = format!("demo-{}-{k}", kind.as_str());
            let officer = officers[n].clone();
            n += 1;
            let home = names[district].to_owned();
            match d.unit(&id) {
                // Made before units had home districts: give it its own.
                Ok(unit) if unit.district.is_none() => {
                    let spec = UnitSpec { district: Some(home), ..spec_of(&unit) };
                    let record = |_: &Unit| Record::new("citywatch-demo", "unit.update", &id).detail(json!({"district": spec.district}));
                    d.update_unit(&spec, audit, record).with_context(|| format!("giving demo unit {id} its district"))?;
                }
                Ok(_) => {}
                Err(DispatchError::NotFound(_)) => {
                    let spec = UnitSpec {
                        id: id.clone(),
                        call_sign: format!("{} {k} ({})", kind_label(kind), names[district]),
                        kind,
                        officers: if officers_exist(&officer) { vec![officer] } else { Vec::new() },
                        capabilities: if kind == UnitKind::Car { vec!["first_aid".into()] } else { Vec::new() },
                        district: Some(home),
                    };
                    let record = |_: &Unit| {
                        Record::new("citywatch-demo", "unit.create", &id)
                            .detail(json!({"kind": kind.as_str(), "officers": spec.officers, "district": spec.district}))
                    };
                    d.create_unit(&spec, audit, record).with_context(|| format!("creating demo unit {id}"))?;
                }
                Err(e) => return Err(e).with_context(|| format!("reading demo unit {id}")),
            }
            let device_id = format!("{id}-gps");
            let hash = token_hash(&new_session_token());
            // The token lives only in this process: each start re-keys the
            // device, and the log says so.
            let record = Record::new("citywatch-demo", "unit.device", &id).detail(json!({"device_id": device_id}));
            d.register_device(&id, &device_id, &hash, audit, record).with_context(|| format!("registering {device_id}"))?;
            let speed = d.config.speeds.mps(kind);
            // Seeded by the unit, so a unit patrols the same way every run.
            let seed = 0x5eed_0000 + n as u64;
            out.push(DemoUnit { id, device_id, token_hash: hash, patrol: Patrol::new(district, speed, seed) });
        }
    }
    Ok(out)
}

fn spec_of(u: &Unit) -> UnitSpec {
    UnitSpec {
        id: u.id.clone(),
        call_sign: u.call_sign.clone(),
        kind: u.kind,
        officers: u.officers.clone(),
        capabilities: u.capabilities.clone(),
        district: u.district.clone(),
    }
}

fn kind_label(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::Car => "Car",
        UnitKind::Motorbike => "Moto",
        UnitKind::Foot => "Foot",
    }
}

/// Creates the fleet and moves it every `every` until the server stops.
pub fn start(state: &AppState, every: Duration) -> anyhow::Result<()> {
    let d = state.dispatch.clone();
    let users = state.users.clone();
    let exists = |u: &str| users.user_credentials(u).ok().flatten().is_some();
    let units = ensure_fleet(&d, &state.audit, exists)?;
    tracing::info!("demo: {} simulated units patrol the city, a fix every {every:?}", units.len());
    tokio::spawn(run(state.clone(), d, units, every));
    Ok(())
}

async fn run(state: AppState, d: Arc<Dispatch>, mut units: Vec<DemoUnit>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let now_i = tokio::time::Instant::now();
        let dt = (now_i - last).as_secs_f64();
        last = now_i;
        let d2 = d.clone();
        // The store is blocking: one worker call per round for the whole fleet.
        let result = tokio::task::spawn_blocking(move || {
            let mut fixes = Vec::new();
            for u in &mut units {
                steer(&d2, u);
                let p = u.patrol.advance(dt);
                let fix = Fix {
                    device_id: u.device_id.clone(),
                    lat: p.lat,
                    lon: p.lon,
                    time: Utc::now().trunc_subsecs(3),
                    speed_mps: Some(p.speed_mps),
                    bearing_deg: Some(p.bearing_deg),
                };
                match d2.ingest(&fix, &u.token_hash, Utc::now()) {
                    Ok((PositionOutcome::Current, unit_id)) => fixes.push((unit_id, fix)),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("demo unit {}: fix refused: {e}", u.id),
                }
            }
            (units, fixes)
        })
        .await;
        let Ok((back, fixes)) = result else {
            tracing::error!("demo units: worker task failed; the simulated units stop");
            return;
        };
        units = back;
        for (unit_id, fix) in fixes {
            publish_position(&state, unit_id, &fix);
        }
    }
}

/// Follows the unit's status: to its incident while dispatched or en
/// route, waiting on scene or out of service, patrolling otherwise.
fn steer(d: &Dispatch, u: &mut DemoUnit) {
    let Ok(unit) = d.unit(&u.id) else { return };
    match unit.status {
        UnitStatus::Available => u.patrol.patrol(),
        UnitStatus::OnScene | UnitStatus::OutOfService => u.patrol.hold(),
        UnitStatus::Dispatched | UnitStatus::EnRoute => {
            let incident = d.repo().current_incident_of(&u.id).ok().flatten().and_then(|id| d.incident(id).ok());
            match incident {
                Some(i) => u.patrol.head_to(i.location.lat, i.location.lon),
                None => u.patrol.hold(),
            }
        }
    }
}

/// As the AVL route does: a unit's new position goes on the event bus,
/// queued without waiting.
fn publish_position(state: &AppState, unit_id: String, fix: &Fix) {
    let e = NewEvent {
        event_type: EventType::UnitPosition,
        time: fix.time,
        source: Source { kind: SourceKind::Unit, id: unit_id },
        location: Some(Location { lat: fix.lat, lon: fix.lon }),
        details: json!({"speed_mps": fix.speed_mps, "bearing_deg": fix.bearing_deg, "device_id": fix.device_id, "source": "simulator"}),
    };
    if let Err(e) = state.events.raise_detached(e) {
        tracing::debug!("demo unit position not published: {e}");
    }
}
