//! A road router backed by an OSRM server's route service
//! (`GET /route/v1/driving/{lon},{lat};{lon},{lat}?overview=false`), read
//! for the first route's `distance` (m) and `duration` (s). One request per
//! origin, concurrently, each with a timeout; an origin OSRM finds no route
//! for (`code` other than `Ok`) gets `None`.

use std::time::Duration;

use bytes::Bytes;
use citywatch_geo::routing::{LatLon, Leg, RouteError, RouteFuture, Router};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub struct Osrm {
    /// e.g. `http://osrm.city.local:5000`, without a trailing slash.
    base: String,
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
}

impl Osrm {
    /// `base` must be an `http://` URL (the client speaks plain HTTP/1.1,
    /// as OSRM servers on a city network do).
    pub fn new(base: &str, timeout: Duration) -> Result<Osrm, String> {
        let base = base.trim_end_matches('/').to_owned();
        let uri: hyper::Uri = base.parse().map_err(|e| format!("OSRM URL {base:?}: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!("OSRM URL {base:?} must be http://host[:port]"));
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Osrm { base, client, timeout })
    }

    async fn one(&self, from: LatLon, to: LatLon) -> Result<Option<Leg>, RouteError> {
        let url = format!("{}/route/v1/driving/{:.6},{:.6};{:.6},{:.6}?overview=false", self.base, from.lon, from.lat, to.lon, to.lat);
        let uri: hyper::Uri = url.parse().map_err(|e| RouteError(format!("{url}: {e}")))?;
        let fetch = async {
            let resp = self.client.get(uri).await.map_err(|e| RouteError(format!("{url}: {e}")))?;
            let status = resp.status();
            let body = resp.into_body().collect().await.map_err(|e| RouteError(format!("{url}: reading body: {e}")))?.to_bytes();
            Ok::<_, RouteError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, fetch).await.map_err(|_| RouteError(format!("{url}: no answer in {:?}", self.timeout)))??;
        parse_route(status.as_u16(), &body).map_err(|e| RouteError(format!("{url}: {e}")))
    }
}

/// OSRM answers 400 with `{"code": "NoRoute"|"NoSegment"|...}` when it
/// cannot route; that is "no route", not a failure of the router.
pub fn parse_route(status: u16, body: &[u8]) -> Result<Option<Leg>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("HTTP {status}, body is not JSON: {e}"))?;
    let code = v["code"].as_str().unwrap_or("");
    if code != "Ok" {
        return match code {
            "NoRoute" | "NoSegment" => Ok(None),
            _ => Err(format!("HTTP {status}, code {code:?}: {}", v["message"].as_str().unwrap_or(""))),
        };
    }
    let route = &v["routes"][0];
    match (route["distance"].as_f64(), route["duration"].as_f64()) {
        (Some(distance_m), Some(duration_s)) if distance_m >= 0.0 && duration_s >= 0.0 => Ok(Some(Leg { distance_m, duration_s: Some(duration_s) })),
        (Some(_), Some(_)) => Err("negative distance or duration".into()),
        _ => Ok(None),
    }
}

impl Router for Osrm {
    fn name(&self) -> &'static str {
        "osrm"
    }

    fn legs<'a>(&'a self, origins: &'a [LatLon], destination: LatLon) -> RouteFuture<'a> {
        Box::pin(async move { futures::future::try_join_all(origins.iter().map(|o| self.one(*o, destination))).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osrm_answers_are_read_or_explained() {
        let ok = br#"{"code":"Ok","routes":[{"distance":1234.5,"duration":98.7,"legs":[]}],"waypoints":[]}"#;
        assert_eq!(parse_route(200, ok).unwrap(), Some(Leg { distance_m: 1234.5, duration_s: Some(98.7) }));
        assert_eq!(parse_route(400, br#"{"code":"NoRoute","message":"Impossible route"}"#).unwrap(), None);
        assert!(parse_route(400, br#"{"code":"InvalidQuery","message":"Query string malformed"}"#).unwrap_err().contains("InvalidQuery"));
        assert!(parse_route(502, b"<html>bad gateway</html>").unwrap_err().contains("not JSON"));
        assert!(Osrm::new("https://x", Duration::from_secs(1)).is_err());
    }
}
