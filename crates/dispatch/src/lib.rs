//! Dispatch (CAD): incidents, units, AVL ingest and nearest-unit
//! recommendation.
//!
//! Owns the workflows: which unit status may follow which, what assigning
//! and closing do, how a GPS fix is validated (unknown devices, bad tokens,
//! impossible coordinates, fixes from the future, duplicates, late fixes),
//! how available units are ranked by estimated time of arrival, and the
//! NENA EIDO export of an incident.
//!
//! It serves no HTTP and knows nothing of routes, sessions or status codes
//! (that is `citywatch-api`), nor of video. The one outbound protocol here
//! is the optional OSRM client (`osrm`), a [`citywatch_geo::routing::Router`].
//! Persistence goes through a [`DispatchRepo`] (SQLite's `Store` or
//! PostgreSQL's `PgStore`); every change a person makes commits there with
//! the audit entry the caller describes (`citywatch_audit::Record`).
//! Authorization is the caller's.

pub mod avl;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod conformance_sqlite;
pub mod eido;
mod error;
pub mod incidents;
pub mod osrm;
pub mod plausibility;
pub mod recommend;
mod repo;
mod sqlite_repo;
pub mod units;

use std::sync::Arc;

use citywatch_audit::{AuditLog, PendingEntry, Record};
use citywatch_geo::roads::{RoadNetwork, RoadRouter};
use citywatch_geo::routing::{LatLon, Router, StraightLine};
use citywatch_model::AuditRow;

pub use avl::{AvlCounters, AvlError, Fix};
pub use error::DispatchError;
pub use recommend::{Recommendation, Speeds};
pub use repo::{CheckFix, DispatchRepo};
pub use units::UnitUpdate;

pub type Result<T> = std::result::Result<T, DispatchError>;

#[derive(Clone)]
pub struct DispatchConfig {
    pub speeds: Speeds,
    /// Ranks units for recommendation; straight line unless a road router
    /// (the built-in road network, or OSRM) is configured.
    pub router: Arc<dyn Router>,
    /// The built-in road network, if loaded: routes with their geometry
    /// (a unit's way to its incident, drawn on the terminal).
    pub roads: Option<Arc<RoadNetwork>>,
    /// With a road router, how many of the best straight-line candidates
    /// are asked about (a router call per unit would not scale to 2,000).
    pub road_candidates: usize,
    /// Fixes whose device time is further ahead of the server clock than
    /// this are refused.
    pub max_future_skew: chrono::Duration,
    /// Which fixes are kept in the trail flagged but never become a
    /// unit's position (time window, speed per unit kind).
    pub plausibility: plausibility::Plausibility,
}

impl DispatchConfig {
    /// Routes on `roads` from now on: the recommender ranks by them (in
    /// place of OSRM) and routes have their geometry.
    pub fn with_roads(mut self, roads: RoadNetwork) -> DispatchConfig {
        let roads = Arc::new(roads);
        self.router = Arc::new(RoadRouter(roads.clone()));
        self.roads = Some(roads);
        self
    }
}

/// A way from a unit to a place: along the roads if a road network is
/// loaded, else the straight line.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteAnswer {
    pub geometry: Vec<LatLon>,
    pub distance_m: f64,
    /// The road network's driving time; `None` for the straight line.
    pub duration_s: Option<f64>,
    pub router: &'static str,
}

impl std::fmt::Debug for DispatchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatchConfig")
            .field("speeds", &self.speeds)
            .field("router", &self.router.name())
            .field("road_candidates", &self.road_candidates)
            .field("roads", &self.roads.as_ref().map(|r| (r.node_count(), r.segment_count())))
            .field("max_future_skew", &self.max_future_skew)
            .field("plausibility", &self.plausibility)
            .finish()
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            speeds: Speeds::default(),
            router: Arc::new(StraightLine),
            roads: None,
            road_candidates: 10,
            max_future_skew: chrono::Duration::minutes(5),
            plausibility: Default::default(),
        }
    }
}

/// How many unit updates a slow subscriber may fall behind before it is
/// told it lagged (and should reload the units).
const UNIT_UPDATES_BUFFER: usize = 4096;

/// The dispatch service: one per server, shared by every request.
pub struct Dispatch {
    pub(crate) repo: Arc<dyn DispatchRepo>,
    pub config: DispatchConfig,
    pub avl: AvlCounters,
    /// Every committed change of a unit (position, status, record), for
    /// consoles and terminals that follow units live.
    pub(crate) unit_updates: tokio::sync::broadcast::Sender<Arc<UnitUpdate>>,
}

impl Dispatch {
    /// Dispatch on `repo` (SQLite's `Store`, or PostgreSQL's `PgStore`).
    pub fn new(repo: Arc<dyn DispatchRepo>, config: DispatchConfig) -> Dispatch {
        let (unit_updates, _) = tokio::sync::broadcast::channel(UNIT_UPDATES_BUFFER);
        Dispatch { repo, config, avl: AvlCounters::default(), unit_updates }
    }

    /// Unit changes from now on, each sent after it is committed. Nothing
    /// here filters by district: that is the subscriber's (the API's) job.
    pub fn subscribe_units(&self) -> tokio::sync::broadcast::Receiver<Arc<UnitUpdate>> {
        self.unit_updates.subscribe()
    }

    /// The units, incidents and trails behind the service, for reading
    /// (lists, trails). Changes go through the service's own methods,
    /// which keep the workflow and announce units.
    pub fn repo(&self) -> &Arc<dyn DispatchRepo> {
        &self.repo
    }

    /// The way from `from` to `to` (blocking: a search on the road network).
    /// No road near either end, or none between them, is a conflict that
    /// says so.
    pub fn route(&self, from: LatLon, to: LatLon) -> Result<RouteAnswer> {
        match &self.config.roads {
            Some(roads) => {
                let r = roads.route(from, to).map_err(|e| DispatchError::Conflict(e.to_string()))?;
                Ok(RouteAnswer { geometry: r.geometry, distance_m: r.distance_m, duration_s: Some(r.duration_s), router: "road network" })
            }
            None => Ok(RouteAnswer { geometry: vec![from, to], distance_m: StraightLine::leg(from, to).distance_m, duration_s: None, router: "straight line" }),
        }
    }
}

/// The row maker of `record`, for a change whose entry does not depend on
/// what the change did.
fn entry(record: Record) -> citywatch_audit::MakeRow<'static> {
    Box::new(PendingEntry::new(record).into_maker())
}

/// What follows a change committed with its entry: a checkpoint signed
/// when due (never an error: the change is done, see `AuditLog::appended`).
fn recorded(audit: &AuditLog, row: &AuditRow) -> Result<()> {
    audit.appended(row);
    Ok(())
}
