// Local metric approximations (equirectangular around a reference point). Good to well
// under a metre over the few hundred metres a camera sees, which is all the console needs.

import type { Camera, LonLat } from "./api";

const EARTH_RADIUS_M = 6_371_008.8;
const DEG = Math.PI / 180;

/** Point `distanceM` metres from (lon, lat) along `bearingDeg` (0 = north, 90 = east). */
export function offset(lon: number, lat: number, bearingDeg: number, distanceM: number): LonLat {
  const b = bearingDeg * DEG;
  const north = distanceM * Math.cos(b);
  const east = distanceM * Math.sin(b);
  const dLat = north / EARTH_RADIUS_M / DEG;
  const dLon = east / (EARTH_RADIUS_M * Math.cos(lat * DEG)) / DEG;
  return [lon + dLon, lat + dLat];
}

/** Great-circle distance in metres. */
export function distanceM(a: LonLat, b: LonLat): number {
  const [lon1, lat1] = a;
  const [lon2, lat2] = b;
  const dLat = (lat2 - lat1) * DEG;
  const dLon = (lon2 - lon1) * DEG;
  const s =
    Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Closed ring approximating a circle. */
export function circleRing(center: LonLat, radiusM: number, steps = 72): LonLat[] {
  const ring: LonLat[] = [];
  for (let i = 0; i < steps; i++) ring.push(offset(center[0], center[1], (360 * i) / steps, radiusM));
  ring.push(ring[0]);
  return ring;
}

/** Closed ring for a camera's field of view: apex at the camera, arc of radius range_m. */
export function sectorRing(cam: Pick<Camera, "lon" | "lat" | "heading_deg" | "fov_deg" | "range_m">): LonLat[] {
  const range = Math.max(0, cam.range_m || 0);
  const fov = Math.max(0, cam.fov_deg || 0);
  if (fov >= 360) return circleRing([cam.lon, cam.lat], range, 72);
  const start = cam.heading_deg - fov / 2;
  const steps = Math.max(2, Math.ceil(fov / 5));
  const ring: LonLat[] = [[cam.lon, cam.lat]];
  for (let i = 0; i <= steps; i++) {
    ring.push(offset(cam.lon, cam.lat, start + (fov * i) / steps, range));
  }
  ring.push([cam.lon, cam.lat]);
  return ring;
}

/** A rough centroid (average of ring vertices) for label placement. */
export function ringCentroid(ring: number[][]): LonLat {
  let x = 0;
  let y = 0;
  const n = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.length - 1 : ring.length;
  for (let i = 0; i < n; i++) {
    x += ring[i][0];
    y += ring[i][1];
  }
  return n ? [x / n, y / n] : [0, 0];
}

/** A closed ring in the order GeoJSON (RFC 7946) wants for an exterior ring: counter-clockwise. */
export function counterClockwise(ring: LonLat[]): LonLat[] {
  let area2 = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    area2 += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  }
  return area2 < 0 ? [...ring].reverse() : ring;
}
