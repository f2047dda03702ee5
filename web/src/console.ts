// The operator console: header, map, tools, results, details and camera list.

import { api, ApiError, dispatchApi, errorText, type Alert, type Camera, type Me } from "./api";
import { AlertQueue } from "./alerts";
import { DispatchLayer, unitLegend } from "./dispatchmap";
import { statusLabel } from "./camstatus";
import { UnitStream } from "./unitstream";
import { IncidentPanel } from "./incident";
import { Banner } from "./banner";
import { brand, localeChooser, logoutButton, viewNav } from "./topbar";
import { CameraList, renderDetails } from "./cameras";
import { fmtDateTime, register, t } from "./i18n";
import { h } from "./dom";
import { createMap, LAYER_CAMERAS, STATUS_COLORS, type CityMap } from "./map";
import { ResultsPanel } from "./results";
import { LiveConnection } from "./live";
import { DEFAULT_MAX_FILE_MS, Timeline, type Purpose } from "./timeline";
import { VideoWall } from "./wall";
import { Tools, queryShape, querySubtitle, queryTitle, type Query, type ToolName } from "./tools";

declare global {
  interface Window {
    __citywatchMap?: import("maplibre-gl").Map;
  }
}

register("console", {
  en: {
    "console.tool_point": "Point",
    "console.tool_circle": "Circle",
    "console.tool_polygon": "Polygon",
    "console.tool_title": "{tool} tool (key {key})",
    "console.map_tools": "Map tools",
    "console.wall": "Wall",
    "console.wall_n": "Wall ({n})",
    "console.wall_title": "Show or hide the video wall",
    "console.cameras_on_map": "Cameras on the map",
    "console.cameras": " cameras",
    "console.side": "Results and cameras",
    "console.dispatch": "Alerts and incidents",
    "console.map": "City map",
    "console.loading_map": "Loading map…",
    "console.legend": "Legend",
    "console.camera_status": "Camera status",
    "console.query_match": "Query match",
    "console.fov": "Field of view",
    "console.map_error": "The map reported a problem: {detail}. The console still works; reload the page if the map stays blank.",
    "console.map_failed": "The map could not be loaded.",
    "console.all_districts": "all districts",
    "console.grant": "{role}: {where}",
    "console.grant_until": "{role}: {where} until {until}",
  },
  "sr-Latn": {
    "console.tool_point": "Tačka",
    "console.tool_circle": "Krug",
    "console.tool_polygon": "Poligon",
    "console.tool_title": "Alat „{tool}” (taster {key})",
    "console.map_tools": "Alati mape",
    "console.wall": "Zid",
    "console.wall_n": "Zid ({n})",
    "console.wall_title": "Prikaži ili sakrij video-zid",
    "console.cameras_on_map": "Kamere na mapi",
    "console.cameras": " kamera",
    "console.side": "Rezultati i kamere",
    "console.dispatch": "Uzbune i intervencije",
    "console.map": "Mapa grada",
    "console.loading_map": "Učitavanje mape…",
    "console.legend": "Legenda",
    "console.camera_status": "Stanje kamere",
    "console.query_match": "Rezultat upita",
    "console.fov": "Vidno polje",
    "console.map_error": "Mapa je prijavila problem: {detail}. Konzola i dalje radi; osvežite stranicu ako mapa ostane prazna.",
    "console.map_failed": "Mapa nije mogla da se učita.",
    "console.all_districts": "svi reoni",
    "console.grant": "{role}: {where}",
    "console.grant_until": "{role}: {where} do {until}",
  },
});

export interface ConsoleHandle {
  destroy(): void;
}

const TOOL_LABELS: Record<ToolName, { label: string; key: string; icon: string }> = {
  point: { label: "console.tool_point", key: "1", icon: "M12 2v5M12 17v5M2 12h5M17 12h5M12 9a3 3 0 1 1 0 6a3 3 0 1 1 0-6" },
  circle: { label: "console.tool_circle", key: "2", icon: "M12 3a9 9 0 1 1 0 18a9 9 0 1 1 0-18M12 12h9" },
  polygon: { label: "console.tool_polygon", key: "3", icon: "M4 9L12 3L20 8L17 20L6 18Z" },
};

function toolIcon(d: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "tool-icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "2");
  path.setAttribute("stroke-linejoin", "round");
  path.setAttribute("stroke-linecap", "round");
  svg.appendChild(path);
  return svg;
}

export function renderConsole(root: HTMLElement, me: Me, onLogout: () => void): ConsoleHandle {
  const banner = new Banner();
  let destroyed = false;
  let city: CityMap | null = null;
  let tools: Tools | null = null;
  const byId = new Map<string, Camera>();
  let queryAbort: AbortController | null = null;
  // What the grants allow, as `/me` lists it (the server checks again).
  const may = new Set(me.permissions ?? []);
  const canLive = may.has("view_live");
  const canPlay = may.has("play_recordings");
  const canAlerts = may.has("handle_alerts");
  const canReadDispatch = may.has("read_dispatch");
  const canDispatch = may.has("dispatch");
  const live = new LiveConnection();
  let purpose: Purpose | null = null;
  const purposeStore = {
    get: () => (purpose && purpose.purpose && purpose.caseRef ? purpose : null),
    set: (p: Purpose) => (purpose = p),
  };
  let timeline: Timeline | null = null;
  let maxFileMs = DEFAULT_MAX_FILE_MS; // until the console config says
  const timelineHost = h("div", { class: "timeline-host" });
  function openTimeline(cam: Camera): Timeline {
    if (timeline) timeline.setCamera(cam);
    else {
      timeline = new Timeline(cam, canPlay, purposeStore, closeTimeline, () => maxFileMs);
      timelineHost.appendChild(timeline.el);
    }
    return timeline;
  }
  function closeTimeline() {
    timeline?.destroy();
    timeline?.el.remove();
    timeline = null;
  }
  const wallBtn = h("button", { type: "button", class: "btn btn-header", "data-testid": "wall-toggle", hidden: !canLive, title: t("console.wall_title") }, t("console.wall"));
  const wall = new VideoWall(live, openTimeline, (n) => (wallBtn.textContent = n ? t("console.wall_n", { n }) : t("console.wall")));
  wallBtn.addEventListener("click", () => wall.toggle());

  // ---- header
  const toolButtons = {} as Record<ToolName, HTMLButtonElement>;
  const toolbar = h("div", { class: "toolbar", role: "toolbar", "aria-label": t("console.map_tools") });
  for (const tool of Object.keys(TOOL_LABELS) as ToolName[]) {
    const { key, icon } = TOOL_LABELS[tool];
    const label = t(TOOL_LABELS[tool].label);
    const b = h(
      "button",
      {
        type: "button",
        class: "tool-btn",
        "data-testid": `tool-${tool}`,
        "aria-pressed": tool === "point" ? "true" : "false",
        title: t("console.tool_title", { tool: label, key }),
      },
      toolIcon(icon),
      label,
      h("kbd", {}, key),
    );
    b.addEventListener("click", () => tools?.setTool(tool));
    toolButtons[tool] = b;
    toolbar.appendChild(b);
  }
  const hint = h("div", { class: "hint", "aria-live": "polite" });
  const countEl = h("span", { "data-testid": "camera-count" });
  const logoutBtn = logoutButton(onLogout);
  const header = h(
    "header",
    { class: "topbar" },
    brand(),
    viewNav(me, "map"),
    toolbar,
    hint,
    h("div", { class: "spacer" }),
    h("div", { class: "header-stat", title: t("console.cameras_on_map") }, countEl, t("console.cameras")),
    wallBtn,
    localeChooser(me),
    h("div", { class: "user", "data-testid": "username", title: grantsSummary(me) }, h("span", { class: "user-icon", "aria-hidden": "true" }, "●"), me.username),
    logoutBtn,
  );

  // ---- side panel
  const details = h("section", {
    class: "panel-section details-section",
    "data-testid": "camera-details",
    "aria-labelledby": "details-title",
    hidden: true,
  });
  const results = new ResultsPanel((c) => pickCamera(c, false), () => clearQuery(), canLive ? (cams) => wall.openAll(cams) : undefined);
  const list = new CameraList((c) => pickCamera(c, true));
  const side = h("aside", { class: "side-panel", "aria-label": t("console.side") }, results.el, details, list.el);

  // ---- dispatch: alert queue and incident (left of the map)
  let layer: DispatchLayer | null = null;
  let lastAlerts: { alerts: Alert[]; selected: number | null } = { alerts: [], selected: null };
  let unitStream: UnitStream | null = null;
  const locate = (lat: number, lon: number) => city?.map.flyTo({ center: [lon, lat], zoom: Math.max(city.map.getZoom(), 17), essential: true, duration: 600 });
  /** The cameras that see a point: shown as results and opened together on the wall. */
  const openSees = async (lat: number, lon: number) => {
    const found = await runQuery({ kind: "sees", point: [lon, lat] }, null);
    if (found && found.length && canLive) wall.openAll(found);
  };
  const incidentPanel = canReadDispatch
    ? new IncidentPanel(canDispatch, {
        onShow: (i) => layer?.setIncident(i),
        onLocate: (i) => locate(i.location.lat, i.location.lon),
        onSees: (i) => void openSees(i.location.lat, i.location.lon),
        onError: banner.reportError,
      }, may.has("grant_unmask"))
    : null;
  const queue = canAlerts
    ? new AlertQueue({
        onLocate: (a) => a.location && locate(a.location.lat, a.location.lon),
        onSees: (a) => a.location && void openSees(a.location.lat, a.location.lon),
        // The recording from a few seconds before the alert's first event.
        onClip: (a) => {
          const cam = byId.get(a.source.id);
          if (cam) openTimeline(cam).cue(Date.parse(a.first_event_at) - 10_000);
        },
        onCreateIncident: async (a) => {
          try {
            const i = await dispatchApi.createIncident({ type: a.event_type, priority: severityPriority(a.severity), alert_id: a.id });
            incidentPanel?.show(i);
            if (a.location) locate(a.location.lat, a.location.lon);
            // Raising an incident is handling the alert: one click less under stress.
            if (a.state === "new") await dispatchApi.alertAction(a.id, "acknowledge").catch(() => undefined);
          } catch (e) {
            banner.reportError(e);
          }
        },
        onChange: (alerts, selected) => {
          lastAlerts = { alerts, selected };
          layer?.setAlerts(alerts, selected);
        },
        cameraName: (id) => byId.get(id)?.name,
        onError: banner.reportError,
      })
    : null;
  const dispatchPanel =
    queue || incidentPanel
      ? h("aside", { class: "dispatch-panel", "data-testid": "dispatch-panel", "aria-label": t("console.dispatch") }, queue?.el, incidentPanel?.el)
      : null;

  // ---- map area
  const mapEl = h("div", { class: "map", "data-testid": "map", role: "application", "aria-label": t("console.map") });
  const loadingEl = h("div", { class: "map-loading" }, t("console.loading_map"));
  const legend = h(
    "div",
    { class: "legend", "aria-label": t("console.legend") },
    h("div", { class: "legend-title" }, t("console.camera_status")),
    (["online", "offline", "unknown", "not_recorded", "disabled"] as const).map((s) =>
      h("div", { class: "legend-row" }, h("span", { class: "legend-dot", style: `background:${STATUS_COLORS[s]}` }), statusLabel(s)),
    ),
    h("div", { class: "legend-row" }, h("span", { class: "legend-dot legend-hl" }), t("console.query_match")),
    h("div", { class: "legend-row" }, h("span", { class: "legend-cone" }), t("console.fov")),
    canReadDispatch ? unitLegend() : null,
  );
  const mapWrap = h("div", { class: "map-wrap" }, mapEl, loadingEl, legend, wall.el, timelineHost, banner.el);

  root.replaceChildren(h("div", { class: "app" }, header, h("div", { class: "workspace" }, dispatchPanel, mapWrap, side)));

  // ---- behaviour
  function setToolUi(tool: ToolName) {
    for (const [name, b] of Object.entries(toolButtons)) b.setAttribute("aria-pressed", String(name === tool));
  }

  function showDetails(cam: Camera) {
    list.setSelected(cam.id);
    city?.setSelected(cam.id);
    renderDetails(details, cam, {
      onClose: closeDetails,
      onFly: () => flyTo(cam),
      onSees: () => runQuery({ kind: "near", center: [cam.lon, cam.lat], radiusM: 150 }, null),
      onLive: canLive && (cam.main_url || cam.sub_url) ? () => wall.open(cam) : undefined,
      onTimeline: () => openTimeline(cam),
    });
  }

  function closeDetails() {
    details.hidden = true;
    delete details.dataset.cameraId;
    list.setSelected(null);
    city?.setSelected(null);
  }

  function flyTo(cam: Camera) {
    const map = city?.map;
    if (!map) return;
    map.flyTo({ center: [cam.lon, cam.lat], zoom: Math.max(map.getZoom(), 17), essential: true, duration: 800 });
  }

  function pickCamera(cam: Camera, fly: boolean) {
    const known = byId.get(cam.id);
    showDetails({ ...(known ?? cam), distance_m: cam.distance_m });
    if (fly) flyTo(cam);
    else if (city && !city.map.getBounds().contains([cam.lon, cam.lat])) flyTo(cam);
    // Refresh from the registry (status may have changed since the list was loaded).
    api.camera(cam.id).then(
      (fresh) => {
        if (!destroyed && details.dataset.cameraId === cam.id && !details.hidden) {
          showDetails({ ...fresh, distance_m: cam.distance_m });
        }
      },
      banner.reportError,
    );
  }

  function clearQuery() {
    queryAbort?.abort();
    results.hide();
    city?.setHighlighted([]);
    city?.setQueryShape(null, null);
  }

  async function runQuery(q: Query, clickedCameraId: string | null): Promise<Camera[] | null> {
    if (!city) return null;
    queryAbort?.abort();
    const ctrl = new AbortController();
    queryAbort = ctrl;
    city.setQueryShape(queryShape(q), q.kind === "sees" ? q.point : null);
    const seq = results.loading(queryTitle(q), querySubtitle(q), q.kind);
    if (clickedCameraId) {
      const c = byId.get(clickedCameraId);
      if (c) showDetails(c);
    }
    try {
      let found: Camera[];
      switch (q.kind) {
        case "sees":
          found = await api.sees(q.point[1], q.point[0], ctrl.signal);
          break;
        case "near":
          found = await api.near(q.center[1], q.center[0], q.radiusM, ctrl.signal);
          break;
        case "polygon":
          found = await api.searchPolygon({ type: "Polygon", coordinates: [q.ring] }, ctrl.signal);
          break;
      }
      if (destroyed || !results.isCurrent(seq)) return null;
      results.show(seq, found);
      city.setHighlighted(found.map((c) => c.id));
      return found;
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") return null;
      results.fail(seq, errorText(e));
      city?.setHighlighted([]);
      banner.reportError(e);
      return null;
    }
  }

  const onKey = (e: KeyboardEvent) => {
    if (destroyed) return;
    const target = e.target as HTMLElement | null;
    const typing = !!target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (e.key === "Escape") {
      if (tools?.cancelDrawing()) return;
      if (typing) {
        target?.blur();
        return;
      }
      if (banner.dismissLatest()) return;
      if (!results.el.hidden) clearQuery();
      else if (!details.hidden) closeDetails();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" && tools?.current === "polygon") {
      if (tools.finish()) e.preventDefault();
    } else if (e.key === "1" || e.key === "2" || e.key === "3") {
      tools?.setTool((["point", "circle", "polygon"] as const)[Number(e.key) - 1]);
    } else if (e.key === "/") {
      e.preventDefault();
      list.filter.focus();
      list.filter.select();
    }
  };
  document.addEventListener("keydown", onKey);

  // ---- load data and map
  (async () => {
    try {
      const [config, cams] = await Promise.all([api.config(), api.cameras()]);
      if (config.blurred_max_span_s > 0) maxFileMs = config.blurred_max_span_s * 1000;
      if (destroyed) return;
      let basemap: GeoJSON.FeatureCollection | null = null;
      if (!config.style_url) {
        try {
          basemap = await api.basemap();
        } catch (e) {
          banner.reportError(e);
        }
      }
      if (destroyed) return;
      city = await createMap(mapEl, config, basemap);
      if (destroyed) {
        city.destroy();
        return;
      }
      window.__citywatchMap = city.map;
      city.map.on("error", (ev: { error?: { message: string } }) => {
        // Tile/style errors after load: show once, but keep the console usable.
        if (ev.error) banner.reportError(new ApiError(0, t("console.map_error", { detail: ev.error.message }), ""));
      });
      tools = new Tools(
        city,
        {
          onQuery: (q, camId) => {
            // A clicked point is also where a new incident from a call goes.
            if (q.kind === "sees") incidentPanel?.setPoint(q.point[1], q.point[0]);
            void runQuery(q, camId);
          },
          onHint: (text) => (hint.textContent = text),
          onToolChange: setToolUi,
        },
        LAYER_CAMERAS,
      );
      tools.setTool("point");
      byId.clear();
      for (const c of cams) byId.set(c.id, c);
      list.setCameras(cams);
      await city.setCameras(cams);
      if (destroyed) return;
      countEl.textContent = String(cams.length);
      loadingEl.remove();
      // `#/map?camera=ID` (the health wall's click-through) opens that camera.
      const asked = byId.get(new URLSearchParams(location.hash.split("?")[1] ?? "").get("camera") ?? "");
      if (asked) pickCamera(asked, true);
      if (canReadDispatch) {
        layer = new DispatchLayer(city.map, (a) => {
          queue?.select(a.id);
        });
        layer.setAlerts(lastAlerts.alerts, lastAlerts.selected);
        layer.setIncident(incidentPanel?.current ?? null);
        // `#/map?incident=N` (the oversight view's link) opens that incident.
        const asked = /[?&]incident=(\d+)/.exec(location.hash);
        if (asked && incidentPanel) {
          void incidentPanel
            .open(Number(asked[1]))
            .then(() => {
              const i = incidentPanel.current;
              if (i) locate(i.location.lat, i.location.lon);
            })
            .catch(banner.reportError);
        }
        unitStream = new UnitStream(
          (units) => {
            if (!destroyed) layer?.setUnits(units);
          },
          () => dispatchApi.units(),
          undefined,
          banner.reportError,
        );
      }
      await waitIdle(city.map, 3000);
      if (destroyed) return;
      document.body.dataset.mapReady = "1";
    } catch (e) {
      loadingEl.textContent = t("console.map_failed");
      banner.reportError(e);
    }
  })();

  return {
    destroy() {
      destroyed = true;
      banner.close();
      unitStream?.destroy();
      queue?.destroy();
      incidentPanel?.destroy();
      layer?.destroy();
      closeTimeline();
      wall.destroy();
      live.close();
      queryAbort?.abort();
      document.removeEventListener("keydown", onKey);
      tools?.destroy();
      city?.destroy();
      city = null;
      if (window.__citywatchMap) delete window.__citywatchMap;
      delete document.body.dataset.mapReady;
    },
  };
}

/** An incident's priority (1 highest) from the alert's severity. */
function severityPriority(severity: string): number {
  return { extreme: 1, severe: 2, moderate: 3, minor: 4 }[severity] ?? 3;
}

function waitIdle(map: import("maplibre-gl").Map, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, timeoutMs);
    map.once("idle", () => {
      window.clearTimeout(timer);
      resolve();
    });
    map.triggerRepaint();
  });
}

function grantsSummary(me: Me): string {
  if (!me.grants?.length) return me.username;
  return me.grants
    .map((g) => {
      const where = g.districts === null ? t("console.all_districts") : g.districts.join(", ");
      return g.expires_at ? t("console.grant_until", { role: g.role, where, until: fmtDateTime(g.expires_at) }) : t("console.grant", { role: g.role, where });
    })
    .join("\n");
}
