#!/usr/bin/env node
// A small stand-in for the Citywatch backend, implementing the console's API contract
// (login/logout/me, console config, basemap, cameras and spatial queries) and serving
// web/dist. For front-end development without the Rust binary:
//
//   npm run build && node e2e/mock-server.mjs --listen 127.0.0.1:8099 --admin-password secret
//   CITYWATCH_URL=http://127.0.0.1:8099 CITYWATCH_USER=admin CITYWATCH_PASSWORD=secret npm run e2e
//
// It is not the product: the real server is `citywatch demo`.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "..", "dist");

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const listen = arg("--listen", "127.0.0.1:8099");
const adminPassword = arg("--admin-password", "admin");
const [host, portStr] = listen.split(":");

// ---------- synthetic city (deterministic) ----------
const R = 6371008.8;
const DEG = Math.PI / 180;
const CENTER = [20.4612, 44.8125];
let seed = 42;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const off = (lon, lat, bearing, d) => [
  lon + (d * Math.sin(bearing * DEG)) / (R * Math.cos(lat * DEG)) / DEG,
  lat + (d * Math.cos(bearing * DEG)) / R / DEG,
];
const local = (lon0, lat0, lon, lat) => [
  (lon - lon0) * DEG * R * Math.cos(lat0 * DEG),
  (lat - lat0) * DEG * R,
];

const districts = [
  ["Stari Grad", 0, 0],
  ["Vračar", 0, -1],
  ["Savski Venac", -1, -1],
  ["Palilula", 1, 0],
];
const CELL = 900; // metres per district square
const basemap = { type: "FeatureCollection", features: [] };
for (const [name, dx, dy] of districts) {
  const sw = off(...off(CENTER[0], CENTER[1], 90, dx * CELL), 0, dy * CELL);
  const ne = off(...off(sw[0], sw[1], 90, CELL), 0, CELL);
  basemap.features.push({
    type: "Feature",
    properties: { kind: "district", name },
    geometry: { type: "Polygon", coordinates: [[sw, [ne[0], sw[1]], ne, [sw[0], ne[1]], sw]] },
  });
}
const west = off(...off(CENTER[0], CENTER[1], 270, CELL), 180, CELL);
for (let i = 0; i <= 18; i++) {
  const kind = i % 6 === 0 ? "major" : "minor";
  const a = off(west[0], west[1], 0, i * 100);
  const b = off(a[0], a[1], 90, 3 * CELL);
  basemap.features.push({ type: "Feature", properties: { kind }, geometry: { type: "LineString", coordinates: [a, b] } });
  const c = off(west[0], west[1], 90, i * 150);
  const d = off(c[0], c[1], 0, 2 * CELL);
  basemap.features.push({ type: "Feature", properties: { kind }, geometry: { type: "LineString", coordinates: [c, d] } });
}

const statuses = ["online", "online", "online", "online", "offline", "unknown", "disabled"];
const tagsPool = ["traffic", "plaza", "school", "park", "transit", "entrance", "ptz"];
const cameras = [];
for (let i = 1; i <= 240; i++) {
  const [name, dx, dy] = districts[i % districts.length];
  const sw = off(...off(CENTER[0], CENTER[1], 90, dx * CELL), 0, dy * CELL);
  const [lon, lat] = off(...off(sw[0], sw[1], 90, 40 + rnd() * (CELL - 80)), 0, 40 + rnd() * (CELL - 80));
  const id = `cam-${String(i).padStart(4, "0")}`;
  const fov = i % 17 === 0 ? 360 : [45, 60, 75, 90][i % 4];
  cameras.push({
    id,
    name: `${name} ${["Corner", "Square", "Street", "Gate"][i % 4]} ${i}`,
    lat: Number(lat.toFixed(7)),
    lon: Number(lon.toFixed(7)),
    height_m: i % 9 === 0 ? null : 4 + (i % 5),
    heading_deg: Math.round(rnd() * 360) % 360,
    fov_deg: fov,
    range_m: [50, 80, 120][i % 3],
    district: name,
    tags: [tagsPool[i % tagsPool.length], ...(i % 5 === 0 ? ["ptz"] : [])],
    main_url: `rtsp://10.20.${Math.floor(i / 200)}.${i % 200}:554/main`,
    sub_url: `rtsp://10.20.${Math.floor(i / 200)}.${i % 200}:554/sub`,
    status: statuses[i % statuses.length],
  });
}

function sees(c, lon, lat) {
  const [x, y] = local(c.lon, c.lat, lon, lat);
  const d = Math.hypot(x, y);
  if (d > c.range_m) return null;
  if (c.fov_deg >= 360 || d < 0.01) return d;
  const bearing = (Math.atan2(x, y) / DEG + 360) % 360;
  let diff = Math.abs(bearing - c.heading_deg) % 360;
  if (diff > 180) diff = 360 - diff;
  return diff <= c.fov_deg / 2 ? d : null;
}
function pointInRing(lon, lat, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// ---------- http ----------
const sessions = new Map();
const failures = [];
const mime = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png" };

function send(res, status, body, headers = {}) {
  const data = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(data);
}
function user(req) {
  const cookie = req.headers.cookie ?? "";
  const m = cookie.match(/(?:^|;\s*)cw_session=([^;]+)/);
  const auth = req.headers.authorization?.match(/^Bearer (.+)$/);
  const tok = m?.[1] ?? auth?.[1];
  return tok ? sessions.get(tok) : undefined;
}
async function body(req) {
  let s = "";
  for await (const chunk of req) s += chunk;
  return s ? JSON.parse(s) : null;
}
const parseLL = (s) => {
  const [lat, lon] = String(s).split(",").map(Number);
  return Number.isFinite(lat) && Number.isFinite(lon) ? [lat, lon] : null;
};

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const p = url.pathname;
  try {
    if (p === "/health") return send(res, 200, { status: "ok" });
    if (p === "/api/v1/auth/login" && req.method === "POST") {
      const now = Date.now();
      while (failures.length && now - failures[0] > 60_000) failures.shift();
      if (failures.length >= 10) return send(res, 429, { error: "too many login attempts, try again later" });
      const b = (await body(req)) ?? {};
      if (b.username !== "admin" || b.password !== adminPassword) {
        failures.push(now);
        return send(res, 401, { error: "invalid username or password" });
      }
      const token = crypto.randomBytes(24).toString("hex");
      sessions.set(token, "admin");
      return send(res, 200, { token, username: "admin", roles: ["admin"] }, {
        "Set-Cookie": `cw_session=${token}; HttpOnly; Path=/; SameSite=Strict`,
      });
    }
    if (p.startsWith("/api/")) {
      const u = user(req);
      if (!u) return send(res, 401, { error: "authentication required" });
      if (p === "/api/v1/auth/logout" && req.method === "POST") {
        const m = (req.headers.cookie ?? "").match(/cw_session=([^;]+)/);
        if (m) sessions.delete(m[1]);
        return send(res, 204, "", { "Set-Cookie": "cw_session=; HttpOnly; Path=/; Max-Age=0" });
      }
      if (p === "/api/v1/me") return send(res, 200, { username: u, grants: [{ role: "admin", districts: null, expires_at: null }] });
      if (p === "/api/v1/console/config") return send(res, 200, { style_url: null, center: CENTER, zoom: 14 });
      if (p === "/api/v1/basemap") return send(res, 200, basemap);
      if (p === "/api/v1/cameras/search" && req.method === "POST") {
        const g = await body(req);
        if (g?.type !== "Polygon" || !Array.isArray(g.coordinates?.[0]) || g.coordinates[0].length < 4) {
          return send(res, 400, { error: "body must be a GeoJSON Polygon" });
        }
        const ring = g.coordinates[0];
        const c0 = ring[0];
        const out = cameras
          .filter((c) => pointInRing(c.lon, c.lat, ring))
          .map((c) => ({ ...c, distance_m: Math.hypot(...local(c0[0], c0[1], c.lon, c.lat)) }));
        return send(res, 200, out);
      }
      const one = p.match(/^\/api\/v1\/cameras\/([^/]+)$/);
      if (one) {
        const c = cameras.find((c) => c.id === decodeURIComponent(one[1]));
        return c ? send(res, 200, c) : send(res, 404, { error: `no camera ${one[1]}` });
      }
      if (p === "/api/v1/cameras") {
        const q = url.searchParams;
        if (q.has("sees")) {
          const ll = parseLL(q.get("sees"));
          if (!ll) return send(res, 400, { error: "sees must be LAT,LON" });
          const out = [];
          for (const c of cameras) {
            const d = sees(c, ll[1], ll[0]);
            if (d !== null && c.status !== "disabled") out.push({ ...c, distance_m: d });
          }
          return send(res, 200, out.sort((a, b) => a.distance_m - b.distance_m));
        }
        if (q.has("near")) {
          const ll = parseLL(q.get("near"));
          const r = Number(q.get("radius_m"));
          if (!ll || !(r > 0)) return send(res, 400, { error: "near needs LAT,LON and radius_m" });
          const out = cameras
            .map((c) => ({ ...c, distance_m: Math.hypot(...local(ll[1], ll[0], c.lon, c.lat)) }))
            .filter((c) => c.distance_m <= r);
          return send(res, 200, out.sort((a, b) => a.distance_m - b.distance_m));
        }
        if (q.has("nearest")) {
          const ll = parseLL(q.get("nearest"));
          const k = Number(q.get("k") ?? 5);
          const out = cameras.map((c) => ({ ...c, distance_m: Math.hypot(...local(ll[1], ll[0], c.lon, c.lat)) }));
          return send(res, 200, out.sort((a, b) => a.distance_m - b.distance_m).slice(0, k));
        }
        return send(res, 200, cameras);
      }
      return send(res, 404, { error: `no route ${req.method} ${p}` });
    }
    // static
    let file = path.join(dist, p === "/" ? "index.html" : p);
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, "index.html");
    if (!fs.existsSync(file)) return send(res, 404, "web/dist missing: run npm run build", { "Content-Type": "text/plain" });
    return send(res, 200, fs.readFileSync(file), { "Content-Type": mime[path.extname(file)] ?? "application/octet-stream" });
  } catch (e) {
    return send(res, 500, { error: String(e) });
  }
});
server.listen(Number(portStr), host, () => console.log(`mock citywatch on http://${listen}`));
