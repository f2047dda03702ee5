//! Nearest-unit recommendation: available units with the required
//! capabilities, ranked by estimated time of arrival (ETA) and explained.
//!
//! By default the ETA is the geodesic distance over the unit kind's speed.
//! [`rank`] gets the same answer as [`rank_brute_force`] (the tests check
//! it on random fleets) without computing every geodesic: a chord through
//! the earth is never longer than the geodesic, so the chord over the speed
//! is a lower bound on each ETA, and units are visited in order of that
//! bound until no remaining bound can beat the k-th best ETA found.
//! With a road router (OSRM), the best straight-line candidates are then
//! asked about and re-ranked by the router's answer.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use citywatch_geo::ellipsoid::{chord_m, distance_m, ecef};
use citywatch_geo::routing::{LatLon, Leg};
use citywatch_model::dispatch::{Unit, UnitKind, UnitStatus};
use serde::Serialize;

use crate::{Dispatch, DispatchError, Result};

/// Travel speeds by unit kind, km/h.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speeds {
    pub car_kmh: f64,
    pub motorbike_kmh: f64,
    pub foot_kmh: f64,
}

impl Default for Speeds {
    fn default() -> Self {
        Speeds { car_kmh: 40.0, motorbike_kmh: 45.0, foot_kmh: 5.0 }
    }
}

impl Speeds {
    pub fn kmh(&self, kind: UnitKind) -> f64 {
        match kind {
            UnitKind::Car => self.car_kmh,
            UnitKind::Motorbike => self.motorbike_kmh,
            UnitKind::Foot => self.foot_kmh,
        }
    }

    pub fn mps(&self, kind: UnitKind) -> f64 {
        self.kmh(kind) / 3.6
    }

    pub fn validate(&self) -> std::result::Result<(), String> {
        for (name, v) in [("car_kmh", self.car_kmh), ("motorbike_kmh", self.motorbike_kmh), ("foot_kmh", self.foot_kmh)] {
            if !(v.is_finite() && v > 0.0 && v < 500.0) {
                return Err(format!("{name} must be in (0, 500) km/h, got {v}"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Recommendation {
    pub unit_id: String,
    pub call_sign: String,
    pub kind: UnitKind,
    pub status: UnitStatus,
    pub capabilities: Vec<String>,
    pub lat: f64,
    pub lon: f64,
    pub distance_m: f64,
    pub eta_s: f64,
    /// Which router measured `distance_m`.
    pub router: &'static str,
    pub reason: String,
}

/// Whether `unit` can be recommended at all: available, located, and
/// holding every required capability.
pub fn eligible(unit: &Unit, required: &[String]) -> bool {
    unit.status == UnitStatus::Available && unit.position.is_some() && required.iter().all(|r| unit.capabilities.iter().any(|c| c == r))
}

fn reason(kind: UnitKind, call_sign: &str, distance_m: f64, eta_s: f64, router: &str, speeds: &Speeds, required: &[String]) -> String {
    let dist = if distance_m >= 1000.0 { format!("{:.1} km", distance_m / 1000.0) } else { format!("{distance_m:.0} m") };
    let eta = if eta_s >= 90.0 { format!("{:.0} min", eta_s / 60.0) } else { format!("{eta_s:.0} s") };
    let mut reason = format!("{} {call_sign} {dist} away by {router}; ETA about {eta}", kind.as_str());
    if router == "straight line" {
        reason.push_str(&format!(" at {:.0} km/h", speeds.kmh(kind)));
    }
    reason.push_str("; available");
    if !required.is_empty() {
        reason.push_str(&format!("; has {}", required.join(", ")));
    }
    reason
}

fn recommendation(unit: &Unit, distance_m: f64, eta_s: f64, router: &'static str, speeds: &Speeds, required: &[String]) -> Recommendation {
    let p = unit.position.as_ref().expect("eligible units have a position");
    Recommendation {
        unit_id: unit.id.clone(),
        call_sign: unit.call_sign.clone(),
        kind: unit.kind,
        status: unit.status,
        capabilities: unit.capabilities.clone(),
        lat: p.lat,
        lon: p.lon,
        distance_m,
        eta_s,
        router,
        reason: reason(unit.kind, &unit.call_sign, distance_m, eta_s, router, speeds, required),
    }
}

/// (ETA, unit id): the ranking order, ties broken by id.
#[derive(PartialEq)]
struct Ranked<'a> {
    eta_s: f64,
    distance_m: f64,
    unit: &'a Unit,
}

impl Eq for Ranked<'_> {}

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.eta_s.total_cmp(&other.eta_s).then_with(|| self.unit.id.cmp(&other.unit.id))
    }
}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn geodesic(unit: &Unit, to: LatLon) -> f64 {
    let p = unit.position.as_ref().expect("eligible units have a position");
    distance_m(p.lat, p.lon, to.lat, to.lon)
}

/// The reference: every eligible unit's geodesic, sorted.
pub fn rank_brute_force(units: &[Unit], to: LatLon, required: &[String], speeds: &Speeds, k: usize) -> Vec<Recommendation> {
    let mut all: Vec<Ranked> = units
        .iter()
        .filter(|u| eligible(u, required))
        .map(|u| {
            let d = geodesic(u, to);
            Ranked { eta_s: d / speeds.mps(u.kind), distance_m: d, unit: u }
        })
        .collect();
    all.sort();
    all.into_iter().take(k).map(|r| recommendation(r.unit, r.distance_m, r.eta_s, "straight line", speeds, required)).collect()
}

/// How far below the chord `distance_m` may fall: its fast formula's error
/// bound is under a centimetre, Karney's far less.
const CHORD_SLACK_M: f64 = 0.05;

/// The `k` best units by straight-line ETA; the same answer as
/// [`rank_brute_force`].
pub fn rank(units: &[Unit], to: LatLon, required: &[String], speeds: &Speeds, k: usize) -> Vec<Recommendation> {
    if k == 0 {
        return Vec::new();
    }
    let target = ecef(to.lat, to.lon);
    let mps = [speeds.mps(UnitKind::Car), speeds.mps(UnitKind::Foot), speeds.mps(UnitKind::Motorbike)];
    let speed = |kind: UnitKind| mps[kind as usize];
    let mut bounds: Vec<(f64, usize)> = units
        .iter()
        .enumerate()
        .filter(|(_, u)| eligible(u, required))
        .map(|(i, u)| {
            let p = u.position.as_ref().expect("eligible");
            let lower_m = (chord_m(ecef(p.lat, p.lon), target) * (1.0 - 1e-9) - CHORD_SLACK_M).max(0.0);
            (lower_m / speed(u.kind), i)
        })
        .collect();
    bounds.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // The k best so far, worst on top.
    let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k + 1);
    for (lower_eta, i) in bounds {
        if best.len() == k && lower_eta > best.peek().expect("k > 0").eta_s {
            break;
        }
        let u = &units[i];
        let d = geodesic(u, to);
        best.push(Ranked { eta_s: d / speed(u.kind), distance_m: d, unit: u });
        if best.len() > k {
            best.pop();
        }
    }
    best.into_sorted_vec().into_iter().map(|r| recommendation(r.unit, r.distance_m, r.eta_s, "straight line", speeds, required)).collect()
}

impl Dispatch {
    /// Ranks the available units for an incident among those `visible`
    /// says the caller may see (blocking: reads the units). With a road
    /// router configured, call [`Dispatch::refine`] on the result.
    pub fn recommend_straight(
        &self,
        incident_id: i64,
        required: &[String],
        limit: usize,
        visible: impl Fn(&Unit) -> bool,
    ) -> Result<(LatLon, Vec<Recommendation>)> {
        let incident = self.repo.incident(incident_id)?.ok_or_else(|| DispatchError::NotFound(format!("incident {incident_id}")))?;
        let to = LatLon { lat: incident.location.lat, lon: incident.location.lon };
        let mut units = self.repo.units()?;
        units.retain(|u| visible(u));
        let k = if self.config.router.name() == "straight line" { limit } else { limit.max(self.config.road_candidates) };
        Ok((to, rank(&units, to, required, &self.config.speeds, k)))
    }

    /// Re-ranks straight-line candidates by the configured road router;
    /// a unit the router finds no route for keeps its straight-line answer.
    /// On router failure the straight-line ranking stands (logged).
    pub async fn refine(&self, to: LatLon, mut recs: Vec<Recommendation>, required: &[String], limit: usize) -> Vec<Recommendation> {
        let router = self.config.router.clone();
        if router.name() != "straight line" && !recs.is_empty() {
            let origins: Vec<LatLon> = recs.iter().map(|r| LatLon { lat: r.lat, lon: r.lon }).collect();
            match router.legs(&origins, to).await {
                Ok(legs) => {
                    for (r, leg) in recs.iter_mut().zip(legs) {
                        if let Some(Leg { distance_m, duration_s }) = leg {
                            // A road router's durations are for driving; a
                            // foot unit walks the road distance.
                            let eta = match duration_s {
                                Some(d) if r.kind != UnitKind::Foot => d,
                                _ => distance_m / self.config.speeds.mps(r.kind),
                            };
                            (r.distance_m, r.eta_s, r.router) = (distance_m, eta, router.name());
                            r.reason = reason(r.kind, &r.call_sign, distance_m, eta, r.router, &self.config.speeds, required);
                        }
                    }
                    recs.sort_by(|a, b| a.eta_s.total_cmp(&b.eta_s).then_with(|| a.unit_id.cmp(&b.unit_id)));
                }
                Err(e) => tracing::warn!("road router {} failed, using straight-line ETAs: {e}", router.name()),
            }
        }
        recs.truncate(limit);
        recs
    }
}
