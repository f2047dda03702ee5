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
//! Persistence goes through `citywatch-store`; authorization and the audit
//! log are the caller's.

pub mod avl;
pub mod eido;
mod error;
pub mod incidents;
pub mod osrm;
pub mod recommend;
pub mod units;

use std::sync::Arc;

use citywatch_geo::routing::{Router, StraightLine};
use citywatch_store::Store;

pub use avl::{AvlCounters, AvlError, Fix};
pub use error::DispatchError;
pub use recommend::{Recommendation, Speeds};

pub type Result<T> = std::result::Result<T, DispatchError>;

#[derive(Clone)]
pub struct DispatchConfig {
    pub speeds: Speeds,
    /// Ranks units for recommendation; straight line unless a road router
    /// (OSRM) is configured.
    pub router: Arc<dyn Router>,
    /// With a road router, how many of the best straight-line candidates
    /// are asked about (a router call per unit would not scale to 2,000).
    pub road_candidates: usize,
    /// Fixes whose device time is further ahead of the server clock than
    /// this are refused.
    pub max_future_skew: chrono::Duration,
}

impl std::fmt::Debug for DispatchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatchConfig")
            .field("speeds", &self.speeds)
            .field("router", &self.router.name())
            .field("road_candidates", &self.road_candidates)
            .field("max_future_skew", &self.max_future_skew)
            .finish()
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig { speeds: Speeds::default(), router: Arc::new(StraightLine), road_candidates: 10, max_future_skew: chrono::Duration::minutes(5) }
    }
}

/// The dispatch service: one per server, shared by every request.
pub struct Dispatch {
    pub(crate) store: Arc<Store>,
    pub config: DispatchConfig,
    pub avl: AvlCounters,
}

impl Dispatch {
    pub fn new(store: Arc<Store>, config: DispatchConfig) -> Dispatch {
        Dispatch { store, config, avl: AvlCounters::default() }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}
