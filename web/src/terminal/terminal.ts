// The terminal: the officer's assignment, the incident on a map with the
// unit and its route there (along the roads when the server has a road
// network, else the straight line), status buttons, the live video of the
// cameras that see the incident location, and the browser's position
// reported for the officer's unit. The unit's position and status are
// pushed (/api/v1/dispatch/stream); the assignment is read again when the
// unit's status changes (assignment and closing both change it) and when
// the stream reconnects, and polled slowly only while the stream is down.

import type { GeoJSONSource } from "maplibre-gl";
import { api, ApiError, dispatchApi, type Camera, type Incident, type Me, type MyAssignment, type Unit, type UnitStatus } from "../api";
import { Banner } from "../banner";
import { h } from "../dom";
import { DispatchLayer, unitColor, unitLabel } from "../dispatchmap";
import { LiveConnection, LivePlayer } from "../live";
import { createMap, type CityMap } from "../map";
import { clock } from "../alerts";
import { UnitStream } from "../unitstream";
import { distanceM } from "../geo";

export interface TerminalHandle {
  destroy(): void;
}

/** Positions are sent at most this often (the browser may report every second). */
const POSITION_MIN_MS = 5000;
/** The route is asked for again when the unit has moved this far, or the incident changed. */
const ROUTE_MOVE_M = 30;
/** Live tiles on a phone: more would not be watched. */
const MAX_VIDEOS = 4;

const STATUS_BUTTONS: { status: UnitStatus; label: string }[] = [
  { status: "en_route", label: "En route" },
  { status: "on_scene", label: "On scene" },
  { status: "available", label: "Available" },
];

interface Tile {
  player: LivePlayer;
  stop: () => void;
}

export function renderTerminal(root: HTMLElement, me: Me, onLogout: () => void): TerminalHandle {
  const banner = new Banner();
  const live = new LiveConnection();
  let destroyed = false;
  let stream: UnitStream | null = null;
  let city: CityMap | null = null;
  let layer: DispatchLayer | null = null;
  let incidentId: number | null = null;
  let unit: Unit | null = null;
  let tiles: Tile[] = [];
  let geoWatch: number | null = null;
  let lastSent = 0;

  const reportError = (e: unknown) => {
    if (destroyed) return;
    if (e instanceof ApiError && e.status === 401) return;
    banner.error(e instanceof Error ? e.message : String(e));
  };

  // ---- layout
  const unitEl = h("div", { class: "t-unit", "data-testid": "terminal-unit" }, "No unit");
  const logoutBtn = h("button", { type: "button", class: "btn btn-header", "data-testid": "logout" }, "Log out");
  logoutBtn.addEventListener("click", async () => {
    logoutBtn.disabled = true;
    try {
      await api.logout();
    } catch {
      /* logged out either way */
    }
    onLogout();
  });
  const gpsEl = h("div", { class: "t-gps", "data-testid": "gps-state", "data-state": "off" }, "GPS: off");
  const statusRow = h("div", { class: "t-status-row", role: "group", "aria-label": "Unit status" });
  const statusButtons = new Map<UnitStatus, HTMLButtonElement>();
  for (const { status, label } of STATUS_BUTTONS) {
    const b = h("button", { type: "button", class: "btn t-status-btn", "data-testid": `status-${status}`, "data-status": status }, label);
    b.addEventListener("click", () => void setStatus(status, b));
    statusButtons.set(status, b);
    statusRow.appendChild(b);
  }
  const incidentEl = h("section", { class: "t-incident", "data-testid": "terminal-incident", "data-state": "none" }, h("div", { class: "t-waiting" }, "Waiting for an assignment…"));
  const mapEl = h("div", { class: "t-map", "data-testid": "terminal-map" });
  const videosEl = h("section", { class: "t-videos", "data-testid": "terminal-videos", hidden: true });
  root.replaceChildren(
    h(
      "div",
      { class: "terminal", "data-testid": "terminal" },
      h("header", { class: "t-top" }, h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◉"), "Citywatch"), unitEl, h("div", { class: "spacer" }), h("span", { class: "t-user" }, me.username), logoutBtn),
      banner.el,
      incidentEl,
      statusRow,
      h("div", { class: "t-map-wrap" }, mapEl),
      videosEl,
      gpsEl,
    ),
  );

  // ---- status
  async function setStatus(status: UnitStatus, btn: HTMLButtonElement) {
    if (!unit) return;
    btn.disabled = true;
    try {
      unit = await dispatchApi.unitStatus(unit.id, status);
      showUnit();
    } catch (e) {
      reportError(e);
    } finally {
      btn.disabled = false;
    }
  }

  function showUnit() {
    if (!unit) {
      unitEl.textContent = "No unit: ask dispatch to add you to one";
      statusRow.hidden = true;
      return;
    }
    statusRow.hidden = false;
    unitEl.replaceChildren(h("span", { class: "legend-dot", style: `background:${unitColor(unit.status)}` }), `${unit.call_sign} · `, h("b", { "data-testid": "unit-status", "data-status": unit.status }, unitLabel(unit.status)));
    for (const [s, b] of statusButtons) b.setAttribute("aria-pressed", String(s === unit.status));
    if (layer) layer.setUnits([unit]);
    drawRoute();
  }

  // ---- map
  async function ensureMap(): Promise<void> {
    if (city || destroyed) return;
    const config = await api.config();
    let basemap: GeoJSON.FeatureCollection | null = null;
    if (!config.style_url) basemap = await api.basemap().catch(() => null);
    if (destroyed) return;
    city = await createMap(mapEl, config, basemap);
    if (destroyed) {
      city.destroy();
      city = null;
      return;
    }
    city.map.addSource("t-route", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    city.map.addLayer({ id: "t-route", type: "line", source: "t-route", paint: { "line-color": "#c2255c", "line-width": 4, "line-dasharray": [2, 1] } });
    layer = new DispatchLayer(city.map);
    document.body.dataset.terminalMap = "1";
  }

  // The last route drawn: for which incident and unit, from where.
  let routed: { incident: number; unit: string; lat: number; lon: number; router: string } | null = null;
  let routing = false;

  function drawRoute() {
    const src = city?.map.getSource("t-route") as GeoJSONSource | undefined;
    if (!src) return;
    const inc = currentIncident;
    const u = unit;
    const p = u?.position;
    if (!inc || !u || !p) {
      routed = null;
      src.setData({ type: "FeatureCollection", features: [] });
      mapEl.dataset.router = "none";
      return;
    }
    const same = routed && routed.incident === inc.id && routed.unit === u.id;
    if (same && distanceM([routed!.lon, routed!.lat], [p.lon, p.lat]) < ROUTE_MOVE_M) return;
    if (!same) {
      // The straight line until the road route arrives.
      src.setData({ type: "FeatureCollection", features: [{ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: [[p.lon, p.lat], [inc.location.lon, inc.location.lat]] } }] });
    }
    if (routing) return;
    routing = true;
    const asked = { incident: inc.id, unit: u.id, lat: p.lat, lon: p.lon };
    dispatchApi
      .route(inc.id, u.id)
      .then((r) => {
        if (destroyed || currentIncident?.id !== asked.incident) return;
        routed = { ...asked, router: r.properties.router };
        src.setData({ type: "FeatureCollection", features: [{ type: "Feature", properties: {}, geometry: r.geometry }] });
        mapEl.dataset.router = r.properties.router;
      })
      .catch(() => {
        // No road between them, or no route yet: the straight line stays.
        routed = { ...asked, router: "straight line" };
      })
      .finally(() => {
        routing = false;
      });
  }

  function frame(inc: Incident) {
    const map = city?.map;
    if (!map) return;
    const p = unit?.position;
    if (p) {
      const w = Math.min(p.lon, inc.location.lon), e = Math.max(p.lon, inc.location.lon);
      const s = Math.min(p.lat, inc.location.lat), n = Math.max(p.lat, inc.location.lat);
      map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 17, duration: 0 });
    } else {
      map.jumpTo({ center: [inc.location.lon, inc.location.lat], zoom: 16 });
    }
  }

  // ---- incident and its cameras
  let currentIncident: Incident | null = null;

  function renderIncident(inc: Incident | null) {
    currentIncident = inc;
    if (!inc) {
      incidentEl.dataset.state = "none";
      delete incidentEl.dataset.incidentId;
      incidentEl.replaceChildren(h("div", { class: "t-waiting" }, "No assignment. Waiting for dispatch…"));
      return;
    }
    incidentEl.dataset.state = "assigned";
    incidentEl.dataset.incidentId = String(inc.id);
    const where = inc.location.address ?? `${inc.location.lat.toFixed(5)}, ${inc.location.lon.toFixed(5)}`;
    const latest = inc.timeline[inc.timeline.length - 1];
    incidentEl.replaceChildren(
      h("div", { class: "t-inc-head" }, h("span", { class: `prio prio-${inc.priority}` }, `P${inc.priority}`), h("span", { class: "t-inc-type", "data-testid": "terminal-incident-type" }, inc.type), h("span", { class: "t-inc-id" }, `#${inc.id}`)),
      h("div", { class: "t-inc-where" }, where),
      h("div", { class: "t-inc-meta muted" }, `opened ${clock(inc.created_at)} by ${inc.created_by}`, latest ? ` · last: ${latest.kind} ${clock(latest.time)}` : ""),
    );
  }

  function stopVideos() {
    for (const t of tiles) {
      t.stop();
      t.player.destroy();
    }
    tiles = [];
    videosEl.replaceChildren();
    videosEl.hidden = true;
  }

  async function showVideos(inc: Incident) {
    stopVideos();
    videosEl.hidden = false;
    videosEl.replaceChildren(h("div", { class: "muted" }, "Finding the cameras that see this location…"));
    let cams: Camera[];
    let what = "Cameras that see the incident";
    try {
      cams = await api.sees(inc.location.lat, inc.location.lon);
      if (cams.length === 0) {
        cams = await api.near(inc.location.lat, inc.location.lon, 150);
        what = "No camera sees the exact spot; cameras within 150 m";
      }
    } catch (e) {
      reportError(e);
      videosEl.replaceChildren(h("div", { class: "muted error-text" }, "Could not look up the cameras."));
      return;
    }
    if (destroyed || currentIncident?.id !== inc.id) return;
    const live = cams.filter((c) => c.main_url || c.sub_url).slice(0, MAX_VIDEOS);
    if (live.length === 0) {
      videosEl.replaceChildren(h("div", { class: "muted" }, "No camera covers this location."));
      return;
    }
    videosEl.replaceChildren(h("h2", {}, what));
    for (const c of live) addTile(c);
  }

  function addTile(c: Camera) {
    const statusEl = h("span", { class: "tile-status", "data-testid": "tile-status" }, "Connecting…");
    const el = h("div", { class: "tile t-tile", "data-testid": "terminal-video", "data-camera-id": c.id, "data-state": "connecting" });
    const player = new LivePlayer((state, text) => {
      if (statusEl.textContent !== text) statusEl.textContent = text;
      el.dataset.state = state;
    });
    player.video.className = "tile-video";
    player.video.setAttribute("data-testid", "live-video");
    el.append(player.video, h("div", { class: "tile-bar" }, h("span", { class: "tile-name" }, c.name || c.id), statusEl));
    videosEl.appendChild(el);
    // The sub-stream where there is one: phones are on mobile data.
    tiles.push({ player, stop: live.subscribe(c.id, player, "auto") });
  }

  // ---- pushed unit changes
  function onStreamUnits(units: Unit[]) {
    if (destroyed) return;
    const mine = unit ? units.find((u) => u.id === unit!.id) : undefined;
    if (!mine) {
      // Put on a unit since the last read: read the assignment again.
      if (!unit && units.some((u) => u.officers.includes(me.username))) void poll();
      return;
    }
    const statusChanged = mine.status !== unit!.status;
    unit = mine;
    showUnit();
    if (statusChanged) void poll();
  }

  // ---- reading the assignment
  async function poll() {
    let a: MyAssignment;
    try {
      a = await dispatchApi.myAssignment();
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) {
        // Not an officer (nor a dispatcher or supervisor): nothing to follow.
        stream?.destroy();
        stream = null;
        incidentEl.dataset.state = "forbidden";
        incidentEl.replaceChildren(h("div", { class: "t-waiting" }, "This terminal is for officers crewing a unit. Use the console at /."));
        statusRow.hidden = true;
        return;
      }
      reportError(e);
      return;
    }
    if (destroyed) return;
    unit = a.assignment?.unit ?? (unit ? (a.units.find((u) => u.id === unit!.id) ?? a.units[0]) : a.units[0]) ?? null;
    const inc = a.assignment?.incident ?? null;
    if ((inc?.id ?? null) !== incidentId) {
      incidentId = inc?.id ?? null;
      renderIncident(inc);
      layer?.setIncident(inc);
      if (inc) {
        if (city) frame(inc);
        void showVideos(inc);
      } else {
        stopVideos();
      }
    } else if (inc) {
      renderIncident(inc);
    }
    showUnit();
  }

  // ---- position from the browser
  function startGps() {
    if (!("geolocation" in navigator)) {
      setGps("error", "GPS: this browser has no geolocation");
      return;
    }
    geoWatch = navigator.geolocation.watchPosition(
      (pos) => void sendPosition(pos),
      (err) => setGps("error", `GPS: ${err.message || "unavailable"}`),
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 },
    );
  }

  function setGps(state: "off" | "ok" | "error", text: string) {
    gpsEl.dataset.state = state;
    gpsEl.textContent = text;
  }

  async function sendPosition(pos: GeolocationPosition) {
    if (!unit || Date.now() - lastSent < POSITION_MIN_MS) return;
    lastSent = Date.now();
    const c = pos.coords;
    try {
      const r = await dispatchApi.myPosition({
        unit_id: unit.id,
        lat: c.latitude,
        lon: c.longitude,
        speed: c.speed !== null && Number.isFinite(c.speed) ? c.speed : null,
        bearing: c.heading !== null && Number.isFinite(c.heading) ? c.heading : null,
        timestamp: Math.round(pos.timestamp),
      });
      setGps("ok", `GPS: position sent ${clock(new Date().toISOString())} (±${Math.round(c.accuracy)} m)`);
      gpsEl.dataset.result = r.result;
    } catch (e) {
      setGps("error", `GPS: not sent — ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---- start
  (async () => {
    try {
      await ensureMap();
    } catch (e) {
      reportError(e);
    }
    await poll();
    if (currentIncident && city) frame(currentIncident);
    if (destroyed || incidentEl.dataset.state === "forbidden") return;
    stream = new UnitStream(
      onStreamUnits,
      async () => {
        await poll();
        return unit ? [unit] : [];
      },
      (state) => {
        // Whatever changed while the stream was down.
        if (state === "open") void poll();
      },
      reportError,
    );
    startGps();
  })();

  return {
    destroy() {
      destroyed = true;
      stream?.destroy();
      if (geoWatch !== null) navigator.geolocation.clearWatch(geoWatch);
      stopVideos();
      live.close();
      layer?.destroy();
      city?.destroy();
      delete document.body.dataset.terminalMap;
    },
  };
}
