//! Publication to an MQTT broker (Frigate-like topics):
//! `citywatch/events/<type>` carries each committed event as JSON,
//! `citywatch/cameras/<id>/status` the camera's last known status
//! (retained, so a new subscriber learns it at once), and
//! `citywatch/alerts` every alert change.
//!
//! Plate reads and hotlist hits carry a licence plate: they are published
//! only with `publish_plates` (`[mqtt] publish_plates = true`), since a
//! broker's subscribers need no purpose or case reference to follow a car
//! across the city, as a plate search in the API does. Alerts name the
//! camera and event type, never the plate, and unit positions
//! (`unit_position`) are published as every other event.
//!
//! The broker is a copy, never the record: events are already in the store.
//! Messages go through the client's bounded request queue with
//! `try_publish`; when the broker is down or slow and that queue is full,
//! the message is dropped and counted (`mqtt_dropped`) instead of blocking
//! the bus.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::bus::{BusReceiver, BusRecvError};
use citywatch_model::{Event, EventType};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;

use crate::service::{AlertUpdate, Metrics};
use crate::EventsError;

/// `[mqtt]` in citywatch.toml.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// `mqtt://host[:port]` (port 1883 by default). TLS is not built in.
    pub url: String,
    pub client_id: String,
    /// Messages held while the broker is unreachable.
    pub queue: usize,
    /// Whether plate-bearing events (`plate_read`, `hotlist_hit`) are
    /// published; off unless the city decides it needs them.
    pub publish_plates: bool,
}

impl MqttConfig {
    pub fn new(url: impl Into<String>) -> MqttConfig {
        MqttConfig { url: url.into(), client_id: "citywatch".into(), queue: 10_000, publish_plates: false }
    }

    /// Host and port from the URL, or why it is not usable.
    pub fn host_port(&self) -> Result<(String, u16), String> {
        let rest = self.url.strip_prefix("mqtt://").ok_or_else(|| format!("mqtt url {:?} must start with mqtt:// (TLS is not supported)", self.url))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("mqtt url {:?}: bad port {p:?}", self.url))?),
            None => (rest, 1883),
        };
        if host.is_empty() {
            return Err(format!("mqtt url {:?} has no host", self.url));
        }
        Ok((host.to_owned(), port))
    }
}

pub fn event_topic(t: EventType) -> String {
    format!("citywatch/events/{}", t.as_str())
}

pub fn camera_status_topic(camera: &str) -> String {
    format!("citywatch/cameras/{camera}/status")
}

pub(crate) fn spawn(
    config: MqttConfig,
    mut events: BusReceiver<Arc<Event>>,
    mut alerts: BusReceiver<AlertUpdate>,
    metrics: Arc<Metrics>,
) -> Result<(), EventsError> {
    let (host, port) = config.host_port().map_err(|e| EventsError::Invalid(vec![citywatch_model::FieldError::new("mqtt.url", e)]))?;
    let mut options = MqttOptions::new(config.client_id.clone(), host, port);
    options.set_keep_alive(Duration::from_secs(15));
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    let (client, mut eventloop) = AsyncClient::new(options, config.queue.max(1));
    let url = config.url.clone();
    // The event loop does the network I/O and reconnects; its errors are
    // logged once per outage, not once per retry.
    tokio::spawn(async move {
        let mut down = false;
        loop {
            match eventloop.poll().await {
                Ok(_) => {
                    if down {
                        tracing::info!("MQTT broker {url} reachable again");
                        down = false;
                    }
                }
                Err(e) => {
                    if !down {
                        tracing::warn!("MQTT broker {url}: {e}; retrying every second, queueing up to {} messages", config.queue);
                        down = true;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    tokio::spawn(async move {
        let publish = |topic: String, retain: bool, payload: Vec<u8>| match client.try_publish(topic, QoS::AtLeastOnce, retain, payload) {
            Ok(()) => metrics.mqtt_published.fetch_add(1, Ordering::Relaxed),
            Err(_) => metrics.mqtt_dropped.fetch_add(1, Ordering::Relaxed),
        };
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Ok(e) if e.event_type.carries_plate() && !config.publish_plates => {}
                    Ok(e) => {
                        publish(event_topic(e.event_type), false, serde_json::to_vec(&*e).unwrap_or_default());
                        let status = match e.event_type {
                            EventType::CameraOnline => Some("online"),
                            EventType::CameraOffline => Some("offline"),
                            _ => None,
                        };
                        if let Some(status) = status {
                            let body = json!({"status": status, "time": e.time, "event_id": e.id});
                            publish(camera_status_topic(&e.source.id), true, body.to_string().into_bytes());
                        }
                    }
                    Err(BusRecvError::Lagged(n)) => { metrics.mqtt_dropped.fetch_add(n, Ordering::Relaxed); }
                    Err(BusRecvError::Closed) => break,
                },
                a = alerts.recv() => match a {
                    Ok(a) => { publish("citywatch/alerts".into(), false, serde_json::to_vec(&a).unwrap_or_default()); }
                    Err(BusRecvError::Lagged(n)) => { metrics.mqtt_dropped.fetch_add(n, Ordering::Relaxed); }
                    Err(BusRecvError::Closed) => break,
                },
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(MqttConfig::new("mqtt://127.0.0.1:1884").host_port().unwrap(), ("127.0.0.1".into(), 1884));
        assert_eq!(MqttConfig::new("mqtt://broker").host_port().unwrap(), ("broker".into(), 1883));
        assert!(MqttConfig::new("mqtts://broker").host_port().unwrap_err().contains("mqtt://"));
        assert!(MqttConfig::new("mqtt://broker:x").host_port().unwrap_err().contains("port"));
    }
}
