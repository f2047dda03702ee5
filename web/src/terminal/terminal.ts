// The terminal: the officer's assignment, the incident on a map with the
// unit and its route there (along the roads when the server has a road
// network, else the straight line), status buttons, the live video of the
// cameras that see the incident location, and the browser's position
// reported for the officer's unit. The unit's position and status are
// pushed (/api/v1/dispatch/stream); the assignment is read again when the
// unit's status changes (assignment and closing both change it) and when
// the stream reconnects, and polled slowly only while the stream is down.

import type { GeoJSONSource } from "maplibre-gl";
import { api, ApiError, dispatchApi, errorText, type Camera, type Incident, type Me, type MyAssignment, type Unit, type UnitStatus } from "../api";
import { Banner } from "../banner";
import { h } from "../dom";
import { DispatchLayer, unitColor, unitLabel } from "../dispatchmap";
import { LiveConnection, LivePlayer } from "../live";
import { createMap, type CityMap } from "../map";
import { clock } from "../alerts";
import { UnitStream } from "../unitstream";
import { distanceM } from "../geo";
import { register, t } from "../i18n";
import { localeChooser } from "../localechooser";

register("terminal", {
  en: {
    "terminal.en_route": "En route",
    "terminal.on_scene": "On scene",
    "terminal.available": "Available",
    "terminal.no_unit": "No unit",
    "terminal.logout": "Log out",
    "terminal.gps_off": "GPS: off",
    "terminal.unit_status": "Unit status",
    "terminal.waiting": "Waiting for an assignment…",
    "terminal.no_unit_ask": "No unit: ask dispatch to add you to one",
    "terminal.no_assignment": "No assignment. Waiting for dispatch…",
    "terminal.opened": "opened {time} by {user}",
    "terminal.last": " · last: {kind} {time}",
    "terminal.finding": "Finding the cameras that see this location…",
    "terminal.sees": "Cameras that see the incident",
    "terminal.near": "No camera sees the exact spot; cameras within 150 m",
    "terminal.lookup_failed": "Could not look up the cameras.",
    "terminal.no_camera": "No camera covers this location.",
    "terminal.connecting": "Connecting…",
    "terminal.forbidden": "This terminal is for officers crewing a unit (the officer role). Use the console at /, or ask an administrator for the officer role.",
    "terminal.gps_none": "GPS: this browser has no geolocation",
    "terminal.gps_denied": "GPS: location access is blocked; allow it for this site in the browser's settings",
    "terminal.gps_unavailable": "GPS: no position yet; go outdoors or check that location is on",
    "terminal.gps_sent": "GPS: position sent {time} (±{m} m)",
    "terminal.gps_not_sent": "GPS: not sent — {reason}",
    "terminal.kind_created": "created",
    "terminal.kind_assigned": "unit assigned",
    "terminal.kind_status": "status",
    "terminal.kind_note": "note",
    "terminal.kind_checklist": "checklist",
    "terminal.kind_closed": "closed",
    "terminal.kind_released_units": "units released",
  },
  "sr-Latn": {
    "terminal.en_route": "Krećem",
    "terminal.on_scene": "Na mestu",
    "terminal.available": "Slobodan",
    "terminal.no_unit": "Nema patrole",
    "terminal.logout": "Odjava",
    "terminal.gps_off": "GPS: isključen",
    "terminal.unit_status": "Stanje patrole",
    "terminal.waiting": "Čeka se zadatak…",
    "terminal.no_unit_ask": "Niste u patroli: zatražite od dežurne službe da vas rasporedi",
    "terminal.no_assignment": "Nema zadatka. Čeka se dežurna služba…",
    "terminal.opened": "otvoreno {time}, otvorio {user}",
    "terminal.last": " · poslednje: {kind} {time}",
    "terminal.finding": "Traže se kamere koje vide ovo mesto…",
    "terminal.sees": "Kamere koje vide mesto događaja",
    "terminal.near": "Nijedna kamera ne vidi tačno mesto; kamere u krugu od 150 m",
    "terminal.lookup_failed": "Kamere nisu mogle da se pronađu.",
    "terminal.no_camera": "Nijedna kamera ne pokriva ovo mesto.",
    "terminal.connecting": "Povezivanje…",
    "terminal.forbidden": "Ovaj terminal je za policajce u patroli (uloga policajca). Koristite konzolu na adresi /, ili zatražite od administratora ulogu policajca.",
    "terminal.gps_none": "GPS: ovaj pregledač nema geolokaciju",
    "terminal.gps_denied": "GPS: pristup lokaciji je blokiran; dozvolite ga za ovaj sajt u podešavanjima pregledača",
    "terminal.gps_unavailable": "GPS: položaj još nije poznat; izađite na otvoreno ili proverite da li je lokacija uključena",
    "terminal.gps_sent": "GPS: položaj poslat {time} (±{m} m)",
    "terminal.gps_not_sent": "GPS: nije poslato — {reason}",
    "terminal.kind_created": "otvorena",
    "terminal.kind_assigned": "upućena patrola",
    "terminal.kind_status": "stanje",
    "terminal.kind_note": "beleška",
    "terminal.kind_checklist": "kontrolna lista",
    "terminal.kind_closed": "zatvorena",
    "terminal.kind_released_units": "patrole oslobođene",
  },
});

/** A timeline entry's kind as the incident panel names it (an unknown kind as the server names it). */
function timelineKind(kind: string): string {
  return KNOWN_KINDS.has(kind) ? t(`terminal.kind_${kind}`) : kind;
}
const KNOWN_KINDS = new Set(["created", "assigned", "status", "note", "checklist", "closed", "released_units"]);

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
  { status: "en_route", label: "terminal.en_route" },
  { status: "on_scene", label: "terminal.on_scene" },
  { status: "available", label: "terminal.available" },
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

  // ---- layout
  const unitEl = h("div", { class: "t-unit", "data-testid": "terminal-unit" }, t("terminal.no_unit"));
  const logoutBtn = h("button", { type: "button", class: "btn btn-header", "data-testid": "logout" }, t("terminal.logout"));
  logoutBtn.addEventListener("click", async () => {
    logoutBtn.disabled = true;
    try {
      await api.logout();
    } catch {
      /* logged out either way */
    }
    onLogout();
  });
  const gpsEl = h("div", { class: "t-gps", "data-testid": "gps-state", "data-state": "off" }, t("terminal.gps_off"));
  const statusRow = h("div", { class: "t-status-row", role: "group", "aria-label": t("terminal.unit_status") });
  const statusButtons = new Map<UnitStatus, HTMLButtonElement>();
  for (const { status, label } of STATUS_BUTTONS) {
    const b = h("button", { type: "button", class: "btn t-status-btn", "data-testid": `status-${status}`, "data-status": status }, t(label));
    b.addEventListener("click", () => void setStatus(status, b));
    statusButtons.set(status, b);
    statusRow.appendChild(b);
  }
  const incidentEl = h("section", { class: "t-incident", "data-testid": "terminal-incident", "data-state": "none" }, h("div", { class: "t-waiting" }, t("terminal.waiting")));
  const mapEl = h("div", { class: "t-map", "data-testid": "terminal-map" });
  const videosEl = h("section", { class: "t-videos", "data-testid": "terminal-videos", hidden: true });
  root.replaceChildren(
    h(
      "div",
      { class: "terminal", "data-testid": "terminal" },
      h("header", { class: "t-top" }, h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◉"), "Citywatch"), unitEl, h("div", { class: "spacer" }), h("span", { class: "t-user" }, me.username), localeChooser(me), logoutBtn),
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
      banner.reportError(e);
    } finally {
      btn.disabled = false;
    }
  }

  function showUnit() {
    if (!unit) {
      unitEl.textContent = t("terminal.no_unit_ask");
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
      incidentEl.replaceChildren(h("div", { class: "t-waiting" }, t("terminal.no_assignment")));
      return;
    }
    incidentEl.dataset.state = "assigned";
    incidentEl.dataset.incidentId = String(inc.id);
    const where = inc.location.address ?? `${inc.location.lat.toFixed(5)}, ${inc.location.lon.toFixed(5)}`;
    const latest = inc.timeline[inc.timeline.length - 1];
    incidentEl.replaceChildren(
      h("div", { class: "t-inc-head" }, h("span", { class: `prio prio-${inc.priority}` }, `P${inc.priority}`), h("span", { class: "t-inc-type", "data-testid": "terminal-incident-type" }, inc.type), h("span", { class: "t-inc-id" }, `#${inc.id}`)),
      h("div", { class: "t-inc-where" }, where),
      h("div", { class: "t-inc-meta muted" }, t("terminal.opened", { time: clock(inc.created_at), user: inc.created_by }), latest ? t("terminal.last", { kind: timelineKind(latest.kind), time: clock(latest.time) }) : ""),
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
    videosEl.replaceChildren(h("div", { class: "muted" }, t("terminal.finding")));
    let cams: Camera[];
    let what = t("terminal.sees");
    try {
      cams = await api.sees(inc.location.lat, inc.location.lon);
      if (cams.length === 0) {
        cams = await api.near(inc.location.lat, inc.location.lon, 150);
        what = t("terminal.near");
      }
    } catch (e) {
      banner.reportError(e);
      videosEl.replaceChildren(h("div", { class: "muted error-text" }, t("terminal.lookup_failed")));
      return;
    }
    if (destroyed || currentIncident?.id !== inc.id) return;
    const live = cams.filter((c) => c.main_url || c.sub_url).slice(0, MAX_VIDEOS);
    if (live.length === 0) {
      videosEl.replaceChildren(h("div", { class: "muted" }, t("terminal.no_camera")));
      return;
    }
    videosEl.replaceChildren(h("h2", {}, what));
    for (const c of live) addTile(c);
  }

  function addTile(c: Camera) {
    const statusEl = h("span", { class: "tile-status", "data-testid": "tile-status" }, t("terminal.connecting"));
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
        incidentEl.replaceChildren(h("div", { class: "t-waiting" }, t("terminal.forbidden")));
        statusRow.hidden = true;
        return;
      }
      banner.reportError(e);
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
      setGps("error", t("terminal.gps_none"));
      return;
    }
    geoWatch = navigator.geolocation.watchPosition(
      (pos) => void sendPosition(pos),
      (err) => setGps("error", err.code === err.PERMISSION_DENIED ? t("terminal.gps_denied") : t("terminal.gps_unavailable")),
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
      setGps("ok", t("terminal.gps_sent", { time: clock(new Date().toISOString()), m: Math.round(c.accuracy) }));
      gpsEl.dataset.result = r.result;
    } catch (e) {
      setGps("error", t("terminal.gps_not_sent", { reason: errorText(e) }));
    }
  }

  // ---- start
  (async () => {
    try {
      await ensureMap();
    } catch (e) {
      banner.reportError(e);
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
      banner.reportError,
    );
    startGps();
  })();

  return {
    destroy() {
      destroyed = true;
      banner.close();
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
