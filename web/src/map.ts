// MapLibre map: style (remote or offline), camera markers, field-of-view cones,
// query shapes and drawing previews.

import * as maplibregl from "maplibre-gl";
import type { GeoJSONSource, StyleSpecification, ExpressionSpecification } from "maplibre-gl";
// MapLibre 6 loads its worker from a separate module; ship it as an asset and point at it.
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import "maplibre-gl/dist/maplibre-gl.css";
import type { Camera, ConsoleConfig, LonLat } from "./api";
import { sectorRing, ringCentroid } from "./geo";
import { h } from "./dom";
import { displayStatus } from "./camstatus";
import { ApiError } from "./api";
import { register, t } from "./i18n";

register("map", {
  en: {
    "map.failed": "The map failed to load ({detail}). Reload the page; if it goes on, tell the system administrator.",
    "map.unknown_error": "unknown error",
    "map.title": "Map",
    "map.zoom_in": "Zoom in",
    "map.zoom_out": "Zoom out",
    "map.reset_bearing": "Drag to rotate map, click to reset north",
    "map.attribution": "Toggle attribution",
    "map.marker": "Map marker",
    "map.popup_close": "Close popup",
  },
  "sr-Latn": {
    "map.failed": "Mapa nije učitana ({detail}). Osvežite stranicu; ako se ponavlja, obavestite administratora sistema.",
    "map.unknown_error": "nepoznata greška",
    "map.title": "Mapa",
    "map.zoom_in": "Uvećaj",
    "map.zoom_out": "Umanji",
    "map.reset_bearing": "Prevucite da okrenete mapu, kliknite da vratite sever gore",
    "map.attribution": "Prikaži ili sakrij izvore podataka",
    "map.marker": "Oznaka na mapi",
    "map.popup_close": "Zatvori oblačić",
  },
});

/** MapLibre's own texts (its controls' titles) in the user's language. */
function mapLocale(): Record<string, string> {
  return {
    "Map.Title": t("map.title"),
    "NavigationControl.ZoomIn": t("map.zoom_in"),
    "NavigationControl.ZoomOut": t("map.zoom_out"),
    "NavigationControl.ResetBearing": t("map.reset_bearing"),
    "AttributionControl.ToggleAttribution": t("map.attribution"),
    "Marker.Title": t("map.marker"),
    "Popup.Close": t("map.popup_close"),
  };
}

maplibregl.setWorkerUrl(workerUrl);

export const STATUS_COLORS: Record<string, string> = {
  online: "#1fa855",
  offline: "#e03131",
  unknown: "#8c939b",
  not_recorded: "#b9c7d6",
  disabled: "#25292e",
};
const HIGHLIGHT = "#ff9f1a";
const SELECTED = "#1c7ed6";
const QUERY = "#7048e8";

const SRC_CAMERAS = "cw-cameras";
const SRC_FOV = "cw-fov";
const SRC_QUERY = "cw-query";
const SRC_DRAFT = "cw-draft";
const SRC_BASEMAP = "cw-basemap";
export const LAYER_CAMERAS = "cw-cameras";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };

const statusColor: ExpressionSpecification = [
  "match",
  ["get", "status"],
  "online",
  STATUS_COLORS.online,
  "offline",
  STATUS_COLORS.offline,
  "disabled",
  STATUS_COLORS.disabled,
  "not_recorded",
  STATUS_COLORS.not_recorded,
  STATUS_COLORS.unknown,
];

/** Offline style: background + the city's streets and districts from /api/v1/basemap. No glyphs, sprites or tiles. */
export function offlineStyle(basemap: GeoJSON.FeatureCollection | null): StyleSpecification {
  return {
    version: 8,
    name: "citywatch-offline",
    sources: {
      [SRC_BASEMAP]: { type: "geojson", data: basemap ?? EMPTY },
    },
    layers: [
      { id: "bg", type: "background", paint: { "background-color": "#e9ecef" } },
      {
        id: "district-fill",
        type: "fill",
        source: SRC_BASEMAP,
        filter: ["all", ["==", ["geometry-type"], "Polygon"], ["==", ["get", "kind"], "district"]],
        paint: { "fill-color": "#dde3ea", "fill-opacity": 0.9 },
      },
      {
        id: "district-line",
        type: "line",
        source: SRC_BASEMAP,
        filter: ["all", ["==", ["geometry-type"], "Polygon"], ["==", ["get", "kind"], "district"]],
        paint: { "line-color": "#8a9bb0", "line-width": 1.5, "line-dasharray": [3, 2] },
      },
      {
        id: "street-minor-casing",
        type: "line",
        source: SRC_BASEMAP,
        filter: ["all", ["==", ["geometry-type"], "LineString"], ["!=", ["get", "kind"], "major"]],
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": "#c3cad3", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1.5, 17, 9] },
      },
      {
        id: "street-minor",
        type: "line",
        source: SRC_BASEMAP,
        filter: ["all", ["==", ["geometry-type"], "LineString"], ["!=", ["get", "kind"], "major"]],
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.8, 17, 7] },
      },
      {
        id: "street-major-casing",
        type: "line",
        source: SRC_BASEMAP,
        filter: ["all", ["==", ["geometry-type"], "LineString"], ["==", ["get", "kind"], "major"]],
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": "#b9a27a", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 3, 17, 16] },
      },
      {
        id: "street-major",
        type: "line",
        source: SRC_BASEMAP,
        filter: ["all", ["==", ["geometry-type"], "LineString"], ["==", ["get", "kind"], "major"]],
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": "#fff3d6", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 2, 17, 13] },
      },
    ],
  };
}

export interface CityMap {
  map: maplibregl.Map;
  setCameras(cameras: Camera[]): Promise<void>;
  setHighlighted(ids: string[]): void;
  setSelected(id: string | null): void;
  setQueryShape(shape: GeoJSON.Feature | null, point?: LonLat | null): void;
  setDraft(fc: GeoJSON.FeatureCollection | null): void;
  destroy(): void;
}

export function createMap(
  container: HTMLElement,
  config: ConsoleConfig,
  basemap: GeoJSON.FeatureCollection | null,
): Promise<CityMap> {
  const style: string | StyleSpecification = config.style_url ?? offlineStyle(basemap);
  const map = new maplibregl.Map({
    container,
    style,
    center: config.center,
    zoom: config.zoom,
    // Remote styles carry their data's attribution (e.g. OpenStreetMap): show it.
    attributionControl: config.style_url ? { compact: true } : false,
    locale: mapLocale(),
    doubleClickZoom: false,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    keyboard: true,
    fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");

  let pointMarker: maplibregl.Marker | null = null;
  const districtLabels: maplibregl.Marker[] = [];

  return new Promise((resolve, reject) => {
    let settled = false;
    const onError = (e: maplibregl.ErrorEvent) => {
      if (!settled && !map.loaded()) {
        settled = true;
        reject(new ApiError(0, t("map.failed", { detail: e.error?.message ?? t("map.unknown_error") }), ""));
      }
    };
    map.once("error", onError);
    map.once("load", () => {
      map.off("error", onError);
      settled = true;
      addOverlayLayers(map);
      if (!config.style_url && basemap) addDistrictLabels(map, basemap, districtLabels);
      resolve({
        map,
        async setCameras(cameras) {
          const points: GeoJSON.FeatureCollection = {
            type: "FeatureCollection",
            features: cameras.map((c) => ({
              type: "Feature",
              geometry: { type: "Point", coordinates: [c.lon, c.lat] },
              properties: { id: c.id, name: c.name, status: displayStatus(c) },
            })),
          };
          const cones: GeoJSON.FeatureCollection = {
            type: "FeatureCollection",
            features: cameras
              .filter((c) => c.range_m > 0 && c.fov_deg > 0)
              .map((c) => ({
                type: "Feature",
                geometry: { type: "Polygon", coordinates: [sectorRing(c)] },
                properties: { id: c.id, status: displayStatus(c) },
              })),
          };
          await Promise.all([
            (map.getSource(SRC_FOV) as GeoJSONSource).setData(cones),
            (map.getSource(SRC_CAMERAS) as GeoJSONSource).setData(points),
          ]);
        },
        setHighlighted(ids) {
          const f: ExpressionSpecification = ["in", ["get", "id"], ["literal", ids]];
          map.setFilter("cw-cameras-highlight", f);
          map.setFilter("cw-fov-highlight", f);
          map.setFilter("cw-fov-highlight-line", f);
        },
        setSelected(id) {
          map.setFilter("cw-cameras-selected", ["==", ["get", "id"], id ?? "\u0000"]);
        },
        setQueryShape(shape, point) {
          (map.getSource(SRC_QUERY) as GeoJSONSource).setData(
            shape ? { type: "FeatureCollection", features: [shape] } : EMPTY,
          );
          if (pointMarker) {
            pointMarker.remove();
            pointMarker = null;
          }
          if (point) {
            const el = h("div", { class: "query-point-marker", "data-testid": "query-point", "aria-hidden": "true" });
            pointMarker = new maplibregl.Marker({ element: el, anchor: "center" }).setLngLat(point).addTo(map);
          }
        },
        setDraft(fc) {
          (map.getSource(SRC_DRAFT) as GeoJSONSource).setData(fc ?? EMPTY);
        },
        destroy() {
          pointMarker?.remove();
          for (const m of districtLabels) m.remove();
          map.remove();
        },
      });
    });
  });
}

function addOverlayLayers(map: maplibregl.Map): void {
  map.addSource(SRC_FOV, { type: "geojson", data: EMPTY });
  map.addSource(SRC_QUERY, { type: "geojson", data: EMPTY });
  map.addSource(SRC_DRAFT, { type: "geojson", data: EMPTY });
  map.addSource(SRC_CAMERAS, { type: "geojson", data: EMPTY });
  const none: ExpressionSpecification = ["==", ["get", "id"], "\u0000"];

  map.addLayer({
    id: "cw-fov-fill",
    type: "fill",
    source: SRC_FOV,
    paint: { "fill-color": statusColor, "fill-opacity": 0.1 },
  });
  map.addLayer({
    id: "cw-fov-line",
    type: "line",
    source: SRC_FOV,
    minzoom: 14,
    paint: { "line-color": statusColor, "line-opacity": 0.35, "line-width": 1 },
  });
  map.addLayer({
    id: "cw-fov-highlight",
    type: "fill",
    source: SRC_FOV,
    filter: none,
    paint: { "fill-color": HIGHLIGHT, "fill-opacity": 0.3 },
  });
  map.addLayer({
    id: "cw-fov-highlight-line",
    type: "line",
    source: SRC_FOV,
    filter: none,
    paint: { "line-color": HIGHLIGHT, "line-width": 2 },
  });
  map.addLayer({
    id: "cw-query-fill",
    type: "fill",
    source: SRC_QUERY,
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": QUERY, "fill-opacity": 0.08 },
  });
  map.addLayer({
    id: "cw-query-line",
    type: "line",
    source: SRC_QUERY,
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "line-color": QUERY, "line-width": 2.5 },
  });
  map.addLayer({
    id: "cw-draft-fill",
    type: "fill",
    source: SRC_DRAFT,
    filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": QUERY, "fill-opacity": 0.06 },
  });
  map.addLayer({
    id: "cw-draft-line",
    type: "line",
    source: SRC_DRAFT,
    filter: ["any", ["==", ["geometry-type"], "LineString"], ["==", ["geometry-type"], "Polygon"]],
    paint: { "line-color": QUERY, "line-width": 2, "line-dasharray": [2, 1.5] },
  });
  map.addLayer({
    id: "cw-draft-vertices",
    type: "circle",
    source: SRC_DRAFT,
    filter: ["==", ["geometry-type"], "Point"],
    paint: {
      "circle-radius": ["case", ["boolean", ["get", "first"], false], 7, 5],
      "circle-color": "#ffffff",
      "circle-stroke-color": QUERY,
      "circle-stroke-width": 2.5,
    },
  });
  const radius: ExpressionSpecification = ["interpolate", ["linear"], ["zoom"], 11, 3, 14, 5, 17, 8];
  map.addLayer({
    id: "cw-cameras-highlight",
    type: "circle",
    source: SRC_CAMERAS,
    filter: none,
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 11, 7, 14, 10, 17, 14],
      "circle-color": HIGHLIGHT,
      "circle-opacity": 0.55,
      "circle-stroke-color": HIGHLIGHT,
      "circle-stroke-width": 2,
    },
  });
  map.addLayer({
    id: LAYER_CAMERAS,
    type: "circle",
    source: SRC_CAMERAS,
    paint: {
      "circle-radius": radius,
      "circle-color": statusColor,
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 11, 0.5, 15, 1.5],
    },
  });
  map.addLayer({
    id: "cw-cameras-selected",
    type: "circle",
    source: SRC_CAMERAS,
    filter: none,
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 11, 8, 14, 11, 17, 15],
      "circle-color": "rgba(0,0,0,0)",
      "circle-stroke-color": SELECTED,
      "circle-stroke-width": 3,
    },
  });
}

/** District names as HTML markers: text without glyph downloads. */
function addDistrictLabels(
  map: maplibregl.Map,
  basemap: GeoJSON.FeatureCollection,
  out: maplibregl.Marker[],
): void {
  for (const f of basemap.features) {
    const props = f.properties ?? {};
    if (props.kind !== "district" || typeof props.name !== "string") continue;
    let ring: number[][] | null = null;
    if (f.geometry.type === "Polygon") ring = f.geometry.coordinates[0];
    else if (f.geometry.type === "MultiPolygon") ring = f.geometry.coordinates[0]?.[0] ?? null;
    if (!ring || ring.length < 3) continue;
    const el = h("div", { class: "district-label", "aria-hidden": "true" }, props.name);
    out.push(new maplibregl.Marker({ element: el, anchor: "center" }).setLngLat(ringCentroid(ring)).addTo(map));
  }
}
