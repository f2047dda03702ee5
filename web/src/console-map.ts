// The console's map area: the map's element, its loading note and legend,
// with the overlays (wall, timeline, error banner) that sit over the map.

import { statusLabel } from "./camstatus";
import "./console-text";
import type { ConsoleContext } from "./console-context";
import { unitLegend } from "./dispatchmap";
import { h } from "./dom";
import { t } from "./i18n";
import { STATUS_COLORS } from "./map";

export interface MapArea {
  el: HTMLElement;
  /** Where `createMap` draws. */
  mapEl: HTMLElement;
  /** The map is drawn: the loading note goes. */
  loaded(): void;
  /** The map could not be drawn: the note says so. */
  failed(): void;
}

export function mapArea(ctx: ConsoleContext, overlays: HTMLElement[]): MapArea {
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
    ctx.can.readDispatch ? unitLegend() : null,
  );
  return {
    el: h("div", { class: "map-wrap" }, mapEl, loadingEl, legend, ...overlays),
    mapEl,
    loaded: () => loadingEl.remove(),
    failed: () => (loadingEl.textContent = t("console.map_failed")),
  };
}

/** Resolves once the map has drawn (or after `timeoutMs`, whichever is first). */
export function waitIdle(map: import("maplibre-gl").Map, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, timeoutMs);
    map.once("idle", () => {
      window.clearTimeout(timer);
      resolve();
    });
    map.triggerRepaint();
  });
}
