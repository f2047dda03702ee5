// The console's geometry against values worked out apart from the code:
// the sphere's degree (π·R/180), WGS84 geodesics (Vincenty's inverse) and
// shapes whose answer is known by construction.

import { describe, expect, test } from "vitest";
import type { LonLat } from "./api";
import { circleRing, counterClockwise, distanceM, offset, ringCentroid, sectorRing } from "./geo";

/** One degree of arc on the IUGG mean-radius sphere (6 371 008.8 m): π·R/180. */
const SPHERE_DEGREE_M = 111_195.08;

// Two Belgrade landmarks: Republic Square and Slavija.
const REPUBLIC_SQUARE: LonLat = [20.4599, 44.8163];
const SLAVIJA: LonLat = [20.4667, 44.8027];

/** Bearing (degrees clockwise from north) from `a` to `b`, on a local flat approximation. */
function bearing(a: LonLat, b: LonLat): number {
  const north = b[1] - a[1];
  const east = (b[0] - a[0]) * Math.cos((a[1] * Math.PI) / 180);
  return ((Math.atan2(east, north) * 180) / Math.PI + 360) % 360;
}

/** Twice the signed area of a closed ring (shoelace): positive when counter-clockwise. */
function signedArea2(ring: LonLat[]): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s;
}

describe("distanceM", () => {
  test("is zero from a point to itself", () => {
    expect(distanceM(SLAVIJA, SLAVIJA)).toBe(0);
  });

  test("a hundredth of a degree along a meridian is a hundredth of the sphere's degree", () => {
    expect(distanceM([20.46, 44.8], [20.46, 44.81])).toBeCloseTo(SPHERE_DEGREE_M / 100, 1);
  });

  test("along the equator a degree of longitude is the sphere's degree", () => {
    expect(distanceM([0, 0], [1, 0])).toBeCloseTo(SPHERE_DEGREE_M, 0);
  });

  test("Republic Square to Slavija is within 2 m of the WGS84 geodesic (1604.2 m, Vincenty)", () => {
    const d = distanceM(REPUBLIC_SQUARE, SLAVIJA);
    expect(Math.abs(d - 1604.2)).toBeLessThan(2);
    expect(distanceM(SLAVIJA, REPUBLIC_SQUARE)).toBeCloseTo(d, 6);
  });

  test("a degree of longitude at 45° is within 0.5 % of WGS84's 78 846 m", () => {
    const d = distanceM([20, 45], [21, 45]);
    expect(Math.abs(d - 78_846) / 78_846).toBeLessThan(0.005);
  });
});

describe("offset", () => {
  test("north moves only the latitude, by metres over the sphere's degree", () => {
    const [lon, lat] = offset(20.46, 44.8, 0, 1000);
    expect(lon).toBeCloseTo(20.46, 12);
    expect(lat - 44.8).toBeCloseTo(1000 / SPHERE_DEGREE_M, 9);
  });

  test("east moves only the longitude, by more degrees as the meridians converge", () => {
    const [lon, lat] = offset(20.46, 44.8, 90, 1000);
    expect(lat).toBeCloseTo(44.8, 9);
    expect(lon - 20.46).toBeCloseTo(1000 / (SPHERE_DEGREE_M * Math.cos((44.8 * Math.PI) / 180)), 9);
  });

  test("lands the asked distance away, in the asked direction", () => {
    for (const b of [0, 45, 135, 200, 300]) {
      const p = offset(SLAVIJA[0], SLAVIJA[1], b, 250);
      expect(distanceM(SLAVIJA, p)).toBeCloseTo(250, 1);
      expect(bearing(SLAVIJA, p)).toBeCloseTo(b, 1);
    }
  });
});

describe("circleRing", () => {
  test("is closed, has steps + 1 points, each the radius from the centre", () => {
    const ring = circleRing(SLAVIJA, 150, 36);
    expect(ring).toHaveLength(37);
    expect(ring[36]).toEqual(ring[0]);
    for (const p of ring) expect(distanceM(SLAVIJA, p)).toBeCloseTo(150, 1);
  });

  test("starts due north and goes clockwise (east next)", () => {
    const ring = circleRing(SLAVIJA, 150, 4);
    expect(bearing(SLAVIJA, ring[0])).toBeCloseTo(0, 3);
    expect(bearing(SLAVIJA, ring[1])).toBeCloseTo(90, 3);
    expect(bearing(SLAVIJA, ring[2])).toBeCloseTo(180, 3);
  });
});

describe("sectorRing (a camera's field of view)", () => {
  const cam = { lon: REPUBLIC_SQUARE[0], lat: REPUBLIC_SQUARE[1], heading_deg: 90, fov_deg: 60, range_m: 80 };

  test("starts and ends at the camera, the arc at the range", () => {
    const ring = sectorRing(cam);
    expect(ring[0]).toEqual([cam.lon, cam.lat]);
    expect(ring[ring.length - 1]).toEqual([cam.lon, cam.lat]);
    const arc = ring.slice(1, -1);
    expect(arc).toHaveLength(Math.ceil(60 / 5) + 1);
    for (const p of arc) expect(distanceM(REPUBLIC_SQUARE, p)).toBeCloseTo(80, 1);
  });

  test("spans heading ± half the field of view", () => {
    const arc = sectorRing(cam).slice(1, -1);
    const bearings = arc.map((p) => bearing(REPUBLIC_SQUARE, p));
    expect(bearings[0]).toBeCloseTo(60, 1);
    expect(bearings[bearings.length - 1]).toBeCloseTo(120, 1);
    for (const b of bearings) {
      expect(b).toBeGreaterThanOrEqual(60 - 1e-6);
      expect(b).toBeLessThanOrEqual(120 + 1e-6);
    }
  });

  test("a field of view across north wraps through 0°", () => {
    const arc = sectorRing({ ...cam, heading_deg: 350, fov_deg: 40 }).slice(1, -1);
    expect(bearing(REPUBLIC_SQUARE, arc[0])).toBeCloseTo(330, 1);
    expect(bearing(REPUBLIC_SQUARE, arc[arc.length - 1])).toBeCloseTo(10, 1);
  });

  test("a 360° camera sees a full circle around itself", () => {
    const ring = sectorRing({ ...cam, fov_deg: 360 });
    expect(ring).toHaveLength(73);
    for (const p of ring) expect(distanceM(REPUBLIC_SQUARE, p)).toBeCloseTo(80, 1);
  });

  test("a negative range draws nothing beyond the camera", () => {
    for (const p of sectorRing({ ...cam, range_m: -5 })) expect(distanceM(REPUBLIC_SQUARE, p)).toBe(0);
  });
});

describe("ringCentroid", () => {
  test("of a closed square is its centre (the closing point not counted twice)", () => {
    const square: LonLat[] = [[20, 44], [21, 44], [21, 45], [20, 45], [20, 44]];
    expect(ringCentroid(square)).toEqual([20.5, 44.5]);
  });

  test("of an open triangle is the mean of its corners", () => {
    const [x, y] = ringCentroid([[0, 0], [3, 0], [0, 3]]);
    expect(x).toBeCloseTo(1, 12);
    expect(y).toBeCloseTo(1, 12);
  });

  test("of nothing is the origin", () => {
    expect(ringCentroid([])).toEqual([0, 0]);
  });
});

describe("counterClockwise", () => {
  const clockwise: LonLat[] = [[20, 44], [20, 45], [21, 45], [21, 44], [20, 44]];

  test("reverses a clockwise ring", () => {
    expect(signedArea2(clockwise)).toBeLessThan(0);
    const ring = counterClockwise(clockwise);
    expect(signedArea2(ring)).toBeGreaterThan(0);
    expect(ring).toEqual([...clockwise].reverse());
  });

  test("keeps a counter-clockwise ring as it is", () => {
    const ccw = [...clockwise].reverse();
    expect(counterClockwise(ccw)).toBe(ccw);
  });
});
