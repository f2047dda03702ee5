//! MQTT publication against a real Mosquitto broker started by the test,
//! checked by real subscribers (a rumqttc client and `mosquitto_sub`).
//! Without Mosquitto installed these tests fail, saying how to install it.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use citywatch_events::mqtt::MqttConfig;
use citywatch_events::{Events, EventsConfig};
use citywatch_model::{CameraUpdate, EventType, NewEvent, Source};
use citywatch_registry::Registry;
use citywatch_store::{EventFilter, Store};
use citywatch_test_support::free_port;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use serde_json::{json, Value};

const INSTALL: &str = "install it with `apt-get install mosquitto mosquitto-clients` (scripts/setup.sh does)";

struct Broker {
    child: Child,
    port: u16,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn broker() -> Broker {
    let port = free_port();
    // Debian installs the broker in /usr/sbin, which a normal user's PATH may lack.
    let program = if std::path::Path::new("/usr/sbin/mosquitto").exists() { "/usr/sbin/mosquitto" } else { "mosquitto" };
    let child = Command::new(program)
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start mosquitto ({e}): {INSTALL}"));
    let broker = Broker { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return broker;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mosquitto did not listen on port {port} within 5 s");
}

fn events_with(mqtt: MqttConfig) -> (tempfile::TempDir, Arc<Store>, Arc<Events>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("citywatch.db")).unwrap());
    let cam = json!({"id": "c1", "lat": 44.825, "lon": 20.46, "district": "North"});
    store.create_camera(&CameraUpdate::from_json(cam.as_object().unwrap(), None).unwrap()).unwrap();
    let registry = Arc::new(Registry::load(store.clone()).unwrap());
    let events = Events::start(store.clone(), registry, EventsConfig { mqtt: Some(mqtt), webhooks: Vec::new() }).unwrap();
    (dir, store, events)
}

fn event(t: EventType) -> NewEvent {
    NewEvent { event_type: t, time: Utc::now(), source: Source::camera("c1"), location: None, details: json!({"object": "car"}) }
}

/// A subscriber that has its subscription acknowledged before returning.
async fn subscriber(port: u16, filter: &str) -> rumqttc::EventLoop {
    let (client, mut eventloop) = AsyncClient::new(MqttOptions::new(format!("test-sub-{port}"), "127.0.0.1", port), 100);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let MqttEvent::Incoming(Packet::SubAck(_)) = eventloop.poll().await.unwrap() {
                break;
            }
        }
    })
    .await
    .expect("no SUBACK from mosquitto");
    // Keep the client alive with its event loop.
    std::mem::forget(client);
    eventloop
}

async fn next_publish(eventloop: &mut rumqttc::EventLoop) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let MqttEvent::Incoming(Packet::Publish(p)) = eventloop.poll().await.unwrap() {
                return (p.topic.clone(), serde_json::from_slice(&p.payload).unwrap());
            }
        }
    })
    .await
    .expect("no message from the broker")
}

#[tokio::test(flavor = "multi_thread")]
async fn events_reach_a_subscriber_and_camera_status_is_retained() {
    let broker = broker().await;
    let mut sub = subscriber(broker.port, "citywatch/events/#").await;
    let (_dir, _store, events) = events_with(MqttConfig::new(format!("mqtt://127.0.0.1:{}", broker.port)));

    let motion = events.raise(event(EventType::Motion)).await.unwrap();
    let offline = events.raise(event(EventType::CameraOffline)).await.unwrap();
    let (topic, body) = next_publish(&mut sub).await;
    assert_eq!(topic, "citywatch/events/motion");
    assert_eq!((body["id"].as_i64(), body["type"].as_str(), body["source"]["id"].as_str()), (Some(motion.id), Some("motion"), Some("c1")));
    assert_eq!(body["details"]["object"], "car");
    let (topic, body) = next_publish(&mut sub).await;
    assert_eq!((topic.as_str(), body["id"].as_i64()), ("citywatch/events/camera_offline", Some(offline.id)));

    // A subscriber arriving later still learns the camera's status: retained.
    let out = tokio::task::spawn_blocking(move || {
        Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", "citywatch/cameras/c1/status", "-C", "1", "-W", "10"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run mosquitto_sub ({e}): {INSTALL}"))
    })
    .await
    .unwrap();
    assert!(out.status.success(), "mosquitto_sub got no retained status: {}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((status["status"].as_str(), status["event_id"].as_i64()), (Some("offline"), Some(offline.id)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_broker_drops_and_counts_but_loses_nothing_from_the_store() {
    // Nothing listens on this port.
    let port = free_port();
    let (_dir, store, events) = events_with(MqttConfig { queue: 5, ..MqttConfig::new(format!("mqtt://127.0.0.1:{port}")) });
    for _ in 0..50 {
        events.raise(event(EventType::Motion)).await.expect("raising never waits on the broker");
    }
    assert_eq!(store.events(&EventFilter { limit: 1000, ..Default::default() }).unwrap().len(), 50);
    let m = events.metrics();
    // The publisher hears every event; each is queued for the broker or dropped.
    tokio::time::timeout(Duration::from_secs(10), async {
        while m.mqtt_published.load(Ordering::Relaxed) + m.mqtt_dropped.load(Ordering::Relaxed) < 50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("publisher did not account for every event");
    assert!(m.mqtt_published.load(Ordering::Relaxed) <= 6, "no more than the queue (plus one in hand) waits for the broker");
    assert!(m.mqtt_dropped.load(Ordering::Relaxed) >= 44, "the rest is dropped and counted");
}

#[tokio::test(flavor = "multi_thread")]
async fn plate_events_are_published_only_when_asked_for() {
    let broker = broker().await;
    let plate = |t| NewEvent { details: json!({"plate": "BG 123-AB", "priority": 5}), ..event(t) };
    // By default: every other event goes out, a plate never does.
    let mut sub = subscriber(broker.port, "citywatch/events/#").await;
    let (_dir, _store, events) = events_with(MqttConfig::new(format!("mqtt://127.0.0.1:{}", broker.port)));
    events.raise(plate(EventType::PlateRead)).await.unwrap();
    events.raise(plate(EventType::HotlistHit)).await.unwrap();
    let motion = events.raise(event(EventType::Motion)).await.unwrap();
    let (topic, body) = next_publish(&mut sub).await;
    assert_eq!((topic.as_str(), body["id"].as_i64()), ("citywatch/events/motion", Some(motion.id)), "{body}");
    drop(events);

    // `[mqtt] publish_plates = true` publishes them.
    let mut sub = subscriber(broker.port, "citywatch/events/plate_read").await;
    let config = MqttConfig { publish_plates: true, client_id: "citywatch-plates".into(), ..MqttConfig::new(format!("mqtt://127.0.0.1:{}", broker.port)) };
    let (_dir, _store, events) = events_with(config);
    let read = events.raise(plate(EventType::PlateRead)).await.unwrap();
    let (topic, body) = next_publish(&mut sub).await;
    assert_eq!((topic.as_str(), body["id"].as_i64(), body["details"]["plate"].as_str()), ("citywatch/events/plate_read", Some(read.id), Some("BG 123-AB")));
}
