//! The repositories of one database, one per domain: what the binary
//! builds the services and [`crate::AppParts`] from, and what the API's
//! tests set up and inspect stored state through, on either backend.

use std::sync::Arc;

use citywatch_access::AccessRepo;
use citywatch_audit::{AuditRepo, UserRepo};
use citywatch_dispatch::DispatchRepo;
use citywatch_events::EventRepo;
use citywatch_hotlists::PlateRepo;
use citywatch_registry::CameraRepo;
use citywatch_video::RecordingRepo;

/// The repositories of one database, one per domain.
#[derive(Clone)]
pub struct Repos {
    pub audit: Arc<dyn AuditRepo>,
    pub users: Arc<dyn UserRepo>,
    pub cameras: Arc<dyn CameraRepo>,
    pub events: Arc<dyn EventRepo>,
    pub plates: Arc<dyn PlateRepo>,
    pub access: Arc<dyn AccessRepo>,
    pub dispatch: Arc<dyn DispatchRepo>,
    pub recordings: Arc<dyn RecordingRepo>,
}

impl Repos {
    /// Every repository from one backend that implements them all.
    pub fn of<B>(backend: Arc<B>) -> Repos
    where
        B: AuditRepo + UserRepo + CameraRepo + EventRepo + PlateRepo + AccessRepo + DispatchRepo + RecordingRepo + 'static,
    {
        Repos {
            audit: backend.clone(),
            users: backend.clone(),
            cameras: backend.clone(),
            events: backend.clone(),
            plates: backend.clone(),
            access: backend.clone(),
            dispatch: backend.clone(),
            recordings: backend,
        }
    }
}
