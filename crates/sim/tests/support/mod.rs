//! Shared by the simulator's integration tests: a small, fast configuration
//! and a running server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use citywatch_sim::{EncodeCache, SimConfig, SimServer, Simulator, StreamConfig};

/// Two scenes with a 2 s loop: cheap to encode, and a few seconds of
/// playing crosses loop boundaries.
pub fn test_config() -> SimConfig {
    SimConfig {
        cameras: 4,
        fps: 15,
        main: StreamConfig { width: 640, height: 360, bitrate_kbps: 400 },
        sub: StreamConfig { width: 320, height: 180, bitrate_kbps: 100 },
        loop_secs: 2,
        key_interval_secs: 1,
        scenes: 2,
        seed: 7,
    }
}

pub fn start(config: SimConfig) -> (SimServer, Arc<Simulator>) {
    let sim = Arc::new(Simulator::prepare(config, &EncodeCache::default()).expect("encoding the test scenes"));
    let server = SimServer::spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).expect("serving on a free port");
    (server, sim)
}

pub fn url(server: &SimServer, path: &str) -> String {
    format!("rtsp://{}/{path}", server.addr)
}
