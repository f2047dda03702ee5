//! What the rules' tests share: a fixed clock and a small city.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use citywatch_model::{CameraUpdate, Scope};
use citywatch_registry::{Registry, Snapshot};
use citywatch_store::Store;
use serde_json::json;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap()
}

/// A scope of the district North only.
pub fn north() -> Scope {
    Scope::Districts(["North".to_owned()].into())
}

/// Cameras (id, district, latitude, whether it has a stream) at longitude
/// 20.4, each seeing 50 m all round.
pub fn cameras(list: &[(&str, &str, f64, bool)]) -> Arc<Snapshot> {
    let store = Arc::new(Store::open_in_memory().unwrap());
    for (id, district, lat, stream) in list {
        let mut obj = json!({"id": id, "lat": lat, "lon": 20.4, "district": district});
        if *stream {
            obj["main_url"] = json!(format!("rtsp://10.0.0.1/{id}"));
        }
        store.create_camera(&CameraUpdate::from_json(obj.as_object().unwrap(), None).unwrap()).unwrap();
    }
    Registry::load(store).unwrap().snapshot()
}
