// The health wall: the system's state at a glance for whoever keeps it
// running or watches it. Tiles for the totals (cameras by state, disk and
// time to full, event and alert rates, dropped frames, analytics lag), and
// the cameras of the caller's districts, offline ones first, with their
// recording gaps of the last 24 h and dropped frames. Refreshed every few
// seconds from `GET /api/v1/health/overview`; a camera's name opens it on
// the map.

import "./health.css";
import { healthApi, type HealthOverview, type Me, type WallCamera, type WallState } from "./api";
import { Banner } from "./banner";
import { h } from "./dom";
import { fmtDateTime, fmtNumber, register, t } from "./i18n";
import { STATUS_COLORS } from "./map";
import { viewHeader } from "./topbar";

register("health", {
  en: {
    "health.title": "System health",
    "health.tile.online": "Online",
    "health.tile.offline": "Offline",
    "health.tile.unknown": "Never connected",
    "health.tile.not_recorded": "Not recorded",
    "health.tile.disabled": "Disabled",
    "health.state.online": "online",
    "health.state.offline": "offline",
    "health.state.unknown": "never connected",
    "health.state.not_recorded": "not recorded",
    "health.state.disabled": "disabled",
    "health.of_cameras": "of {n} cameras",
    "health.disk": "Video disk",
    "health.disk_free": "{free} free · {used} recorded",
    "health.disk_full_in": "Full in {time} at {rate}/s",
    "health.disk_idle": "Nothing is being written now",
    "health.disk_free_unknown": "The free space could not be read",
    "health.events": "Events",
    "health.alerts": "Alerts",
    "health.rate": "in the last 5 min · {n} in the last hour",
    "health.dropped": "Dropped frames",
    "health.dropped_detail": "the disk or the recorder fell behind",
    "health.gaps": "Recording gaps",
    "health.gaps_detail": "in the last 24 h, all cameras",
    "health.lag": "Analytics lag",
    "health.lag_detail": "{skipped} pictures skipped",
    "health.lag_none": "no camera analysed",
    "health.col.state": "State",
    "health.col.camera": "Camera",
    "health.col.district": "District",
    "health.col.last_seen": "Last frame",
    "health.col.gaps": "Gaps (24 h)",
    "health.col.dropped": "Dropped frames",
    "health.col.analytics": "Analytics",
    "health.col.error": "Last error",
    "health.never": "not since the server started",
    "health.gaps_none": "none",
    "health.gaps_value": "{count} · {time}",
    "health.gaps_nothing": "nothing recorded yet",
    "health.lag_value": "{ms} ms · {skipped} skipped",
    "health.open_on_map": "Show {name} on the map",
    "health.updated": "Updated {time}; refreshed every {s} seconds.",
    "health.loading": "Loading…",
    "health.empty": "No camera is in your districts.",
    "health.note":
      "Never connected: recorded here, but no connection has succeeded since the server started. Not recorded: this server does not connect to the camera (it is left out of recording), so its state is not known here.",
    "health.dur_d": "{d} d {h} h",
    "health.dur_h": "{h} h {m} min",
    "health.dur_m": "{m} min",
    "health.dur_s": "{s} s",
    "health.gb": "{n} GB",
    "health.mb": "{n} MB",
    "health.kb": "{n} kB",
  },
  "sr-Latn": {
    "health.title": "Stanje sistema",
    "health.tile.online": "Na vezi",
    "health.tile.offline": "Van veze",
    "health.tile.unknown": "Nikad povezane",
    "health.tile.not_recorded": "Ne snimaju se",
    "health.tile.disabled": "Isključene",
    "health.state.online": "na vezi",
    "health.state.offline": "van veze",
    "health.state.unknown": "nikad povezana",
    "health.state.not_recorded": "ne snima se",
    "health.state.disabled": "isključena",
    "health.of_cameras": "od {n} kamera",
    "health.disk": "Disk za video",
    "health.disk_free": "{free} slobodno · {used} snimljeno",
    "health.disk_full_in": "Pun za {time} pri {rate}/s",
    "health.disk_idle": "Trenutno se ništa ne upisuje",
    "health.disk_free_unknown": "Slobodan prostor nije mogao da se pročita",
    "health.events": "Događaji",
    "health.alerts": "Uzbune",
    "health.rate": "u poslednjih 5 min · {n} u poslednjem satu",
    "health.dropped": "Odbačeni kadrovi",
    "health.dropped_detail": "disk ili snimač nisu stizali",
    "health.gaps": "Prekidi snimanja",
    "health.gaps_detail": "u poslednja 24 h, sve kamere",
    "health.lag": "Kašnjenje analitike",
    "health.lag_detail": "preskočeno slika: {skipped}",
    "health.lag_none": "nijedna kamera se ne analizira",
    "health.col.state": "Stanje",
    "health.col.camera": "Kamera",
    "health.col.district": "Opština",
    "health.col.last_seen": "Poslednji kadar",
    "health.col.gaps": "Prekidi (24 h)",
    "health.col.dropped": "Odbačeni kadrovi",
    "health.col.analytics": "Analitika",
    "health.col.error": "Poslednja greška",
    "health.never": "nijednom od pokretanja servera",
    "health.gaps_none": "nema",
    "health.gaps_value": "{count} · {time}",
    "health.gaps_nothing": "još ništa nije snimljeno",
    "health.lag_value": "{ms} ms · preskočeno {skipped}",
    "health.open_on_map": "Prikaži {name} na mapi",
    "health.updated": "Osveženo {time}; osvežava se na svakih {s} sekundi.",
    "health.loading": "Učitavanje…",
    "health.empty": "U vašim opštinama nema kamera.",
    "health.note":
      "Nikad povezane: snimaju se ovde, ali od pokretanja servera nijedno povezivanje nije uspelo. Ne snimaju se: ovaj server se ne povezuje sa kamerom (izostavljena je iz snimanja), pa njeno stanje ovde nije poznato.",
    "health.dur_d": "{d} d {h} h",
    "health.dur_h": "{h} h {m} min",
    "health.dur_m": "{m} min",
    "health.dur_s": "{s} s",
    "health.gb": "{n} GB",
    "health.mb": "{n} MB",
    "health.kb": "{n} kB",
  },
});

/** How often the wall asks again. */
const REFRESH_MS = 3000;
const STATES: WallState[] = ["offline", "unknown", "online", "not_recorded", "disabled"];

export function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 86400) return t("health.dur_d", { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
  if (s >= 3600) return t("health.dur_h", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  if (s >= 60) return t("health.dur_m", { m: Math.floor(s / 60) });
  return t("health.dur_s", { s });
}

export function fmtBytes(bytes: number): string {
  const one = { maximumFractionDigits: 1 };
  if (bytes >= 1e9) return t("health.gb", { n: fmtNumber(bytes / 1e9, one) });
  if (bytes >= 1e6) return t("health.mb", { n: fmtNumber(bytes / 1e6, one) });
  return t("health.kb", { n: fmtNumber(bytes / 1e3, one) });
}

function tile(testId: string, label: string, value: string, detail: string, state?: string): HTMLElement {
  return h(
    "div",
    { class: "health-tile", "data-testid": testId, "data-state": state ?? null },
    h("div", { class: "health-tile-label" }, state ? h("span", { class: "status-dot", style: `background:${STATUS_COLORS[state]}`, "aria-hidden": "true" }) : null, label),
    h("div", { class: "health-tile-value", "data-testid": `${testId}-value` }, value),
    h("div", { class: "health-tile-detail" }, detail),
  );
}

function tiles(o: HealthOverview): HTMLElement[] {
  const n = o.totals.cameras;
  const out = STATES.filter((s) => s !== "disabled" || o.totals.disabled > 0).map((s) =>
    tile(`health-tile-${s}`, t(`health.tile.${s}`), fmtNumber(o.totals[s]), t("health.of_cameras", { n }), s),
  );
  if (o.disk) {
    const d = o.disk;
    const free = d.free_bytes === null ? t("health.disk_free_unknown") : t("health.disk_free", { free: fmtBytes(d.free_bytes), used: fmtBytes(d.recorded_bytes) });
    const full = d.time_to_full_s === null ? t("health.disk_idle") : t("health.disk_full_in", { time: fmtDuration(d.time_to_full_s), rate: fmtBytes(d.write_bytes_per_s) });
    out.push(tile("health-tile-disk", t("health.disk"), full, free));
  }
  out.push(tile("health-tile-events", t("health.events"), fmtNumber(o.rates.events_5m), t("health.rate", { n: o.rates.events_1h })));
  out.push(tile("health-tile-alerts", t("health.alerts"), fmtNumber(o.rates.alerts_5m), t("health.rate", { n: o.rates.alerts_1h })));
  out.push(tile("health-tile-dropped", t("health.dropped"), fmtNumber(o.totals.dropped_frames), t("health.dropped_detail")));
  out.push(tile("health-tile-gaps", t("health.gaps"), fmtDuration(o.totals.gap_seconds), t("health.gaps_detail")));
  if (o.analytics) {
    const a = o.analytics;
    const lag = a.max_lag_ms === null ? "—" : `${fmtNumber(a.max_lag_ms)} ms`;
    out.push(tile("health-tile-analytics", t("health.lag"), lag, a.cameras ? t("health.lag_detail", { skipped: a.skipped }) : t("health.lag_none")));
  }
  return out;
}

function gapsCell(c: WallCamera): string {
  if (!c.gaps) return "—";
  if (c.gaps.from === null) return t("health.gaps_nothing");
  if (c.gaps.count === 0) return t("health.gaps_none");
  return t("health.gaps_value", { count: c.gaps.count, time: fmtDuration(c.gaps.seconds) });
}

function gapsTitle(c: WallCamera): string | null {
  if (!c.gaps || c.gaps.recent.length === 0) return null;
  return c.gaps.recent.map((g) => `${fmtDateTime(g.start)} – ${fmtDateTime(g.end)}`).join("\n");
}

function cameraRow(c: WallCamera): HTMLTableRowElement {
  const link = h(
    "a",
    { class: "health-camera", href: `#/map?camera=${encodeURIComponent(c.id)}`, "data-testid": "health-camera-link", title: t("health.open_on_map", { name: c.name }) },
    h("span", { class: "health-camera-name" }, c.name),
    h("span", { class: "health-camera-id" }, c.id),
  );
  const lastError = c.state === "online" ? "" : (c.streams.map((s) => s.last_error).find((e) => e) ?? "");
  return h(
    "tr",
    { "data-testid": "health-row", "data-camera-id": c.id, "data-state": c.state },
    h("td", { class: "health-state" }, h("span", { class: "status-dot", style: `background:${STATUS_COLORS[c.state]}`, "aria-hidden": "true" }), h("span", { "data-testid": "health-state" }, t(`health.state.${c.state}`))),
    h("td", {}, link),
    h("td", {}, c.district ?? "—"),
    h("td", { class: "health-num" }, c.streams.length === 0 ? "—" : c.last_seen ? fmtDateTime(c.last_seen) : t("health.never")),
    h("td", { class: "health-num", title: gapsTitle(c) }, gapsCell(c)),
    h("td", { class: "health-num" }, c.streams.length === 0 ? "—" : fmtNumber(c.dropped_frames)),
    h("td", { class: "health-num" }, c.analytics ? t("health.lag_value", { ms: c.analytics.lag_ms, skipped: c.analytics.skipped }) : "—"),
    h("td", { class: "health-error" }, lastError),
  );
}

export function renderHealth(root: HTMLElement, me: Me, onLogout: () => void): { destroy(): void } {
  const banner = new Banner();
  let destroyed = false;
  let timer: number | undefined;
  let inFlight: AbortController | null = null;

  const header = viewHeader(me, "health", t("health.title"), onLogout);
  const tileRow = h("section", { class: "health-tiles", "data-testid": "health-tiles", "aria-label": t("health.title") });
  const tbody = h("tbody", { "data-testid": "health-rows" });
  const table = h(
    "table",
    { class: "health-table", "data-testid": "health-table" },
    h(
      "thead",
      {},
      h("tr", {}, ["state", "camera", "district", "last_seen", "gaps", "dropped", "analytics", "error"].map((c) => h("th", { scope: "col" }, t(`health.col.${c}`)))),
    ),
    tbody,
  );
  const updated = h("div", { class: "health-updated", "data-testid": "health-updated", "aria-live": "polite" }, t("health.loading"));
  const main = h(
    "main",
    { class: "health-view", "data-testid": "health-view" },
    tileRow,
    updated,
    h("div", { class: "health-table-wrap" }, table),
    h("p", { class: "health-note" }, t("health.note")),
  );
  root.replaceChildren(h("div", { class: "app" }, header, h("div", { class: "health-workspace" }, banner.el, main)));

  function show(o: HealthOverview) {
    tileRow.replaceChildren(...tiles(o));
    tbody.replaceChildren(...o.cameras.map(cameraRow));
    if (o.cameras.length === 0) tbody.appendChild(h("tr", {}, h("td", { colspan: 8, class: "health-empty" }, t("health.empty"))));
    updated.textContent = t("health.updated", { time: fmtDateTime(o.generated_at, { timeStyle: "medium" }), s: REFRESH_MS / 1000 });
    updated.dataset.generatedAt = o.generated_at;
  }

  async function refresh() {
    inFlight = new AbortController();
    try {
      const o = await healthApi.overview(inFlight.signal);
      if (!destroyed) show(o);
    } catch (e) {
      banner.reportError(e);
    } finally {
      inFlight = null;
      // The next read only after this one ended: a slow server is not piled on.
      if (!destroyed) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
    }
  }

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Escape") banner.dismissLatest();
  };
  document.addEventListener("keydown", onKey);
  void refresh();

  return {
    destroy() {
      destroyed = true;
      banner.close();
      window.clearTimeout(timer);
      inFlight?.abort();
      document.removeEventListener("keydown", onKey);
    },
  };
}
